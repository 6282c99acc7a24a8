// Replay: a session as it stood at any of its events, folded from its events up to that
// seq by the app's one reducer (the mirror of the server's projection), so the past
// state is computed exactly as the live one is.
import type { Session, SessionDetail, WorkspaceEvent } from "../../generated";
import { applyEvents, initialState, loadDetail, type SessionDetailState } from "../../state/reducer";

export interface ReplayState {
  readonly session: Session;
  readonly detail: SessionDetailState;
}

/** A session before its first event: what the reducer folds onto. */
function blank(id: string, at: string): SessionDetail {
  return {
    id,
    cwd: "",
    status: "pending",
    paused: false,
    startedAt: at,
    updatedAt: at,
    watch: { watched: false },
    counts: { events: 0, prompts: 0, toolCalls: 0, failures: 0, steps: 0, stepsCompleted: 0, fileChanges: 0 },
    usage: { inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheCreationTokens: 0, costUsd: 0, requests: 0, unpricedRequests: 0, contextTokens: 0 },
    pendingPermissions: [],
    pendingCommands: [],
    lastSeq: 0,
    chains: [],
    answers: [],
    fileChanges: [],
  };
}

/** The session as it stood once the event `seq` was applied (`events` in seq order). */
export function replayAt(id: string, events: readonly WorkspaceEvent[], seq: number): ReplayState | undefined {
  const first = events[0];
  if (first === undefined) return undefined;
  const upto = events.filter((e) => e.seq <= seq && e.sessionId === id);
  const state = applyEvents(loadDetail(initialState(), blank(id, first.timestamp)), upto);
  const session = state.sessions.get(id);
  const detail = state.details.get(id);
  return session !== undefined && detail !== undefined ? { session, detail } : undefined;
}
