// The web reducer's side of the projection ↔ reducer cross-check. The event logs of
// crates/backend/tests/fixtures/logs/*.jsonl (together every event type: subagents,
// permissions, questions, commands, files, assistant messages with usage) are folded by
// the Rust projection into `*.expected.json` (tests/projection_fixtures.rs keeps them
// current). Here the reducer folds the same logs and must reproduce that JSON: every
// session's list row, its chains, answers and file changes (as a page with the session
// open in detail holds them), and its commands.
//
// One figure the reducer never counts itself: `counts.fileChanges`, the number of
// distinct files changed, which only the server can count from the whole session (it
// arrives over REST and in `progress` frames). The list rows are compared without it;
// the detail case then hands the reducer the server's progress frame, as the socket
// would, and compares the whole row.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Session, WorkspaceEvent } from "../../src/generated";
import { applyEvent, applyEvents, applyProgress, initialState, loadDetail, type State } from "../../src/state/reducer";

const dir = resolve(dirname(fileURLToPath(import.meta.url)), "../../../crates/backend/tests/fixtures/logs");
const logs = readdirSync(dir)
  .filter((name) => name.endsWith(".jsonl"))
  .sort();

interface Expected {
  sessions: Session[];
  details: Record<string, { chains: unknown; answers: unknown; fileChanges: unknown }>;
  commands: Record<string, unknown[]>;
}

function read(name: string): { events: WorkspaceEvent[]; expected: Expected } {
  const events = readFileSync(resolve(dir, name), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as WorkspaceEvent);
  const expected = JSON.parse(readFileSync(resolve(dir, name.replace(/\.jsonl$/, ".expected.json")), "utf8")) as Expected;
  return { events, expected };
}

/** Plain JSON, as the server would send it (no `undefined` members, no Maps). */
function json(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

function rows(state: State): Session[] {
  return json([...state.sessions.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) as Session[];
}

/**
 * Rows without the figures a list (no session open) takes from the server: the distinct
 * files changed always, and a call settled by a denial (decided from the session's own
 * stream, which only an open session hears; denied-call.jsonl has one).
 */
function ownCounts(list: readonly Session[], log: string): unknown[] {
  const denial = log === "denied-call.jsonl";
  return list.map((row) => ({
    ...row,
    counts: {
      ...row.counts,
      fileChanges: "(server's)",
      ...(denial ? { toolCalls: "(server's)", failures: "(server's)" } : {}),
    },
  }));
}

describe("the reducer folds the fixture logs as the Rust projection does", () => {
  it("has logs to fold", () => {
    expect(logs.length).toBeGreaterThan(1);
  });

  for (const name of logs) {
    it(`${name}: session list rows`, () => {
      const { events, expected } = read(name);
      const state = applyEvents(initialState(), events);
      expect(ownCounts(rows(state), name)).toEqual(ownCounts(expected.sessions, name));
    });

    it(`${name}: chains, answers, file changes and commands of a session open in detail`, () => {
      const { events, expected } = read(name);
      let state = initialState();
      for (const event of events) {
        state = applyEvent(state, event);
        if (event.type === "session:started" && !state.details.has(event.sessionId)) {
          // The page opens the session as soon as it exists: its detail is then empty.
          const session = state.sessions.get(event.sessionId);
          if (session !== undefined) state = loadDetail(state, { ...session, chains: [], answers: [], fileChanges: [] });
        }
      }
      // The server's progress frame for each session, as the socket sends it.
      for (const row of expected.sessions) {
        state = applyProgress(state, { type: "progress", sessionId: row.id, seq: row.lastSeq, counts: row.counts, updatedAt: row.updatedAt });
      }
      expect(rows(state)).toEqual(expected.sessions);
      for (const [id, detail] of Object.entries(expected.details)) {
        const held = state.details.get(id);
        expect(held, id).toBeDefined();
        expect(json({ chains: held?.chains, answers: held?.answers, fileChanges: held?.fileChanges }), id).toEqual(detail);
        expect(json(state.commands.get(id) ?? []), id).toEqual(expected.commands[id]);
      }
    });
  }
});
