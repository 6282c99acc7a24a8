// The session's timeline: every event, live, in a virtual list (@tanstack/react-virtual)
// of fixed-height rows, so 100,000 events keep a few dozen rows in the DOM. One row per
// tool call (its outcome and duration in place), lifecycle noise folded unless asked
// for (model/fold.ts), a lane naming the agent (main or which subagent) and a filter
// by agent. Follows the
// tail while the person is at the bottom; scrolling near the top reads older events
// from the server, keeping what is on screen in place.
import { useVirtualizer } from "@tanstack/react-virtual";
import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from "react";
import type { Chain, ChainStep, WorkspaceEvent } from "../../generated";
import { stepName, stepNameById } from "../../lib/names";
import { lowerBound } from "./model/buffer";
import { agentOf, indexTools, isCompaction, type ToolIndex } from "./model/fold";
import { byStart } from "./model/graph";
import {
  FILTER_KINDS,
  filterPositions,
  isFiltering,
  MAIN_AGENT,
  toolCallRow,
  toRow,
  type RowFilter,
  type RowFold,
  type RowKind,
} from "./model/rows";
import type { Timeline as TimelineData } from "./useTimeline";

/** Height of one row (px): fixed, so nothing is measured while scrolling. */
export const ROW_HEIGHT = 28;
/** Rows from the top at which older events are read. */
const LOAD_OLDER_WITHIN = 150;
/** Older pages read by themselves while a filter matches too few to fill the view. */
const MAX_AUTO_PAGES_FILTERED = 10;

