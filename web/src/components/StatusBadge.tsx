import type { SessionStatus } from "../generated";

/** A session's status; a paused session waiting on a question shows both. */
export function StatusBadge(props: { status: SessionStatus; paused?: boolean }) {
  return (
    <span className="status-badges">
      <span className={`status status--${props.status}`} data-status={props.status}>
        {props.status}
      </span>
      {props.paused === true && props.status === "waiting" ? (
        <span className="status status--paused">paused</span>
      ) : null}
    </span>
  );
}
