// The replay scrubber: drag through a session's events and see it as it stood at each
// one (header and counts, what waited on a person, the chain graph, the files changed,
// the latest events), folded by the same reducer as the live view (replay.ts). The
// session's events are read once over REST when replay opens.
import { useEffect, useMemo, useState } from "react";
import type { Api } from "../../api";
import type { Session, WorkspaceEvent } from "../../generated";
import { ChainGraph } from "../detail/ChainGraph";
import { DetailHeader } from "../detail/DetailHeader";
import { toRow } from "../detail/model/rows";
import { replayAt } from "./replay";
import "./conversation.css";

/** Most events replay reads (pages of 10,000); past it replay covers the first ones. */
export const REPLAY_MAX_EVENTS = 200_000;
/** The latest events shown beside the state. */
const RECENT = 12;

async function readAll(api: Api, id: string, upto: number): Promise<{ events: WorkspaceEvent[]; cut: boolean }> {
  const events: WorkspaceEvent[] = [];
  let since = 0;
  for (;;) {
    const page = await api.listSessionEvents(id, { since, limit: 10_000 });
    for (const e of page.events) if (e.seq <= upto) events.push(e);
    const last = page.events[page.events.length - 1];
    if (!page.hasMore || last === undefined || last.seq >= upto) return { events, cut: false };
    if (events.length >= REPLAY_MAX_EVENTS) return { events, cut: true };
    since = last.seq;
  }
}

export function ReplayPanel(props: { api: Api; session: Session; onClose: () => void }) {
  const { api, session } = props;
  const [events, setEvents] = useState<WorkspaceEvent[] | undefined>(undefined);
  const [cut, setCut] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [index, setIndex] = useState(0);
  const upto = session.lastSeq;

  useEffect(() => {
    let alive = true;
    readAll(api, session.id, upto)
      .then((read) => {
        if (!alive) return;
        setEvents(read.events);
        setCut(read.cut);
        setIndex(Math.max(0, read.events.length - 1));
      })
      .catch((err: unknown) => alive && setError(err instanceof Error ? err.message : String(err)));
    return () => {
      alive = false;
    };
    // Read once per opening: the scrubber shows the past, not the live edge.
  }, [api, session.id]);

  const at = events?.[index];
  const state = useMemo(() => (events !== undefined && at !== undefined ? replayAt(session.id, events, at.seq) : undefined), [events, at, session.id]);
  const recent = useMemo(() => (events ?? []).slice(Math.max(0, index + 1 - RECENT), index + 1).reverse(), [events, index]);

  return (
    <section className="replay" aria-label="Replay" data-testid="replay">
      <div className="replay__bar">
        <strong>Replay</strong>
        {events === undefined ? (
          <span>{error !== undefined ? <span role="alert">Cannot read the events: {error}</span> : "Reading the session's events…"}</span>
        ) : (
          <>
            <input
              type="range"
              className="replay__scrubber"
              aria-label="Event to show the session at"
              data-testid="replay-scrubber"
              min={0}
              max={Math.max(0, events.length - 1)}
              step={1}
              value={index}
              onChange={(e) => setIndex(Number(e.target.value))}
            />
            <span data-testid="replay-position">
              event {index + 1} of {events.length}
              {at !== undefined ? ` · #${at.seq} · ${new Date(at.timestamp).toLocaleTimeString()}` : ""}
              {cut ? ` (the first ${REPLAY_MAX_EVENTS.toLocaleString()} events)` : ""}
            </span>
          </>
        )}
        <button type="button" className="btn btn--ghost" onClick={props.onClose}>
          Back to live
        </button>
      </div>
      {state !== undefined ? (
        <div className="replay__body">
          <DetailHeader session={state.session} chains={state.detail.chains} asOf={at?.timestamp} />
          <div className="replay__grid">
            <div>
              <h3>Waiting on a person</h3>
              {state.session.awaitingInput === undefined && state.session.pendingPermissions.length === 0 ? (
                <p className="empty" data-testid="replay-waiting">
                  Nothing.
                </p>
              ) : (
                <ul data-testid="replay-waiting">
                  {state.session.awaitingInput !== undefined ? <li>Question: {state.session.awaitingInput.prompt}</li> : null}
                  {state.session.pendingPermissions.map((p) => (
                    <li key={p.requestId}>Permission for {p.toolName}</li>
                  ))}
                </ul>
              )}
              <h3>Files changed</h3>
              <ul data-testid="replay-files">
                {state.detail.fileChanges.length === 0 ? <li className="empty">None yet.</li> : null}
                {state.detail.fileChanges.slice(-20).map((f) => (
                  <li key={f.seq}>
                    {f.change} <code>{f.path}</code>
                  </li>
                ))}
              </ul>
              <h3>Latest events</h3>
              <ol className="replay__events" data-testid="replay-events">
                {recent.map((e) => {
                  const row = toRow(e, session.cwd);
                  return (
                    <li key={e.seq} data-seq={e.seq}>
                      <span className="replay__seq">#{e.seq}</span> <strong>{row.label}</strong> {row.text}
                    </li>
                  );
                })}
              </ol>
            </div>
            <div className="replay__graph">{state.detail.chains.length > 0 ? <ChainGraph chains={state.detail.chains} selected={undefined} onSelect={() => {}} /> : <p className="empty">No steps yet.</p>}</div>
          </div>
        </div>
      ) : null}
    </section>
  );
}
