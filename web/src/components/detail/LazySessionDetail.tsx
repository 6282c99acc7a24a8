// The detail view, loaded when a session is opened: its code (and the graph layout, ANSI
// and diff libraries) stays out of the bundle the session list needs.
import { lazy, Suspense } from "react";

const SessionDetail = lazy(() => import("./SessionDetail").then((m) => ({ default: m.SessionDetail })));

export function LazySessionDetail(props: { sessionId: string }) {
  return (
    <Suspense fallback={<p className="empty">Loading…</p>}>
      <SessionDetail sessionId={props.sessionId} />
    </Suspense>
  );
}
