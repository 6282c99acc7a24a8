// What the session changed in one file: its Edit, MultiEdit and Write calls on that path,
// oldest first, each as its diff (or the content written), from the tool inputs the
// events recorded. The file as it is now is shown below it by the Files panel.
import { useMemo } from "react";
import type { Chain } from "../../generated";
import { stepNameById } from "../../lib/names";
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

export function FileChanges(props: { calls: readonly ToolCall[]; path: string; cwd: string; chains: readonly Chain[]; onOpenStep: (id: string) => void }) {
  const { calls, path, cwd, chains, onOpenStep } = props;
  const changes = useMemo(() => changesOf(calls, path, cwd), [calls, path, cwd]);
  return (
    <section className="file-changes" aria-label="What this session changed" data-testid="file-changes" data-path={path}>
      <h4>
        What this session changed <span className="count">{changes.length}</span>
      </h4>
      {changes.length === 0 ? <p className="muted">No Edit or Write of this file among the loaded events.</p> : null}
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
    </section>
  );
}
