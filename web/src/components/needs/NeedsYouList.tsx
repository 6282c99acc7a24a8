import type { Session } from "../../generated";
import { sessionHref } from "../../lib/route";
import { formatDuration, since, useNow } from "../../lib/time";
import { isEndOfTurn, sessionLabel } from "../../state/notices";
import { urgency, type NeedsYouItem } from "../../state/selectors";
import { PermissionCard } from "../steering/PermissionCard";
import { QuestionCard } from "../steering/QuestionCard";

/** Where the item comes from: the session (a link), its cwd, user and host. */
function Origin(props: { session: Session }) {
  const s = props.session;
  const who = [s.user, s.hostname].filter((x) => x !== undefined && x !== "").join("@");
  return (
    <div className="needs-item__origin">
      <a className="needs-item__session" href={sessionHref(s.id)}>
        {sessionLabel(s, s.id)}
      </a>
      <span className="needs-item__cwd" title={s.cwd}>
        {s.cwd}
      </span>
      {who !== "" ? <span className="needs-item__who">{who}</span> : null}
    </div>
  );
}

/** Every open question and permission request, each with its controls and how long it waited. */
export function NeedsYouList(props: { items: readonly NeedsYouItem[]; compact?: boolean }) {
  const now = useNow(1000);
  const { items } = props;
  if (items.length === 0) return <p className="empty needs-you__empty">Nothing waits on you.</p>;
  return (
    <ul className={props.compact === true ? "needs-you__list needs-you__list--compact" : "needs-you__list"}>
      {items.map((item) => (
        <li
          key={item.key}
          className={`needs-item needs-item--${item.kind}`}
          data-kind={item.kind}
          data-urgency={urgency(item)}
          data-session-id={item.session.id}
          data-request-id={item.kind === "question" ? item.question.requestId : item.request.requestId}
        >
          <div className="needs-item__head">
            <span className={`tag tag--${item.kind}`}>
              {item.kind === "permission" ? "permission" : isEndOfTurn(item.question.requestId) ? "turn ended" : "question"}
            </span>
            <Origin session={item.session} />
            <span className="needs-item__waited" title={`waiting since ${item.since}`}>
              waiting {formatDuration(since(item.since, now))}
            </span>
          </div>
          {item.kind === "question" ? (
            <QuestionCard sessionId={item.session.id} question={item.question} />
          ) : (
            <PermissionCard sessionId={item.session.id} request={item.request} />
          )}
        </li>
      ))}
    </ul>
  );
}
