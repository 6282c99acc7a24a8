import { memo } from "react";
import type { Session } from "../generated";
import { formatDuration, since } from "../lib/time";
import { needsAttention } from "../state/selectors";
import { StatusBadge } from "./StatusBadge";
import { StepProgress } from "./StepProgress";

/** One session in the list; memoised by the Session object (the reducer replaces it on change). */
export const SessionRow = memo(function SessionRow(props: { session: Session; now: number }) {
  const s = props.session;
  return (
    <tr className={needsAttention(s) ? "session-row session-row--attention" : "session-row"} data-session-id={s.id}>
      <td>
        <StatusBadge status={s.status} />
      </td>
      <td className="session-row__title">
        <span className="session-row__name">{s.title ?? s.id}</span>
        <span className="session-row__cwd" title={s.cwd}>
          {s.cwd}
        </span>
      </td>
      <td>{s.user ?? "—"}</td>
      <td>{s.hostname ?? "—"}</td>
      <td title={s.startedAt}>{formatDuration(since(s.startedAt, props.now))}</td>
      <td>
        <StepProgress counts={s.counts} />
      </td>
      <td className="session-row__num" title="tool calls · failures">
        {s.counts.toolCalls}
        {s.counts.failures > 0 ? <span className="session-row__failures"> · {s.counts.failures}✕</span> : null}
      </td>
    </tr>
  );
});
