import { describe, expect, it } from "vitest";
import type { WorkspaceEvent } from "../../../generated";
import { isLifecycle } from "./fold";

const agentEvent = (name: string): WorkspaceEvent =>
  ({ seq: 1, eventId: "e1", sessionId: "s", timestamp: "2026-01-01T00:00:00Z", type: "agent:event", name, payload: {} }) as WorkspaceEvent;

describe("lifecycle noise", () => {
  it("folds the hook events the mapped events repeat, keeps the rest", () => {
    for (const name of ["PostToolBatch", "MessageDisplay", "SessionStart", "SubagentStop"]) expect(isLifecycle(agentEvent(name))).toBe(true);
    for (const name of ["PreCompact", "Notification", "SomethingNew"]) expect(isLifecycle(agentEvent(name))).toBe(false);
  });
});
