import { describe, expect, test } from "vitest";
import { ev } from "./fixtures";
import { filterPositions, matchesFilter, NO_FILTER, rowKind, shortenPaths, stripAnsi, toRow, type RowKind } from "./rows";

const filter = (kinds: RowKind[], text = "") => ({ kinds: new Set(kinds), text });

describe("event → timeline row", () => {
  test("each event type has a kind for the filters; failures are errors", () => {
    expect(rowKind(ev(1, { type: "prompt:submitted", prompt: "hi" }))).toBe("prompt");
    expect(rowKind(ev(2, { type: "tool:used", toolName: "Bash", status: "succeeded" }))).toBe("tool");
    expect(rowKind(ev(3, { type: "tool:used", toolName: "Bash", status: "failed", error: "x" }))).toBe("error");
    expect(rowKind(ev(4, { type: "step:spawned", chainId: "c", stepId: "s", name: "n", kind: "subagent", waitsFor: [] }))).toBe("step");
    expect(rowKind(ev(5, { type: "step:failed", chainId: "c", stepId: "s", error: "boom" }))).toBe("error");
    expect(rowKind(ev(6, { type: "file:created", path: "a.ts" }))).toBe("file");
    expect(rowKind(ev(7, { type: "error:occurred", message: "m" }))).toBe("error");
    expect(rowKind(ev(8, { type: "session:ended", status: "failed" }))).toBe("error");
    expect(rowKind(ev(9, { type: "session:ended", status: "completed" }))).toBe("session");
    expect(rowKind(ev(10, { type: "terminal:output", text: "x" }))).toBe("tool");
  });

  test("a tool call reads as its tool and what it did", () => {
    const started = toRow(ev(1, { type: "tool:used", toolName: "Bash", status: "started", input: { command: "npm test" }, stepId: "agent-1" }));
    expect(started).toMatchObject({ label: "Bash", text: "npm test · started", failed: false, stepId: "agent-1", kind: "tool" });
    const done = toRow(ev(2, { type: "tool:used", toolName: "Bash", status: "succeeded", input: { command: "npm test" }, durationMs: 3100 }));
    expect(done.text).toBe("npm test · 3.1 s");
    const failed = toRow(ev(3, { type: "tool:used", toolName: "Edit", status: "failed", input: { file_path: "/r/a.ts" }, error: "not found" }));
    expect(failed).toMatchObject({ label: "Edit", failed: true, text: "/r/a.ts · failed: not found" });
  });

  test("paths inside the cwd are shown relative to it", () => {
    const row = toRow(ev(1, { type: "tool:used", toolName: "Read", status: "succeeded", input: { file_path: "/repo/src/a.ts" } }), "/repo");
    expect(row.text).toBe("src/a.ts");
    expect(shortenPaths("/repo/a and /repo/b, /repository/c", "/repo/")).toBe("a and b, /repository/c");
    expect(shortenPaths("/x", "/")).toBe("/x");
  });

  test("steps, prompts and output read as one line", () => {
    expect(toRow(ev(1, { type: "step:spawned", chainId: "main", stepId: "t3", name: "Add retries", kind: "task", waitsFor: ["t1", "t2"], agentType: "general-purpose" })).text).toBe(
      "Add retries (general-purpose) · waits for t1, t2",
    );
    expect(toRow(ev(2, { type: "prompt:submitted", prompt: "line one\n  line two" })).text).toBe("line one line two");
    expect(toRow(ev(3, { type: "terminal:output", text: "\u001b[31mred\u001b[0m done", stream: "stderr" }))).toMatchObject({ label: "stderr", text: "red done" });
    expect(toRow(ev(4, { type: "prompt:submitted", prompt: "x".repeat(1000) })).text.length).toBeLessThanOrEqual(240);
  });

  test("stripAnsi removes colour, cursor and OSC sequences", () => {
    expect(stripAnsi("\u001b[1;32mok\u001b[0m \u001b[2K\u001b]0;title\u0007x")).toBe("ok x");
  });
});

describe("filtering", () => {
  const events = [
    ev(1, { type: "prompt:submitted", prompt: "Fix the login" }),
    ev(2, { type: "tool:used", toolName: "Bash", status: "succeeded", input: { command: "npm test" } }),
    ev(3, { type: "tool:used", toolName: "Bash", status: "failed", input: { command: "npm run lint" }, error: "exit 1" }),
    ev(4, { type: "file:modified", path: "src/login.ts" }),
    ev(5, { type: "step:started", chainId: "main", stepId: "agent-1" }),
  ];

  test("no filter builds no index", () => {
    expect(filterPositions(events, NO_FILTER)).toBeUndefined();
    expect(filterPositions(events, filter([], "   "))).toBeUndefined();
  });

  test("by kind: a failed tool call is a tool call and an error", () => {
    expect(filterPositions(events, filter(["tool"]))).toEqual([1, 2]);
    expect(filterPositions(events, filter(["error"]))).toEqual([2]);
    expect(filterPositions(events, filter(["prompt", "file"]))).toEqual([0, 3]);
    expect(filterPositions(events, filter(["step"]))).toEqual([4]);
  });

  test("by text, case-insensitive, in the row and the event's JSON", () => {
    expect(filterPositions(events, filter([], "LOGIN"))).toEqual([0, 3]);
    expect(filterPositions(events, filter([], "exit 1"))).toEqual([2]);
    expect(filterPositions(events, filter(["tool"], "lint"))).toEqual([2]);
    expect(matchesFilter(events[4]!, filter([], "agent-1"))).toBe(true);
  });
});
