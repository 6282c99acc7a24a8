// Renders the app to HTML (no browser needed) over a store fed by fake REST and socket,
// so a component that throws, or that loses the live data, fails here.
import { renderToString } from "react-dom/server";
import { describe, expect, it, vi } from "vitest";
import { App } from "./App";
import type { Api } from "./api";
import type { ServerMessage, Session } from "./generated";
import type { WebSocketLike } from "./socket/client";
import { WorkspaceStore } from "./state/store";
import { WorkspaceProvider } from "./state/useWorkspace";

function session(id: string, patch: Partial<Session>): Session {
  return {
    id,
    cwd: `/home/ada/${id}`,
    status: "active",
    paused: false,
    startedAt: new Date(Date.now() - 90_000).toISOString(),
    updatedAt: new Date().toISOString(),
    watch: { watched: true },
    counts: { events: 9, prompts: 1, toolCalls: 4, failures: 0, steps: 4, stepsCompleted: 3, fileChanges: 2 },
    usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0, costUsd: 0, requests: 0, unpricedRequests: 0, contextTokens: 0, reportedRequests: 0 },
    pendingPermissions: [],
    pendingCommands: [],
    lastSeq: 9,
    ...patch,
  };
}

describe("App", () => {
  it("shows the live list and what needs you, with the controls to answer", async () => {
    const socket: WebSocketLike & { frame(m: ServerMessage): void } = {
      readyState: 1,
      send: () => {},
      close: () => {},
      onopen: null,
      onmessage: null,
      onclose: null,
      onerror: null,
      frame(m) {
        this.onmessage?.({ data: JSON.stringify(m) });
      },
    };
    const api = {
      listSessions: () =>
        Promise.resolve({
          sessions: [
            session("alpha", { user: "ada", hostname: "laptop", title: "Fix the build" }),
            session("beta", { status: "completed", endedAt: new Date().toISOString() }),
          ],
          total: 2,
        }),
    } as unknown as Api;
    const store = new WorkspaceStore({
      api,
      socket: { url: "ws://test/ws", createSocket: () => socket, log: () => {} },
      listRefreshMs: 0,
      schedule: (flush) => flush(),
    });
    store.start();
    socket.frame({ type: "hello", seq: 9 });
    await vi.waitFor(() => expect(store.getSnapshot().loading).toBe(false));
    socket.frame({
      type: "event",
      event: {
        seq: 10,
        eventId: "e10",
        sessionId: "alpha",
        timestamp: new Date().toISOString(),
        type: "interaction:awaiting-input",
        requestId: "q1",
        prompt: "Deploy to staging?",
        quickResponses: ["yes", "no"],
      },
    });

    const html = renderToString(
      <WorkspaceProvider store={store}>
        <App />
      </WorkspaceProvider>,
    );
    store.stop();
    expect(html).toContain("Fix the build");
    expect(html).toContain("/home/ada/alpha");
    expect(html).toContain("laptop");
    expect(html).toContain("3/4");
    expect(html).toContain("Deploy to staging?");
    expect(html).toContain("status--waiting");
    // Ended sessions are in History, not in the live list.
    expect(html).not.toContain("status--completed");
    expect(html).not.toContain("/home/ada/beta");
    // The question waits in "needs you", with its quick responses as buttons.
    expect(html).toMatch(/<button[^>]*>yes<\/button>/);
    expect(html).toContain("Your answer");
  });
});
