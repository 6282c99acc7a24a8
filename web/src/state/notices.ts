// Notices: what deserves a person's attention as it happens — a question, a tool call
// waiting for permission, a failure. Derived from the events the reducer just applied
// (never from duplicates) and the state after them, so an item already settled within
// the same batch (a resume catching up, say) raises nothing.
import type { Session, SessionId, WorkspaceEvent } from "../generated";
import { sessionTitle } from "../lib/names";
import { isTerminalStatus } from "./events";
import type { State } from "./reducer";

export type NoticeKind = "question" | "permission" | "failure";

export interface Notice {
  /** Stable per item (a toast or a desktop notification is shown once per key). */
  readonly key: string;
  readonly kind: NoticeKind;
  readonly sessionId: SessionId;
  readonly title: string;
  readonly body: string;
  readonly seq: number;
  /** The question or permission request it is about. */
  readonly requestId?: string;
}

/** How a session is named for people: see lib/names.ts (title, first prompt, folder, id). */
export function sessionLabel(session: Session | undefined, id: SessionId): string {
  return sessionTitle(session, id);
}

/** A one-line summary of a tool's input (the command, the path, or compact JSON). */
export function summarizeInput(input: unknown, max = 160): string {
  let text: string;
  if (typeof input === "object" && input !== null && !Array.isArray(input)) {
    const obj = input as Record<string, unknown>;
    const main = obj["command"] ?? obj["file_path"] ?? obj["path"] ?? obj["url"] ?? obj["pattern"];
    text = typeof main === "string" ? main : JSON.stringify(input);
  } else {
    text = input === undefined ? "" : JSON.stringify(input);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Whether a question is Claude's end-of-turn message (a Stop), not a question it asked. */
export function isEndOfTurn(requestId: string): boolean {
  return requestId.startsWith("stop-");
}

/** The most a toast or notification says: the start of the first lines (the rest is one click away). */
export const NOTICE_CHARS = 140;

/** The start of a text, on one line, for a toast. */
export function shortText(text: string, max = NOTICE_CHARS): string {
  const flat = text.replace(/[#*`>_]+/g, "").replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * Whether the item a notice key names is settled in `state`: a question answered or
 * replaced, a permission decided or dropped, the session ended or gone. Failures never
 * settle (they are shown until dismissed or timed out).
 */
export function isSettled(key: string, state: State): boolean {
  const [kind, ...rest] = key.split(":");
  if (kind !== "question" && kind !== "permission") return false;
  // Ids may hold ":"; the request id is the last part, the session id what precedes it.
  const requestId = rest[rest.length - 1] ?? "";
  const sessionId = rest.slice(0, -1).join(":");
  const session = state.sessions.get(sessionId);
  if (session === undefined || isTerminalStatus(session.status)) return true;
  if (kind === "question") return session.awaitingInput?.requestId !== requestId;
  return !session.pendingPermissions.some((p) => p.requestId === requestId);
}

export function noticesFor(applied: readonly WorkspaceEvent[], state: State): Notice[] {
  const notices: Notice[] = [];
  for (const event of applied) {
    const session = state.sessions.get(event.sessionId);
    const label = sessionLabel(session, event.sessionId);
    const live = session !== undefined && !isTerminalStatus(session.status);
    const base = { sessionId: event.sessionId, seq: event.seq };
    switch (event.type) {
      case "interaction:awaiting-input":
        if (live && session.awaitingInput?.requestId === event.requestId) {
          notices.push({
            ...base,
            key: `question:${event.sessionId}:${event.requestId}`,
            requestId: event.requestId,
            kind: "question",
            title: isEndOfTurn(event.requestId) ? `${label} finished its turn` : `${label} asks`,
            body: shortText(event.prompt),
          });
        }
        break;
      case "permission:requested":
        if (live && session.pendingPermissions.some((p) => p.requestId === event.requestId)) {
          notices.push({
            ...base,
            key: `permission:${event.sessionId}:${event.requestId}`,
            requestId: event.requestId,
            kind: "permission",
            title: `${label} wants to run ${event.toolName}`,
            body: summarizeInput(event.toolInput),
          });
        }
        break;
      case "step:failed":
        notices.push({
          ...base,
          key: `failure:${event.seq}`,
          kind: "failure",
          title: `A step failed in ${label}`,
          body: event.error,
        });
        break;
      case "session:ended":
        if (event.status === "failed") {
          notices.push({
            ...base,
            key: `failure:${event.seq}`,
            kind: "failure",
            title: `${label} failed`,
            body: event.reason ?? "The session ended with a failure.",
          });
        }
        break;
      case "session:started":
      case "session:updated":
      case "session:pruned":
      case "chain:compiled":
      case "chain:started":
      case "chain:completed":
      case "step:spawned":
      case "step:started":
      case "step:completed":
      case "interaction:input-received":
      case "permission:decided":
      case "command:issued":
      case "command:acknowledged":
      case "file:created":
      case "file:modified":
      case "file:deleted":
      case "tool:used":
      case "prompt:submitted":
      case "terminal:output":
      case "error:occurred":
      case "agent:notification":
      case "agent:event":
      case "message:assistant":
        break;
      default: {
        const _never: never = event;
        void _never;
      }
    }
  }
  return notices;
}
