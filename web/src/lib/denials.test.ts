import { describe, expect, it } from "vitest";
import type { WorkspaceEvent } from "../generated";
import { indexTools } from "../components/detail/model/fold";
import { pairToolCalls, stepCalls } from "../components/detail/model/tools";
import { denialsOf } from "./denials";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type Body = DistributiveOmit<WorkspaceEvent, "seq" | "eventId" | "sessionId" | "timestamp">;

const ev = (seq: number, body: Body): WorkspaceEvent =>
  ({ seq, eventId: `e-${seq}`, sessionId: "s", timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(), ...body }) as WorkspaceEvent;

const push = { command: "git push --force" };
const ls = { command: "ls" };

const log: WorkspaceEvent[] = [
  ev(1, { type: "session:started", cwd: "/repo" }),
  ev(2, { type: "tool:used", toolName: "Bash", toolUseId: "t1", status: "started", input: push }),
  ev(3, { type: "tool:used", toolName: "Bash", toolUseId: "t2", status: "started", input: ls }),
  ev(4, { type: "permission:requested", requestId: "r1", toolName: "Bash", toolInput: push }),
  ev(5, { type: "permission:requested", requestId: "r2", toolName: "Bash", toolInput: ls }),
  ev(6, { type: "permission:decided", requestId: "r1", behavior: "deny", message: "not on main", decidedBy: "ada" }),
  ev(7, { type: "permission:decided", requestId: "r2", behavior: "allow" }),
  ev(8, { type: "tool:used", toolName: "Bash", toolUseId: "t2", status: "succeeded", input: ls }),
];

describe("a permission denied from the page", () => {
  it("settles the open call of its tool and input, and only on deny", () => {
    const denials = denialsOf(log);
    expect([...denials.keys()]).toEqual(["t1"]);
    expect(denials.get("t1")?.decided.seq).toBe(6);
  });

  it("settles nothing once the call ran (answered in the terminal first)", () => {
    const ran = [...log.slice(0, 4), ev(5, { type: "tool:used", toolName: "Bash", toolUseId: "t1", status: "succeeded", input: push }), ev(6, { type: "permission:decided", requestId: "r1", behavior: "deny" })];
    expect(denialsOf(ran).size).toBe(0);
  });

  it("settles the call a request names by id", () => {
    const named = [
      ev(1, { type: "tool:used", toolName: "Write", toolUseId: "w1", status: "started", input: { file_path: "/repo/a" } }),
      ev(2, { type: "permission:requested", requestId: "r", toolName: "Write", toolInput: {}, toolUseId: "w1" }),
      ev(3, { type: "permission:decided", requestId: "r", behavior: "deny" }),
    ];
    expect([...denialsOf(named).keys()]).toEqual(["w1"]);
  });

  it("gives the call's timeline row a failed outcome that says so", () => {
    const outcome = indexTools(log).outcomes.get("t1");
    expect(outcome?.type === "tool:used" && outcome.status).toBe("failed");
    expect(outcome?.type === "tool:used" && outcome.error).toBe("Denied by ada: not on main");
    expect(indexTools(log).outcomes.get("t2")?.seq).toBe(8);
  });

  it("ends the paired call as failed (inspector, Files)", () => {
    const calls = pairToolCalls(log);
    expect(calls.map((c) => [c.key, c.status])).toEqual([
      ["t1", "failed"],
      ["t2", "succeeded"],
    ]);
  });

  it("ends the call as denied in its step's inspector too", () => {
    const inStep = log.map((e) => (e.type === "tool:used" && e.toolUseId === "t1" ? { ...e, stepId: "task-1" } : e));
    const calls = stepCalls(inStep, "task-1");
    expect(calls.map((c) => [c.key, c.status, c.error])).toEqual([["t1", "failed", "Denied by ada: not on main"]]);
    expect(stepCalls(inStep, "task-2")).toEqual([]);
  });
});
