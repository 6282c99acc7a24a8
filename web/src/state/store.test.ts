import { describe, expect, it, vi } from "vitest";
import type { Api } from "../api";
import type { ChainStep, ClientMessage, ServerMessage, SessionDetail, SessionList, WorkspaceEvent } from "../generated";
import type { WebSocketLike } from "../socket/client";
import { restSession } from "./fixtures";
import { WorkspaceStore } from "./store";

class FakeSocket implements WebSocketLike {
  readyState = 1;
  sent: ClientMessage[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  send(data: string): void {
    this.sent.push(JSON.parse(data) as ClientMessage);
  }
  close(): void {
    this.readyState = 3;
  }
  frame(msg: ServerMessage): void {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
}

const session = restSession;

function updated(seq: number, sessionId: string, summary: string): WorkspaceEvent {
  return { seq, eventId: `e${seq}`, sessionId, timestamp: "2025-01-01T00:00:01Z", type: "session:updated", summary };
}

/** A promise the test resolves by hand. */
function deferred<T>() {
  let resolve: (value: T) => void = () => {};
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

let setDetails: (details: Record<string, SessionDetail>) => void = () => {};

function setup(lists: Array<Promise<SessionList>>, initialDetails: Record<string, SessionDetail> = {}) {
  let details = initialDetails;
  setDetails = (next) => {
    details = next;
  };
  const socket = new FakeSocket();
  const listSessions = vi.fn(() => lists.shift() ?? Promise.resolve({ sessions: [], total: 0 }));
  const getSession = vi.fn((id: string) => {
    const d = details[id];
    return d !== undefined ? Promise.resolve(d) : Promise.reject(new Error(`no ${id}`));
  });
  const api = { listSessions, getSession } as unknown as Api;
  const store = new WorkspaceStore({
    api,
    socket: { url: "ws://test/ws", createSocket: () => socket, log: () => {} },
    listRefreshMs: 0,
    schedule: (flush) => flush(),
  });
  return { store, socket, listSessions, getSession };
}

describe("WorkspaceStore", () => {
  it("loads the list after hello, holding live events until it lands", async () => {
    const list = deferred<SessionList>();
    const { store, socket, listSessions } = setup([list.promise]);
    store.start();
    socket.frame({ type: "hello", seq: 10 });
    expect(listSessions).toHaveBeenCalledTimes(1);
    expect(store.getSnapshot().loading).toBe(true);
    // Heard while the snapshot is on its way: one the snapshot has, one it lacks.
    socket.frame({ type: "event", event: updated(11, "a", "in snapshot") });
    socket.frame({ type: "event", event: updated(12, "a", "newest") });
    expect(store.getSnapshot().state.sessions.size).toBe(0);
    list.resolve({ sessions: [session("a", 11, { summary: "in snapshot" })], total: 1 });
    await vi.waitFor(() => expect(store.getSnapshot().loading).toBe(false));
    const a = store.getSnapshot().state.sessions.get("a");
    expect(a?.summary).toBe("newest");
    expect(a?.lastSeq).toBe(12);
    expect(store.getSnapshot().connection).toBe("open");
    store.stop();
    expect(store.getSnapshot().connection).toBe("closed");
  });

  it("fetches a session it hears of but does not have", async () => {
    const { store, socket, getSession } = setup([Promise.resolve({ sessions: [], total: 0 })], {
      b: { ...session("b", 4), chains: [], answers: [], fileChanges: [] },
    });
    store.start();
    socket.frame({ type: "hello", seq: 3 });
    await vi.waitFor(() => expect(store.getSnapshot().loading).toBe(false));
    socket.frame({ type: "event", event: updated(5, "b", "fresh") });
    await vi.waitFor(() => expect(store.getSnapshot().state.sessions.get("b")?.summary).toBe("fresh"));
    expect(getSession).toHaveBeenCalledWith("b");
    store.stop();
  });

  it("resyncs: clears, refetches, resumes", async () => {
    const { store, socket, listSessions } = setup([
      Promise.resolve({ sessions: [session("a", 5)], total: 1 }),
      Promise.resolve({ sessions: [session("c", 900)], total: 1 }),
    ]);
    store.start();
    socket.frame({ type: "hello", seq: 5 });
    await vi.waitFor(() => expect(store.getSnapshot().state.sessions.has("a")).toBe(true));
    socket.sent = [];
    socket.frame({ type: "resync", reason: "slow", seq: 900 });
    await vi.waitFor(() => expect(socket.sent).toEqual([{ type: "resume", since: 900 }]));
    expect(listSessions).toHaveBeenCalledTimes(2);
    const sessions = store.getSnapshot().state.sessions;
    expect([...sessions.keys()]).toEqual(["c"]);
    expect(store.getSnapshot().state.needsRefetch).toBe(false);
    store.stop();
  });

  it("after a resync, reloads open sessions and subscribes them from the new detail", async () => {
    const { store, socket } = setup(
      [Promise.resolve({ sessions: [session("a", 5)], total: 1 }), Promise.resolve({ sessions: [session("a", 800)], total: 1 })],
      { a: { ...session("a", 5), chains: [], answers: [], fileChanges: [] } },
    );
    store.start();
    socket.frame({ type: "hello", seq: 5 });
    await vi.waitFor(() => expect(store.getSnapshot().loading).toBe(false));
    await store.openSession("a");
    socket.sent = [];
    const fresh: SessionDetail = { ...session("a", 850), chains: [], answers: [], fileChanges: [] };
    const details: Record<string, SessionDetail> = { a: fresh };
    setDetails(details);
    socket.frame({ type: "resync", reason: "slow", seq: 900 });
    await vi.waitFor(() => expect(socket.sent).toContainEqual({ type: "subscribe", sessionId: "a", since: 850 }));
    expect(socket.sent).toContainEqual({ type: "resume", since: 900 });
    expect(store.getSnapshot().state.sessions.get("a")?.lastSeq).toBe(850);
    expect(store.getSnapshot().state.details.has("a")).toBe(true);
    store.stop();
  });

  it("opens a session: loads its detail, then subscribes from its seq", async () => {
    const { store, socket } = setup([Promise.resolve({ sessions: [session("a", 5)], total: 1 })], {
      a: { ...session("a", 7), chains: [], answers: [], fileChanges: [] },
    });
    store.start();
    socket.frame({ type: "hello", seq: 7 });
    await vi.waitFor(() => expect(store.getSnapshot().loading).toBe(false));
    await store.openSession("a");
    expect(store.getSnapshot().state.details.has("a")).toBe(true);
    expect(socket.sent).toContainEqual({ type: "subscribe", sessionId: "a", since: 7 });
    store.closeSession("a");
    expect(socket.sent).toContainEqual({ type: "unsubscribe", sessionId: "a" });
    expect(store.getSnapshot().state.details.has("a")).toBe(false);
    store.stop();
  });

  it("asks for the live sessions only: ended ones are History's", async () => {
    const { store, socket, listSessions } = setup([Promise.resolve({ sessions: [], total: 0 })]);
    store.start();
    socket.frame({ type: "hello", seq: 0 });
    await vi.waitFor(() => expect(store.getSnapshot().loading).toBe(false));
    expect(listSessions).toHaveBeenCalledWith({ ended: false, limit: 1000 });
    store.stop();
  });

  it("tells listeners what each batch applied, once", async () => {
    const { store, socket } = setup([Promise.resolve({ sessions: [session("a", 5)], total: 1 })]);
    const heard: number[][] = [];
    store.onEvents((applied) => heard.push(applied.map((e) => e.seq)));
    store.start();
    socket.frame({ type: "hello", seq: 5 });
    await vi.waitFor(() => expect(store.getSnapshot().loading).toBe(false));
    socket.frame({ type: "event", event: updated(6, "a", "x") });
    socket.frame({ type: "event", event: updated(6, "a", "x") }); // delivered twice
    socket.frame({ type: "event", event: updated(4, "a", "old") }); // in the snapshot
    expect(heard).toEqual([[6]]);
    store.stop();
  });

  it("fetches the detail of a session whose steps it cannot count, and counts from it", async () => {
    const counts = { events: 5, prompts: 0, toolCalls: 0, failures: 0, steps: 3, stepsCompleted: 1, fileChanges: 0 };
    const step = (id: string, status: "pending" | "completed"): ChainStep => ({ id, chainId: "c", name: id, kind: "step", status, waitsFor: [] });
    const { store, socket, getSession } = setup([Promise.resolve({ sessions: [session("a", 5, { counts })], total: 1 })], {
      a: {
        ...session("a", 6, { counts: { ...counts, events: 6, stepsCompleted: 2 } }),
        chains: [{ id: "c", sessionId: "a", status: "running", steps: [step("x", "completed"), step("y", "completed"), step("z", "pending")] }],
        answers: [],
        fileChanges: [],
      },
    });
    store.start();
    socket.frame({ type: "hello", seq: 5 });
    await vi.waitFor(() => expect(store.getSnapshot().loading).toBe(false));
    socket.frame({
      type: "event",
      event: { seq: 6, eventId: "e6", sessionId: "a", timestamp: "2025-01-01T00:00:02Z", type: "step:completed", chainId: "c", stepId: "y" },
    });
    await vi.waitFor(() => expect(store.getSnapshot().state.needsSteps.size).toBe(0));
    expect(getSession).toHaveBeenCalledWith("a");
    expect(store.getSnapshot().state.sessions.get("a")?.counts).toMatchObject({ steps: 3, stepsCompleted: 2 });
    expect(store.getSnapshot().state.details.has("a")).toBe(false);
    store.stop();
  });

  it("restarts from nothing (after signing in)", async () => {
    const { store, socket, listSessions } = setup([
      Promise.resolve({ sessions: [session("a", 5)], total: 1 }),
      Promise.resolve({ sessions: [session("b", 9)], total: 1 }),
    ]);
    store.start();
    socket.frame({ type: "hello", seq: 5 });
    await vi.waitFor(() => expect(store.getSnapshot().state.sessions.has("a")).toBe(true));
    store.restart();
    expect(store.getSnapshot().state.sessions.size).toBe(0);
    expect(store.getSnapshot().loading).toBe(true);
    socket.frame({ type: "hello", seq: 9 });
    await vi.waitFor(() => expect([...store.getSnapshot().state.sessions.keys()]).toEqual(["b"]));
    expect(listSessions).toHaveBeenCalledTimes(2);
    store.stop();
  });
});
