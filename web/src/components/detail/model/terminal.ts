// The terminal: the session's Bash output in order. `terminal:output` events carry it
// (the hook reports a Bash call's stdout and stderr as such); a Bash call reported
// without them (a REST client) shows its tool response instead. ANSI colours become
// segments with class names — text, never HTML, so nothing in the output can inject
// markup.
import Anser from "anser";
import type { WorkspaceEvent } from "../../../generated";
import { stripAnsi } from "./rows";

export interface TerminalChunk {
  readonly seq: number;
  readonly stream: "stdout" | "stderr";
  readonly text: string;
}

export interface TerminalEntry {
  /** tool_use_id, or `seq:<n>` for output of no known call. */
  readonly key: string;
  /** The seq of its first event. */
  readonly seq: number;
  readonly toolUseId?: string;
  readonly stepId?: string;
  readonly command?: string;
  readonly exit?: "running" | "ok" | "failed";
  readonly chunks: readonly TerminalChunk[];
}

interface Building {
  key: string;
  seq: number;
  toolUseId?: string;
  stepId?: string;
  command?: string;
  exit?: "running" | "ok" | "failed";
  chunks: TerminalChunk[];
  /** A Bash response's output, used when no terminal:output came for the call. */
  fallback: TerminalChunk[];
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/** Assembles the terminal from events (any order; sorted by seq here). */
export function assembleTerminal(events: readonly WorkspaceEvent[]): TerminalEntry[] {
  const relevant = events.filter(
    (e) => e.type === "terminal:output" || (e.type === "tool:used" && (e.toolName === "Bash" || e.toolName === "BashOutput")),
  );
  relevant.sort((a, b) => a.seq - b.seq);
  const byKey = new Map<string, Building>();
  const order: Building[] = [];
  const entry = (key: string, seq: number): Building => {
    let b = byKey.get(key);
    if (b === undefined) {
      b = { key, seq, chunks: [], fallback: [] };
      byKey.set(key, b);
      order.push(b);
    }
    return b;
  };
  for (const e of relevant) {
    if (e.type === "terminal:output") {
      const b = entry(e.toolUseId ?? `seq:${e.seq}`, e.seq);
      if (e.toolUseId !== undefined) b.toolUseId = e.toolUseId;
      if (e.stepId !== undefined) b.stepId ??= e.stepId;
      b.chunks.push({ seq: e.seq, stream: e.stream === "stderr" ? "stderr" : "stdout", text: e.text });
    } else if (e.type === "tool:used") {
      const b = entry(e.toolUseId ?? `seq:${e.seq}`, e.seq);
      if (e.toolUseId !== undefined) b.toolUseId = e.toolUseId;
      if (e.stepId !== undefined) b.stepId ??= e.stepId;
      const input = e.input;
      if (typeof input === "object" && input !== null && !Array.isArray(input)) {
        const command = text(input["command"]);
        if (command !== undefined) b.command = command;
      }
      if (e.status === "started") {
        b.exit ??= "running";
        continue;
      }
      b.exit = e.status === "failed" ? "failed" : "ok";
      const r = e.response;
      const fallback: TerminalChunk[] = [];
      if (typeof r === "object" && r !== null && !Array.isArray(r)) {
        const out = text(r["stdout"]) ?? text(r["output"]);
        const err = text(r["stderr"]);
        if (out !== undefined) fallback.push({ seq: e.seq, stream: "stdout", text: out });
        if (err !== undefined) fallback.push({ seq: e.seq, stream: "stderr", text: err });
      } else if (typeof r === "string" && r !== "") {
        fallback.push({ seq: e.seq, stream: "stdout", text: r });
      }
      if (e.status === "failed" && e.error !== undefined && e.error !== "") {
        fallback.push({ seq: e.seq, stream: "stderr", text: e.error });
      }
      b.fallback = fallback;
    }
  }
  return order
    .map((b): TerminalEntry => ({
      key: b.key,
      seq: b.seq,
      ...(b.toolUseId !== undefined ? { toolUseId: b.toolUseId } : {}),
      ...(b.stepId !== undefined ? { stepId: b.stepId } : {}),
      ...(b.command !== undefined ? { command: b.command } : {}),
      ...(b.exit !== undefined ? { exit: b.exit } : {}),
      chunks: b.chunks.length > 0 ? b.chunks : b.fallback,
    }))
    .filter((e) => e.chunks.length > 0 || e.command !== undefined);
}

/** The plain text of an entry (command and output), for searching. */
export function entryPlainText(entry: TerminalEntry): string {
  return `${entry.command ?? ""}\n${entry.chunks.map((c) => stripAnsi(c.text)).join("\n")}`;
}

/** The entries whose command or output contains `query` (case-insensitive); all when empty. */
export function searchTerminal(entries: readonly TerminalEntry[], query: string): TerminalEntry[] {
  const q = query.trim().toLowerCase();
  if (q === "") return [...entries];
  return entries.filter((e) => entryPlainText(e).toLowerCase().includes(q));
}

/**
 * What a terminal shows of text with carriage returns: each line's part after its last
 * lone `\r` (a progress bar's final state). `\r\n` is a line end.
 */
export function settleCarriageReturns(text: string): string {
  if (!text.includes("\r")) return text;
  return text
    .replace(/\r\n/g, "\n")
    .split("\n")
    .map((line) => {
      const i = line.lastIndexOf("\r");
      if (i < 0) return line;
      const after = line.slice(i + 1);
      return after !== "" ? after : line.slice(0, i).split("\r").filter((s) => s !== "").pop() ?? "";
    })
    .join("\n");
}

export interface AnsiSegment {
  readonly text: string;
  /** Class names (`ansi-red-fg`, `ansi-bold`…). */
  readonly classes: readonly string[];
  /** A colour the classes cannot name (256-colour palette, true colour), as CSS. */
  readonly color?: string;
  readonly background?: string;
}

const BASIC = new Set(["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]);

/** The xterm 256-colour palette entry as CSS `rgb(…)`. */
export function paletteColor(n: number): string {
  if (n < 16) {
    const base = [
      [0, 0, 0], [187, 0, 0], [0, 187, 0], [187, 187, 0], [0, 0, 187], [187, 0, 187], [0, 187, 187], [255, 255, 255],
      [85, 85, 85], [255, 85, 85], [0, 255, 0], [255, 255, 85], [85, 85, 255], [255, 85, 255], [85, 255, 255], [255, 255, 255],
    ][n] as number[];
    return `rgb(${base.join(", ")})`;
  }
  if (n < 232) {
    const i = n - 16;
    const level = (v: number) => (v === 0 ? 0 : 55 + v * 40);
    return `rgb(${level(Math.floor(i / 36))}, ${level(Math.floor(i / 6) % 6)}, ${level(i % 6)})`;
  }
  const g = 8 + (n - 232) * 10;
  return `rgb(${g}, ${g}, ${g})`;
}

function colorOf(value: string | null, truecolor: string | null, layer: "fg" | "bg"): { cls?: string; css?: string } {
  if (value === null || value === "") return {};
  const name = value.replace(/^ansi-/, "");
  if (BASIC.has(name) || (name.startsWith("bright-") && BASIC.has(name.slice(7)))) return { cls: `ansi-${name}-${layer}` };
  const palette = /^palette-(\d+)$/.exec(name);
  if (palette !== null) return { css: paletteColor(Number(palette[1])) };
  if (name === "truecolor" && truecolor !== null && /^\d{1,3}, \d{1,3}, \d{1,3}$/.test(truecolor)) return { css: `rgb(${truecolor})` };
  return {};
}

/** ANSI-coloured text as plain segments with class names (never HTML). */
export function ansiSegments(input: string): AnsiSegment[] {
  const settled = settleCarriageReturns(input);
  if (!settled.includes("\u001b")) return settled === "" ? [] : [{ text: settled, classes: [] }];
  const out: AnsiSegment[] = [];
  for (const entry of Anser.ansiToJson(settled, { use_classes: true, remove_empty: true })) {
    if (entry.content === "") continue;
    const classes: string[] = [];
    const fg = colorOf(entry.fg, entry.fg_truecolor, "fg");
    const bg = colorOf(entry.bg, entry.bg_truecolor, "bg");
    if (fg.cls !== undefined) classes.push(fg.cls);
    if (bg.cls !== undefined) classes.push(bg.cls);
    for (const d of entry.decorations) classes.push(`ansi-${d}`);
    out.push({
      text: entry.content,
      classes,
      ...(fg.css !== undefined ? { color: fg.css } : {}),
      ...(bg.css !== undefined ? { background: bg.css } : {}),
    });
  }
  return out;
}

export interface MarkedSegment extends AnsiSegment {
  readonly mark: boolean;
}

/** Splits segments where `query` matches (case-insensitive), marking the matches. */
export function markMatches(segments: readonly AnsiSegment[], query: string): MarkedSegment[] {
  const q = query.toLowerCase();
  if (q === "") return segments.map((s) => ({ ...s, mark: false }));
  const whole = segments.map((s) => s.text).join("");
  const lower = whole.toLowerCase();
  // Match ranges over the whole text (a match may span segments).
  const ranges: [number, number][] = [];
  for (let i = lower.indexOf(q); i >= 0; i = lower.indexOf(q, i + q.length)) ranges.push([i, i + q.length]);
  if (ranges.length === 0) return segments.map((s) => ({ ...s, mark: false }));
  const out: MarkedSegment[] = [];
  let offset = 0;
  let r = 0;
  for (const seg of segments) {
    const start = offset;
    const end = offset + seg.text.length;
    let pos = start;
    while (pos < end) {
      while (r < ranges.length && (ranges[r] as [number, number])[1] <= pos) r++;
      const range = ranges[r];
      if (range === undefined || range[0] >= end) {
        out.push({ ...seg, text: whole.slice(pos, end), mark: false });
        pos = end;
      } else if (range[0] > pos) {
        out.push({ ...seg, text: whole.slice(pos, range[0]), mark: false });
        pos = range[0];
      } else {
        const stop = Math.min(range[1], end);
        out.push({ ...seg, text: whole.slice(pos, stop), mark: true });
        pos = stop;
      }
    }
    offset = end;
  }
  return out;
}

/** How many times `query` occurs in the entries' plain text. */
export function countMatches(entries: readonly TerminalEntry[], query: string): number {
  const q = query.trim().toLowerCase();
  if (q === "") return 0;
  let n = 0;
  for (const e of entries) {
    const t = entryPlainText(e).toLowerCase();
    for (let i = t.indexOf(q); i >= 0; i = t.indexOf(q, i + q.length)) n++;
  }
  return n;
}
