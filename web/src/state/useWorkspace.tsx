// React's view of the workspace store: a provider that owns one store for the page
// (started on mount, stopped on unmount) and hooks that read it.
import { createContext, useContext, useEffect, useState, useSyncExternalStore, type ReactNode } from "react";
import { api } from "../api";
import { readToken, socketProtocols } from "../auth";
import { WorkspaceStore, type WorkspaceSnapshot } from "./store";

const WorkspaceContext = createContext<WorkspaceStore | null>(null);

/** The page's store: same-origin REST and socket, with the signed-in token. */
export function createPageStore(): WorkspaceStore {
  return new WorkspaceStore({
    api,
    socket: {
      protocols: () => socketProtocols(readToken()),
      // Without a token the protocol only names the client: a server that does not
      // negotiate subprotocols must still be reachable.
      protocolsOptional: () => readToken() === undefined,
    },
  });
}

export function WorkspaceProvider(props: { store?: WorkspaceStore; children: ReactNode }) {
  const [store] = useState(() => props.store ?? createPageStore());
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
