// Search across every session (Ctrl-K or "/" opens it): words typed are looked up in
// the server's full-text index (GET /api/search) as you type; a result opens its
// session at that event in the timeline. Arrow keys move, Enter opens, Escape closes.
import { useCallback, useEffect, useRef, useState } from "react";
import type { SearchHit } from "../../generated";
import { detailHref } from "../detail/model/url";
import { useWorkspace } from "../../state/useWorkspace";
import "./conversation.css";

/** Wait after the last key before asking the server. */
const DEBOUNCE_MS = 150;

/** The snippet with the query's words marked. */
function Snippet(props: { text: string; query: string }) {
  const words = props.query
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0)
    .map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  if (words.length === 0) return <span className="search-palette__snippet">{props.text}</span>;
  const parts = props.text.split(new RegExp(`(${words.join("|")})`, "iu"));
  return (
    <span className="search-palette__snippet">
      {parts.map((part, i) => (i % 2 === 1 ? <mark key={i}>{part}</mark> : <span key={i}>{part}</span>))}
    </span>
  );
}

export function SearchPalette() {
  const { store, state } = useWorkspace();
  const [open, setOpen] = useState(false);
  const [query, setQuery] = useState("");
  const [hits, setHits] = useState<readonly SearchHit[]>([]);
  const [active, setActive] = useState(0);
  const [status, setStatus] = useState<string>("Type to search prompts, replies, commands, output, files and errors.");
  const input = useRef<HTMLInputElement | null>(null);
  const asked = useRef(0);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const typing = e.target instanceof HTMLElement && (e.target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName));
      if ((e.key === "k" || e.key === "K") && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        setOpen(true);
      } else if (e.key === "/" && !typing) {
        e.preventDefault();
        setOpen(true);
      }
    };
    globalThis.addEventListener("keydown", onKey);
    return () => globalThis.removeEventListener("keydown", onKey);
  }, []);

  useEffect(() => {
    if (open) input.current?.focus();
  }, [open]);

  useEffect(() => {
    if (!open) return;
    const q = query.trim();
    if (q === "") {
      setHits([]);
      return;
    }
    const ticket = ++asked.current;
    const timer = setTimeout(() => {
      store.api
        .search(q, { limit: 50 })
        .then((answer) => {
          if (ticket !== asked.current) return;
          setHits(answer.results);
          setActive(0);
          setStatus(answer.results.length === 0 ? `Nothing found for “${q}”.` : `${answer.results.length} found, newest first.`);
        })
        .catch((err: unknown) => {
          if (ticket !== asked.current) return;
          setHits([]);
          setStatus(`Search failed: ${err instanceof Error ? err.message : String(err)}`);
        });
    }, DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [query, open, store]);

  const close = useCallback(() => {
    setOpen(false);
  }, []);

  const go = useCallback(
    (hit: SearchHit) => {
      globalThis.location.hash = detailHref(hit.sessionId, { event: hit.seq }).slice(1);
      setOpen(false);
    },
    [],
  );

  const trigger = (
    <button type="button" className="btn btn--ghost search-open" data-testid="search-open" onClick={() => setOpen(true)} title="Search every session (Ctrl-K)">
      Search <kbd>Ctrl-K</kbd>
    </button>
  );
  if (!open) return trigger;

  const label = (hit: SearchHit) => {
    const s = state.sessions.get(hit.sessionId);
    return s?.title ?? hit.sessionId;
  };
  return (
    <>
      {trigger}
      <div
        className="search-palette"
        role="presentation"
        onMouseDown={(e) => {
          if (e.target === e.currentTarget) close();
        }}
      >
        <div className="search-palette__box" role="dialog" aria-modal="true" aria-label="Search every session">
          <input
            ref={input}
            className="search-palette__input"
            type="search"
            placeholder="Search every session…"
            aria-label="Search every session"
            aria-controls="search-results"
            aria-activedescendant={hits[active] !== undefined ? `search-hit-${hits[active]?.seq}` : undefined}
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Escape") close();
              else if (e.key === "ArrowDown") {
                e.preventDefault();
                setActive((a) => Math.min(a + 1, hits.length - 1));
              } else if (e.key === "ArrowUp") {
                e.preventDefault();
                setActive((a) => Math.max(a - 1, 0));
              } else if (e.key === "Enter" && hits[active] !== undefined) {
                go(hits[active] as SearchHit);
              }
            }}
          />
          <ul id="search-results" className="search-palette__results" role="listbox" aria-label="Results">
            {hits.map((hit, i) => (
              <li
                key={hit.seq}
                id={`search-hit-${hit.seq}`}
                role="option"
                aria-selected={i === active}
                className="search-palette__result"
                data-testid="search-result"
                data-seq={hit.seq}
                data-session-id={hit.sessionId}
                onMouseEnter={() => setActive(i)}
                onClick={() => go(hit)}
              >
                <span className="search-palette__meta">
                  <span>{label(hit)}</span>
                  <span>{hit.type}</span>
                  <span>#{hit.seq}</span>
                  <time dateTime={hit.timestamp}>{new Date(hit.timestamp).toLocaleString()}</time>
                </span>
                <Snippet text={hit.snippet} query={query} />
              </li>
            ))}
          </ul>
          <p className="search-palette__hint" aria-live="polite">
            {status}
          </p>
        </div>
      </div>
    </>
  );
}
