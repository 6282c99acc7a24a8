// The files a session touched: from its file events (the watcher's, or an agent's, tied
// to the step running then) and from its tool calls (Read, Edit, Write… with the step
// they ran in), grouped by step. Paths inside the cwd are shown relative to it (the
// files API serves those); others stay absolute. "Files changed" (changedCount) is the
// server's definition of `counts.fileChanges` (crates/backend/src/core/calls.rs): the
// distinct paths with a file event or a succeeded Write/Edit/MultiEdit/NotebookEdit.
import type { FileChange, FileEntry } from "../../../generated";
import { toolFileAccess, toolPath, type ToolCall } from "./tools";

export type FileAccess = "read" | "created" | "modified" | "deleted";

export interface TouchedFile {
  /** Relative to the cwd when inside it, else as reported. */
  readonly path: string;
  /** Whether the path is inside the cwd (so its content can be asked for). */
  readonly inCwd: boolean;
  readonly stepId?: string;
  /** What happened to it, in order of first occurrence, each once. */
  readonly accesses: readonly FileAccess[];
  /**
   * How many times it was touched: its tool calls when any (the watcher's event for
   * the same write is not counted again), else its file events.
   */
  readonly count: number;
  /** The newest seq that touched it. */
  readonly lastSeq: number;
}

/** A path relative to `cwd` when it lies inside it (`./` and trailing slashes ignored). */
export function relativeToCwd(path: string, cwd: string): { path: string; inCwd: boolean } {
  const root = cwd.replace(/\/+$/, "");
  if (path.startsWith("/")) {
    if (root !== "" && path.startsWith(`${root}/`)) return { path: path.slice(root.length + 1), inCwd: true };
    return { path, inCwd: false };
  }
  const rel = path.replace(/^(\.\/)+/, "");
  return { path: rel, inCwd: !rel.split("/").includes("..") };
}

interface Building {
  path: string;
  inCwd: boolean;
  stepId?: string;
  accesses: FileAccess[];
  calls: number;
  events: number;
  lastSeq: number;
}

/** The files touched, one entry per (step, path), newest first. */
export function touchedFiles(fileChanges: readonly FileChange[], calls: readonly ToolCall[], cwd: string): TouchedFile[] {
  const map = new Map<string, Building>();
  // The watcher's event for a write goes with the call that wrote it (its own step is
  // the one running then, which may be another agent's).
  const writer = new Map<string, string | undefined>();
  const touch = (rawPath: string, stepId: string | undefined, access: FileAccess, seq: number, byCall: boolean) => {
    const { path, inCwd } = relativeToCwd(rawPath, cwd);
    if (path === "") return;
    if (!byCall && writer.has(path)) stepId = writer.get(path);
    if (byCall && access !== "read") writer.set(path, stepId);
    const key = `${stepId ?? ""}\u0000${path}`;
    let b = map.get(key);
    if (b === undefined) {
      b = { path, inCwd, accesses: [], calls: 0, events: 0, lastSeq: seq };
      if (stepId !== undefined) b.stepId = stepId;
      map.set(key, b);
    }
    // The watcher's "created" for a file a call wrote is the same change: a created file
    // then reported modified stays "created".
    if (access === "created" && !b.accesses.includes("created") && !b.accesses.includes("deleted")) {
      // A Write reads as "modified" until the watcher (or the response) says the file is new.
      b.accesses = ["created", ...b.accesses.filter((a) => a !== "modified")];
    } else if (!b.accesses.includes(access) && !(access === "modified" && b.accesses.includes("created"))) {
      b.accesses.push(access);
    }
    if (byCall) b.calls += 1;
    else b.events += 1;
    b.lastSeq = Math.max(b.lastSeq, seq);
  };
  const ordered: { seq: number; run: () => void }[] = [];
  for (const fc of fileChanges) ordered.push({ seq: fc.seq, run: () => touch(fc.path, fc.stepId, fc.change, fc.seq, false) });
  for (const call of calls) {
    const access = toolFileAccess(call);
    const path = toolPath(call.input);
    if (access === undefined || path === undefined || call.status === "failed") continue;
    // A change counts once the call succeeded (core/calls.rs): a running Write has
    // changed nothing yet, a failed or denied one never will.
    if (access !== "read" && call.status !== "succeeded") continue;
    ordered.push({ seq: call.seq, run: () => touch(path, call.stepId, access, call.seq, true) });
  }
  ordered.sort((a, b) => a.seq - b.seq);
  for (const o of ordered) o.run();
  return [...map.values()]
    .map(({ calls, events, ...rest }) => ({ ...rest, count: calls > 0 ? calls : events }))
    .sort((a, b) => b.lastSeq - a.lastSeq);
}

