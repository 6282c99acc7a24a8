import type { Session, SessionId } from "../../generated";
import { sessionHref } from "../../lib/route";
import { formatDuration, since, useNow } from "../../lib/time";
import { sessionLabel } from "../../state/notices";
import type { Resolution } from "../../state/reducer";

function outcome(r: Resolution): { text: string; tone: string; key: string } {
  switch (r.kind) {
    case "question":
      return { text: `Answered “${r.text}”`, tone: "answered", key: "answered" };
    case "permission":
      return r.behavior === "allow"
        ? { text: `Allowed ${r.toolName ?? "the tool call"}`, tone: "allow", key: "allow" }
        : { text: `Denied ${r.toolName ?? "the tool call"}`, tone: "deny", key: "deny" };
  }
}

/** Questions answered and permissions decided since this page opened, newest first. */
export function ResolvedList(props: { resolved: readonly Resolution[]; sessions: ReadonlyMap<SessionId, Session> }) {
  const now = useNow(5000);
  if (props.resolved.length === 0) return <p className="empty">Nothing answered since this page opened.</p>;
  return (
    <ul className="resolved">
      {props.resolved.map((r) => {
        const o = outcome(r);
        return (
          <li
            key={`${r.sessionId}:${r.requestId}`}
            className="resolved__item"
            data-request-id={r.requestId}
            data-session-id={r.sessionId}
            data-outcome={o.key}
          >
            <span className={`outcome outcome--${o.tone}`}>{o.text}</span>
            {r.by !== undefined ? <span className="resolved__by" data-by={r.by}>by {r.by}</span> : null}
            {r.kind === "question" && r.prompt !== undefined ? <span className="resolved__prompt">{r.prompt}</span> : null}
            <a className="resolved__session" href={sessionHref(r.sessionId)}>
              {sessionLabel(props.sessions.get(r.sessionId), r.sessionId)}
            </a>
            <span className="resolved__when">{formatDuration(since(r.at, now))} ago</span>
          </li>
        );
      })}
    </ul>
  );
}
