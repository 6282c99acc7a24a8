// Files: what the session touched (file events and tool calls, under the step that
// touched them), the cwd's tree (read again as the session changes files), and for one
// file what the session changed (its Edit/Write diffs) above a read-only view of it. A session whose cwd
// is not on this host has no tree or content here; the panel says so.
import { stepName } from "../../lib/names";
import { useEffect, useMemo, useRef, useState } from "react";
import { ApiError, type Api } from "../../api";
import type { Chain, FileContent, FileTree, Session } from "../../generated";
import { buildTree, changedCount, formatSize, groupByStep, type TouchedFile, type TreeNode } from "./model/files";
import { changesOf, FileChanges } from "./FileChanges";
import { combinedDiff, diffStat, fileEnds } from "./model/combined";
import { findStep } from "./model/graph";
import type { ToolCall } from "./model/tools";

/** How long after a file change the tree is read again (changes in a burst read it once). */
const REFRESH_MS = 300;

type Load<T> = { state: "idle" } | { state: "loading" } | { state: "ok"; value: T } | { state: "error"; message: string; notHere: boolean };

function errorOf(err: unknown): { message: string; notHere: boolean } {
  if (err instanceof ApiError) return { message: err.message, notHere: err.isNotFound };
  return { message: err instanceof Error ? err.message : String(err), notHere: false };
}

function TreeView(props: { nodes: readonly TreeNode[]; selected: string | undefined; onOpen: (path: string) => void; depth?: number }) {
  const depth = props.depth ?? 0;
  return (
    <ul className={depth === 0 ? "tree" : "tree tree--nested"}>
      {props.nodes.map((n) =>
        n.dir ? (
          <li key={n.path} className="tree__dir">
            <details open={depth < 1}>
              <summary>{n.name}/</summary>
              <TreeView nodes={n.children} selected={props.selected} onOpen={props.onOpen} depth={depth + 1} />
            </details>
          </li>
        ) : (
          <li key={n.path} className="tree__file">
            <button
              type="button"
              className={n.path === props.selected ? "tree__button tree__button--selected" : "tree__button"}
              onClick={() => props.onOpen(n.path)}
            >
              {n.name}
            </button>
            {n.size !== undefined ? <span className="muted"> {formatSize(n.size)}</span> : null}
          </li>
        ),
      )}
    </ul>
  );
}

function Content(props: { api: Api; sessionId: string; path: string; version: number }) {
  const { api, sessionId, path, version } = props;
  const [load, setLoad] = useState<Load<FileContent>>({ state: "loading" });
  useEffect(() => {
    let cancelled = false;
    setLoad((prev) => (prev.state === "ok" ? prev : { state: "loading" }));
    api.readFile(sessionId, path).then(
      (value) => !cancelled && setLoad({ state: "ok", value }),
      (err: unknown) => !cancelled && setLoad({ state: "error", ...errorOf(err) }),
    );
    return () => {
      cancelled = true;
    };
  }, [api, sessionId, path, version]);
  return (
    <div className="file-content" data-testid="file-content" data-path={path}>
      <h4>
        <code>{path}</code>
        {load.state === "ok" ? <span className="muted"> · {formatSize(load.value.size)}</span> : null}
      </h4>
      {load.state === "loading" ? <p className="muted">Loading…</p> : null}
      {load.state === "error" ? <p className="note">{load.message}</p> : null}
      {load.state === "ok" && load.value.content === null ? <p className="note">Not shown: a binary file.</p> : null}
      {load.state === "ok" && load.value.content !== null ? <pre className="file-content__text">{load.value.content}</pre> : null}
      {load.state === "ok" && load.value.truncated ? <p className="muted">(only the start of the file is shown)</p> : null}
    </div>
  );
}


export interface FilesPanelProps {
  readonly api: Api;
  readonly session: Session;
  readonly chains: readonly Chain[];
  readonly touched: readonly TouchedFile[];
  /** The session's tool calls (for the diffs of what it changed). */
  readonly calls?: readonly ToolCall[];
  readonly selected: string | undefined;
  readonly onOpenFile: (path: string) => void;
  readonly onOpenStep: (stepId: string) => void;
}

