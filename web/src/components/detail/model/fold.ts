// What the timeline folds away so one row says one thing. A tool call is one row: its
// `started` event's row, which shows the outcome and duration in place once they come
// (the outcome event and the call's terminal output are folded into it). Lifecycle
// noise (chain and step starts, watch and model updates, raw SessionStart/End payloads)
// is folded by default and shown on request. Every event stays in the buffer and in
// the inspector; only rows are folded.
import type { WorkspaceEvent } from "../../../generated";
import { denialOutcome, denialsOf } from "../../../lib/denials";

/** `agent:event` names that are lifecycle noise (the mapped events say it better: a
 * PostToolBatch repeats its calls' outcomes, a final MessageDisplay the assistant's text). */
const NOISY_AGENT_EVENTS = new Set([
  "SessionStart",
  "SessionEnd",
  "SubagentStart",
  "SubagentStop",
  "Setup",
  "InstructionsLoaded",
  "PostToolBatch",
  "MessageDisplay",
]);

/** Whether an event is lifecycle noise (folded unless asked for). */
export function isLifecycle(event: WorkspaceEvent): boolean {
  switch (event.type) {
    case "chain:started":
    case "step:started":
      return true;
    case "session:updated":
      // A status, title or summary says something; a watch or model note does not.
      return event.status === undefined && event.title === undefined && event.summary === undefined;
    case "agent:event":
      return NOISY_AGENT_EVENTS.has(event.name);
    default:
      return false;
  }
}

/** Whether an `agent:event` marks a compaction of the conversation. */
export function isCompaction(event: WorkspaceEvent): boolean {
  return event.type === "agent:event" && (event.name === "PreCompact" || event.name === "PostCompact");
}

/** The tool calls of a buffer, for folding: which started, and how each ended. */
export interface ToolIndex {
  /** tool_use_ids whose `started` event is in the buffer. */
  readonly started: ReadonlySet<string>;
  /** Each tool_use_id's outcome event (succeeded or failed), the newest. */
  readonly outcomes: ReadonlyMap<string, Extract<WorkspaceEvent, { type: "tool:used" }>>;
}

/** Indexes the tool calls of `events` (one pass). */
export function indexTools(events: readonly WorkspaceEvent[]): ToolIndex {
  const started = new Set<string>();
  const outcomes = new Map<string, Extract<WorkspaceEvent, { type: "tool:used" }>>();
  let denials = false;
  for (const e of events) {
    if (e.type === "permission:decided" && e.behavior === "deny") denials = true;
    if (e.type !== "tool:used" || e.toolUseId === undefined) continue;
    if (e.status === "started") started.add(e.toolUseId);
    else outcomes.set(e.toolUseId, e);
  }
  // A call denied from the page never reports an outcome: the denial is its outcome.
  if (denials) for (const [id, d] of denialsOf(events)) if (!outcomes.has(id)) outcomes.set(id, denialOutcome(d));
  return { started, outcomes };
}

/** Whether an event's row is folded into another row or away. */
export function isFolded(event: WorkspaceEvent, tools: ToolIndex, showLifecycle: boolean): boolean {
  if (event.type === "tool:used") {
    // The outcome shows in its call's started row, when that row is here.
    return event.status !== "started" && event.toolUseId !== undefined && tools.started.has(event.toolUseId);
  }
  if (event.type === "terminal:output") {
    // Output belongs to its call (the inspector and the Terminal tab show it).
    return event.toolUseId !== undefined && (tools.started.has(event.toolUseId) || tools.outcomes.has(event.toolUseId));
  }
  return !showLifecycle && isLifecycle(event);
}

/** The agent an event belongs to: its step id, or undefined for the main agent. */
export function agentOf(event: WorkspaceEvent): string | undefined {
  switch (event.type) {
    case "step:spawned":
      // A subagent's own lifecycle is its; a task step is the main agent's call.
      return event.kind === "subagent" ? event.stepId : event.parentStepId;
    case "step:started":
    case "step:completed":
    case "step:failed":
    case "tool:used":
    case "terminal:output":
    case "error:occurred":
    case "file:created":
    case "file:modified":
    case "file:deleted":
    case "interaction:awaiting-input":
    case "command:issued":
    case "message:assistant":
      return event.stepId;
    default:
      return undefined;
  }
}
