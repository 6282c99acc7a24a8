import type { ReactNode } from "react";
import type { Route } from "../lib/route";
import { routeHref } from "../lib/route";
import type { ConnectionState } from "../socket/client";
import { ConnectionBadge } from "./ConnectionBadge";
import { SearchPalette } from "./conversation/SearchPalette";
import { DesktopAlertsToggle } from "./DesktopAlertsToggle";
import { PushPanel } from "./notify/PushPanel";

function NavLink(props: { route: Route; current: Route; children: ReactNode; attention?: boolean }) {
  const active =
    props.route.name === props.current.name || (props.route.name === "sessions" && props.current.name === "session");
  const classes = ["nav__link"];
  if (active) classes.push("nav__link--active");
  if (props.attention === true) classes.push("nav__link--attention");
  return (
    <a className={classes.join(" ")} href={routeHref(props.route)} aria-current={active ? "page" : undefined}>
      {props.children}
    </a>
  );
}

export function Header(props: {
  route: Route;
  connection: ConnectionState;
  liveCount: number;
  waitingCount: number;
  signedIn: boolean;
  onSignOut: () => void;
}) {
  return (
    <header className="app-header">
      <h1 className="app-header__title">
        <a href="#/">Chainwatch</a>
      </h1>
      <nav className="nav" aria-label="Views">
        <NavLink route={{ name: "sessions" }} current={props.route}>
          Sessions <span className="count">{props.liveCount}</span>
        </NavLink>
        <NavLink route={{ name: "needs-you" }} current={props.route} attention={props.waitingCount > 0}>
          Needs you <span className="count" data-testid="waiting-count">{props.waitingCount}</span>
        </NavLink>
        <NavLink route={{ name: "history" }} current={props.route}>
          History
        </NavLink>
      </nav>
      <div className="app-header__tools">
        <SearchPalette />
        <DesktopAlertsToggle />
        <PushPanel />
        {props.signedIn ? (
          <button type="button" className="btn btn--ghost" onClick={props.onSignOut}>
            Sign out
          </button>
        ) : null}
        <ConnectionBadge state={props.connection} />
      </div>
    </header>
  );
}
