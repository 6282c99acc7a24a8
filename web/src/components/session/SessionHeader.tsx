import type { Session } from "../../generated";
import { formatDuration, since, useNow } from "../../lib/time";
import { sessionLabel } from "../../state/notices";
import { StatusBadge } from "../StatusBadge";
import { StepProgress } from "../StepProgress";

/** Who, where, what state and how long: the top of a session's page. */
export function SessionHeader(props: { session: Session }) {
  const s = props.session;
  const now = useNow(1000);
  const end = s.endedAt !== undefined ? Date.parse(s.endedAt) : now;
  const facts: Array<[string, string]> = [
    ["Session", s.id],
    ["Directory", s.cwd],
    ["User", s.user ?? "—"],
    ["Host", s.hostname ?? "—"],
    [s.endedAt !== undefined ? "Ran for" : "Running for", formatDuration(since(s.startedAt, end))],
    ["Started", new Date(s.startedAt).toLocaleString()],
  ];
  if (s.model !== undefined) facts.push(["Model", s.model]);
  if (s.source !== undefined) facts.push(["Source", s.source]);
  if (s.endReason !== undefined) facts.push(["Ended because", s.endReason]);
  return (
    <header className="session-header">
      <div className="session-header__top">
        <h2 className="session-header__title">{sessionLabel(s, s.id)}</h2>
        <StatusBadge status={s.status} paused={s.paused} />
        <StepProgress counts={s.counts} />
      </div>
      {s.summary !== undefined ? <p className="session-header__summary">{s.summary}</p> : null}
      <dl className="facts">
        {facts.map(([k, v]) => (
          <div key={k} className="facts__item">
            <dt>{k}</dt>
            <dd title={v}>{v}</dd>
          </div>
        ))}
      </dl>
      <ul className="counters" aria-label="Counts">
        <li>{s.counts.events} events</li>
        <li>{s.counts.prompts} prompts</li>
        <li>{s.counts.toolCalls} tool calls</li>
        {s.watch.watched || s.counts.fileChanges > 0 ? (
          <li title="distinct files the session created, modified or deleted (its file events and its Write/Edit calls)" data-testid="files-changed">
            {s.counts.fileChanges} {s.counts.fileChanges === 1 ? "file" : "files"} changed
          </li>
        ) : (
          <li title={s.watch.reason ?? "the server does not watch this session's directory"}>files not watched</li>
        )}
        <li className={s.counts.failures > 0 ? "counters__bad" : undefined}>{s.counts.failures} failures</li>
      </ul>
    </header>
  );
}
