// Tool calls for people: pairs a call's `started` and `succeeded`/`failed` events, and
// pulls out of Claude Code's tool input and response what a person wants to see
// (Bash: command, output, exit state; Edit: the diff; Read/Grep/Glob: what was looked
// for and found; …). The shapes are Claude Code's; anything unexpected falls back to
// readable JSON, never to an exception.
import { diffLines } from "diff";
import type { JsonValue, WorkspaceEvent } from "../../../generated";
import { denialOutcome, denialsOf } from "../../../lib/denials";

export type ToolEvent = Extract<WorkspaceEvent, { type: "tool:used" }>;

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

function num(o: JsonObject | undefined, ...keys: string[]): number | undefined {
  if (o === undefined) return undefined;
  for (const key of keys) {
    const v = o[key];
    if (typeof v === "number" && Number.isFinite(v)) return v;
  }
  return undefined;
}

function bool(o: JsonObject | undefined, key: string): boolean | undefined {
  const v = o?.[key];
  return typeof v === "boolean" ? v : undefined;
}

function strings(value: JsonValue | undefined): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** Text of a response that may be a string, `{content: [{type: text, text}]}` or an array of those. */
export function responseText(value: JsonValue | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    const parts = value.map((v) => responseText(v)).filter((t): t is string => t !== undefined);
    return parts.length > 0 ? parts.join("\n") : undefined;
  }
  const o = obj(value);
  if (o === undefined) return undefined;
  if (o["type"] === "text" && typeof o["text"] === "string") return o["text"];
  if (o["content"] !== undefined) return responseText(o["content"]);
  return str(o, "result", "text", "output", "message");
}

// ---------------------------------------------------------------------------------
// Pairing

/** One tool call: its `started` event and its outcome, when heard. */
export interface ToolCall {
  /** The key: the tool_use_id, or `seq:<n>` for a call reported without one. */
  readonly key: string;
  readonly toolName: string;
  readonly toolUseId?: string;
  readonly started?: ToolEvent;
  readonly finished?: ToolEvent;
  readonly status: "running" | "succeeded" | "failed";
  readonly input?: JsonValue;
  readonly response?: JsonValue;
  readonly error?: string;
  readonly stepId?: string;
  readonly durationMs?: number;
  /** The seq of its first event (for ordering and links). */
  readonly seq: number;
}

/** Merges a call with one more of its events. */
export function addToCall(call: ToolCall | undefined, event: ToolEvent): ToolCall {
  const started = event.status === "started" ? event : call?.started;
  const finished = event.status !== "started" ? event : call?.finished;
  const latest = finished ?? started ?? event;
  const durationMs =
    finished?.durationMs ??
    (started !== undefined && finished !== undefined ? Math.max(0, Date.parse(finished.timestamp) - Date.parse(started.timestamp)) : undefined);
  const input = finished?.input ?? started?.input;
  const response = finished?.response;
  const error = finished?.error;
  const stepId = finished?.stepId ?? started?.stepId;
  return {
    key: event.toolUseId ?? call?.key ?? `seq:${event.seq}`,
    toolName: latest.toolName,
    ...(event.toolUseId !== undefined ? { toolUseId: event.toolUseId } : call?.toolUseId !== undefined ? { toolUseId: call.toolUseId } : {}),
    ...(started !== undefined ? { started } : {}),
    ...(finished !== undefined ? { finished } : {}),
    status: finished === undefined ? "running" : finished.status === "failed" ? "failed" : "succeeded",
    ...(input !== undefined ? { input } : {}),
    ...(response !== undefined ? { response } : {}),
    ...(error !== undefined ? { error } : {}),
    ...(stepId !== undefined ? { stepId } : {}),
    ...(durationMs !== undefined && Number.isFinite(durationMs) ? { durationMs } : {}),
    seq: Math.min(call?.seq ?? event.seq, event.seq),
  };
}

/** The tool calls among events, in order of their first event. */
export function pairToolCalls(events: Iterable<WorkspaceEvent>): ToolCall[] {
  const calls = new Map<string, ToolCall>();
  const all: WorkspaceEvent[] = [];
  let denials = false;
  for (const event of events) {
    if (event.type === "permission:decided" && event.behavior === "deny") denials = true;
    if (event.type === "permission:requested" || event.type === "permission:decided" || event.type === "interaction:awaiting-input") all.push(event);
    if (event.type !== "tool:used") continue;
    all.push(event);
    const key = event.toolUseId ?? `seq:${event.seq}`;
    calls.set(key, addToCall(calls.get(key), event));
  }
  // A call denied from the page never reports an outcome: the denial is its outcome.
  if (denials) {
    for (const [id, d] of denialsOf(all)) {
      const call = calls.get(id);
      if (call !== undefined && call.status === "running") calls.set(id, addToCall(call, denialOutcome(d)));
    }
  }
  return [...calls.values()].sort((a, b) => a.seq - b.seq);
}