export function FilesPanel(props: FilesPanelProps) {
  const { api, session, chains, touched, selected, onOpenFile, onOpenStep } = props;
  const [tree, setTree] = useState<Load<FileTree>>({ state: "idle" });
  // Read again (at most every REFRESH_MS) when the session touches files: new files show
  // up, sizes stay true. The previous tree stays on screen meanwhile.
  const newest = touched.reduce((m, f) => Math.max(m, f.lastSeq), 0);
  const refreshKey = `${session.counts.fileChanges}:${newest}`;
  const firstLoad = useRef(true);
  useEffect(() => {
    let cancelled = false;
    setTree((prev) => (prev.state === "ok" ? prev : { state: "loading" }));
    const delay = firstLoad.current ? 0 : REFRESH_MS;
    firstLoad.current = false;
    const timer = setTimeout(() => {
      api.listFiles(session.id).then(
        (value) => !cancelled && setTree({ state: "ok", value }),
        (err: unknown) => !cancelled && setTree({ state: "error", ...errorOf(err) }),
      );
    }, delay);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [api, session.id, refreshKey]);
  const selectedVersion = touched.find((f) => f.path === selected)?.lastSeq ?? 0;
  const nodes = useMemo(() => (tree.state === "ok" ? buildTree(tree.value.files) : []), [tree]);
  const groups = useMemo(() => groupByStep(touched), [touched]);
  // Each changed file's +added −removed, from its combined diff (FileChanges).
  const stats = useMemo(() => {
    const out = new Map<string, { added: number; removed: number }>();
    const calls = props.calls ?? [];
    for (const f of touched) {
      if (out.has(f.path) || f.accesses.every((a) => a === "read")) continue;
      const ends = fileEnds(changesOf(calls, f.path, session.cwd).filter((c) => c.status === "succeeded"));
      if (ends !== undefined) out.set(f.path, diffStat(combinedDiff(ends, 0)));
    }
    return out;
  }, [touched, props.calls, session.cwd]);
  const notHere = tree.state === "error" && tree.notHere;

  return (
    <section className="files" aria-label="Files">
      <div className="files__touched" data-testid="touched-files">
        <h3>
          Touched by this session{" "}
          <span className="muted" data-testid="files-summary">
            {changedCount(touched)} changed · {touched.filter((f) => f.accesses.every((a) => a === "read")).length} only read
          </span>
        </h3>
        {groups.length === 0 ? <p className="muted">No files touched yet.</p> : null}
        {groups.map((g) => {
          const step = g.stepId !== undefined ? findStep(chains, g.stepId) : undefined;
          return (
            <div key={g.stepId ?? ""} className="files__group" data-step-id={g.stepId ?? ""}>
              <h4>
                {g.stepId === undefined ? (
                  "Main agent"
                ) : (
                  <>
                    <button type="button" className="link-button" onClick={() => onOpenStep(g.stepId as string)}>
                      {step !== undefined ? stepName(step, chains).full : g.stepId}
                    </button>
                  </>
                )}
              </h4>
              <ul className="file-list">
                {g.files.map((f) => (
                  <li key={f.path} className="file-item" data-path={f.path}>
                    <button
                      type="button"
                      className={f.path === selected ? "tree__button tree__button--selected" : "tree__button"}
                      disabled={!f.inCwd || notHere}
                      onClick={() => onOpenFile(f.path)}
                    >
                      <code>{f.path}</code>
                    </button>{" "}
                    <span className="muted">
                      {f.accesses.join(", ")}
                      {f.count > 1 ? ` ×${f.count}` : ""}
                    </span>
                    {stats.has(f.path) ? (
                      <span className="file-item__stat" data-testid="file-stat">
                        {" "}
                        <span className="diff-stat diff-stat--add">+{stats.get(f.path)?.added}</span>{" "}
                        <span className="diff-stat diff-stat--del">−{stats.get(f.path)?.removed}</span>
                      </span>
                    ) : null}
                  </li>
                ))}
              </ul>
            </div>
          );
        })}
      </div>
      <div className="files__tree">
        <h3>
          <code>{session.cwd}</code>
        </h3>
        {!session.watch.watched && session.watch.reason !== undefined ? (
          <p className="note" data-testid="watch-note">
            Not watched: {session.watch.reason}
          </p>
        ) : null}
        {tree.state === "loading" ? <p className="muted">Loading the tree…</p> : null}
        {tree.state === "error" ? (
          <p className="note" data-testid="files-note">
            {tree.notHere ? `The session’s directory is not on this host: ${tree.message}` : tree.message}
          </p>
        ) : null}
        {tree.state === "ok" ? (
          <>
            <TreeView nodes={nodes} selected={selected} onOpen={onOpenFile} />
            {tree.value.truncated ? <p className="muted">(the tree is cut: too many files)</p> : null}
          </>
        ) : null}
      </div>
      <div className="files__content">
        {selected !== undefined && props.calls !== undefined ? (
          <FileChanges calls={props.calls} path={selected} cwd={session.cwd} chains={chains} onOpenStep={onOpenStep} />
        ) : null}
        {selected !== undefined && !notHere ? (
          <Content api={api} sessionId={session.id} path={selected} version={selectedVersion} />
        ) : (
          <p className="muted">{notHere ? "File contents are not available here." : "Pick a file to see its content."}</p>
        )}
      </div>
    </section>
  );
}
