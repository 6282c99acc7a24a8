// The page's toasts, newest last, in a live region. A permission request's toast answers
// it in place: Allow and Deny post the same decision the Needs-you card does, as the
// person signed in; the first answer wins, so a click that comes second gets a 409 and
// the toast says who was first. A toast whose item is settled anywhere is withdrawn
// (useNotices).
import { useState } from "react";
import type { PermissionBehavior } from "../generated";
import { ApiError } from "../api";
import { dismissToast, pushToast, useToasts, type Toast } from "../lib/toasts";
import type { Resolution } from "../state/reducer";
import { useWorkspace } from "../state/useWorkspace";

/** Who decided a request first, as far as this page knows. */
function firstDecision(toast: Toast, resolved: readonly Resolution[]): string | undefined {
  const d = toast.decide;
  if (d === undefined) return undefined;
  const r = resolved.find((x) => x.kind === "permission" && x.requestId === d.requestId && x.sessionId === d.sessionId);
  if (r === undefined || r.kind !== "permission") return undefined;
  return `${r.behavior === "allow" ? "allowed" : "denied"}${r.by !== undefined ? ` by ${r.by}` : ""}`;
}

function Decide(props: { toast: Toast }) {
  const { toast } = props;
  const { store } = useWorkspace();
  const [busy, setBusy] = useState(false);
  const decide = toast.decide;
  if (decide === undefined) return null;
  const answer = async (behavior: PermissionBehavior) => {
    setBusy(true);
    const label = behavior === "allow" ? "Allow" : "Deny";
    try {
      await store.api.decidePermission(decide.sessionId, decide.requestId, { behavior });
      dismissToast(toast.id);
    } catch (err) {
      dismissToast(toast.id);
      const conflict = err instanceof ApiError && err.isConflict;
      const first = firstDecision(toast, store.getSnapshot().state.resolved);
      pushToast({
        tone: "error",
        title: conflict ? `${label} not accepted: someone answered first` : `${label} failed`,
        body: conflict && first !== undefined ? `${toast.title}: already ${first}.` : err instanceof Error ? err.message : String(err),
      });
    }
  };
  return (
    <div className="toast__actions">
      <button type="button" className="btn btn--allow" disabled={busy} onClick={() => void answer("allow")}>
        Allow
      </button>
      <button type="button" className="btn btn--deny" disabled={busy} onClick={() => void answer("deny")}>
        Deny
      </button>
    </div>
  );
}

export function Toasts() {
  const toasts = useToasts();
  return (
    <div className="toasts" role="region" aria-label="Notifications" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} className={`toast toast--${t.tone}`} data-toast-key={t.key}>
          <div className="toast__text">
            {t.href !== undefined ? (
              <a className="toast__title" href={t.href} onClick={() => dismissToast(t.id)}>
                {t.title}
              </a>
            ) : (
              <strong className="toast__title">{t.title}</strong>
            )}
            {t.body !== undefined ? <span className="toast__body">{t.body}</span> : null}
            <Decide toast={t} />
            {t.action !== undefined ? (
              <a className={t.decide !== undefined ? "toast__link" : "btn btn--primary toast__action"} href={t.action.href} onClick={() => dismissToast(t.id)}>
                {t.action.label}
              </a>
            ) : null}
          </div>
          <button type="button" className="toast__close" aria-label="Dismiss" onClick={() => dismissToast(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}
