import { describe, expect, test } from "vitest";
import { ev } from "./fixtures";
import { indexTools } from "./fold";
import { filterPositions, MAIN_AGENT, NO_FILTER, toolCallRow } from "./rows";

const events = [
  ev(1, { type: "agent:event", name: "SessionStart", payload: { source: "startup" } }),
  ev(2, { type: "prompt:submitted", prompt: "fix it" }),
  ev(3, { type: "tool:used", toolName: "Bash", toolUseId: "t1", status: "started", input: { command: "npm test" } }),
  ev(4, { type: "terminal:output", text: "FAIL\n", toolUseId: "t1" }),
  ev(5, { type: "tool:used", toolName: "Bash", toolUseId: "t1", status: "failed", error: "Exit code 1", durationMs: 5200 }),
  ev(6, { type: "step:started", chainId: "main", stepId: "agent-a" }),
  ev(7, { type: "tool:used", toolName: "Read", toolUseId: "t2", status: "started", input: { file_path: "/r/a.ts" }, stepId: "agent-a" }),
  ev(8, { type: "agent:event", name: "PreCompact", payload: { trigger: "auto" } }),
];

describe("timeline folding", () => {
  const tools = indexTools(events);

  test("one row per tool call, lifecycle noise folded, a compaction kept", () => {
    expect(filterPositions(events, NO_FILTER, { tools, showLifecycle: false })?.map((i) => events[i]?.seq)).toEqual([2, 3, 7, 8]);
    // Asked for, the lifecycle comes back; the call's outcome and output stay in its row.
    expect(filterPositions(events, NO_FILTER, { tools, showLifecycle: true })?.map((i) => events[i]?.seq)).toEqual([1, 2, 3, 6, 7, 8]);
  });

  test("a call's row shows its outcome and duration in place, or that it runs", () => {
    const started = events[2] as Extract<(typeof events)[number], { type: "tool:used" }>;
    const row = toolCallRow(started, tools.outcomes.get("t1"), "/r");
    expect(row).toMatchObject({ seq: 3, label: "Bash", failed: true, kind: "error" });
    expect(row.text).toBe("npm test · failed: Exit code 1");
    const running = toolCallRow(events[6] as typeof started, undefined, "/r");
    expect(running.text).toBe("a.ts · running…");
  });

  test("a filter by agent keeps that agent's rows", () => {
    expect(filterPositions(events, NO_FILTER, { tools, showLifecycle: false, agent: "agent-a" })?.map((i) => events[i]?.seq)).toEqual([7]);
    expect(filterPositions(events, NO_FILTER, { tools, showLifecycle: false, agent: MAIN_AGENT })?.map((i) => events[i]?.seq)).toEqual([2, 3, 8]);
  });

  test("the error filter finds a failed call by its folded outcome", () => {
    const errors = { kinds: new Set(["error"] as const), text: "" };
    expect(filterPositions(events, errors, { tools, showLifecycle: false })?.map((i) => events[i]?.seq)).toEqual([3]);
  });
});
