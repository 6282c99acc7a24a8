import { dismissToast, useToasts } from "../lib/toasts";

/** The page's toasts, newest last, in a live region. */
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
            {t.action !== undefined ? (
              <a className="btn btn--primary toast__action" href={t.action.href} onClick={() => dismissToast(t.id)}>
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
