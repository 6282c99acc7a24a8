// The terminal: every Bash call's command and output, in order, ANSI colours rendered,
// searchable. Long sessions show the newest entries first in view; earlier ones on ask.
import { memo, useDeferredValue, useMemo, useState } from "react";
import type { Chain, WorkspaceEvent } from "../../generated";
import { stepNameById } from "../../lib/names";
import { AnsiText } from "./AnsiText";
import { assembleTerminal, countMatches, searchTerminal, type TerminalEntry } from "./model/terminal";

/** Entries shown at first (the newest); "show earlier" adds as many again. */
const SHOWN = 200;

const Entry = memo(function Entry(props: { entry: TerminalEntry; query: string; stepLabel?: string; onOpenStep: (id: string) => void }) {
  const { entry, query } = props;
  const failed = entry.exit === "failed";
  return (
    <li className={failed ? "term-entry term-entry--failed" : "term-entry"} data-seq={entry.seq} data-tool-use-id={entry.toolUseId}>
      {entry.command !== undefined ? (
        <div className="term-entry__command">
          <AnsiText text={`$ ${entry.command}`} query={query} className="term-entry__cmd" />
          {entry.exit !== undefined ? <span className={`exit exit--${entry.exit}`}>{entry.exit === "ok" ? "exit 0" : entry.exit}</span> : null}
          {entry.stepId !== undefined ? (
            <button type="button" className="link-button" title={entry.stepId} onClick={() => props.onOpenStep(entry.stepId as string)}>
              {props.stepLabel ?? entry.stepId}
            </button>
          ) : null}
        </div>
      ) : null}
      {entry.chunks.map((c) => (
        <AnsiText
          key={`${c.seq}-${c.stream}`}
          text={c.text}
          query={query}
          className={c.stream === "stderr" ? "terminal-out terminal-out--stderr" : "terminal-out"}
        />
      ))}
    </li>
  );
});

export function TerminalPanel(props: {
  events: readonly WorkspaceEvent[];
  version: number;
  /** The session's chains: steps are named by their task and agent. */
  chains?: readonly Chain[];
  onOpenStep: (id: string) => void;
}) {
  const { events, version } = props;
  const [query, setQuery] = useState("");
  const [shown, setShown] = useState(SHOWN);
  const deferred = useDeferredValue(query);
  const entries = useMemo(() => assembleTerminal(events), [events, version]);
  const matching = useMemo(() => searchTerminal(entries, deferred), [entries, deferred]);
  const matches = useMemo(() => countMatches(matching, deferred), [matching, deferred]);
  const visible = matching.length > shown ? matching.slice(matching.length - shown) : matching;

  return (
    <section className="terminal" aria-label="Terminal">
      <div className="terminal__bar">
        <input
          type="search"
          className="terminal__search"
          placeholder="Search output…"
          aria-label="Search terminal output"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <span className="muted" data-testid="terminal-count">
          {deferred.trim() !== ""
            ? `${matches.toLocaleString()} matches in ${matching.length.toLocaleString()} of ${entries.length.toLocaleString()} commands`
            : `${entries.length.toLocaleString()} commands`}
        </span>
      </div>
      {matching.length > visible.length ? (
        <button type="button" className="link-button" onClick={() => setShown((n) => n + SHOWN)}>
          Show {Math.min(SHOWN, matching.length - visible.length)} earlier
        </button>
      ) : null}
      {entries.length === 0 ? <p className="empty">No terminal output among the loaded events.</p> : null}
      <ol className="terminal__entries">
        {visible.map((e) => (
          <Entry
            key={e.key}
            entry={e}
            query={deferred}
            {...(e.stepId !== undefined ? { stepLabel: stepNameById(props.chains ?? [], e.stepId).full } : {})}
            onOpenStep={props.onOpenStep}
          />
        ))}
      </ol>
    </section>
  );
}
