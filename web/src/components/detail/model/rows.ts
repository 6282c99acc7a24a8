// The timeline's row model: what one event shows in one line, which filter kind it
// belongs to, and the text a search looks in. Pure, cheap, computed for visible rows only
// (and, for a text search, cached per event).
import { formatUsd } from "../../../lib/usage";
import type { JsonValue, WorkspaceEvent } from "../../../generated";
import { agentOf, isCompaction, isFolded, type ToolIndex } from "./fold";
import { responseText, toolHeadline } from "./tools";

/** The filter kinds of the timeline. */
export type RowKind = "prompt" | "tool" | "step" | "file" | "error" | "session" | "other";

export const FILTER_KINDS: readonly { kind: Exclude<RowKind, "session" | "other">; label: string }[] = [
  { kind: "prompt", label: "Prompts" },
  { kind: "tool", label: "Tools" },
  { kind: "step", label: "Steps" },
  { kind: "file", label: "Files" },
  { kind: "error", label: "Errors" },
];

export interface TimelineRow {
  readonly seq: number;
  readonly timestamp: string;
  readonly type: WorkspaceEvent["type"];
  readonly kind: RowKind;
  /** A short label: `Bash`, `prompt`, `step spawned`… */
  readonly label: string;
  /** One line for people. */
  readonly text: string;
  /** A failure of any sort: shown in red, and matched by the `error` filter. */
  readonly failed: boolean;
  readonly stepId?: string;
}

/** " · by NAME" for the person who answered, decided or issued, when recorded. */
function byline(by: string | undefined): string {
  return by !== undefined ? ` · by ${by}` : "";
}

/** The filter kind of an event (failures are `error` whatever their type). */
export function rowKind(event: WorkspaceEvent): RowKind {
  switch (event.type) {
    case "prompt:submitted":
    case "interaction:awaiting-input":
    case "interaction:input-received":
    case "message:assistant":
    case "usage:reported":
      return "prompt";
    case "tool:used":
      return event.status === "failed" ? "error" : "tool";
    case "permission:requested":
    case "permission:decided":
    case "terminal:output":
      return "tool";
    case "chain:compiled":
    case "chain:started":
    case "chain:completed":
    case "step:spawned":
    case "step:started":
    case "step:completed":
    case "command:issued":
    case "command:acknowledged":
      return "step";
    case "step:failed":
    case "error:occurred":
      return "error";
    case "file:created":
    case "file:modified":
    case "file:deleted":
      return "file";
    case "session:started":
    case "session:updated":
    case "session:ended":
    case "session:pruned":
      return event.type === "session:ended" && event.status === "failed" ? "error" : "session";
    case "agent:notification":
    case "agent:event":
      return "other";
  }
}

/** Whether an event is a failure. */
export function isFailure(event: WorkspaceEvent): boolean {
  return rowKind(event) === "error";
}

/** One line of text, cut to `max` characters. */
export function oneLine(text: string, max = 240): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** A JSON value as one short line. */
export function jsonLine(value: JsonValue | undefined, max = 160): string {
  if (value === undefined) return "";
  if (typeof value === "string") return oneLine(value, max);
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    text = String(value);
  }
  return oneLine(text, max);
}

/** Paths inside `cwd` shown relative to it (`/repo/src/a.ts` → `src/a.ts`). */
export function shortenPaths(text: string, cwd: string | undefined): string {
  if (cwd === undefined || cwd === "" || cwd === "/") return text;
  const prefix = `${cwd.replace(/\/+$/, "")}/`;
  return text.includes(prefix) ? text.split(prefix).join("") : text;
}

