// Which tool call a permission denied from the page settles, mirroring the server's fold
// (crates/backend/src/core/calls.rs): a denied call never runs, so no later hook event
// carries its tool_use_id; the denial settles it as a failed call. The call is the one
// the request names by tool_use_id, else the newest call still open (started, no
// outcome) of the same tool with the same input. Pure; used by the reducer (counts),
// the timeline (the call's row) and the tool-call pairing (inspector, Files).
import type { JsonValue, WorkspaceEvent } from "../generated";

type ToolEvent = Extract<WorkspaceEvent, { type: "tool:used" }>;
type Decided = Extract<WorkspaceEvent, { type: "permission:decided" }>;

/** A call started and not settled yet. */
export interface OpenCall {
  readonly toolUseId: string;
  readonly toolName: string;
  readonly input: JsonValue | null;
}

/** What a permission request says of its call. */
export interface RequestedCall {
  readonly toolUseId?: string;
  readonly toolName: string;
  readonly toolInput: JsonValue;
}

/** A denial that settled a call. */
export interface Denial {
  readonly toolUseId: string;
  readonly decided: Decided;
  /** The call's `started` event. */
  readonly started: ToolEvent;
}

/** Structural JSON equality (key order ignored). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao);
  return ak.length === Object.keys(bo).length && ak.every((k) => Object.hasOwn(bo, k) && sameJson(ao[k], bo[k]));
}

/** The open call a denial of `request` settles (its position in `open`), or -1. */
export function deniedCallIndex(request: RequestedCall, open: readonly OpenCall[]): number {
  for (let i = open.length - 1; i >= 0; i--) {
    const call = open[i] as OpenCall;
    if (request.toolUseId !== undefined) {
      if (call.toolUseId === request.toolUseId) return i;
    } else if (call.toolName === request.toolName && sameJson(call.input, request.toolInput ?? null)) {
      return i;
    }
  }
  return -1;
}

/** A call ran or failed: the pending requests of its tool and input were answered elsewhere. */
function settleRequests(requests: Map<string, RequestedCall>, e: ToolEvent): void {
  const input = e.input ?? null;
  for (const [id, r] of requests) if (r.toolName === e.toolName && sameJson(r.toolInput, input)) requests.delete(id);
}

/** Every denial among `events` (in seq order) that settled a call, by the call's tool_use_id. */
export function denialsOf(events: Iterable<WorkspaceEvent>): Map<string, Denial> {
  const open: (OpenCall & { started: ToolEvent })[] = [];
  const requests = new Map<string, RequestedCall>();
  const out = new Map<string, Denial>();
  for (const e of events) {
    switch (e.type) {
      case "tool:used": {
        if (e.toolUseId === undefined) {
          if (e.status !== "started") settleRequests(requests, e);
          break;
        }
        const at = open.findIndex((c) => c.toolUseId === e.toolUseId);
        if (at >= 0) open.splice(at, 1);
        if (e.status === "started") open.push({ toolUseId: e.toolUseId, toolName: e.toolName, input: e.input ?? null, started: e });
        else settleRequests(requests, e);
        break;
      }
      case "permission:requested":
        requests.set(e.requestId, {
          ...(e.toolUseId !== undefined ? { toolUseId: e.toolUseId } : {}),
          toolName: e.toolName,
          toolInput: e.toolInput,
        });
        break;
      case "permission:decided": {
        const request = requests.get(e.requestId);
        requests.delete(e.requestId);
        if (request === undefined || e.behavior !== "deny") break;
        const i = deniedCallIndex(request, open);
        if (i < 0) break;
        const [call] = open.splice(i, 1);
        if (call !== undefined) out.set(call.toolUseId, { toolUseId: call.toolUseId, decided: e, started: call.started });
        break;
      }
      case "interaction:awaiting-input":
        // The turn ended: pending requests were settled without an answer.
        requests.clear();
        break;
      default:
        break;
    }
  }
  return out;
}

/** What a denied call's row says. */
export function denialText(d: Denial): string {
  const by = d.decided.decidedBy !== undefined ? ` by ${d.decided.decidedBy}` : "";
  const why = d.decided.message !== undefined && d.decided.message !== "" ? `: ${d.decided.message}` : "";
  return `Denied${by}${why}`;
}

/** The outcome a denial stands for: a failed `tool:used` of the call, at the denial. */
export function denialOutcome(d: Denial): ToolEvent {
  const { started, decided } = d;
  return {
    ...started,
    seq: decided.seq,
    eventId: decided.eventId,
    timestamp: decided.timestamp,
    status: "failed",
    error: denialText(d),
  };
}

/** Whether a tool changes the file its input names (core/calls.rs `changes_file`). */
export function changesFile(toolName: string): boolean {
  return toolName === "Write" || toolName === "Edit" || toolName === "MultiEdit" || toolName === "NotebookEdit";
}

/** The file a tool input names: `file_path`, `notebook_path` or `path`. */
export function inputPath(input: JsonValue | undefined): string | undefined {
  if (typeof input !== "object" || input === null || Array.isArray(input)) return undefined;
  for (const key of ["file_path", "notebook_path", "path"]) {
    const v = input[key];
    if (typeof v === "string") return v;
  }
  return undefined;
}

/** The most changed files a session counts (core/calls.rs CHANGED_FILES_KEPT). */
export const CHANGED_FILES_KEPT = 10_000;

/**
 * The files a session changed, as the server's fold counts them (core/calls.rs), for a
 * session the app has folded from its start: the paths so far, and the file each open
 * Write/Edit call names (its outcome may omit its input).
 */
export interface ChangedFiles {
  readonly paths: Set<string>;
  readonly open: Map<string, string>;
}

