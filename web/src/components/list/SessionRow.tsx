import { memo } from "react";
import type { Session } from "../../generated";
import { sessionHref } from "../../lib/route";
import { formatDuration, since } from "../../lib/time";
import { sessionLabel } from "../../state/notices";
import { needsAttention } from "../../state/selectors";
import { CostCell } from "../conversation/UsageBar";
import { StatusBadge } from "../StatusBadge";
import { StepProgress } from "../StepProgress";

export interface SessionRowProps {
  session: Session;
  now: number;
  /** Live: age since start. History: start time and duration. */
  mode: "live" | "history";
  active: boolean;
  onOpen: (id: string) => void;
  onFocus: (id: string) => void;
}

function durationOf(s: Session, now: number): number {
  const end = s.endedAt !== undefined ? Date.parse(s.endedAt) : now;
  const start = Date.parse(s.startedAt);
  return Number.isNaN(end) || Number.isNaN(start) ? 0 : end - start;
}

function shortTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" });
}

/** One session in a list; memoised by the Session object (the reducer replaces it on change). */
export const SessionRow = memo(function SessionRow(props: SessionRowProps) {
  const { session: s, now, mode, active } = props;
  const classes = ["session-row"];
  if (needsAttention(s)) classes.push("session-row--attention");
  if (active) classes.push("session-row--active");
  return (
    <tr
      className={classes.join(" ")}
      data-session-id={s.id}
      data-row-id={s.id}
      tabIndex={active ? 0 : -1}
      onFocus={() => props.onFocus(s.id)}
      onClick={(e) => {
        if ((e.target as HTMLElement).closest("a") === null) props.onOpen(s.id);
      }}
    >
      <td>
        <StatusBadge status={s.status} paused={s.paused} />
      </td>
      <td className="session-row__title">
        <div>
          <a className="session-row__name" href={sessionHref(s.id)} tabIndex={-1} title={sessionLabel(s, s.id)}>
            {sessionLabel(s, s.id)}
          </a>
          <span className="session-row__cwd" title={s.cwd}>
            {s.cwd}
          </span>
        </div>
      </td>
      <td className="session-row__user" title={s.user}>
        {s.user ?? "—"}
      </td>
      <td className="session-row__host" title={s.hostname}>
        {s.hostname ?? "—"}
      </td>
      {mode === "history" ? (
        <td className="session-row__num" title={s.startedAt}>
          {shortTime(s.startedAt)}
        </td>
      ) : null}
      <td className="session-row__num" title={mode === "live" ? `started ${s.startedAt}` : `ended ${s.endedAt ?? ""}`}>
        {formatDuration(mode === "live" ? since(s.startedAt, now) : durationOf(s, now))}
      </td>
      <td>
        <StepProgress counts={s.counts} />
      </td>
      <td className="session-row__num" title="tool calls · failures">
        {s.counts.toolCalls}
        {s.counts.failures > 0 ? <span className="session-row__failures"> · {s.counts.failures} failed</span> : null}
      </td>
      <CostCell session={s} />
    </tr>
  );
});