/** The row model of an event; `cwd` shortens the paths inside it, `nameOf` names steps. */
export function toRow(event: WorkspaceEvent, cwd?: string, nameOf: (stepId: string) => string = (id) => id): TimelineRow {
  const base = { seq: event.seq, timestamp: event.timestamp, type: event.type, kind: rowKind(event) };
  const row = (label: string, text: string, stepId?: string): TimelineRow => ({
    ...base,
    label,
    text: oneLine(shortenPaths(text, cwd)),
    failed: base.kind === "error",
    ...(stepId !== undefined ? { stepId } : {}),
  });
  switch (event.type) {
    case "session:started":
      return row("session started", [event.cwd, event.hostname, event.model].filter(Boolean).join(" · "));
    case "session:updated": {
      const parts: string[] = [];
      if (event.status !== undefined) parts.push(`status ${event.status}`);
      if (event.title !== undefined) parts.push(`title “${event.title}”`);
      if (event.model !== undefined) parts.push(`model ${event.model}`);
      if (event.summary !== undefined) parts.push(`summary: ${event.summary}`);
      if (event.watch !== undefined) parts.push(event.watch.watched ? "watching files" : `not watching: ${event.watch.reason ?? ""}`);
      return row("session updated", parts.join(" · "));
    }
    case "session:ended":
      return row("session ended", `${event.status}${event.reason !== undefined ? ` · ${event.reason}` : ""}`);
    case "session:pruned":
      return row("session pruned", "removed by retention");
    case "chain:compiled":
      return row("chain compiled", `${event.name ?? event.chainId}: ${event.steps.length} steps`);
    case "chain:started":
      return row("chain started", event.chainId);
    case "chain:completed":
      return row("chain done", `${event.chainId}: ${event.status}`);
    case "step:spawned": {
      const known = nameOf(event.stepId);
      const name =
        known !== event.stepId
          ? known
          : `${event.name}${event.agentType !== undefined && event.agentType !== event.name ? ` (${event.agentType})` : ""}`;
      return row(
        `${event.kind} spawned`,
        `${name}${event.waitsFor.length > 0 ? ` · waits for ${event.waitsFor.map(nameOf).join(", ")}` : ""}`,
        event.stepId,
      );
    }
    case "step:started":
      return row("step started", nameOf(event.stepId), event.stepId);
    case "step:completed": {
      const result = event.result !== undefined ? (responseText(event.result) ?? jsonLine(event.result)) : undefined;
      return row("step done", `${nameOf(event.stepId)}${result !== undefined ? ` → ${result}` : ""}`, event.stepId);
    }
    case "step:failed":
      return row("step failed", `${nameOf(event.stepId)}: ${event.error}`, event.stepId);
    case "interaction:awaiting-input":
      return row("awaiting input", event.prompt, event.stepId);
    case "interaction:input-received":
      return row("answer", `${event.text}${byline(event.answeredBy)}`);
    case "permission:requested":
      return row("permission?", `${event.toolName} ${jsonLine(event.toolInput)}`);
    case "permission:decided":
      return row("permission", `${event.behavior}${event.message !== undefined ? `: ${event.message}` : ""}${byline(event.decidedBy)}`);
    case "command:issued":
      return row(
        "command",
        `${event.command}${event.stepId !== undefined ? ` ${nameOf(event.stepId)}` : ""}${event.reason !== undefined ? ` · ${event.reason}` : ""}${byline(event.issuedBy)}`,
      );
    case "command:acknowledged":
      return row("command ack", `${event.commandId}${event.note !== undefined ? ` · ${event.note}` : ""}`);
    case "file:created":
      return row("file created", event.path, event.stepId);
    case "file:modified":
      return row("file modified", event.path, event.stepId);
    case "file:deleted":
      return row("file deleted", event.path, event.stepId);
    case "tool:used": {
      const headline = toolHeadline(event.toolName, event.input);
      const took = event.durationMs !== undefined ? formatMs(event.durationMs) : "";
      const status = event.status === "started" ? "started" : event.status === "failed" ? `failed: ${event.error ?? ""}` : took;
      return row(event.toolName, [headline, status].filter((s) => s !== "").join(" · "), event.stepId);
    }
    case "prompt:submitted":
      return row("prompt", event.prompt);
    case "terminal:output":
      return row(event.stream === "stderr" ? "stderr" : "output", stripAnsi(event.text), event.stepId);
    case "error:occurred":
      return row("error", `${event.code !== undefined ? `${event.code}: ` : ""}${event.message}`, event.stepId);
    case "agent:notification":
      return row("notification", event.message);
    case "message:assistant": {
      const cost = event.costUsd !== undefined ? ` · ${formatUsd(event.costUsd)}` : "";
      const tokens = event.usage !== undefined ? `${event.usage.inputTokens + event.usage.cacheReadTokens + event.usage.cacheCreationTokens} in / ${event.usage.outputTokens} out tokens${cost}` : "";
      return row("assistant", event.text !== "" ? event.text : tokens, event.stepId);
    }
    case "usage:reported": {
      const cost = event.costUsd !== undefined ? ` · ${formatUsd(event.costUsd)}` : "";
      const took = event.durationMs !== undefined ? ` · ${formatMs(event.durationMs)}` : "";
      return row("usage", `telemetry: ${event.usage.inputTokens + event.usage.cacheReadTokens + event.usage.cacheCreationTokens} in / ${event.usage.outputTokens} out tokens${cost}${took}${event.model !== undefined ? ` · ${event.model}` : ""}`);
    }
    case "agent:event": {
      if (isCompaction(event)) {
        const p = event.payload;
        const o = typeof p === "object" && p !== null && !Array.isArray(p) ? p : {};
        const trigger = typeof o["trigger"] === "string" ? o["trigger"] : "";
        const instructions = typeof o["custom_instructions"] === "string" ? o["custom_instructions"] : "";
        return row("compacted", ["conversation compacted", trigger, instructions].filter((t) => t !== "").join(" · "));
      }
      return row(event.name, jsonLine(event.payload));
    }
  }
}

