import { useMemo } from "react";
import { needsYouItems } from "../../state/selectors";
import { useWorkspace } from "../../state/useWorkspace";
import { NeedsYouList } from "./NeedsYouList";
import { ResolvedList } from "./ResolvedList";

/** The one list of everything that waits on a person, across all sessions. */
export function NeedsYouView() {
  const { state } = useWorkspace();
  const items = useMemo(() => needsYouItems(state.sessions.values()), [state.sessions, state.version]);
  return (
    <div className="view view--needs-you">
      <section className="panel needs-you" aria-labelledby="needs-you-title">
        <div className="panel__head">
          <h2 id="needs-you-title">
            Needs you <span className="count">{items.length}</span>
          </h2>
          <p className="panel__sub">Tool calls waiting for a decision and questions first, then finished turns; the longest waiting first. Answers and decisions reach the agent at once.</p>
        </div>
        <NeedsYouList items={items} />
      </section>
      <section className="panel resolved-panel" aria-labelledby="resolved-title">
        <div className="panel__head">
          <h2 id="resolved-title">Recently answered</h2>
        </div>
        <ResolvedList resolved={state.resolved} sessions={state.sessions} />
      </section>
    </div>
  );
}
