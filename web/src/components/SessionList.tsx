import { useMemo, useState } from "react";
import type { Session } from "../generated";
import { useNow } from "../lib/time";
import { matchesFilter, sortSessions, type SessionFilter } from "../state/selectors";
import { SessionFilterBar } from "./SessionFilterBar";
import { SessionRow } from "./SessionRow";

export function SessionList(props: { sessions: ReadonlyMap<string, Session>; version: number; loading: boolean }) {
  const [filter, setFilter] = useState<SessionFilter>({});
  const now = useNow(5000);
  const { sessions, version } = props;
  // The Map is changed in place by the reducer: `version` says when to recompute.
  const sorted = useMemo(() => sortSessions(sessions.values()), [sessions, version]);
  const shown = useMemo(() => sorted.filter((s) => matchesFilter(s, filter)), [sorted, filter]);

  return (
    <section className="panel session-list" aria-labelledby="session-list-title">
      <div className="panel__head">
        <h2 id="session-list-title">Sessions</h2>
        <SessionFilterBar filter={filter} onChange={setFilter} />
      </div>
      {shown.length === 0 ? (
        <p className="empty">
          {props.loading ? "Loading sessions…" : sorted.length === 0 ? "No sessions yet. Start an agent with the Chainwatch hook, or POST /api/sessions." : "No session matches the filter."}
        </p>
      ) : (
        <table className="session-table">
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Session</th>
              <th scope="col">User</th>
              <th scope="col">Host</th>
              <th scope="col">Age</th>
              <th scope="col">Steps</th>
              <th scope="col">Tools</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((s) => (
              <SessionRow key={s.id} session={s} now={now} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
