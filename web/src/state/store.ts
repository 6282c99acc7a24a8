// The workspace store: the reducer's state plus the socket client and the REST calls
// that keep it current. No React here (useWorkspace wraps it), so it can be driven from
// tests or a worker alike.
//
//   start ─► socket connects ─► hello ─► REST snapshot of the session list
//                                        (events heard meanwhile wait, then fold)
//   events ─► queued ─► folded in batches (one render per batch, not per event)
//   resync ─► state cleared ─► REST snapshot (+ open sessions' details) ─► resume
//   openSession(id) ─► GET detail ─► loadDetail ─► subscribe(id, since = detail.lastSeq)
//   a step event names a step a session's index lacks ─► GET detail ─► loadSteps
//   events that changed the state ─► onEvents listeners (notices: toasts, alerts;
//                                    history refreshes)
import { ApiError, type Api } from "../api";
import type { Session, SessionDetail, SessionId, WorkspaceEvent } from "../generated";
import {
  SocketClient,
  type ConnectionState,
  type ResyncInfo,
  type SocketClientOptions,
} from "../socket/client";
import {
  applyEvents,
  applyProgress,
  dropDetail,
  forgetMissing,
  initialState,
  isDetailCurrent,
  loadCommands,
  loadDetail,
  loadSessions,
  loadSteps,
  resync,
  streamSeq,
  type ProgressFrame,
  type State,
} from "./reducer";

export interface WorkspaceSnapshot {
  readonly state: State;
  readonly connection: ConnectionState;
  /** True until the first snapshot of the session list has loaded (and during a resync). */
  readonly loading: boolean;
  /** The last REST failure, for people; cleared by the next success. */
  readonly error: string | undefined;
  /** Sessions opened in detail that the server does not have (404). */
  readonly notFound: ReadonlySet<SessionId>;
}

/** Told of the events that changed the state (no duplicates), with the state after them. */
export type EventsListener = (applied: readonly WorkspaceEvent[], state: State) => void;

export interface WorkspaceStoreOptions {
  api: Api;
  /** Socket options beyond what the store sets (url, createSocket, timings…). */
  socket?: Partial<Omit<SocketClientOptions, "onEvent" | "onHello" | "onProgress" | "onResync" | "sessionSince" | "onConnectFailed">>;
  /** How many live sessions the list snapshot asks for (ended ones are in History). */
  listLimit?: number;
  /**
   * Refresh the session list over REST this often while connected (0: never). Counts
   * stay current without it (global events, and `progress` frames for the rest); the
   * refresh is a safety net for what a reconnect's resume does not replay.
   */
  listRefreshMs?: number;
  /** Batches events: runs `flush` soon (default: a 16 ms timer). */
  schedule?: (flush: () => void) => void;
}

const MAX_MISSING_FETCHES = 8;
const MAX_STEP_FETCHES = 4;
/** At most one REST probe per this long while the socket cannot connect. */
const PROBE_EVERY_MS = 5000;

