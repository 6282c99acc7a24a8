// Derived views of the state, kept out of components so they can be tested and reused.
import type { AwaitingInput, PermissionRequest, Session, SessionCounts, SessionStatus } from "../generated";
import { sessionTitle } from "../lib/names";
import { isTerminalStatus } from "./events";

/** Live sessions first, then newest first. */
export function sortSessions(sessions: Iterable<Session>): Session[] {
  return [...sessions].sort((a, b) => {
    const live = Number(isTerminalStatus(a.status)) - Number(isTerminalStatus(b.status));
    if (live !== 0) return live;
    return compareText(b.startedAt, a.startedAt) || compareText(b.id, a.id);
  });
}

/** Whether a live session waits on a person: a question or a permission request. */
export function needsAttention(s: Session): boolean {
  return !isTerminalStatus(s.status) && (s.awaitingInput !== undefined || s.pendingPermissions.length > 0);
}

/** Sessions that wait on a person, the longest-waiting first. */
export function sessionsNeedingYou(sessions: Iterable<Session>): Session[] {
  return [...sessions].filter(needsAttention).sort((a, b) => compareText(waitingSince(a), waitingSince(b)));
}

function waitingSince(s: Session): string {
  const times = s.pendingPermissions.map((p) => p.requestedAt);
  if (s.awaitingInput !== undefined) times.push(s.awaitingInput.since);
  return times.sort()[0] ?? s.updatedAt;
}

/** One thing a person must do: answer a question, or allow or deny a tool call. */
export type NeedsYouItem =
  | { readonly kind: "question"; readonly key: string; readonly session: Session; readonly since: string; readonly question: AwaitingInput }
  | { readonly kind: "permission"; readonly key: string; readonly session: Session; readonly since: string; readonly request: PermissionRequest };

/** Every open question and permission request across live sessions, longest waiting first. */
export function needsYouItems(sessions: Iterable<Session>): NeedsYouItem[] {
  const items: NeedsYouItem[] = [];
  for (const session of sessions) {
    if (isTerminalStatus(session.status)) continue;
    const q = session.awaitingInput;
    if (q !== undefined) {
      items.push({ kind: "question", key: `q:${session.id}:${q.requestId}`, session, since: q.since, question: q });
    }
    for (const p of session.pendingPermissions) {
      items.push({ kind: "permission", key: `p:${session.id}:${p.requestId}`, session, since: p.requestedAt, request: p });
    }
  }
  return items.sort((a, b) => urgency(a) - urgency(b) || compareText(a.since, b.since) || compareText(a.key, b.key));
}

/**
 * How urgent an item is, most urgent lowest: a tool call waiting for a decision and a
 * question Claude asked block the agent; an end-of-turn message (a Stop: the agent is
 * done and waits for its next prompt) blocks nothing.
 */
export function urgency(item: NeedsYouItem): number {
  if (item.kind === "permission") return 0;
  return item.question.requestId.startsWith("stop-") ? 1 : 0;
}

export interface StepProgress {
  done: number;
  total: number;
}

export function stepProgress(counts: SessionCounts): StepProgress {
  return { done: counts.stepsCompleted, total: counts.steps };
}

/** The live list's filter. */
export interface SessionFilter {
  /** One status, or "live" (any status that has not ended) / "ended". */
  status?: SessionStatus | "live" | "ended";
  /** Exact user. */
  user?: string;
  /** Exact host. */
  host?: string;
  /** Text to find in id, cwd, user, host, title, summary. */
  text?: string;
}

/** Whether a session passes the filter. */
export function matchesFilter(s: Session, filter: SessionFilter): boolean {
  const status = filter.status;
  if (status === "live" && isTerminalStatus(s.status)) return false;
  if (status === "ended" && !isTerminalStatus(s.status)) return false;
  if (status !== undefined && status !== "live" && status !== "ended" && s.status !== status) return false;
  if (filter.user !== undefined && s.user !== filter.user) return false;
  if (filter.host !== undefined && s.hostname !== filter.host) return false;
  const text = filter.text?.trim().toLowerCase();
  if (text) {
    const haystack = [s.id, s.cwd, s.user, s.hostname, s.title, s.summary, s.model]
      .filter((x) => x !== undefined)
      .join("\n")
      .toLowerCase();
    if (!haystack.includes(text)) return false;
  }
  return true;
}

/** The columns the list sorts by. */
export type SortKey = "status" | "session" | "user" | "host" | "age" | "steps" | "updated";

export interface SortOrder {
  key: SortKey;
  /** Descending: newest, most, Z first. */
  desc: boolean;
}

export const DEFAULT_SORT: SortOrder = { key: "age", desc: false };

/** How urgent a status is in the list: waiting first, ended last. */
function statusRank(status: SessionStatus): number {
  switch (status) {
    case "waiting":
      return 0;
    case "active":
      return 1;
    case "paused":
      return 2;
    case "pending":
      return 3;
    case "failed":
      return 4;
    case "cancelled":
      return 5;
    case "completed":
      return 6;
  }
}

function compareText(a: string | undefined, b: string | undefined): number {
  const x = a ?? "";
  const y = b ?? "";
  return x < y ? -1 : x > y ? 1 : 0;
}

function ratio(c: SessionCounts): number {
  return c.steps === 0 ? -1 : c.stepsCompleted / c.steps;
}

/**
 * Sorts sessions by a column. "age" ascending is youngest first (newest start first),
 * as a person reads an age column. Ties fall back to newest first, then id, so the
 * order is total and rows never swap places between renders.
 */
export function sortBy(sessions: Iterable<Session>, order: SortOrder): Session[] {
  const sign = order.desc ? -1 : 1;
  const primary = (a: Session, b: Session): number => {
    switch (order.key) {
      case "status":
        return statusRank(a.status) - statusRank(b.status);
      case "session":
        return compareText(sessionTitle(a, a.id).toLowerCase(), sessionTitle(b, b.id).toLowerCase());
      case "user":
        return compareText(a.user, b.user);
      case "host":
        return compareText(a.hostname, b.hostname);
      case "age":
        return compareText(b.startedAt, a.startedAt);
      case "steps":
        return ratio(a.counts) - ratio(b.counts);
      case "updated":
        return compareText(b.updatedAt, a.updatedAt);
    }
  };
  return [...sessions].sort(
    (a, b) => sign * primary(a, b) || compareText(b.startedAt, a.startedAt) || compareText(a.id, b.id),
  );
}

/** The distinct non-empty values of a field across sessions, sorted (for filter menus). */
export function distinctValues(sessions: Iterable<Session>, pick: (s: Session) => string | undefined): string[] {
  const values = new Set<string>();
  for (const s of sessions) {
    const v = pick(s);
    if (v !== undefined && v !== "") values.add(v);
  }
  return [...values].sort();
}

/** How many things wait on a person: open questions plus pending permission requests. */
export function waitingCount(sessions: Iterable<Session>): number {
  let n = 0;
  for (const s of sessions) {
    if (isTerminalStatus(s.status)) continue;
    if (s.awaitingInput !== undefined) n += 1;
    n += s.pendingPermissions.length;
  }
  return n;
}

/** Live sessions only. */
export function liveSessions(sessions: Iterable<Session>): Session[] {
  return [...sessions].filter((s) => !isTerminalStatus(s.status));
}
