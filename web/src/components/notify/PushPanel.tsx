import { useEffect, useState } from "react";
import { api } from "../../api";
import type { NotifySettings } from "../../generated";
import { currentSubscription, disablePush, enablePush, pushSupport } from "../../lib/push";

const MOMENTS: readonly { key: keyof NotifySettings; label: string }[] = [
  { key: "permission", label: "Permission requests" },
  { key: "question", label: "Questions" },
  { key: "stop", label: "Waiting for the next instruction" },
  { key: "stopFailure", label: "Stopped on an error" },
  { key: "settled", label: "Withdraw when answered" },
];

/**
 * Push notifications for this browser (installable app): opt in or out, and which
 * moments notify this token's browsers. Opened from the header.
 */
export function PushPanel() {
  const support = pushSupport();
  const [open, setOpen] = useState(false);
  const [subscribed, setSubscribed] = useState<boolean | undefined>(undefined);
  const [settings, setSettings] = useState<NotifySettings | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);

  useEffect(() => {
    if (!open) return;
    let live = true;
    void currentSubscription().then((s) => live && setSubscribed(s !== null));
    api.notifySettings().then(
      (s) => live && setSettings(s),
      (e: unknown) => live && setError(String(e instanceof Error ? e.message : e)),
    );
    return () => {
      live = false;
    };
  }, [open]);

  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  const toggle = () =>
    run(async () => {
      if (subscribed === true) {
        await disablePush();
        setSubscribed(false);
      } else {
        await enablePush();
        setSubscribed(true);
      }
    });

  const change = (key: keyof NotifySettings, value: boolean) =>
    run(async () => {
      if (settings === undefined) return;
      setSettings(await api.setNotifySettings({ ...settings, [key]: value }));
    });

  return (
    <div className="push">
      <button type="button" className="btn btn--ghost" aria-expanded={open} onClick={() => setOpen(!open)}>
        Notifications
      </button>
      {open ? (
        <div className="push__panel" role="dialog" aria-label="Notifications">
          {support === "supported" ? (
            <button type="button" className="btn" disabled={busy || subscribed === undefined} onClick={() => void toggle()}>
              {subscribed === true ? "Turn off push on this browser" : "Turn on push on this browser"}
            </button>
          ) : (
            <p className="push__note">
              {support === "insecure"
                ? "Push needs https (or localhost): see docs/NOTIFY.md for a phone on your network."
                : "This browser cannot take push notifications."}
            </p>
          )}
          {settings !== undefined ? (
            <fieldset className="push__moments" disabled={busy}>
              <legend>Notify me for</legend>
              {MOMENTS.map((m) => (
                <label key={m.key}>
                  <input
                    type="checkbox"
                    name={m.key}
                    checked={settings[m.key]}
                    onChange={(e) => void change(m.key, e.target.checked)}
                  />
                  {m.label}
                </label>
              ))}
            </fieldset>
          ) : null}
          {error !== undefined ? (
            <p className="push__error" role="alert">
              {error}
            </p>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
