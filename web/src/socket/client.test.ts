import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { ClientMessage, ServerMessage, WorkspaceEvent } from "../generated";
import { SocketClient, backoffDelay, type ConnectionState, type ResyncInfo, type SocketClientOptions, type WebSocketLike } from "./client";

class FakeSocket implements WebSocketLike {
  readyState = 0;
  sent: ClientMessage[] = [];
  closed = false;
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  constructor(readonly url: string) {}

  send(data: string): void {
    this.sent.push(JSON.parse(data) as ClientMessage);
  }
  close(): void {
    this.closed = true;
    this.readyState = 3;
  }
  // server side
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  frame(msg: ServerMessage): void {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  drop(): void {
    this.readyState = 3;
    this.onclose?.({ code: 1006, reason: "" });
  }
}

function event(seq: number, sessionId: string, type: "session:updated" | "tool:used"): WorkspaceEvent {
  const base = { seq, eventId: `e${seq}`, sessionId, timestamp: "2025-01-01T00:00:00Z" };
  return type === "tool:used"
    ? { ...base, type, toolName: "Bash", status: "succeeded" }
    : { ...base, type, summary: `at ${seq}` };
}

describe("SocketClient", () => {
  let sockets: FakeSocket[];
  let events: WorkspaceEvent[];
  let states: ConnectionState[];
  let resyncs: ResyncInfo[];
  let since: Map<string, number>;

  function client(extra: Partial<SocketClientOptions> = {}): SocketClient {
    const c = new SocketClient({
      url: "ws://test/ws",
      createSocket: (url) => {
        const s = new FakeSocket(url);
        sockets.push(s);
        return s;
      },
      onEvent: (e) => events.push(e),
      onResync: (info) => {
        resyncs.push(info);
      },
      sessionSince: (id) => since.get(id),
      random: () => 1,
      log: () => {},
      ...extra,
    });
    c.onStateChange((s) => states.push(s));
    return c;
  }

  const last = () => sockets[sockets.length - 1] as FakeSocket;

  beforeEach(() => {
    vi.useFakeTimers();
    sockets = [];
    events = [];
    states = [];
    resyncs = [];
    since = new Map();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("connects, takes hello's seq, and subscribes once the server spoke", () => {
    const c = client();
    c.start();
    expect(c.state).toBe("connecting");
    c.subscribe("s1", 5); // before hello: remembered
    last().open();
    last().frame({ type: "hello", seq: 42 });
    expect(c.state).toBe("open");
    expect(c.lastSeq).toBe(42);
    expect(last().sent).toEqual([{ type: "subscribe", sessionId: "s1", since: 5 }]);
    c.subscribe("s2", 7);
    expect(last().sent[1]).toEqual({ type: "subscribe", sessionId: "s2", since: 7 });
    c.unsubscribe("s2");
    expect(last().sent[2]).toEqual({ type: "unsubscribe", sessionId: "s2" });
  });

  it("passes events on and tracks the newest global seq, not a replay's", () => {
    const c = client();
    c.start();
    last().open();
    last().frame({ type: "hello", seq: 10 });
    last().frame({ type: "event", event: event(11, "a", "session:updated") });
    expect(c.lastSeq).toBe(11);
    c.subscribe("b", 3);
    // b's replay runs ahead of the global topic: its seqs do not move the resume point.
    last().frame({ type: "event", event: event(30, "b", "session:updated") });
    last().frame({ type: "event", event: event(31, "b", "tool:used") });
    expect(c.lastSeq).toBe(11);
    last().frame({ type: "subscribed", sessionId: "b", seq: 31 });
    last().frame({ type: "event", event: event(32, "b", "session:updated") });
    expect(c.lastSeq).toBe(32);
    expect(events.map((e) => e.seq)).toEqual([11, 30, 31, 32]);
  });

  it("reconnects with capped, jittered backoff, resumes and re-subscribes", () => {
    const c = client();
    c.start();
    last().open();
    last().frame({ type: "hello", seq: 10 });
    c.subscribe("s1", 4);
    last().frame({ type: "event", event: event(12, "x", "session:updated") });

    last().drop();
    expect(c.state).toBe("reconnecting");
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(250); // first delay: base 250 ms (random() = 1)
    expect(sockets).toHaveLength(2);
    since.set("s1", 9); // the view applied up to 9 meanwhile
    last().open();
    last().frame({ type: "hello", seq: 20 });
    expect(last().sent).toEqual([
      { type: "resume", since: 12 },
      { type: "subscribe", sessionId: "s1", since: 9 },
    ]);
    expect(states).toEqual(["connecting", "open", "reconnecting", "open"]);

    // Repeated failures back off exponentially up to the cap.
    for (let i = 0; i < 8; i++) {
      last().drop();
      vi.advanceTimersByTime(backoffDelay(i, 250, 5000, () => 1));
    }
    expect(sockets).toHaveLength(10);
    expect(backoffDelay(20, 250, 5000, () => 1)).toBe(5000);
    expect(backoffDelay(20, 250, 5000, () => 0)).toBe(2500);
  });

  it("on resync, lets the app refetch, then resumes from the server's seq", async () => {
    let finish: () => void = () => {};
    const c = client({
      onResync: (info) => {
        resyncs.push(info);
        return new Promise<void>((resolve) => {
          finish = resolve;
        });
      },
    });
    c.start();
    last().open();
    last().frame({ type: "hello", seq: 10 });
    c.subscribe("s1", 2);
    last().sent = [];
    last().frame({ type: "resync", reason: "too far behind", seq: 500 });
    expect(resyncs).toEqual([{ reason: "too far behind", seq: 500 }]);
    expect(last().sent).toEqual([]); // waits for the refetch
    finish();
    await vi.advanceTimersByTimeAsync(1);
    // Subscriptions are renewed by the app once it has reloaded the details.
    expect(last().sent).toEqual([{ type: "resume", since: 500 }]);
    // The server closes a lagging socket: the reconnect resumes from the resync's seq,
    // and the old, stale `since` of s1 is not reused (live only until the app renews it).
    last().drop();
    vi.advanceTimersByTime(250);
    last().open();
    last().frame({ type: "hello", seq: 600 });
    expect(last().sent).toEqual([
      { type: "resume", since: 500 },
      { type: "subscribe", sessionId: "s1" },
    ]);
    c.stop();
  });

  it("on a session's resync, lets the app reload it and sends nothing itself", async () => {
    const c = client();
    c.start();
    last().open();
    last().frame({ type: "hello", seq: 10 });
    c.subscribe("s1", 2);
    last().frame({ type: "resync", reason: "more than 1000000 events to replay", seq: 9, sessionId: "s1" });
    await vi.advanceTimersByTimeAsync(1);
    expect(resyncs).toEqual([{ reason: "more than 1000000 events to replay", seq: 9, sessionId: "s1" }]);
    expect(last().sent).toEqual([{ type: "subscribe", sessionId: "s1", since: 2 }]);
    expect(c.lastSeq).toBe(10);
    c.stop();
  });

  it("pings every 20 s and drops a connection that went silent", () => {
    const c = client();
    c.start();
    last().open();
    last().frame({ type: "hello", seq: 1 });
    vi.advanceTimersByTime(20_000);
    expect(last().sent).toEqual([{ type: "ping" }]);
    last().frame({ type: "pong" });
    vi.advanceTimersByTime(60_000); // no frame for 60 s > 50 s
    expect(c.state).toBe("reconnecting");
    expect(sockets[0]?.closed).toBe(true);
  });

  it("ignores malformed frames and stops cleanly", () => {
    const c = client();
    c.start();
    last().open();
    last().onmessage?.({ data: "not json" });
    last().onmessage?.({ data: JSON.stringify({ no: "type" }) });
    last().frame({ type: "hello", seq: 3 });
    expect(c.state).toBe("open");
    c.stop();
    expect(c.state).toBe("closed");
    expect(sockets[0]?.closed).toBe(true);
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(1);
  });

  describe("subprotocols", () => {
    function withProtocols(optional: boolean) {
      const offered: Array<readonly string[] | undefined> = [];
      let failures = 0;
      const c = client({
        createSocket: (url, protocols) => {
          offered.push(protocols);
          const s = new FakeSocket(url);
          sockets.push(s);
          return s;
        },
        protocols: () => (optional ? ["chainwatch"] : ["chainwatch", "bearer.secret-token-123456"]),
        protocolsOptional: () => optional,
        onConnectFailed: () => {
          failures += 1;
        },
      });
      return { c, offered, failures: () => failures };
    }

    it("offers the token as a subprotocol, on every attempt", () => {
      const { c, offered, failures } = withProtocols(false);
      c.start();
      last().drop(); // refused before opening
      vi.advanceTimersByTime(250);
      last().drop();
      vi.advanceTimersByTime(500);
      expect(offered).toEqual([
        ["chainwatch", "bearer.secret-token-123456"],
        ["chainwatch", "bearer.secret-token-123456"],
        ["chainwatch", "bearer.secret-token-123456"],
      ]);
      expect(failures()).toBe(2);
    });

    it("without a token, falls back to no subprotocol when a server refuses the handshake, and keeps what worked", () => {
      const { c, offered } = withProtocols(true);
      c.start();
      last().drop(); // a server that does not negotiate subprotocols fails the handshake
      vi.advanceTimersByTime(250);
      last().open();
      last().frame({ type: "hello", seq: 1 });
      last().drop(); // a later drop, after it worked without
      vi.advanceTimersByTime(250);
      expect(offered).toEqual([["chainwatch"], undefined, undefined]);
      expect(c.state).toBe("reconnecting");
    });

    it("keeps offering the subprotocol to a server that accepted it", () => {
      const { c, offered } = withProtocols(true);
      c.start();
      last().open();
      last().frame({ type: "hello", seq: 1 });
      last().drop();
      vi.advanceTimersByTime(250);
      last().drop(); // down for a moment: still offered
      vi.advanceTimersByTime(500);
      expect(offered).toEqual([["chainwatch"], ["chainwatch"], ["chainwatch"]]);
    });
  });
});
