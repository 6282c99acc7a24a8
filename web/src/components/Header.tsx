import type { ConnectionState } from "../socket/client";
import { ConnectionBadge } from "./ConnectionBadge";

export function Header(props: { connection: ConnectionState; sessionCount: number; liveCount: number }) {
  return (
    <header className="app-header">
      <h1 className="app-header__title">Chainwatch</h1>
      <span className="app-header__counts">
        {props.liveCount} live · {props.sessionCount} sessions
      </span>
      <ConnectionBadge state={props.connection} />
    </header>
  );
}
