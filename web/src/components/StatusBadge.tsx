import type { SessionStatus } from "../generated";

export function StatusBadge(props: { status: SessionStatus }) {
  return <span className={`status status--${props.status}`}>{props.status}</span>;
}
