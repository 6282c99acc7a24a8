import { useDesktopAlerts } from "../lib/desktop";

/** Turns desktop notifications on (the browser asks, from this click) or mutes them. */
export function DesktopAlertsToggle() {
  const { permission, muted, enable, setMuted } = useDesktopAlerts();
  switch (permission) {
    case "unsupported":
      return null;
    case "denied":
      return (
        <span className="alerts alerts--blocked" title="Allow notifications for this site in the browser's settings">
          Desktop alerts blocked
        </span>
      );
    case "default":
      return (
        <button type="button" className="btn btn--ghost" onClick={enable}>
          Enable desktop alerts
        </button>
      );
    case "granted":
      return (
        <button type="button" className="btn btn--ghost" aria-pressed={!muted} onClick={() => setMuted(!muted)}>
          {muted ? "Desktop alerts off" : "Desktop alerts on"}
        </button>
      );
  }
}