/**
 * The tool calls of one step, settled like the timeline's: the step's own `tool:used`
 * events, with the session's permission events beside them so a call denied from the
 * page ends as denied here too (permissions carry no step).
 */
export function stepCalls(events: Iterable<WorkspaceEvent>, stepId: string): ToolCall[] {
  const relevant: WorkspaceEvent[] = [];
  for (const e of events) {
    const permission = e.type === "permission:requested" || e.type === "permission:decided" || e.type === "interaction:awaiting-input";
    if (permission || (e.type === "tool:used" && e.stepId === stepId)) relevant.push(e);
  }
  return pairToolCalls(relevant);
}

// ---------------------------------------------------------------------------------
// What each tool shows

export interface DiffLine {
  readonly op: "add" | "del" | "ctx";
  readonly text: string;
}

export interface EditHunk {
  readonly oldString: string;
  readonly newString: string;
  readonly replaceAll: boolean;
  readonly lines: readonly DiffLine[];
}

export interface Question {
  readonly question: string;
  readonly header?: string;
  readonly options: readonly { label: string; description?: string }[];
  readonly multiSelect: boolean;
  readonly answer?: string;
}

export type ToolView =
  | {
      readonly kind: "bash";
      readonly command: string;
      readonly description?: string;
      readonly stdout: string;
      readonly stderr: string;
      readonly exit: "running" | "ok" | "failed" | "interrupted";
      readonly exitCode?: number;
      readonly background: boolean;
    }
  | { readonly kind: "edit"; readonly path: string; readonly hunks: readonly EditHunk[] }
  | { readonly kind: "write"; readonly path: string; readonly content: string; readonly lines: number; readonly created?: boolean }
  | {
      readonly kind: "read";
      readonly path: string;
      readonly offset?: number;
      readonly limit?: number;
      readonly content?: string;
      readonly numLines?: number;
      readonly totalLines?: number;
    }
  | {
      readonly kind: "search";
      readonly tool: string;
      readonly pattern: string;
      readonly path?: string;
      readonly glob?: string;
      readonly mode?: string;
      readonly files: readonly string[];
      readonly content?: string;
      readonly count?: number;
      readonly truncated: boolean;
    }
  | {
      readonly kind: "task";
      readonly description?: string;
      readonly prompt?: string;
      readonly agentType?: string;
      readonly result?: string;
    }
  | { readonly kind: "question"; readonly questions: readonly Question[] }
  | { readonly kind: "todo"; readonly todos: readonly Todo[] }
  | { readonly kind: "json" };

/** One item of a TodoWrite list. */
export interface Todo {
  readonly content: string;
  readonly status: "pending" | "in_progress" | "completed";
  /** The present-tense form Claude shows while working on it. */
  readonly activeForm?: string;
}

/** A line diff of two strings (as an Edit's old and new string). A diff that takes too
 * long (huge or very different strings) shows the old lines removed and the new added. */
export function lineDiff(oldText: string, newText: string, timeoutMs = 250): DiffLine[] {
  const out: DiffLine[] = [];
  const push = (op: DiffLine["op"], value: string) => {
    const lines = value.split("\n");
    if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
    for (const text of lines) out.push({ op, text });
  };
  const changes = diffLines(oldText, newText, { timeout: timeoutMs });
  if (changes === undefined) {
    if (oldText !== "") push("del", oldText);
    if (newText !== "") push("add", newText);
    return out;
  }
  for (const change of changes) push(change.added ? "add" : change.removed ? "del" : "ctx", change.value);
  return out;
}

function hunk(e: JsonObject | undefined): EditHunk | undefined {
  const oldString = str(e, "old_string", "oldString");
  const newString = str(e, "new_string", "newString");
  if (oldString === undefined || newString === undefined) return undefined;
  return { oldString, newString, replaceAll: bool(e, "replace_all") ?? bool(e, "replaceAll") ?? false, lines: lineDiff(oldString, newString) };
}

const PREVIEW_CHARS = 4000;

