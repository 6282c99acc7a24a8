import { describe, expect, it } from "vitest";
import type { Session } from "../generated";
import { matchesFilter, needsYouItems, sortBy, waitingCount } from "./selectors";

function s(id: string, patch: Partial<Session> = {}): Session {
  return {
    id,
    cwd: `/w/${id}`,
    status: "active",
    paused: false,
    startedAt: "2025-01-01T00:00:00.000Z",
    updatedAt: "2025-01-01T00:00:00.000Z",
    watch: { watched: false },
    counts: { events: 1, prompts: 0, toolCalls: 0, failures: 0, steps: 0, stepsCompleted: 0, fileChanges: 0 },
    usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0, costUsd: 0, requests: 0, unpricedRequests: 0, contextTokens: 0, reportedRequests: 0 },
    pendingPermissions: [],
    pendingCommands: [],
    lastSeq: 1,
    ...patch,
  };
}

describe("selectors", () => {
  it("lists what needs a person across sessions, longest waiting first, ended sessions left out", () => {
    const sessions = [
      s("a", { status: "waiting", awaitingInput: { requestId: "q", prompt: "?", quickResponses: [], since: "2025-01-01T00:05:00.000Z" } }),
      s("b", {
        status: "waiting",
        pendingPermissions: [
          { requestId: "p1", toolName: "Bash", toolInput: null, requestedAt: "2025-01-01T00:01:00.000Z" },
          { requestId: "p2", toolName: "Edit", toolInput: null, requestedAt: "2025-01-01T00:09:00.000Z" },
        ],
      }),
      s("c", { status: "completed", awaitingInput: { requestId: "old", prompt: "?", quickResponses: [], since: "2025-01-01T00:00:00.000Z" } }),
    ];
    expect(needsYouItems(sessions).map((i) => i.key)).toEqual(["p:b:p1", "q:a:q", "p:b:p2"]);
    expect(waitingCount(sessions)).toBe(3);
  });

  it("filters by status, user, host and text", () => {
    const x = s("x", { user: "ada", hostname: "laptop", title: "Fix the build", status: "waiting" });
    expect(matchesFilter(x, { user: "ada", host: "laptop", text: "BUILD", status: "waiting" })).toBe(true);
    expect(matchesFilter(x, { user: "grace" })).toBe(false);
    expect(matchesFilter(x, { host: "ci" })).toBe(false);
    expect(matchesFilter(x, { text: "deploy" })).toBe(false);
    expect(matchesFilter(x, { status: "ended" })).toBe(false);
    expect(matchesFilter(x, { status: "live" })).toBe(true);
  });

  it("sorts by a column with a total order", () => {
    const list = [
      s("old", { startedAt: "2025-01-01T00:00:00.000Z", user: "bob", status: "active" }),
      s("new", { startedAt: "2025-01-02T00:00:00.000Z", user: "ada", status: "waiting" }),
      s("mid", { startedAt: "2025-01-01T12:00:00.000Z", user: "ada", status: "paused" }),
    ];
    expect(sortBy(list, { key: "age", desc: false }).map((x) => x.id)).toEqual(["new", "mid", "old"]);
    expect(sortBy(list, { key: "age", desc: true }).map((x) => x.id)).toEqual(["old", "mid", "new"]);
    expect(sortBy(list, { key: "user", desc: false }).map((x) => x.id)).toEqual(["new", "mid", "old"]);
    expect(sortBy(list, { key: "status", desc: false }).map((x) => x.id)).toEqual(["new", "old", "mid"]);
  });
});
