// Test fixtures shared by the state layer's unit tests (not imported by the app).
import type { Session } from "../generated";

/** A session as `GET /api/sessions` returns it, `lastSeq` events old. */
export function restSession(id: string, lastSeq: number, patch: Partial<Session> = {}): Session {
  return {
    id,
    cwd: `/work/${id}`,
    status: "active",
    paused: false,
    startedAt: "2025-01-01T00:00:00.000Z",
    updatedAt: "2025-01-01T00:00:00.000Z",
    watch: { watched: false },
    counts: { events: lastSeq, prompts: 0, toolCalls: 0, failures: 0, steps: 0, stepsCompleted: 0, fileChanges: 0 },
    usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0, costUsd: 0, requests: 0, unpricedRequests: 0, contextTokens: 0, reportedRequests: 0 },
    pendingPermissions: [],
    pendingCommands: [],
    lastSeq,
    ...patch,
  };
}
