// The one socket client: `/ws`, JSON text frames (see PRODUCT.md, "Contract"). No React
// in here; the workspace store drives it and feeds what it hears to the reducer.
//
// - Every socket is on the global topic from `hello` on: session:*, interaction:*,
//   permission:* and command:* events of every session, no subscription needed.
// - `subscribe` adds one session's full stream (replay after `since`, then live).
// - After a drop it reconnects (exponential backoff with jitter, capped), sends
//   `resume` with the newest global seq it has, and re-subscribes every session with
//   the seq its view last applied, so nothing is missed; the reducer drops what it
//   already has.
// - `resync` (too far behind to be caught up): the store refetches over REST, then
//   the client resumes from there (a session's resync: the store reloads that session
//   and subscribes again).
//
// Delivery order, as the server (crates/backend/src/ws) does it: global events come in
// seq order; a subscription's replay (the session's events after `since`, less the
// global ones this socket gets live) comes before live frames queued meanwhile, so a
// session's replayed events can overtake global events with lower seqs. The reducer
// dedups exactly per session, so neither order loses nor doubles anything.
import type { ClientMessage, ServerMessage, SessionId, WorkspaceEvent } from "../generated";
import { isGlobalEventType } from "../state/events";

export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

/** What the client needs of a WebSocket (the browser's, or a fake in tests). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WebSocketFactory = (url: string, protocols?: readonly string[]) => WebSocketLike;

export type ResyncInfo = Omit<Extract<ServerMessage, { type: "resync" }>, "type">;

export interface SocketClientOptions {
  /** Where to connect; by default `/ws` on this page's origin (ws: or wss:). */
  url?: string;
  /** Makes the socket; by default the browser's WebSocket. */
  createSocket?: WebSocketFactory;
  /**
   * The subprotocols to offer, asked on every connection (e.g. `["chainwatch",
   * "bearer.<token>"]`). Offered protocols oblige the server to pick one, and a server
   * that does not negotiate them fails the handshake.
   */
  protocols?: () => readonly string[];
  /**
   * Whether the protocols only announce the client (no token among them): then, when
   * a connection that offered them fails before opening, the next attempt offers none,
   * and whichever way first opens is kept (a server that does not negotiate
   * subprotocols still works).
   */
  protocolsOptional?: () => boolean;
  /** A connection closed before the server's hello (refused, down, or not allowed). */
  onConnectFailed?: () => void;
  /** Every event heard, in arrival order (duplicates included: the reducer drops them). */
  onEvent: (event: WorkspaceEvent) => void;
  /** The server's first frame on every connection; `first` on the first connection. */
  onHello?: (seq: number, first: boolean) => void;
  /** A session's counts after events not on the global topic (coalesced by the server). */
  onProgress?: (frame: Extract<ServerMessage, { type: "progress" }>) => void;
  /** A subscription took effect; its replay (events up to `seq`) came before this. */
  onSubscribed?: (sessionId: SessionId, seq: number) => void;
  onUnsubscribed?: (sessionId: SessionId) => void;
  /** The server refused a frame (the socket stays open). */
  onServerError?: (code: string, message: string) => void;
  /**
   * Too far behind: refetch over REST — the whole state, then (when the promise
   * settles) the client resumes; or, when `sessionId` is set, that session's detail,
   * after which the app calls subscribe() again with the detail's seq.
   */
  onResync: (info: ResyncInfo) => void | Promise<void>;
  /**
   * Where a subscribed session's own stream stands in the app (the newest seq of its
   * non-global events folded): `since` when re-subscribing after a reconnect.
   */
  sessionSince?: (sessionId: SessionId) => number | undefined;
  /** The newest global seq already applied (e.g. from a snapshot); else `hello`'s seq. */
  since?: number;
  /** Heartbeat period (default 20 s). */
  pingIntervalMs?: number;
  /** A connection silent this long is taken as dead (default 2.5 heartbeats). */
  idleTimeoutMs?: number;
  /** First reconnect delay (default 250 ms), doubled per attempt up to `maxBackoffMs`. */
  baseBackoffMs?: number;
  /** Reconnect delay cap (default 5 s). */
  maxBackoffMs?: number;
  /** For tests. */
  random?: () => number;
  now?: () => number;
  log?: (message: string, detail?: unknown) => void;
}