/** The first part of a long text. */
export function preview(text: string, max = PREVIEW_CHARS): { text: string; cut: boolean } {
  return text.length > max ? { text: text.slice(0, max), cut: true } : { text, cut: false };
}

/** The path a tool call works on, when it names one (Edit, Write, Read, NotebookEdit, …). */
export function toolPath(input: JsonValue | undefined): string | undefined {
  return str(obj(input), "file_path", "notebook_path", "path");
}

/** What a tool call shows, from its name, input and response. */
export function describeTool(call: Pick<ToolCall, "toolName" | "input" | "response" | "status" | "error">): ToolView {
  const input = obj(call.input);
  const response = obj(call.response);
  switch (call.toolName) {
    case "Bash":
    case "BashOutput": {
      const command = str(input, "command") ?? "";
      const stdout = str(response, "stdout", "output") ?? (typeof call.response === "string" ? call.response : "");
      const stderr = str(response, "stderr") ?? "";
      const interrupted = bool(response, "interrupted") === true;
      const exitCode = num(response, "exitCode", "exit_code", "returnCode");
      const failedByCode = exitCode !== undefined && exitCode !== 0;
      const exit =
        call.status === "running" ? "running" : interrupted ? "interrupted" : call.status === "failed" || failedByCode ? "failed" : "ok";
      if (command === "" && call.toolName === "Bash") return { kind: "json" };
      const description = str(input, "description");
      return {
        kind: "bash",
        command,
        ...(description !== undefined ? { description } : {}),
        stdout,
        stderr,
        exit,
        ...(exitCode !== undefined ? { exitCode } : {}),
        background: bool(input, "run_in_background") === true,
      };
    }
    case "Edit": {
      const path = str(input, "file_path") ?? str(response, "filePath");
      const h = hunk(input) ?? hunk(response);
      if (path === undefined || h === undefined) return { kind: "json" };
      return { kind: "edit", path, hunks: [h] };
    }
    case "MultiEdit": {
      const path = str(input, "file_path") ?? str(response, "filePath");
      const edits = input?.["edits"];
      if (path === undefined || !Array.isArray(edits)) return { kind: "json" };
      const hunks = edits.map((e) => hunk(obj(e))).filter((h): h is EditHunk => h !== undefined);
      return hunks.length > 0 ? { kind: "edit", path, hunks } : { kind: "json" };
    }
    case "Write": {
      const path = str(input, "file_path") ?? str(response, "filePath");
      const content = str(input, "content") ?? str(response, "content");
      if (path === undefined || content === undefined) return { kind: "json" };
      const type = str(response, "type");
      return {
        kind: "write",
        path,
        content,
        lines: content === "" ? 0 : content.split("\n").length - (content.endsWith("\n") ? 1 : 0),
        ...(type !== undefined ? { created: type === "create" } : {}),
      };
    }
    case "Read": {
      const path = str(input, "file_path");
      if (path === undefined) return { kind: "json" };
      const file = obj(response?.["file"]);
      const offset = num(input, "offset");
      const limit = num(input, "limit");
      const content = str(file, "content") ?? responseText(call.response);
      const numLines = num(file, "numLines");
      const totalLines = num(file, "totalLines");
      return {
        kind: "read",
        path,
        ...(offset !== undefined ? { offset } : {}),
        ...(limit !== undefined ? { limit } : {}),
        ...(content !== undefined ? { content } : {}),
        ...(numLines !== undefined ? { numLines } : {}),
        ...(totalLines !== undefined ? { totalLines } : {}),
      };
    }
    case "Grep":
    case "Glob":
    case "LS": {
      const pattern = str(input, "pattern") ?? str(input, "path") ?? "";
      const files = strings(response?.["filenames"]);
      const content = str(response, "content");
      const count = num(response, "numFiles", "numMatches", "numLines");
      const path = str(input, "path");
      const glob = str(input, "glob");
      const mode = str(input, "output_mode") ?? str(response, "mode");
      return {
        kind: "search",
        tool: call.toolName,
        pattern,
        ...(path !== undefined && call.toolName !== "LS" ? { path } : {}),
        ...(glob !== undefined ? { glob } : {}),
        ...(mode !== undefined ? { mode } : {}),
        files,
        ...(content !== undefined && content !== "" ? { content } : {}),
        ...(count !== undefined ? { count } : files.length > 0 ? { count: files.length } : {}),
        truncated: bool(response, "truncated") === true,
      };
    }
    case "Task":
    case "Agent": {
      const description = str(input, "description");
      const prompt = str(input, "prompt");
      const agentType = str(input, "subagent_type");
      const result = responseText(call.response);
      return {
        kind: "task",
        ...(description !== undefined ? { description } : {}),
        ...(prompt !== undefined ? { prompt } : {}),
        ...(agentType !== undefined ? { agentType } : {}),
        ...(result !== undefined ? { result } : {}),
      };
    }
    case "TodoWrite": {
      const list = input?.["todos"];
      if (!Array.isArray(list)) return { kind: "json" };
      const todos: Todo[] = list.flatMap((t) => {
        const to = obj(t);
        const content = str(to, "content");
        if (content === undefined) return [];
        const raw = str(to, "status");
        const status = raw === "completed" || raw === "in_progress" ? raw : "pending";
        const activeForm = str(to, "activeForm");
        return [{ content, status, ...(activeForm !== undefined ? { activeForm } : {}) }];
      });
      return { kind: "todo", todos };
    }
    case "AskUserQuestion": {
      const list = input?.["questions"];
      if (!Array.isArray(list)) return { kind: "json" };
      const answers = obj(response?.["answers"]) ?? obj(input?.["answers"]);
      const questions: Question[] = [];
      for (const q of list) {
        const qo = obj(q);
        const question = str(qo, "question");
        if (question === undefined) continue;
        const header = str(qo, "header");
        const options = (Array.isArray(qo?.["options"]) ? (qo?.["options"] as JsonValue[]) : []).flatMap((o) => {
          const oo = obj(o);
          const label = str(oo, "label") ?? (typeof o === "string" ? o : undefined);
          if (label === undefined) return [];
          const description = str(oo, "description");
          return [{ label, ...(description !== undefined ? { description } : {}) }];
        });
        const answer = str(answers, question);
        questions.push({
          question,
          ...(header !== undefined ? { header } : {}),
          options,
          multiSelect: bool(qo, "multiSelect") === true,
          ...(answer !== undefined ? { answer } : {}),
        });
      }
      return questions.length > 0 ? { kind: "question", questions } : { kind: "json" };
    }
    default:
      return { kind: "json" };
  }
}

