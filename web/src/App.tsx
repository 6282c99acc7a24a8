import { useMemo } from "react";
import { Header } from "./components/Header";
import { NeedsYouPanel } from "./components/NeedsYouPanel";
import { SessionList } from "./components/SessionList";
import { LazySessionDetail } from "./components/detail/LazySessionDetail";
import { useRoute } from "./lib/route";
import { isTerminalStatus } from "./state/events";
import { useWorkspace } from "./state/useWorkspace";

export function App() {
  const { state, connection, loading, error } = useWorkspace();
  const route = useRoute();
  const liveCount = useMemo(
    () => [...state.sessions.values()].filter((s) => !isTerminalStatus(s.status)).length,
    [state.sessions, state.version],
  );

  return (
    <div className="app">
      <Header connection={connection} sessionCount={state.sessions.size} liveCount={liveCount} />
      {error !== undefined ? (
        <p className="banner banner--error" role="alert">
          {error}
        </p>
      ) : null}
      <main className="app-main">
        {route.name === "session" ? (
          <LazySessionDetail key={route.id} sessionId={route.id} />
        ) : (
          <>
            <NeedsYouPanel sessions={state.sessions} version={state.version} />
            <SessionList sessions={state.sessions} version={state.version} loading={loading} />
          </>
        )}
      </main>
    </div>
  );
}
