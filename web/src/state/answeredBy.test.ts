import { describe, expect, it } from "vitest";
import type { WorkspaceEvent } from "../generated";
import { toRow } from "../components/detail/model/rows";
import { applyEvent, initialState, type State } from "./reducer";

// Who answered: the names the server records on decisions, answers and commands reach
// the "recently answered" list, the command history and the timeline's lines.

function ev(seq: number, body: Record<string, unknown>): WorkspaceEvent {
  return {
    seq,
    eventId: `e-${seq}`,
    sessionId: "s1",
    timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
    ...body,
  } as unknown as WorkspaceEvent;
}

const history: WorkspaceEvent[] = [
  ev(1, { type: "session:started", cwd: "/work/s1" }),
  ev(2, { type: "interaction:awaiting-input", requestId: "q1", prompt: "Which?", quickResponses: [] }),
  ev(3, { type: "interaction:input-received", requestId: "q1", text: "main", answeredBy: "grace" }),
  ev(4, { type: "permission:requested", requestId: "p1", toolName: "Bash", toolInput: { command: "ls" } }),
  ev(5, { type: "permission:decided", requestId: "p1", behavior: "deny", decidedBy: "shared" }),
  ev(6, { type: "command:issued", commandId: "k1", command: "pause", issuedBy: "local" }),
];

describe("who answered", () => {
  it("keeps the name on resolutions and commands", () => {
    const state: State = history.reduce(applyEvent, initialState());
    const by = Object.fromEntries(state.resolved.map((r) => [r.requestId, r.by]));
    expect(by).toEqual({ q1: "grace", p1: "shared" });
    expect(state.commands.get("s1")?.[0]?.issuedBy).toBe("local");
  });

  it("names them in the timeline's lines", () => {
    const lines = history.slice(2).map((e) => toRow(e).text);
    expect(lines[0]).toBe("main · by grace");
    expect(lines[2]).toBe("deny · by shared");
    expect(lines[3]).toBe("pause · by local");
  });
});
