// What a session changed in one file, as one diff: the file as it was before the
// session first touched it, against the file as the session left it. Both ends come
// from what Claude Code reports of its calls (no disk read): a Write's content and its
// `originalFile` (null for a new file), an Edit's or MultiEdit's `originalFile` with the
// replacements applied. A call whose response lacks what is needed (a NotebookEdit, a
// response cut to a preview) makes the result partial: the per-call diffs stay the
// truth then.
import type { JsonValue } from "../../../generated";
import { lineDiff, type DiffLine, type ToolCall } from "./tools";

type JsonObject = { [key in string]: JsonValue };

function obj(value: JsonValue | undefined): JsonObject | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? value : undefined;
}

function str(o: JsonObject | undefined, ...keys: string[]): string | undefined {
  if (o === undefined) return undefined;
  for (const key of keys) {
    const v = o[key];
    if (typeof v === "string") return v;
  }
  return undefined;
}

/** The file before the session and after it, as far as its calls tell. */
export interface FileEnds {
  /** The content before the first change; "" for a file the session created. */
  readonly before: string;
  readonly after: string;
  /** Whether the session created the file. */
  readonly created: boolean;
  /** How many calls changed it. */
  readonly calls: number;
}

function replace(text: string, oldString: string, newString: string, all: boolean): string | undefined {
  if (oldString === "") return undefined;
  if (!text.includes(oldString)) return undefined;
  return all ? text.split(oldString).join(newString) : text.replace(oldString, () => newString);
}

/** The content a call found (`originalFile`), when it says; null when the file was new. */
function original(call: ToolCall): string | null | undefined {
  const response = obj(call.response);
  if (response === undefined) return undefined;
  if (str(response, "type") === "create") return null;
  const o = response["originalFile"];
  if (o === null) return null;
  return typeof o === "string" ? o : undefined;
}

/** The content after one call, from the content before it (`prior`). */
function apply(call: ToolCall, prior: string | undefined): string | undefined {
  const input = obj(call.input);
  const found = original(call);
  const start = found === null ? "" : (found ?? prior);
  switch (call.toolName) {
    case "Write":
      return str(input, "content") ?? str(obj(call.response), "content");
    case "Edit": {
      if (start === undefined) return undefined;
      const oldString = str(input, "old_string") ?? "";
      const newString = str(input, "new_string") ?? "";
      return replace(start, oldString, newString, input?.["replace_all"] === true);
    }
    case "MultiEdit": {
      let text = start;
      const edits = input?.["edits"];
      if (text === undefined || !Array.isArray(edits)) return undefined;
      for (const e of edits) {
        const edit = obj(e);
        const next = replace(text, str(edit, "old_string") ?? "", str(edit, "new_string") ?? "", edit?.["replace_all"] === true);
        if (next === undefined) return undefined;
        text = next;
      }
      return text;
    }
    default:
      return undefined;
  }
}

/**
 * The two ends of what `calls` (one file's succeeded changes, oldest first) did to it,
 * or undefined when they do not tell (see the module's text).
 */
export function fileEnds(calls: readonly ToolCall[]): FileEnds | undefined {
  const first = calls[0];
  if (first === undefined) return undefined;
  const o = original(first);
  // What was there before is unknown (a response cut to a preview, an older client).
  if (o === undefined) return undefined;
  let text: string | undefined = o ?? "";
  for (const call of calls) {
    text = apply(call, text);
    if (text === undefined) return undefined;
  }
  return { before: o ?? "", after: text, created: o === null, calls: calls.length };
}

/** A diff line, or a fold of unchanged lines (`skipped` of them). */
export type CombinedLine = DiffLine | { readonly op: "skip"; readonly skipped: number };

/** The line diff of the two ends, unchanged runs folded to `context` lines around changes. */
export function combinedDiff(ends: FileEnds, context = 3): CombinedLine[] {
  const lines = lineDiff(ends.before, ends.after);
  const keep = new Array<boolean>(lines.length).fill(false);
  lines.forEach((l, i) => {
    if (l.op === "ctx") return;
    for (let j = Math.max(0, i - context); j <= Math.min(lines.length - 1, i + context); j++) keep[j] = true;
  });
  const out: CombinedLine[] = [];
  let skipped = 0;
  lines.forEach((l, i) => {
    if (keep[i]) {
      if (skipped > 0) out.push({ op: "skip", skipped });
      skipped = 0;
      out.push(l);
    } else skipped++;
  });
  if (skipped > 0) out.push({ op: "skip", skipped });
  return out;
}

/** Lines added and removed. */
export function diffStat(lines: readonly CombinedLine[]): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  for (const l of lines) {
    if (l.op === "add") added++;
    else if (l.op === "del") removed++;
  }
  return { added, removed };
}
