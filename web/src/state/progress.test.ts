import { describe, expect, it } from "vitest";
import { restSession } from "./fixtures";
import type { SessionCounts, WorkspaceEvent } from "../generated";
import { applyEvents, applyProgress, initialState, loadDetail, loadSessions, type ProgressFrame } from "./reducer";

const counts = (patch: Partial<SessionCounts>): SessionCounts => ({
  events: 0,
  prompts: 0,
  toolCalls: 0,
  failures: 0,
  steps: 0,
  stepsCompleted: 0,
  fileChanges: 0,
  ...patch,
});

const frame = (seq: number, patch: Partial<SessionCounts>): ProgressFrame => ({
  type: "progress",
  sessionId: "s",
  seq,
  counts: counts({ events: seq, ...patch }),
  updatedAt: new Date(Date.UTC(2025, 0, 1, 0, 0, seq)).toISOString(),
});

const ended = (seq: number): WorkspaceEvent => ({
  seq,
  eventId: `e-${seq}`,
  sessionId: "s",
  timestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, seq)).toISOString(),
  type: "session:ended",
  status: "completed",
});

describe("applyProgress", () => {
  it("takes the server's counts for a session the list holds", () => {
    const state = applyProgress(loadSessions(initialState(), [restSession("s", 3)]), frame(10, { toolCalls: 4, failures: 1 }));
    expect(state.sessions.get("s")?.counts).toEqual(counts({ events: 10, toolCalls: 4, failures: 1 }));
    expect(state.sessions.get("s")?.lastSeq).toBe(10);
  });

  it("drops a frame older than what the app folded", () => {
    const before = loadSessions(initialState(), [restSession("s", 12)]);
    expect(applyProgress(before, frame(10, { toolCalls: 4 }))).toBe(before);
  });

  it("leaves a session open in detail to its own stream", () => {
    const open = loadDetail(initialState(), { ...restSession("s", 3), chains: [], answers: [], fileChanges: [] });
    expect(applyProgress(open, frame(10, { toolCalls: 4 }))).toBe(open);
  });

  it("takes only the distinct files changed for a session open in detail, from a frame as new as it", () => {
    const open = loadDetail(initialState(), { ...restSession("s", 3), chains: [], answers: [], fileChanges: [] });
    const state = applyProgress(open, frame(10, { toolCalls: 4, fileChanges: 2 }));
    expect(state.sessions.get("s")?.counts).toEqual(counts({ events: 3, fileChanges: 2 }));
    const newer = loadDetail(initialState(), { ...restSession("s", 12), chains: [], answers: [], fileChanges: [] });
    expect(applyProgress(newer, frame(10, { fileChanges: 2 }))).toBe(newer);
  });

  it("does not count again an event the frame covered that arrives after it", () => {
    let state = applyProgress(loadSessions(initialState(), [restSession("s", 3)]), frame(10, { toolCalls: 4 }));
    // A resume's replay hands over an older global event after the live frame.
    state = applyEvents(state, [ended(9)]);
    expect(state.sessions.get("s")?.status).toBe("completed");
    expect(state.sessions.get("s")?.counts.events).toBe(10);
    // A newer one counts.
    state = applyEvents(state, [{ ...ended(11), eventId: "e-11" }]);
    expect(state.sessions.get("s")?.counts.events).toBe(11);
  });
});
