// What the session changed in one file: one combined diff, from the file as it was
// before the session first touched it to the file as the session left it (its Write,
// Edit and MultiEdit calls, from what Claude Code reported of them), live as calls come
// in; each call's own diff stays one click away. The file as it is now is shown below
// it by the Files panel.
import { useMemo } from "react";
import type { Chain } from "../../generated";
import { stepNameById } from "../../lib/names";
import { combinedDiff, diffStat, fileEnds } from "./model/combined";
import { relativeToCwd } from "./model/files";
import { toolFileAccess, toolPath, type ToolCall } from "./model/tools";
import { ToolCallView } from "./ToolCallView";

/** The calls that changed `path` (relative to `cwd` when inside it), oldest first. */
export function changesOf(calls: readonly ToolCall[], path: string, cwd: string): ToolCall[] {
  return calls
    .filter((call) => {
      const access = toolFileAccess(call);
      const raw = toolPath(call.input);
      if (access === undefined || access === "read" || raw === undefined || call.status === "failed") return false;
      return relativeToCwd(raw, cwd).path === path;
    })
    .sort((a, b) => a.seq - b.seq);
}

function Combined(props: { changes: readonly ToolCall[] }) {
  const done = useMemo(() => props.changes.filter((c) => c.status === "succeeded"), [props.changes]);
  const ends = useMemo(() => fileEnds(done), [done]);
  const lines = useMemo(() => (ends !== undefined ? combinedDiff(ends) : undefined), [ends]);
  if (done.length === 0) return null;
  if (ends === undefined || lines === undefined) {
    return <p className="muted" data-testid="combined-diff-missing">The calls do not say what the file held before: see each change below.</p>;
  }
  const stat = diffStat(lines);
  return (
    <div className="combined-diff" data-testid="combined-diff" data-added={stat.added} data-removed={stat.removed}>
      <p className="muted">
        {ends.created ? "New file" : "Before the session → now"} · <span className="diff-stat diff-stat--add">+{stat.added}</span>{" "}
        <span className="diff-stat diff-stat--del">−{stat.removed}</span> · {done.length} {done.length === 1 ? "call" : "calls"}
      </p>
      {stat.added + stat.removed === 0 ? <p className="muted">No difference: the session left the file as it found it.</p> : null}
      <pre className="diff" aria-label="What the session changed in this file">
        {lines.map((line, i) =>
          line.op === "skip" ? (
            <span key={i} className="diff__line diff__line--skip">
              <span className="diff__sign" aria-hidden="true">
                {" "}
              </span>
              ⋯ {line.skipped} unchanged {line.skipped === 1 ? "line" : "lines"}
              {"\n"}
            </span>
          ) : (
            <span key={i} className={`diff__line diff__line--${line.op}`}>
              <span className="diff__sign" aria-hidden="true">
                {line.op === "add" ? "+" : line.op === "del" ? "−" : " "}
              </span>
              {line.text}
              {"\n"}
            </span>
          ),
        )}
      </pre>
    </div>
  );
}

export function FileChanges(props: { calls: readonly ToolCall[]; path: string; cwd: string; chains: readonly Chain[]; onOpenStep: (id: string) => void }) {
  const { calls, path, cwd, chains, onOpenStep } = props;
  const changes = useMemo(() => changesOf(calls, path, cwd), [calls, path, cwd]);
  return (
    <section className="file-changes" aria-label="What this session changed" data-testid="file-changes" data-path={path}>
      <h4>
        What this session changed <span className="count">{changes.length}</span>
      </h4>
      {changes.length === 0 ? <p className="muted">No Edit or Write of this file among the loaded events.</p> : null}
      <Combined changes={changes} />
      {changes.length > 0 ? (
        <details className="file-changes__calls" data-testid="file-changes-calls">
          <summary>Each change ({changes.length})</summary>
          <ol className="file-changes__list">
            {changes.map((call) => (
              <li key={call.key} className="file-changes__item" data-seq={call.seq}>
                <p className="muted">
                  #{call.seq} · {stepNameById(chains, call.stepId).full}
                </p>
                <ToolCallView call={call} chains={chains} cwd={cwd} onOpenStep={onOpenStep} />
              </li>
            ))}
          </ol>
        </details>
      ) : null}
    </section>
  );
}
