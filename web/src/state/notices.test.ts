import { describe, expect, it } from "vitest";
import type { WorkspaceEvent } from "../generated";
import { noticesFor, sessionLabel, summarizeInput } from "./notices";
import { applyEvents, initialState } from "./reducer";

const at = "2025-01-01T00:00:00.000Z";
const started: WorkspaceEvent = { seq: 1, eventId: "e1", sessionId: "s1", timestamp: at, type: "session:started", cwd: "/home/ada/src/billing" };

function noticesOf(events: WorkspaceEvent[]) {
  const applied: WorkspaceEvent[] = [];
  const state = applyEvents(initialState(), events, applied);
  return noticesFor(applied, state);
}

describe("notices", () => {
  it("raises one for a new question, a permission request and a failure", () => {
    const notices = noticesOf([
      started,
      { seq: 2, eventId: "e2", sessionId: "s1", timestamp: at, type: "interaction:awaiting-input", requestId: "q1", prompt: "Deploy?", quickResponses: [] },
      { seq: 3, eventId: "e3", sessionId: "s1", timestamp: at, type: "permission:requested", requestId: "p1", toolName: "Bash", toolInput: { command: "rm -rf build" } },
      { seq: 4, eventId: "e4", sessionId: "s1", timestamp: at, type: "step:failed", chainId: "c", stepId: "x", error: "3 tests failed" },
    ]);
    expect(notices.map((n) => [n.kind, n.title, n.body])).toEqual([
      ["question", "billing asks", "Deploy?"],
      ["permission", "billing wants to run Bash", "rm -rf build"],
      ["failure", "A step failed in billing", "3 tests failed"],
    ]);
    expect(notices[0]?.key).toBe("question:s1:q1");
    const ended = noticesOf([started, { seq: 5, eventId: "e5", sessionId: "s1", timestamp: at, type: "session:ended", status: "failed", reason: "gave up" }]);
    expect(ended.map((n) => [n.kind, n.title, n.body])).toEqual([["failure", "billing failed", "gave up"]]);
  });

  it("stays quiet about what was settled in the same batch (a resume catching up)", () => {
    const notices = noticesOf([
      started,
      { seq: 2, eventId: "e2", sessionId: "s1", timestamp: at, type: "interaction:awaiting-input", requestId: "q1", prompt: "Deploy?", quickResponses: [] },
      { seq: 3, eventId: "e3", sessionId: "s1", timestamp: at, type: "interaction:input-received", requestId: "q1", text: "yes" },
      { seq: 4, eventId: "e4", sessionId: "s1", timestamp: at, type: "permission:requested", requestId: "p1", toolName: "Bash", toolInput: null },
      { seq: 5, eventId: "e5", sessionId: "s1", timestamp: at, type: "permission:decided", requestId: "p1", behavior: "allow" },
      { seq: 6, eventId: "e6", sessionId: "s1", timestamp: at, type: "session:ended", status: "completed" },
    ]);
    expect(notices).toEqual([]);
  });

  it("names sessions and summarizes tool input for people", () => {
    expect(sessionLabel(undefined, "abc")).toBe("abc");
    expect(summarizeInput({ command: "ls -la" })).toBe("ls -la");
    expect(summarizeInput({ file_path: "/a/b.rs", content: "x" })).toBe("/a/b.rs");
    expect(summarizeInput({ x: 1 })).toBe('{"x":1}');
    expect(summarizeInput("y".repeat(500)).length).toBe(160);
  });
});
