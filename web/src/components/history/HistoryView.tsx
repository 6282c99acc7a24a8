import { useCallback, useEffect, useId, useMemo, useRef, useState } from "react";
import type { Session, SessionStatus, WorkspaceEvent } from "../../generated";
import { navigate } from "../../lib/route";
import { useNow } from "../../lib/time";
import { useWorkspace } from "../../state/useWorkspace";
import { SessionTable } from "../list/SessionTable";

const PAGE_SIZE = 25;
const ENDED: readonly SessionStatus[] = ["completed", "failed", "cancelled"];

interface Page {
  sessions: readonly Session[];
  total: number;
}

/** Whether an event changes what History shows: a session ended, started again or was pruned. */
function changesHistory(events: readonly WorkspaceEvent[]): boolean {
  return events.some((e) => e.type === "session:ended" || e.type === "session:pruned" || e.type === "session:started");
}

/** Ended sessions: searched and paged on the server, refreshed as sessions end. */
export function HistoryView() {
  const { store, state } = useWorkspace();
  const [text, setText] = useState("");
  const [query, setQuery] = useState("");
  const [status, setStatus] = useState<SessionStatus | "">("");
  const [offset, setOffset] = useState(0);
  const [tick, setTick] = useState(0);
  const [page, setPage] = useState<Page | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const now = useNow(30_000);
  const id = useId();

  // Search as the person types, a moment after they stop.
  useEffect(() => {
    const timer = setTimeout(() => {
      setQuery(text.trim());
      setOffset(0);
    }, 250);
    return () => clearTimeout(timer);
  }, [text]);

  // Refetch when a session ends (or is pruned, or starts again), at most every 300 ms.
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => {
    const off = store.onEvents((events) => {
      if (!changesHistory(events) || pending.current !== undefined) return;
      pending.current = setTimeout(() => {
        pending.current = undefined;
        setTick((t) => t + 1);
      }, 300);
    });
    return () => {
      off();
      clearTimeout(pending.current);
      pending.current = undefined;
    };
  }, [store]);

  useEffect(() => {
    let cancelled = false;
    store.api
      .listSessions({
        ended: true,
        ...(status !== "" ? { status } : {}),
        ...(query !== "" ? { q: query } : {}),
        limit: PAGE_SIZE,
        offset,
      })
      .then(
        (list) => {
          if (cancelled) return;
          setPage({ sessions: list.sessions, total: list.total });
          setError(undefined);
        },
        (err: unknown) => {
          if (!cancelled) setError(err instanceof Error ? err.message : String(err));
        },
      );
    return () => {
      cancelled = true;
    };
  }, [store, query, status, offset, tick]);

  // The store's copy of a session is newer when it has heard more of it.
  const rows = useMemo(
    () =>
      (page?.sessions ?? []).map((s) => {
        const known = state.sessions.get(s.id);
        return known !== undefined && known.lastSeq > s.lastSeq ? known : s;
      }),
    [page, state.sessions, state.version],
  );
  const open = useCallback((sid: string) => navigate({ name: "session", id: sid }), []);
  const total = page?.total ?? 0;
  const first = total === 0 ? 0 : offset + 1;
  const last = Math.min(offset + PAGE_SIZE, total);

  return (
    <section className="panel history" aria-labelledby={`${id}-title`}>
      <div className="panel__head">
        <h2 id={`${id}-title`}>
          History <span className="count">{total}</span>
        </h2>
        <div className="filter-bar" role="search">
          <label className="visually-hidden" htmlFor={`${id}-q`}>
            Search history
          </label>
          <input
            id={`${id}-q`}
            className="filter-bar__text"
            type="search"
            placeholder="Search ended sessions: id, cwd, title, summary, user, host…"
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
          <label className="visually-hidden" htmlFor={`${id}-status`}>
            Outcome
          </label>
          <select
            id={`${id}-status`}
            value={status}
            onChange={(e) => {
              setStatus(e.target.value as SessionStatus | "");
              setOffset(0);
            }}
          >
            <option value="">Any outcome</option>
            {ENDED.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
      </div>
      {error !== undefined ? (
        <p className="banner banner--error" role="alert">
          {error}
        </p>
      ) : null}
      {page === undefined ? (
        <p className="empty">Loading history…</p>
      ) : rows.length === 0 ? (
        <p className="empty">{query !== "" || status !== "" ? "No ended session matches." : "No session has ended yet."}</p>
      ) : (
        <SessionTable sessions={rows} mode="history" now={now} onOpen={open} label="Ended sessions" />
      )}
      <nav className="pager" aria-label="History pages">
        <button type="button" className="btn" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE_SIZE))}>
          Newer
        </button>
        <span className="pager__where" aria-live="polite">
          {total === 0 ? "0 sessions" : `${first}–${last} of ${total}`}
        </span>
        <button
          type="button"
          className="btn"
          disabled={offset + PAGE_SIZE >= total}
          onClick={() => setOffset(offset + PAGE_SIZE)}
        >
          Older
        </button>
      </nav>
    </section>
  );
}