/** Distinct files the session created, modified or deleted: `counts.fileChanges`. */
export function changedCount(touched: readonly TouchedFile[]): number {
  return new Set(touched.filter((f) => f.accesses.some((a) => a !== "read")).map((f) => f.path)).size;
}

export interface StepFiles {
  /** undefined: the main agent (no step). */
  readonly stepId: string | undefined;
  readonly files: readonly TouchedFile[];
}

/** Touched files grouped by step (steps in order of their newest file), the main agent last. */
export function groupByStep(files: readonly TouchedFile[]): StepFiles[] {
  const groups = new Map<string | undefined, TouchedFile[]>();
  for (const f of files) {
    const list = groups.get(f.stepId);
    if (list === undefined) groups.set(f.stepId, [f]);
    else list.push(f);
  }
  const out = [...groups.entries()].map(([stepId, list]) => ({ stepId, files: list }));
  return out.sort((a, b) => {
    if (a.stepId === undefined) return 1;
    if (b.stepId === undefined) return -1;
    return (b.files[0]?.lastSeq ?? 0) - (a.files[0]?.lastSeq ?? 0);
  });
}

/** The files a step touched. */
export function filesOfStep(files: readonly TouchedFile[], stepId: string): TouchedFile[] {
  return files.filter((f) => f.stepId === stepId);
}

// ---------------------------------------------------------------------------------
// The cwd's tree

export interface TreeNode {
  readonly name: string;
  readonly path: string;
  readonly dir: boolean;
  readonly size?: number;
  readonly children: TreeNode[];
}

/** A nested tree from the files API's flat list (directories first, then by name). */
export function buildTree(entries: readonly FileEntry[]): TreeNode[] {
  const root: TreeNode = { name: "", path: "", dir: true, children: [] };
  const dirs = new Map<string, TreeNode>([["", root]]);
  const dirOf = (path: string): TreeNode => {
    const known = dirs.get(path);
    if (known !== undefined) return known;
    const cut = path.lastIndexOf("/");
    const parent = dirOf(cut < 0 ? "" : path.slice(0, cut));
    const node: TreeNode = { name: cut < 0 ? path : path.slice(cut + 1), path, dir: true, children: [] };
    parent.children.push(node);
    dirs.set(path, node);
    return node;
  };
  for (const entry of entries) {
    const path = entry.path.replace(/\/+$/, "");
    if (path === "") continue;
    if (entry.dir) {
      dirOf(path);
      continue;
    }
    const cut = path.lastIndexOf("/");
    const parent = dirOf(cut < 0 ? "" : path.slice(0, cut));
    parent.children.push({
      name: cut < 0 ? path : path.slice(cut + 1),
      path,
      dir: false,
      ...(entry.size !== undefined ? { size: entry.size } : {}),
      children: [],
    });
  }
  const sort = (nodes: TreeNode[]) => {
    nodes.sort((a, b) => (a.dir !== b.dir ? (a.dir ? -1 : 1) : a.name.localeCompare(b.name)));
    for (const n of nodes) if (n.dir) sort(n.children);
  };
  sort(root.children);
  return root.children;
}

/** "512 B", "3.4 KB", "1.2 MB". */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