export class WorkspaceStore {
  readonly #opts: WorkspaceStoreOptions;
  readonly #api: Api;
  #snapshot: WorkspaceSnapshot = {
    state: initialState(),
    connection: "closed",
    loading: true,
    error: undefined,
    notFound: new Set(),
  };
  readonly #listeners = new Set<() => void>();
  #client: SocketClient | undefined;
  /** Events and progress frames, in arrival order (a frame's counts follow its events). */
  #queue: (WorkspaceEvent | ProgressFrame)[] = [];
  #flushScheduled = false;
  /** While a full refetch runs, events wait in the queue. */
  #holding = true;
  #refetchGeneration = 0;
  readonly #open = new Map<SessionId, number>();
  readonly #fetchingMissing = new Set<SessionId>();
  readonly #fetchingSteps = new Set<SessionId>();
  readonly #eventListeners = new Set<EventsListener>();
  #lastProbe = 0;
  #refreshTimer: ReturnType<typeof setInterval> | undefined;
  #unsubscribeState: (() => void) | undefined;
  #onOnline = () => this.#client?.reconnectNow();

  constructor(options: WorkspaceStoreOptions) {
    this.#opts = options;
    this.#api = options.api;
  }

  // --- for useSyncExternalStore ---------------------------------------------------

  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  getSnapshot = (): WorkspaceSnapshot => this.#snapshot;

  /** The REST client the store uses (steering actions go through it too). */
  get api(): Api {
    return this.#api;
  }

  /** Listens to the events that changed the state, batch by batch, as they arrive. */
  onEvents(listener: EventsListener): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  // --- life -----------------------------------------------------------------------

  start(): void {
    if (this.#client !== undefined) return;
    this.#holding = true;
    this.#update({ loading: true });
    const client = new SocketClient({
      ...this.#opts.socket,
      onEvent: (event) => this.#enqueue(event),
      onProgress: (frame) => this.#enqueue(frame),
      onHello: (_seq, first) => {
        if (first) void this.#refetchAll();
        // Progress frames are live only: counts that moved while the socket was down
        // come from the list (newer copies win).
        else void this.#refreshList();
      },
      onResync: (info) => this.#onResync(info),
      onConnectFailed: () => this.#probe(),
      sessionSince: (id) => (this.#snapshot.state.details.has(id) ? streamSeq(this.#snapshot.state, id) : undefined),
    });
    this.#client = client;
    this.#unsubscribeState = client.onStateChange((connection) => this.#update({ connection }));
    client.start(); // the first hello loads the list and the open sessions' details

    const every = this.#opts.listRefreshMs ?? 15_000;
    if (every > 0) this.#refreshTimer = setInterval(() => void this.#refreshList(), every);
    globalThis.addEventListener?.("online", this.#onOnline);
  }

  stop(): void {
    this.#refetchGeneration++;
    clearInterval(this.#refreshTimer);
    this.#refreshTimer = undefined;
    globalThis.removeEventListener?.("online", this.#onOnline);
    this.#unsubscribeState?.();
    this.#unsubscribeState = undefined;
    this.#client?.stop();
    this.#client = undefined;
    this.#update({ connection: "closed" });
  }

  /** Starts over with an empty state (after signing in with another token, say). */
  restart(): void {
    this.stop();
    this.#queue = [];
    this.#update({ state: initialState(), loading: true, error: undefined });
    this.start();
  }

  // --- session views --------------------------------------------------------------

  /** Opens a session in detail: loads it and subscribes to its stream. Counted. */
  async openSession(id: SessionId): Promise<void> {
    this.#open.set(id, (this.#open.get(id) ?? 0) + 1);
    if (this.#open.get(id) === 1) await this.#loadAndSubscribe(id);
  }

  /** Closes a view opened with openSession. */
  closeSession(id: SessionId): void {
    const n = (this.#open.get(id) ?? 0) - 1;
    if (n > 0) {
      this.#open.set(id, n);
      return;
    }
    this.#open.delete(id);
    this.#client?.unsubscribe(id);
    this.#setState(dropDetail(this.#snapshot.state, id));
  }

  /** Refetches the session list now (merging: newer data wins). */
  refresh(): Promise<void> {
    return this.#refreshList();
  }

  /** Loads a session's commands (with their acknowledgements) over REST. */
  async loadCommands(id: SessionId): Promise<void> {
    try {
      const list = await this.#api.listCommands(id);
      this.#setState(loadCommands(this.#snapshot.state, id, list.commands));
    } catch (err) {
      this.#fail(err);
    }
  }

  // --- internals ------------------------------------------------------------------

  async #loadAndSubscribe(id: SessionId): Promise<void> {
    let detail: SessionDetail;
    try {
      detail = await this.#fetchCurrentDetail(id);
    } catch (err) {
      if (err instanceof ApiError && err.isNotFound) {
        this.#update({ notFound: new Set([...this.#snapshot.notFound, id]) });
      } else {
        this.#fail(err);
      }
      return;
    }
    if (this.#snapshot.notFound.has(id)) {
      const notFound = new Set(this.#snapshot.notFound);
      notFound.delete(id);
      this.#update({ notFound });
    }
    if (!this.#open.has(id)) return;
    this.#setState(loadDetail(this.#snapshot.state, detail));
    this.#client?.subscribe(id, detail.lastSeq);
  }

  /**
   * GET a session's detail that is at least as new as what the app folded (a global
   * event may have arrived while the request was answered: loading an older detail
   * would lose it, since a subscription does not replay global events the socket
   * already got). Events waiting in the queue are folded first.
   */
  async #fetchCurrentDetail(id: SessionId): Promise<SessionDetail> {
    for (let attempt = 1; ; attempt++) {
      const detail = await this.#api.getSession(id);
      this.#flush();
      if (attempt >= 5 || isDetailCurrent(this.#snapshot.state, detail)) return detail;
      await sleep(50 * attempt);
    }
  }

  #enqueue(item: WorkspaceEvent | ProgressFrame): void {
    this.#queue.push(item);
    if (!this.#holding) this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    const run = () => {
      this.#flushScheduled = false;
      this.#flush();
    };
    if (this.#opts.schedule !== undefined) this.#opts.schedule(run);
    else setTimeout(run, 16);
  }

  #flush(): void {
    if (this.#holding || this.#queue.length === 0) return;
    const batch = this.#queue;
    this.#queue = [];
    const applied: WorkspaceEvent[] = [];
    let state = this.#snapshot.state;
    let run: WorkspaceEvent[] = [];
    for (const item of batch) {
      if (item.type !== "progress") {
        run.push(item);
        continue;
      }
      if (run.length > 0) state = applyEvents(state, run, applied);
      run = [];
      state = applyProgress(state, item);
    }
    if (run.length > 0) state = applyEvents(state, run, applied);
    this.#setState(state);
    if (applied.length > 0) for (const listener of [...this.#eventListeners]) listener(applied, state);
    this.#fetchMissing();
    this.#fetchSteps();
  }

  /** Loads the session list (and open sessions' details), holding events meanwhile. */
  async #refetchAll(): Promise<void> {
    const generation = ++this.#refetchGeneration;
    this.#holding = true;
    this.#update({ loading: true });
    for (let attempt = 0; ; attempt++) {
      try {
        const list = await this.#api.listSessions({ ended: false, limit: this.#opts.listLimit ?? 1000 });
        // A session that cannot be fetched (gone, say) is left out, not retried forever.
        const fetched = await Promise.allSettled([...this.#open.keys()].map((id) => this.#api.getSession(id)));
        const details = fetched.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
        if (generation !== this.#refetchGeneration) return;
        // Both snapshots were taken after the socket's hello (or the resync), and
        // events since are waiting in the queue, so nothing falls between them.
        let state = loadSessions(this.#snapshot.state, list.sessions, { snapshot: true });
        for (const detail of details) state = loadDetail(state, detail);
        this.#holding = false;
        this.#update({ state, loading: false, error: undefined });
        for (const detail of details) {
          if (this.#open.has(detail.id)) this.#client?.subscribe(detail.id, detail.lastSeq);
        }
        this.#flush();
        return;
      } catch (err) {
        if (generation !== this.#refetchGeneration) return;
        this.#fail(err);
        await sleep(Math.min(10_000, 500 * 2 ** attempt));
        if (generation !== this.#refetchGeneration) return;
      }
    }
  }

  #onResync(info: ResyncInfo): Promise<void> {
    const id = info.sessionId;
    if (id !== undefined) {
      // One session's replay was too large: reload its detail, subscribe from there.
      if (!this.#open.has(id)) return Promise.resolve();
      return this.#loadAndSubscribe(id);
    }
    this.#queue = [];
    this.#setState(resync(this.#snapshot.state));
    return this.#refetchAll();
  }

  async #refreshList(): Promise<void> {
    if (this.#holding || this.#snapshot.connection !== "open") return;
    if (typeof document !== "undefined" && document.visibilityState === "hidden") return;
    try {
      const list = await this.#api.listSessions({ ended: false, limit: this.#opts.listLimit ?? 1000 });
      if (this.#holding) return;
      this.#flush();
      this.#setState(loadSessions(this.#snapshot.state, list.sessions));
      if (this.#snapshot.error !== undefined) this.#update({ error: undefined });
    } catch (err) {
      this.#fail(err);
    }
  }

  /** Fetches sessions that events named but the list did not have. */
  #fetchMissing(): void {
    for (const id of this.#snapshot.state.missing) {
      if (this.#fetchingMissing.size >= MAX_MISSING_FETCHES) return;
      if (this.#fetchingMissing.has(id)) continue;
      this.#fetchingMissing.add(id);
      this.#api.getSession(id).then(
        (detail) => {
          this.#fetchingMissing.delete(id);
          this.#flush();
          this.#setState(loadSessions(this.#snapshot.state, [sessionOf(detail)]));
          this.#fetchMissing();
        },
        (err: unknown) => {
          this.#fetchingMissing.delete(id);
          this.#setState(forgetMissing(this.#snapshot.state, [id]));
          this.#fail(err);
        },
      );
    }
  }

  /** Loads the details of sessions whose step index missed a step, to count their steps right. */
  #fetchSteps(): void {
    for (const id of this.#snapshot.state.needsSteps) {
      if (this.#fetchingSteps.size >= MAX_STEP_FETCHES) return;
      if (this.#fetchingSteps.has(id)) continue;
      this.#fetchingSteps.add(id);
      this.#fetchCurrentDetail(id).then(
        (detail) => {
          this.#fetchingSteps.delete(id);
          this.#setState(loadSteps(this.#snapshot.state, detail));
          this.#fetchSteps();
        },
        () => {
          this.#fetchingSteps.delete(id);
          this.#snapshot.state.needsSteps.delete(id); // asked again on its next unknown step
        },
      );
    }
  }

  /**
   * The socket closed before its hello: the server may be down, or may refuse this
   * page without a token. A REST call tells which (a 401 opens the sign-in prompt).
   */
  #probe(): void {
    const now = Date.now();
    if (now - this.#lastProbe < PROBE_EVERY_MS) return;
    this.#lastProbe = now;
    this.#api.listSessions({ limit: 1 }).then(
      () => {},
      () => {},
    );
  }

  #fail(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.#update({ error: message });
  }

  #setState(state: State): void {
    if (state !== this.#snapshot.state) this.#update({ state });
  }

  #update(patch: Partial<WorkspaceSnapshot>): void {
    this.#snapshot = { ...this.#snapshot, ...patch };
    for (const listener of [...this.#listeners]) listener();
  }
}

/** A SessionDetail without its chains, answers and file changes. */
export function sessionOf(detail: SessionDetail): Session {
  const { chains: _chains, answers: _answers, fileChanges: _files, ...session } = detail;
  return session;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
