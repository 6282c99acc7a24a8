// The web reducer's side of the projection ↔ reducer cross-check. The event logs of
// crates/backend/tests/fixtures/logs/*.jsonl (together every event type: subagents,
// permissions, questions, commands, files, assistant messages with usage) are folded by
// the Rust projection into `*.expected.json` (tests/projection_fixtures.rs keeps them
// current). Here the reducer folds the same logs and must reproduce that JSON: every
// session's list row, its chains, answers and file changes (as a page with the session
// open in detail holds them), and its commands.
import { readFileSync, readdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { WorkspaceEvent } from "../../src/generated";
import { applyEvent, applyEvents, initialState, loadDetail, type State } from "../../src/state/reducer";

const dir = resolve(dirname(fileURLToPath(import.meta.url)), "../../../crates/backend/tests/fixtures/logs");
const logs = readdirSync(dir)
  .filter((name) => name.endsWith(".jsonl"))
  .sort();

interface Expected {
  sessions: unknown[];
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

/**
 * The list rows, but for `counts.fileChanges`: the distinct files a session changed are
 * counted by the server alone (core/calls.rs) and reach the app through REST and
 * `progress` frames (applyProgress; tests/list_counts.rs and the live-counts browser
 * test check that path), so the reducer never folds that one figure itself.
 */
function rows(state: State): unknown[] {
  return json([...state.sessions.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) as unknown[];
}

function withoutServerCounts(sessions: unknown[]): unknown[] {
  return sessions.map((row) => {
    const { counts, ...rest } = row as { counts: Record<string, unknown> };
    const { fileChanges: _serverCounted, ...folded } = counts;
    return { ...rest, counts: folded };
  });
}

describe("the reducer folds the fixture logs as the Rust projection does", () => {
  it("has logs to fold", () => {
    expect(logs.length).toBeGreaterThan(1);
  });

  for (const name of logs) {
    it(`${name}: session list rows`, () => {
      const { events, expected } = read(name);
      const state = applyEvents(initialState(), events);
      expect(withoutServerCounts(rows(state))).toEqual(withoutServerCounts(expected.sessions));
    });

    it(`${name}: chains, answers, file changes and commands of a session open in detail`, () => {
      const { events, expected } = read(name);
      let state = initialState();
      for (const event of events) {
        state = applyEvent(state, event);
        if (event.type === "session:started") {
          // The page opens the session as soon as it exists: its detail is then empty.
          const session = state.sessions.get(event.sessionId);
          if (session !== undefined) state = loadDetail(state, { ...session, chains: [], answers: [], fileChanges: [] });
        }
      }
      expect(withoutServerCounts(rows(state))).toEqual(withoutServerCounts(expected.sessions));
      for (const [id, detail] of Object.entries(expected.details)) {
        const held = state.details.get(id);
        expect(held, id).toBeDefined();
        expect(json({ chains: held?.chains, answers: held?.answers, fileChanges: held?.fileChanges }), id).toEqual(detail);
        expect(json(state.commands.get(id) ?? []), id).toEqual(expected.commands[id]);
      }
    });
  }
});
