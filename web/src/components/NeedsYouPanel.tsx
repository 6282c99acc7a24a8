import { useMemo } from "react";
import type { Session } from "../generated";
import { formatDuration, since, useNow } from "../lib/time";
import { sessionsNeedingYou } from "../state/selectors";

/** Live sessions that wait on a person: a question to answer or a tool call to allow. */
export function NeedsYouPanel(props: { sessions: ReadonlyMap<string, Session>; version: number }) {
  const { sessions, version } = props;
  const waiting = useMemo(() => sessionsNeedingYou(sessions.values()), [sessions, version]);
  const now = useNow(5000);

  return (
    <section className="panel needs-you" aria-labelledby="needs-you-title">
      <div className="panel__head">
        <h2 id="needs-you-title">
          Needs you {waiting.length > 0 ? <span className="needs-you__count">{waiting.length}</span> : null}
        </h2>
      </div>
      {waiting.length === 0 ? (
        <p className="empty">Nothing waits on you.</p>
      ) : (
        <ul className="needs-you__list">
          {waiting.map((s) => (
            <li key={s.id} className="needs-you__item" data-session-id={s.id}>
              <div className="needs-you__session">
                <strong>{s.title ?? s.id}</strong>
                <span className="needs-you__cwd">{s.cwd}</span>
              </div>
              {s.awaitingInput !== undefined ? (
                <p className="needs-you__question">
                  <span className="tag tag--question">question</span> {s.awaitingInput.prompt}
                  <span className="needs-you__age"> · {formatDuration(since(s.awaitingInput.since, now))}</span>
                </p>
              ) : null}
              {s.pendingPermissions.map((p) => (
                <p key={p.requestId} className="needs-you__permission">
                  <span className="tag tag--permission">permission</span> {p.toolName}
                  <span className="needs-you__age"> · {formatDuration(since(p.requestedAt, now))}</span>
                </p>
              ))}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
