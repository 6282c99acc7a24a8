import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { Session } from "../../generated";
import { navigate } from "../../lib/route";
import { useNow } from "../../lib/time";
import {
  DEFAULT_SORT,
  distinctValues,
  liveSessions,
  matchesFilter,
  sortBy,
  type SessionFilter,
  type SortOrder,
} from "../../state/selectors";
import { SessionFilterBar } from "./SessionFilterBar";
import { SessionTable } from "./SessionTable";
import { useRowNavigation } from "./useRowNavigation";

/** The live sessions: filtered, sorted, keyboard navigable. Ended ones are in History. */
export function SessionList(props: { sessions: ReadonlyMap<string, Session>; version: number; loading: boolean }) {
  const [filter, setFilter] = useState<SessionFilter>({});
  const [order, setOrder] = useState<SortOrder>(DEFAULT_SORT);
  const now = useNow(5000);
  const { sessions, version } = props;
  // The Map is changed in place by the reducer: `version` says when to recompute.
  const live = useMemo(() => liveSessions(sessions.values()), [sessions, version]);
  const users = useMemo(() => distinctValues(live, (s) => s.user), [live]);
  const hosts = useMemo(() => distinctValues(live, (s) => s.hostname), [live]);
  const shown = useMemo(() => sortBy(live.filter((s) => matchesFilter(s, filter)), order), [live, filter, order]);
  const ids = useMemo(() => shown.map((s) => s.id), [shown]);
  const open = useCallback((id: string) => navigate({ name: "session", id }), []);
  const nav = useRowNavigation(ids, open);
  const textRef = useRef<HTMLInputElement | null>(null);

  // "/" focuses the filter; j, k or an arrow key from nowhere in particular focuses the list.
  const { focusActive } = nav;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.altKey || e.ctrlKey || e.metaKey || e.defaultPrevented) return;
      const target = e.target as HTMLElement | null;
      if (target !== null && target !== document.body) return;
      if (e.key === "/") {
        e.preventDefault();
        textRef.current?.focus();
      } else if (e.key === "j" || e.key === "k" || e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        focusActive();
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [focusActive]);

  return (
    <section className="panel session-list" aria-labelledby="session-list-title">
      <div className="panel__head">
        <h2 id="session-list-title">
          Live sessions <span className="count">{live.length}</span>
        </h2>
        <SessionFilterBar filter={filter} onChange={setFilter} users={users} hosts={hosts} textRef={textRef} />
      </div>
      {shown.length === 0 ? (
        <p className="empty">
          {props.loading
            ? "Loading sessions…"
            : live.length === 0
              ? "No live sessions. Start an agent with the Chainwatch hook, or POST /api/sessions. Ended sessions are in History."
              : "No session matches the filter."}
        </p>
      ) : (
        <SessionTable
          sessions={shown}
          mode="live"
          now={now}
          order={order}
          onSort={setOrder}
          onOpen={open}
          label="Live sessions"
          navigation={nav}
        />
      )}
      <p className="hint" aria-hidden="true">
        ↑/↓ or j/k to move · Enter to open · / to filter
      </p>
    </section>
  );
}
