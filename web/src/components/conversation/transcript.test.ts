import { describe, expect, it } from "vitest";
import type { Chain, WorkspaceEvent } from "../../generated";
import { buildTranscript } from "./transcript";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type Body = DistributiveOmit<WorkspaceEvent, "seq" | "eventId" | "sessionId" | "timestamp">;
const ev = (seq: number, body: Body): WorkspaceEvent =>
  ({ seq, eventId: `e${seq}`, sessionId: "s", timestamp: "2026-01-01T00:00:00Z", ...body }) as WorkspaceEvent;

const chains: Chain[] = [
  {
    id: "main",
    sessionId: "s",
    status: "running",
    steps: [
      { id: "task-t2", chainId: "main", name: "Find the word", kind: "task", status: "running", waitsFor: [] },
      { id: "agent-a1", chainId: "main", name: "agent-a1", kind: "subagent", status: "running", waitsFor: [], parentStepId: "task-t2", agentType: "general-purpose" },
    ],
  },
];

describe("buildTranscript", () => {
  it("reads as the conversation: tool calls folded, subagents nested, cost per prompt", () => {
    const usage = { inputTokens: 100, outputTokens: 10, cacheReadTokens: 0, cacheCreationTokens: 0 };
    const items = buildTranscript(
      [
        ev(1, { type: "session:started", cwd: "/w" }),
        ev(2, { type: "prompt:submitted", prompt: "echo a word" }),
        ev(3, { type: "message:assistant", text: "Running echo.", model: "m" }),
        ev(4, { type: "message:assistant", text: "", usage, costUsd: 0.25 }),
        ev(5, { type: "tool:used", toolName: "Bash", toolUseId: "t1", status: "started", input: { command: "echo hi" } }),
        ev(6, { type: "tool:used", toolName: "Bash", toolUseId: "t1", status: "failed", error: "exit 1" }),
        ev(7, { type: "message:assistant", text: "From the subagent.", stepId: "agent-a1", usage, costUsd: 0.5 }),
        ev(8, { type: "prompt:submitted", prompt: "next" }),
      ],
      chains,
    );
    expect(items.map((i) => i.kind)).toEqual(["prompt", "assistant", "tool", "assistant", "prompt"]);
    expect(items[0]).toMatchObject({ costUsd: 0.75, tokens: 220 });
    expect(items[2]).toMatchObject({ name: "Bash", summary: "echo hi", status: "failed", error: "exit 1", depth: 0 });
    expect(items[3]).toMatchObject({ text: "From the subagent.", depth: 1, agent: "general-purpose" });
    expect(items[4]).toMatchObject({ costUsd: 0, tokens: 0 });
  });
});
