import { describe, expect, it } from "vitest";
import type { WorkspaceEvent } from "../../generated";
import { applyEvents, initialState } from "../../state/reducer";
import { replayAt } from "./replay";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type Body = DistributiveOmit<WorkspaceEvent, "seq" | "eventId" | "sessionId" | "timestamp">;
const ev = (seq: number, body: Body): WorkspaceEvent =>
  ({ seq, eventId: `e${seq}`, sessionId: "s", timestamp: `2026-01-01T00:00:${String(seq).padStart(2, "0")}Z`, ...body }) as WorkspaceEvent;

describe("replayAt", () => {
  const log: WorkspaceEvent[] = [
    ev(1, { type: "session:started", cwd: "/w", user: "ada" }),
    ev(2, { type: "chain:compiled", chainId: "c", steps: [{ stepId: "a", name: "A", waitsFor: [] }, { stepId: "b", name: "B", waitsFor: ["a"] }] }),
    ev(3, { type: "step:started", chainId: "c", stepId: "a" }),
    ev(4, { type: "permission:requested", requestId: "r1", toolName: "Bash", toolInput: { command: "ls" } }),
    ev(5, { type: "permission:decided", requestId: "r1", behavior: "allow" }),
    ev(6, { type: "step:completed", chainId: "c", stepId: "a" }),
    ev(7, { type: "file:modified", path: "src/a.rs" }),
    ev(8, { type: "session:ended", status: "completed" }),
  ];

  it("gives the state at an earlier seq: status, steps, permissions, files", () => {
    const at4 = replayAt("s", log, 4);
    expect(at4?.session.status).toBe("waiting");
    expect(at4?.session.pendingPermissions.map((p) => p.requestId)).toEqual(["r1"]);
    expect(at4?.detail.chains[0]?.steps.map((s) => s.status)).toEqual(["running", "pending"]);
    expect(at4?.detail.fileChanges).toEqual([]);
    const at7 = replayAt("s", log, 7);
    expect(at7?.session.status).toBe("active");
    expect(at7?.detail.chains[0]?.steps[0]?.status).toBe("completed");
    expect(at7?.detail.fileChanges.map((f) => f.path)).toEqual(["src/a.rs"]);
  });

  it("at the last seq equals the live fold", () => {
    const live = applyEvents(initialState(), log).sessions.get("s");
    const replayed = replayAt("s", log, 8)?.session;
    expect(replayed?.status).toBe(live?.status);
    expect(replayed?.counts).toEqual(live?.counts);
    expect(replayed?.endedAt).toBe(live?.endedAt);
  });
});