/** One line naming what a tool call does: the command, the file, the pattern… */
export function toolHeadline(toolName: string, input: JsonValue | undefined): string {
  const o = obj(input);
  switch (toolName) {
    case "Bash":
      return str(o, "command") ?? "";
    case "Edit":
    case "MultiEdit":
    case "Write":
    case "Read":
    case "NotebookEdit":
      return toolPath(input) ?? "";
    case "Grep":
    case "Glob": {
      const pattern = str(o, "pattern") ?? "";
      const path = str(o, "path");
      return path !== undefined ? `${pattern} in ${path}` : pattern;
    }
    case "Task":
    case "Agent": {
      const description = str(o, "description") ?? "";
      const type = str(o, "subagent_type");
      return type !== undefined ? `${description} (${type})` : description;
    }
    case "AskUserQuestion": {
      const first = Array.isArray(o?.["questions"]) ? obj((o?.["questions"] as JsonValue[])[0]) : undefined;
      return str(first, "question") ?? "";
    }
    case "WebFetch":
      return str(o, "url") ?? "";
    case "WebSearch":
      return str(o, "query") ?? "";
    case "TodoWrite": {
      const todos = o?.["todos"];
      if (!Array.isArray(todos)) return "";
      const items = todos.map((t) => obj(t));
      const done = items.filter((t) => str(t, "status") === "completed").length;
      const now = items.find((t) => str(t, "status") === "in_progress");
      const current = now !== undefined ? (str(now, "activeForm") ?? str(now, "content")) : undefined;
      return `${done}/${todos.length} done${current !== undefined ? ` · ${current}` : ""}`;
    }
    default: {
      if (o === undefined) return "";
      const first = Object.entries(o).find(([, v]) => typeof v === "string");
      return first !== undefined ? `${first[0]}: ${String(first[1])}` : "";
    }
  }
}

/** How a tool call touched its file, when it names one: `read`, `created`, `modified`. */
export function toolFileAccess(call: Pick<ToolCall, "toolName" | "input" | "response">): "read" | "created" | "modified" | undefined {
  switch (call.toolName) {
    case "Read":
      return "read";
    case "Edit":
    case "MultiEdit":
    case "NotebookEdit":
      return "modified";
    case "Write":
      return str(obj(call.response), "type") === "create" ? "created" : "modified";
    default:
      return undefined;
  }
}