/**
 * The row of a tool call's `started` event with its outcome (when it came) in place:
 * "src/a.ts · 1.2 s", "npm test · failed: Exit code 1", "npm test · running…".
 */
export function toolCallRow(
  event: Extract<WorkspaceEvent, { type: "tool:used" }>,
  outcome: Extract<WorkspaceEvent, { type: "tool:used" }> | undefined,
  cwd?: string,
): TimelineRow {
  if (outcome === undefined || event.status !== "started") {
    const row = toRow(event, cwd);
    return event.status === "started" ? { ...row, text: oneLine(`${shortenPaths(toolHeadline(event.toolName, event.input), cwd)} · running…`) } : row;
  }
  const headline = shortenPaths(toolHeadline(event.toolName, event.input ?? outcome.input), cwd);
  const took = outcome.durationMs !== undefined ? formatMs(outcome.durationMs) : "";
  const failed = outcome.status === "failed";
  const status = failed ? `failed${outcome.error !== undefined ? `: ${outcome.error}` : ""}` : took;
  return {
    seq: event.seq,
    timestamp: event.timestamp,
    type: event.type,
    kind: failed ? "error" : "tool",
    label: event.toolName,
    text: oneLine([headline, status].filter((t) => t !== "").join(" · ")),
    failed,
    ...(event.stepId !== undefined ? { stepId: event.stepId } : {}),
  };
}

/** "850 ms", "3.1 s", "2m 05s". */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
}

// CSI sequences (colours, cursor moves) and OSC sequences (titles, links).
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;

/** Text without ANSI escape sequences. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, "");
}

// ---------------------------------------------------------------------------------
// Filtering

export interface RowFilter {
  /** The kinds shown; empty: all. */
  readonly kinds: ReadonlySet<RowKind>;
  /** Text to find (case-insensitive) in the row's text, label or the event's JSON. */
  readonly text: string;
}

export const NO_FILTER: RowFilter = { kinds: new Set(), text: "" };

export function isFiltering(filter: RowFilter): boolean {
  return filter.kinds.size > 0 || filter.text.trim() !== "";
}

const searchText = new WeakMap<WorkspaceEvent, string>();

/** The lower-case text a search looks in: the row's label and text and the event's JSON. */
export function searchableText(event: WorkspaceEvent): string {
  let text = searchText.get(event);
  if (text === undefined) {
    const row = toRow(event);
    let json = "";
    try {
      json = JSON.stringify(event);
    } catch {
      // a value JSON cannot write: search the row only
    }
    text = `${row.label}\n${row.text}\n${json}`.toLowerCase();
    searchText.set(event, text);
  }
  return text;
}

/** Whether an event passes a filter. */
export function matchesFilter(event: WorkspaceEvent, filter: RowFilter): boolean {
  if (filter.kinds.size > 0) {
    const kind = rowKind(event);
    // A failed tool call is both a tool call and an error.
    const tool = event.type === "tool:used" && filter.kinds.has("tool");
    if (!filter.kinds.has(kind) && !tool) return false;
  }
  const needle = filter.text.trim().toLowerCase();
  return needle === "" || searchableText(event).includes(needle);
}

/** How rows fold (see fold.ts), and which agent's rows are shown. */
export interface RowFold {
  readonly tools: ToolIndex;
  readonly showLifecycle: boolean;
  /** Only this agent's rows: a step id, or MAIN_AGENT; undefined: every agent's. */
  readonly agent?: string;
}

/** The main agent, as a value of `RowFold.agent`. */
export const MAIN_AGENT = "\u0000main";

/**
 * The positions (in `events`) of the events that pass `filter` (and are not folded by
 * `fold`), or undefined when nothing is filtered or folded (every position passes: no
 * array is built).
 */
export function filterPositions(events: readonly WorkspaceEvent[], filter: RowFilter, fold?: RowFold): number[] | undefined {
  if (!isFiltering(filter) && fold === undefined) return undefined;
  const out: number[] = [];
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as WorkspaceEvent;
    if (fold !== undefined) {
      if (isFolded(event, fold.tools, fold.showLifecycle)) continue;
      if (fold.agent !== undefined && (agentOf(event) ?? MAIN_AGENT) !== fold.agent) continue;
    }
    if (matchesFilter(event, filter)) out.push(i);
    else if (fold !== undefined && event.type === "tool:used" && event.toolUseId !== undefined) {
      // A call's row stands for its outcome too (a failed call is an error).
      const outcome = fold.tools.outcomes.get(event.toolUseId);
      if (outcome !== undefined && matchesFilter(outcome, filter)) out.push(i);
    }
  }
  return out;
}