const OPEN = 1;

export function defaultSocketUrl(): string {
  const { protocol, host } = globalThis.location;
  return `${protocol === "https:" ? "wss:" : "ws:"}//${host}/ws`;
}

/** Reconnect delay for attempt n (0-based): exponential, capped, "equal jitter". */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export class SocketClient {
  readonly #opts: SocketClientOptions;
  #ws: WebSocketLike | undefined;
  #state: ConnectionState = "closed";
  #stopped = true;
  #helloSeen = false;
  #everConnected = false;
  #attempt = 0;
  #lastSeq: number | undefined;
  #lastFrameAt = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  /** Subscribed sessions, with the `since` given to subscribe() (used when the view has none). */
  readonly #subscriptions = new Map<SessionId, number | undefined>();
  /** Sessions whose `subscribe` was sent and not yet confirmed: their replay is under way. */
  readonly #replaying = new Set<SessionId>();
  readonly #listeners = new Set<(state: ConnectionState) => void>();
  /** Whether to offer the optional protocols: learnt from the first connection that opens. */
  #protocolMode: "unknown" | "offer" | "omit" = "unknown";
  #offerNext = true;

  constructor(options: SocketClientOptions) {
    this.#opts = options;
    this.#lastSeq = options.since;
  }

  /** The connection state now. */
  get state(): ConnectionState {
    return this.#state;
  }

  /**
   * The newest seq of the global topic this client has heard: what `resume` asks after.
   * Only global events outside a session's replay move it, since a replay may run
   * ahead of the global topic (its events can have higher seqs than global events
   * still on their way).
   */
  get lastSeq(): number | undefined {
    return this.#lastSeq;
  }

  /** The sessions subscribed to (kept across reconnects). */
  get subscriptions(): ReadonlySet<SessionId> {
    return new Set(this.#subscriptions.keys());
  }

  /** Listens to connection state changes; returns the unsubscribe function. */
  onStateChange(listener: (state: ConnectionState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#open(this.#everConnected ? "reconnecting" : "connecting");
  }

  stop(): void {
    this.#stopped = true;
    this.#clearTimers();
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws !== undefined) {
      detach(ws);
      ws.close(1000, "client closed");
    }
    this.#helloSeen = false;
    this.#replaying.clear();
    this.#setState("closed");
  }

  /** Reconnects at once if waiting to reconnect (e.g. the browser came back online). */
  reconnectNow(): void {
    if (this.#stopped || this.#state !== "reconnecting" || this.#ws !== undefined) return;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#open("reconnecting");
  }

  /** Adds a session's stream, replaying the events after `since` (default: its view's seq). */
  subscribe(sessionId: SessionId, since?: number): void {
    this.#subscriptions.set(sessionId, since);
    if (this.#helloSeen) this.#sendSubscribe(sessionId);
  }

  unsubscribe(sessionId: SessionId): void {
    this.#replaying.delete(sessionId);
    if (!this.#subscriptions.delete(sessionId)) return;
    if (this.#helloSeen) this.#send({ type: "unsubscribe", sessionId });
  }

  // -------------------------------------------------------------------------------

  #open(state: ConnectionState): void {
    this.#setState(state);
    const url = this.#opts.url ?? defaultSocketUrl();
    const wanted = this.#opts.protocols?.() ?? [];
    const optional = this.#opts.protocolsOptional?.() ?? false;
    const offer =
      wanted.length > 0 &&
      (!optional || this.#protocolMode === "offer" || (this.#protocolMode === "unknown" && this.#offerNext));
    let ws: WebSocketLike;
    try {
      const create = this.#opts.createSocket ?? browserSocket;
      ws = offer ? create(url, wanted) : create(url);
    } catch (err) {
      this.#log("socket could not be created", err);
      this.#scheduleReconnect();
      return;
    }
    this.#ws = ws;
    this.#helloSeen = false;
    this.#lastFrameAt = this.#now();
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.#lastFrameAt = this.#now();
      if (optional && this.#protocolMode === "unknown") this.#protocolMode = offer ? "offer" : "omit";
    };
    ws.onmessage = (ev) => {
      if (ws !== this.#ws) return;
      if (typeof ev.data !== "string") {
        this.#log("ignored a non-text frame");
        return;
      }
      this.#onFrame(ev.data);
    };
    ws.onerror = () => {
      // A close event follows; reconnecting happens there.
    };
    ws.onclose = () => {
      if (ws !== this.#ws) return;
      if (!opened && optional && this.#protocolMode === "unknown") this.#offerNext = !offer;
      if (!this.#helloSeen) this.#opts.onConnectFailed?.();
      this.#dropped();
    };
  }

  #dropped(): void {
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws !== undefined) detach(ws);
    this.#helloSeen = false;
    this.#replaying.clear();
    this.#clearTimers();
    if (this.#stopped) {
      this.#setState("closed");
      return;
    }
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    this.#setState("reconnecting");
    const delay = backoffDelay(
      this.#attempt,
      this.#opts.baseBackoffMs ?? 250,
      this.#opts.maxBackoffMs ?? 5000,
      this.#opts.random ?? Math.random,
    );
    this.#attempt += 1;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (!this.#stopped) this.#open("reconnecting");
    }, delay);
  }

  #onFrame(text: string): void {
    this.#lastFrameAt = this.#now();
    let msg: ServerMessage;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== "object" || parsed === null || typeof (parsed as { type?: unknown }).type !== "string") {
        throw new Error("not a tagged object");
      }
      msg = parsed as ServerMessage;
    } catch (err) {
      this.#log("ignored a malformed frame", err);
      return;
    }

    switch (msg.type) {
      case "hello": {
        this.#helloSeen = true;
        this.#attempt = 0;
        const first = !this.#everConnected;
        this.#everConnected = true;
        this.#startHeartbeat();
        if (this.#lastSeq === undefined) {
          // Nothing applied yet: live from here (the store loads a REST snapshot now).
          this.#lastSeq = msg.seq;
        } else {
          this.#send({ type: "resume", since: this.#lastSeq });
        }
        for (const id of this.#subscriptions.keys()) this.#sendSubscribe(id);
        this.#setState("open");
        this.#opts.onHello?.(msg.seq, first);
        break;
      }
      case "event": {
        const event = msg.event;
        if (
          isGlobalEventType(event.type) &&
          !this.#replaying.has(event.sessionId) &&
          (this.#lastSeq === undefined || event.seq > this.#lastSeq)
        ) {
          this.#lastSeq = event.seq;
        }
        this.#opts.onEvent(event);
        break;
      }
      case "subscribed":
        this.#replaying.delete(msg.sessionId);
        this.#opts.onSubscribed?.(msg.sessionId, msg.seq);
        break;
      case "unsubscribed":
        this.#replaying.delete(msg.sessionId);
        this.#opts.onUnsubscribed?.(msg.sessionId);
        break;
      case "error":
        this.#log(`server refused a frame: ${msg.code}: ${msg.message}`);
        this.#opts.onServerError?.(msg.code, msg.message);
        break;
      case "resync":
        this.#resync(msg);
        break;
      case "pong":
        break;
      case "progress":
        this.#opts.onProgress?.(msg);
        break;
      default: {
        // Exhaustive over the generated union; at run time, a newer server's frame.
        const _never: never = msg;
        void _never;
        this.#log("ignored an unknown frame", text.slice(0, 200));
      }
    }
  }

  #resync(msg: Extract<ServerMessage, { type: "resync" }>): void {
    const info: ResyncInfo = { reason: msg.reason, seq: msg.seq };
    const sessionId = msg.sessionId;
    if (sessionId !== undefined) {
      // One session's replay was too large. The server keeps the subscription (live
      // events flow); the app reloads the detail and subscribes again from it.
      info.sessionId = sessionId;
      this.#replaying.delete(sessionId);
      this.#settle(info, () => {});
      return;
    }
    // The whole client fell behind (the server closes the socket after this, or, for a
    // too-large resume, keeps it). Whatever came before `seq` is covered by the
    // refetch; the views' old seqs are stale, so until the app subscribes again with
    // fresh ones, a reconnect subscribes live only.
    this.#lastSeq = Math.max(this.#lastSeq ?? 0, msg.seq);
    for (const id of this.#subscriptions.keys()) this.#subscriptions.set(id, undefined);
    const ws = this.#ws;
    this.#settle(info, () => {
      // On the same socket, catch up from there; a new socket resumes after hello anyway.
      if (ws === this.#ws && this.#helloSeen) this.#send({ type: "resume", since: this.#lastSeq ?? msg.seq });
    });
  }

  /** Runs the app's resync handler, then `then` (also when the handler failed). */
  #settle(info: ResyncInfo, then: () => void): void {
    let result: void | Promise<void>;
    try {
      result = this.#opts.onResync(info);
    } catch (err) {
      this.#log("resync handler failed", err);
      then();
      return;
    }
    Promise.resolve(result).then(then, (err: unknown) => {
      this.#log("resync handler failed", err);
      then();
    });
  }

  /**
   * Sends `subscribe` with the seq the session's view has applied; failing that, the
   * seq given to subscribe() (older is safe: the reducer drops what it already has).
   */
  #sendSubscribe(sessionId: SessionId): void {
    const from = this.#opts.sessionSince?.(sessionId) ?? this.#subscriptions.get(sessionId);
    const msg: ClientMessage = from === undefined ? { type: "subscribe", sessionId } : { type: "subscribe", sessionId, since: from };
    if (this.#send(msg)) this.#replaying.add(sessionId);
  }

  #send(msg: ClientMessage): boolean {
    const ws = this.#ws;
    if (ws === undefined || ws.readyState !== OPEN) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  #startHeartbeat(): void {
    clearInterval(this.#pingTimer);
    const period = this.#opts.pingIntervalMs ?? 20_000;
    const idle = this.#opts.idleTimeoutMs ?? period * 2.5;
    this.#pingTimer = setInterval(() => {
      const ws = this.#ws;
      if (ws === undefined) return;
      if (this.#now() - this.#lastFrameAt > idle) {
        this.#log("connection silent too long; reconnecting");
        ws.close(4000, "idle");
        this.#dropped(); // do not wait for a close event a dead link may never deliver
        return;
      }
      this.#send({ type: "ping" });
    }, period);
  }

  #clearTimers(): void {
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
  }

  #setState(state: ConnectionState): void {
    if (this.#state === state) return;
    this.#state = state;
    for (const listener of [...this.#listeners]) listener(state);
  }

  #now(): number {
    return (this.#opts.now ?? Date.now)();
  }

  #log(message: string, detail?: unknown): void {
    if (this.#opts.log !== undefined) this.#opts.log(message, detail);
    else console.warn(`[chainwatch socket] ${message}`, detail ?? "");
  }
}

function detach(ws: WebSocketLike): void {
  ws.onopen = null;
  ws.onmessage = null;
  ws.onclose = null;
  ws.onerror = null;
}

function browserSocket(url: string, protocols?: readonly string[]): WebSocketLike {
  return (protocols === undefined ? new WebSocket(url) : new WebSocket(url, [...protocols])) as unknown as WebSocketLike;
}