/** The row index of the event with this seq, or of the first after it. */
function rowIndexOfSeq(events: readonly WorkspaceEvent[], positions: readonly number[] | undefined, seq: number): number {
  const at = lowerBound(events, seq);
  if (positions === undefined) return at;
  let lo = 0;
  let hi = positions.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((positions[mid] as number) < at) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function clock(timestamp: string): string {
  const d = new Date(timestamp);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleTimeString(undefined, { hour12: false });
}

const Row = memo(function Row(props: {
  event: WorkspaceEvent;
  /** The call's outcome, for a tool call's started row. */
  outcome: WorkspaceEvent | undefined;
  /** The agent that did it ("main", or the subagent's task and type). */
  agent: string;
  agentKey: string;
  /** The agent in a few characters, for narrow screens: `main`, `A1`, `A2`… */
  agentShort: string;
  nameOf: (stepId: string) => string;
  start: number;
  index: number;
  selected: boolean;
  cwd: string;
  onSelect: (seq: number) => void;
}) {
  const { event, outcome, start, selected, onSelect } = props;
  const row =
    event.type === "tool:used"
      ? toolCallRow(event, outcome?.type === "tool:used" ? outcome : undefined, props.cwd)
      : toRow(event, props.cwd, props.nameOf);
  const marker = isCompaction(event);
  const running = event.type === "tool:used" && event.status === "started" && outcome === undefined;
  const classes = `tl-row tl-row--${row.kind}${row.failed ? " tl-row--failed" : ""}${selected ? " tl-row--selected" : ""}${
    marker ? " tl-row--marker" : ""
  }${running ? " tl-row--running" : ""}`;
  return (
    <div
      className={classes}
      role="option"
      aria-selected={selected}
      aria-posinset={props.index + 1}
      data-seq={event.seq}
      data-type={event.type}
      data-agent={props.agentKey}
      data-outcome={outcome?.type === "tool:used" ? outcome.status : undefined}
      style={{ transform: `translateY(${start}px)` }}
      onClick={() => onSelect(event.seq)}
    >
      <span className="tl-row__time">{clock(event.timestamp)}</span>
      <span className="tl-row__seq">#{event.seq}</span>
      <span className={props.agentKey === MAIN_AGENT ? "tl-row__agent tl-row__agent--main" : "tl-row__agent"} title={props.agent}>
        <span className="tl-row__agent-full">{props.agent}</span>
        <span className="tl-row__agent-short" aria-hidden="true">
          {props.agentShort}
        </span>
      </span>
      <span className={`tl-row__label tl-kind tl-kind--${row.kind}`}>{row.label}</span>
      <span className="tl-row__text" title={row.text}>
        {row.text}
      </span>
    </div>
  );
});

const EMPTY_CHAINS: readonly Chain[] = [];

/** The subagents a person can filter by, in order of their start, each with its short mark (`A1`…). */
function agentChoices(chains: readonly Chain[]): { id: string; label: string; short: string }[] {
  const steps: ChainStep[] = [];
  for (const chain of chains) for (const step of chain.steps) if (step.kind === "subagent") steps.push(step);
  return byStart(steps, (s) => s.startedAt).map((step, i) => ({ id: step.id, short: `A${i + 1}`, label: `A${i + 1} · ${stepName(step, chains).full}` }));
}

export interface TimelineProps {
  readonly data: TimelineData;
  /** The session's event count (what the server has), for "N of M loaded". */
  readonly total: number;
  /** The session's cwd: paths inside it are shown relative to it. */
  readonly cwd: string;
  /** The session's chains: agents are named by their task and type. */
  readonly chains?: readonly Chain[];
  readonly selectedSeq: number | undefined;
  readonly onSelect: (seq: number) => void;
}

export function Timeline(props: TimelineProps) {
  const { data, total, cwd, selectedSeq, onSelect } = props;
  const chains = props.chains ?? EMPTY_CHAINS;
  const { buffer, version } = data;
  const [kinds, setKinds] = useState<ReadonlySet<RowKind>>(() => new Set());
  const [text, setText] = useState("");
  const [follow, setFollow] = useState(true);
  const [showLifecycle, setShowLifecycle] = useState(false);
  const [agent, setAgent] = useState<string | undefined>(undefined);
  const filter: RowFilter = useMemo(() => ({ kinds, text }), [kinds, text]);
  const scrollRef = useRef<HTMLDivElement>(null);

  const events = buffer.events;
  const tools: ToolIndex = useMemo(() => indexTools(events), [events, version]);
  const fold: RowFold = useMemo(
    () => ({ tools, showLifecycle, ...(agent !== undefined ? { agent } : {}) }),
    [tools, showLifecycle, agent],
  );
  const positions = useMemo(() => filterPositions(events, filter, fold), [events, version, filter, fold]);
  const agents = useMemo(() => agentChoices(chains), [chains]);
  const nameOf = useCallback((id: string) => stepNameById(chains, id).full, [chains]);
  const agentLabel = useCallback((id: string | undefined) => (id === undefined ? "main" : stepNameById(chains, id).full), [chains]);
  const shortOf = useMemo(() => new Map(agents.map((a) => [a.id, a.short])), [agents]);
  const agentShort = useCallback((id: string | undefined) => (id === undefined ? "main" : (shortOf.get(id) ?? "step")), [shortOf]);
  const count = positions?.length ?? events.length;
  const eventAt = useCallback(
    (i: number): WorkspaceEvent | undefined => events[positions !== undefined ? (positions[i] as number) : i],
    [events, positions],
  );

  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
    getItemKey: (i) => eventAt(i)?.seq ?? i,
  });

  // Keep what is on screen in place when older events come in above it; follow the
  // tail when asked.
  const anchor = useRef<{ firstSeq: number | undefined; count: number; filter: RowFilter }>({
    firstSeq: undefined,
    count: 0,
    filter,
  });
  useLayoutEffect(() => {
    const el = scrollRef.current;
    const prev = anchor.current;
    const firstSeq = eventAt(0)?.seq;
    anchor.current = { firstSeq, count, filter };
    if (el === null) return;
    if (follow) {
      if (count > 0) virtualizer.scrollToIndex(count - 1, { align: "end" });
      return;
    }
    if (prev.filter === filter && prev.firstSeq !== undefined && firstSeq !== undefined && firstSeq < prev.firstSeq) {
      const added = rowIndexOfSeq(events, positions, prev.firstSeq);
      if (added > 0) el.scrollTop += added * ROW_HEIGHT;
    }
  }, [count, version, follow, filter, events, positions, eventAt, virtualizer]);

  // A selection made elsewhere (a link, the URL) is scrolled to.
  const lastScrolledTo = useRef<number | undefined>(undefined);
  useEffect(() => {
    if (selectedSeq === undefined || lastScrolledTo.current === selectedSeq) return;
    const i = rowIndexOfSeq(events, positions, selectedSeq);
    if (eventAt(i)?.seq !== selectedSeq) return;
    lastScrolledTo.current = selectedSeq;
    setFollow(false);
    virtualizer.scrollToIndex(i, { align: "center" });
  }, [selectedSeq, events, positions, eventAt, virtualizer, version]);

  const items = virtualizer.getVirtualItems();
  const firstIndex = items[0]?.index ?? 0;

  // Older events: read when the top is near (or the list does not fill the view). The
  // scroll element is asked, not the render's range, which may predate a scroll to the
  // tail. While a filter is on, at most a few pages are read without being asked.
  const { loadOlder, loadingOlder } = data;
  const autoLoads = useRef({ filter, count: 0 });
  useEffect(() => {
    const el = scrollRef.current;
    if (el === null || !buffer.loadedNewest || !buffer.hasOlder || loadingOlder) return;
    if (el.scrollTop >= LOAD_OLDER_WITHIN * ROW_HEIGHT) return;
    if (autoLoads.current.filter !== filter) autoLoads.current = { filter, count: 0 };
    if (isFiltering(filter) && autoLoads.current.count >= MAX_AUTO_PAGES_FILTERED) return;
    autoLoads.current.count += 1;
    loadOlder();
  }, [firstIndex, buffer, loadOlder, loadingOlder, version, filter, count]);

  // First rows on screen: a mark a test (or a person in devtools) can read.
  const marked = useRef(false);
  useLayoutEffect(() => {
    if (marked.current || items.length === 0) return;
    marked.current = true;
    requestAnimationFrame(() => setTimeout(() => performance.mark("chainwatch:timeline-first-rows"), 0));
  }, [items.length]);

  const onScroll = useCallback(() => {
    const el = scrollRef.current;
    if (el === null) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < ROW_HEIGHT * 1.5;
    setFollow((f) => (f === atBottom ? f : atBottom));
  }, []);

  const toggleKind = (kind: RowKind) =>
    setKinds((prev) => {
      const next = new Set(prev);
      if (next.has(kind)) next.delete(kind);
      else next.add(kind);
      return next;
    });

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    e.preventDefault();
    const current = selectedSeq === undefined ? -1 : rowIndexOfSeq(events, positions, selectedSeq);
    const next = Math.max(0, Math.min(count - 1, current < 0 ? count - 1 : current + (e.key === "ArrowDown" ? 1 : -1)));
    const event = eventAt(next);
    if (event !== undefined) {
      onSelect(event.seq);
      virtualizer.scrollToIndex(next, { align: "auto" });
    }
  };

  const loaded = events.length;
  return (
    <section className="timeline" aria-label="Timeline">
      <div className="timeline__bar">
        <div className="chips" role="group" aria-label="Filter by kind">
          {FILTER_KINDS.map(({ kind, label }) => (
            <button
              key={kind}
              type="button"
              className={`chip chip--${kind}`}
              aria-pressed={kinds.has(kind)}
              data-kind={kind}
              onClick={() => toggleKind(kind)}
            >
              {label}
            </button>
          ))}
        </div>
        <input
          className="timeline__search"
          type="search"
          placeholder="Filter events…"
          aria-label="Filter events by text"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        {agents.length > 0 ? (
          <select
            className="timeline__agent"
            aria-label="Show the rows of one agent"
            value={agent ?? ""}
            onChange={(e) => setAgent(e.target.value === "" ? undefined : e.target.value)}
          >
            <option value="">All agents</option>
            <option value={MAIN_AGENT}>Main agent</option>
            {agents.map((a) => (
              <option key={a.id} value={a.id}>
                {a.label}
              </option>
            ))}
          </select>
        ) : null}
        <label className="timeline__follow">
          <input type="checkbox" checked={showLifecycle} onChange={(e) => setShowLifecycle(e.target.checked)} />
          Lifecycle
        </label>
        <label className="timeline__follow">
          <input
            type="checkbox"
            checked={follow}
            onChange={(e) => {
              setFollow(e.target.checked);
              if (e.target.checked && count > 0) virtualizer.scrollToIndex(count - 1, { align: "end" });
            }}
          />
          Follow
        </label>
      </div>
      <p className="timeline__status" aria-live="polite">
        <span data-testid="timeline-count">
          {isFiltering(filter) ? `${count.toLocaleString()} matching of ` : ""}
          {loaded.toLocaleString()} loaded
          {total > loaded ? ` of ${total.toLocaleString()} events` : " events"}
        </span>
        {buffer.hasOlder && buffer.loadedNewest ? (
          <button type="button" className="link-button" onClick={loadOlder} disabled={loadingOlder}>
            {loadingOlder ? "Loading older…" : "Load older"}
          </button>
        ) : null}
        {!buffer.loadedNewest ? <span className="muted">Loading…</span> : null}
        {data.error !== undefined ? <span className="error-text">{data.error}</span> : null}
      </p>
      <div
        ref={scrollRef}
        className="timeline__scroll"
        data-testid="timeline-scroll"
        tabIndex={0}
        role="listbox"
        aria-label="Events"
        onScroll={onScroll}
        onKeyDown={onKeyDown}
      >
        <div className="timeline__inner" style={{ height: `${virtualizer.getTotalSize()}px` }}>
          {items.map((item) => {
            const event = eventAt(item.index);
            if (event === undefined) return null;
            return (
              <Row
                key={item.key}
                event={event}
                outcome={event.type === "tool:used" && event.toolUseId !== undefined ? tools.outcomes.get(event.toolUseId) : undefined}
                agent={agentLabel(agentOf(event))}
                agentKey={agentOf(event) ?? MAIN_AGENT}
                agentShort={agentShort(agentOf(event))}
                nameOf={nameOf}
                start={item.start}
                index={item.index}
                selected={event.seq === selectedSeq}
                cwd={cwd}
                onSelect={onSelect}
              />
            );
          })}
        </div>
        {count === 0 && buffer.loadedNewest ? (
          <p className="empty timeline__empty">{isFiltering(filter) ? "No loaded event matches." : "No events yet."}</p>
        ) : null}
      </div>
    </section>
  );
}
