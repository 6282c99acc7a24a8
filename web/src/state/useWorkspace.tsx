// React's view of the workspace store: a provider that owns one store for the page
// (started on mount, stopped on unmount) and hooks that read it.
import { createContext, useContext, useEffect, useState, useSyncExternalStore, type ReactNode } from "react";
import { api } from "../api";
import { WorkspaceStore, type WorkspaceSnapshot } from "./store";

const WorkspaceContext = createContext<WorkspaceStore | null>(null);

export function WorkspaceProvider(props: { store?: WorkspaceStore; children: ReactNode }) {
  const [store] = useState(() => props.store ?? new WorkspaceStore({ api }));
  useEffect(() => {
    store.start();
    return () => store.stop();
  }, [store]);
  return <WorkspaceContext.Provider value={store}>{props.children}</WorkspaceContext.Provider>;
}

export interface Workspace extends WorkspaceSnapshot {
  readonly store: WorkspaceStore;
}

/** The workspace: state (sessions, details), connection, loading and the store's actions. */
export function useWorkspace(): Workspace {
  const store = useContext(WorkspaceContext);
  if (store === null) throw new Error("useWorkspace must be used inside <WorkspaceProvider>");
  const snapshot = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);
  return { ...snapshot, store };
}

/** Opens a session in detail (subscribing to its stream) while the calling component lives. */
export function useSessionDetail(sessionId: string | undefined): void {
  const store = useContext(WorkspaceContext);
  useEffect(() => {
    if (store === null || sessionId === undefined) return;
    void store.openSession(sessionId);
    return () => store.closeSession(sessionId);
  }, [store, sessionId]);
}
