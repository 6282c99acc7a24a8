// The plan approval card: the plan as text, Approve, and Send back with feedback.
import { renderToString } from "react-dom/server";
import { describe, expect, it } from "vitest";
import type { Api } from "../../api";
import type { PermissionRequest } from "../../generated";
import type { WebSocketLike } from "../../socket/client";
import { WorkspaceStore } from "../../state/store";
import { WorkspaceProvider } from "../../state/useWorkspace";
import { PermissionCard } from "./PermissionCard";
import { planOf } from "./PlanCard";

function request(toolName: string, toolInput: unknown): PermissionRequest {
  return {
    requestId: "perm-1",
    toolName,
    toolInput: toolInput as PermissionRequest["toolInput"],
    requestedAt: new Date().toISOString(),
  } as PermissionRequest;
}

function render(req: PermissionRequest): string {
  const socket: WebSocketLike = {
    readyState: 1,
    send: () => {},
    close: () => {},
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
  };
  const store = new WorkspaceStore({
    api: {} as unknown as Api,
    socket: { url: "ws://test/ws", createSocket: () => socket, log: () => {} },
    listRefreshMs: 0,
    schedule: (flush) => flush(),
  });
  return renderToString(
    <WorkspaceProvider store={store}>
      <PermissionCard sessionId="s1" request={req} />
    </WorkspaceProvider>,
  );
}

describe("PlanCard", () => {
  it("shows ExitPlanMode's plan with Approve and Send back", () => {
    const html = render(request("ExitPlanMode", { plan: "1. Add a failing test\n2. Fix it" }));
    expect(html).toContain("1. Add a failing test\n2. Fix it");
    expect(html).toContain("Approve plan");
    expect(html).toContain("Send back");
    expect(html).not.toContain(">Allow<");
  });

  it("keeps Allow and Deny for other tools", () => {
    const html = render(request("Bash", { command: "ls" }));
    expect(html).toContain(">Allow<");
    expect(html).not.toContain("Approve plan");
  });

  it("reads the plan only when it is text", () => {
    expect(planOf(request("ExitPlanMode", {}))).toBeNull();
    expect(planOf(request("ExitPlanMode", { plan: 3 }))).toBeNull();
    expect(planOf(request("ExitPlanMode", { plan: "x" }))).toBe("x");
  });
});
