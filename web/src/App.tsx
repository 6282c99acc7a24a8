import { useCallback, useMemo, useSyncExternalStore } from "react";
import { authStore, signIn, signOut } from "./auth";
import { ErrorBoundary } from "./components/ErrorBoundary";
import { Header } from "./components/Header";
import { HistoryView } from "./components/history/HistoryView";
import { SessionList } from "./components/list/SessionList";
import { NeedsYouList } from "./components/needs/NeedsYouList";
import { NeedsYouView } from "./components/needs/NeedsYouView";
import { LazySessionDetail } from "./components/detail/LazySessionDetail";
import { SessionPanel } from "./components/session/SessionPanel";
import { SignInDialog } from "./components/SignInDialog";
import { Toasts } from "./components/Toasts";
import { useNotices, useTitleCount } from "./components/useNotices";
import { routeHref, useRoute, type Route } from "./lib/route";
import { liveSessions, needsYouItems } from "./state/selectors";
import { useWorkspace } from "./state/useWorkspace";

function SessionsView() {
  const { state, loading } = useWorkspace();
  const items = useMemo(() => needsYouItems(state.sessions.values()), [state.sessions, state.version]);
  return (
    <div className="view view--sessions">
      <SessionList sessions={state.sessions} version={state.version} loading={loading} />
      <aside className="panel needs-you needs-you--aside" aria-labelledby="aside-needs-title">
        <div className="panel__head">
          <h2 id="aside-needs-title">
            Needs you <span className="count">{items.length}</span>
          </h2>
          <a className="panel__link" href={routeHref({ name: "needs-you" })}>
            Open the list
          </a>
        </div>
        <NeedsYouList items={items} compact />
      </aside>
    </div>
  );
}

function View(props: { route: Route }) {
  const { route } = props;
  switch (route.name) {
    case "sessions":
      return <SessionsView />;
    case "needs-you":
      return <NeedsYouView />;
    case "history":
      return <HistoryView />;
    case "session":
      // What the agent did (the detail) beside what waits on you (steering).
      return (
        <div className="view view--session">
          <div className="view__main">
            <LazySessionDetail key={route.id} sessionId={route.id} />
          </div>
          <SessionPanel key={`panel-${route.id}`} id={route.id} />
        </div>
      );
  }
}

export function App() {
  const { state, connection, error, store } = useWorkspace();
  const route = useRoute();
  const auth = useSyncExternalStore(authStore.subscribe, authStore.getSnapshot, authStore.getSnapshot);
  const liveCount = useMemo(() => liveSessions(state.sessions.values()).length, [state.sessions, state.version]);
  const waiting = useMemo(() => needsYouItems(state.sessions.values()).length, [state.sessions, state.version]);
  useNotices(store);
  useTitleCount(waiting);

  const onSignIn = useCallback(
    (token: string) => {
      signIn(token);
      store.restart();
    },
    [store],
  );
  const onSignOut = useCallback(() => {
    signOut();
    store.restart();
  }, [store]);

  return (
    <div className="app">
      <Header
        route={route}
        connection={connection}
        liveCount={liveCount}
        waitingCount={waiting}
        signedIn={auth.token !== undefined}
        onSignOut={onSignOut}
      />
      {error !== undefined && !auth.required ? (
        <p className="banner banner--error" role="alert">
          {error}
        </p>
      ) : null}
      <main className="app-main">
        <ErrorBoundary resetKey={routeHref(route)}>
          <View route={route} />
        </ErrorBoundary>
      </main>
      <Toasts />
      {auth.required ? <SignInDialog message={auth.message} onSignIn={onSignIn} /> : null}
    </div>
  );
}
