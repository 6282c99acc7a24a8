import type { ConnectionState } from "../socket/client";

const LABELS: Record<ConnectionState, string> = {
  connecting: "Connecting…",
  open: "Live",
  reconnecting: "Reconnecting…",
  closed: "Offline",
};

export function ConnectionBadge(props: { state: ConnectionState }) {
  return (
    <span className={`connection connection--${props.state}`} role="status" aria-live="polite" data-state={props.state}>
      <span className="connection__dot" aria-hidden="true" />
      {LABELS[props.state]}
    </span>
  );
}
