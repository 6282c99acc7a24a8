// The bench's peer: a hook dashboard built the way the best of its kind is (Bun +
// SQLite), so that issue 19's "ahead of the peers" targets are measured against a peer
// running on the same machine, in the same run, under the same load generator.
//
// It speaks the part of Chainwatch's contract the bench uses: `POST /api/sessions`
// stores the session and a `session:started` event and publishes it to every socket;
// `POST /api/events` (one event or an array) stores and publishes each; `GET /ws`
// sends `{"type":"hello","seq":0}` and puts the socket on the global topic;
// `GET /api/health`. Like the peer it stands for, it commits to SQLite in WAL mode with
// `synchronous = NORMAL` (no fsync before its answer) and publishes with Bun's built-in
// topic fan-out (uWebSockets).
//
// Run: `bun peer.ts DATA_DIR`; it prints `PORT <n>` once listening on 127.0.0.1.
import { Database } from "bun:sqlite";

const dir = process.argv[2] ?? ".";
const db = new Database(`${dir}/peer.db`, { create: true });
db.exec("PRAGMA journal_mode = WAL");
db.exec("PRAGMA synchronous = NORMAL");
db.exec(
  "CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, cwd TEXT, hostname TEXT, user TEXT, title TEXT, status TEXT, started_at TEXT)",
);
db.exec(
  "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT UNIQUE, session_id TEXT, type TEXT, timestamp TEXT, payload TEXT)",
);
const insertSession = db.prepare(
  "INSERT OR IGNORE INTO sessions (id, cwd, hostname, user, title, status, started_at) VALUES (?, ?, ?, ?, ?, 'running', ?)",
);
const insertEvent = db.prepare(
  "INSERT OR IGNORE INTO events (event_id, session_id, type, timestamp, payload) VALUES (?, ?, ?, ?, ?) RETURNING seq",
);

type Incoming = Record<string, unknown>;

const json = (body: unknown, status: number) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });

/** Stores one event and publishes it; `null` when its eventId was stored before. */
function store(event: Incoming) {
  const timestamp = new Date().toISOString();
  const eventId = typeof event.eventId === "string" ? event.eventId : crypto.randomUUID();
  const row = insertEvent.get(
    eventId,
    String(event.sessionId),
    String(event.type),
    timestamp,
    JSON.stringify(event),
  ) as { seq: number } | null;
  if (!row) return null;
  const stored = { ...event, seq: row.seq, eventId, timestamp };
  server.publish("global", JSON.stringify({ type: "event", event: stored }));
  return stored;
}

const storeAll = db.transaction((events: Incoming[]) => events.map(store));

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req, server) {
    const url = new URL(req.url);
    if (url.pathname === "/ws") {
      return server.upgrade(req) ? undefined : json({ error: "upgrade_required" }, 400);
    }
    if (req.method === "GET" && url.pathname === "/api/health") {
      return json({ status: "ok" }, 200);
    }
    if (req.method !== "POST") return json({ error: "not_found" }, 404);
    let body: unknown;
    try {
      body = await req.json();
    } catch {
      return json({ error: "invalid_json" }, 400);
    }
    if (url.pathname === "/api/sessions") {
      const s = body as Record<string, string>;
      insertSession.run(s.id, s.cwd, s.hostname, s.user, s.title ?? null, new Date().toISOString());
      const event = store({
        sessionId: s.id,
        type: "session:started",
        cwd: s.cwd,
        hostname: s.hostname,
        user: s.user,
        title: s.title,
      });
      return json({ session: { id: s.id, status: "running" }, event }, 201);
    }
    if (url.pathname === "/api/events") {
      const events = storeAll(Array.isArray(body) ? body : [body]);
      return json({ events }, 201);
    }
    return json({ error: "not_found" }, 404);
  },
  websocket: {
    open(ws) {
      ws.subscribe("global");
      ws.send(JSON.stringify({ type: "hello", seq: 0 }));
    },
    message() {},
  },
});
console.log(`PORT ${server.port}`);
