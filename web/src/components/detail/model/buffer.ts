// The timeline's events: pages read from the server backwards by seq (newest first,
// then older ones as the person scrolls up), merged with the live events the workspace
// store folds into the session's detail. Ordered by seq, without duplicates, so a huge
// session is never loaded whole and a live event is never shown twice.
import type { WorkspaceEvent } from "../../../generated";

/** Index of the first event with seq >= `seq` (events ordered by seq). */
export function lowerBound(events: readonly WorkspaceEvent[], seq: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((events[mid] as WorkspaceEvent).seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether the ordered `events` hold one with this seq. */
export function hasSeq(events: readonly WorkspaceEvent[], seq: number): boolean {
  return events[lowerBound(events, seq)]?.seq === seq;
}

/** The events sorted by seq, each seq once. */
export function sortUnique(events: readonly WorkspaceEvent[]): WorkspaceEvent[] {
  const sorted = [...events].sort((a, b) => a.seq - b.seq);
  const out: WorkspaceEvent[] = [];
  for (const e of sorted) if (out[out.length - 1]?.seq !== e.seq) out.push(e);
  return out;
}

/**
 * Merges `incoming` into the ordered `target`, returning the merged array (which may be
 * `target` itself, changed in place, when everything was appended) and how many events
 * were new.
 */
export function mergeEvents(
  target: WorkspaceEvent[],
  incoming: readonly WorkspaceEvent[],
): { events: WorkspaceEvent[]; added: number } {
  const add = sortUnique(incoming);
  if (add.length === 0) return { events: target, added: 0 };
  const first = target[0];
  const last = target[target.length - 1];
  const addFirst = add[0] as WorkspaceEvent;
  const addLast = add[add.length - 1] as WorkspaceEvent;
  if (last === undefined || addFirst.seq > last.seq) {
    // Live events: appended in place (the usual case, cheap).
    for (const e of add) target.push(e);
    return { events: target, added: add.length };
  }
  if (first !== undefined && addLast.seq < first.seq) {
    // An older page: in front.
    return { events: add.concat(target), added: add.length };
  }
  // Overlapping: a linear merge.
  const out: WorkspaceEvent[] = new Array<WorkspaceEvent>();
  let i = 0;
  let j = 0;
  let added = 0;
  while (i < target.length || j < add.length) {
    const a = target[i];
    const b = add[j];
    if (b === undefined || (a !== undefined && a.seq < b.seq)) {
      out.push(a as WorkspaceEvent);
      i++;
    } else if (a === undefined || b.seq < a.seq) {
      out.push(b);
      j++;
      added++;
    } else {
      out.push(a);
      i++;
      j++;
    }
  }
  return { events: added === 0 ? target : out, added };
}

/**
 * The events of `source` (ordered by seq, e.g. the store's live timeline) that `known`
 * lacks, found from the end: the scan stops after `window` events in a row that are
 * known, so syncing after each live batch costs what the batch brought, not the
 * length of the timeline. Events can be inserted a little out of order (two streams
 * interleave), which the window covers.
 */
export function newFromTail(
  known: readonly WorkspaceEvent[],
  source: readonly WorkspaceEvent[],
  window = 256,
): WorkspaceEvent[] {
  const out: WorkspaceEvent[] = [];
  let inARow = 0;
  const newest = known[known.length - 1]?.seq ?? -1;
  for (let i = source.length - 1; i >= 0 && inARow < window; i--) {
    const e = source[i] as WorkspaceEvent;
    if (e.seq > newest || !hasSeq(known, e.seq)) {
      out.push(e);
      inARow = 0;
    } else {
      inARow++;
    }
  }
  return out.reverse();
}

/** Most events kept; past it the oldest are dropped (they page in again on scroll). */
export const MAX_BUFFERED_EVENTS = 300_000;

/**
 * The timeline buffer of one session view. Mutable (events are appended in place);
 * `version` changes with every change, so React reads it by version.
 */
export class EventBuffer {
  events: WorkspaceEvent[] = [];
  version = 0;
  /** Whether the server has events older than the oldest here (unknown: true). */
  hasOlder = true;
  /** Whether the newest page has been read (the first read of a view). */
  loadedNewest = false;
  /** The `before` of the next older page. */
  cursor: number | undefined;

  /** Adds a page read backwards (`before=`); `hasMore`: older ones remain. */
  addOlderPage(page: readonly WorkspaceEvent[], hasMore: boolean): number {
    const { events, added } = mergeEvents(this.events, page);
    this.events = events;
    const oldest = page.reduce((min, e) => Math.min(min, e.seq), Number.POSITIVE_INFINITY);
    if (Number.isFinite(oldest)) this.cursor = Math.min(this.cursor ?? oldest, oldest);
    this.hasOlder = hasMore && page.length > 0;
    this.loadedNewest = true;
    this.version++;
    return added;
  }

  /** Adds events from anywhere (a forward catch-up, a single event fetched by seq). */
  add(events: readonly WorkspaceEvent[]): number {
    const { events: merged, added } = mergeEvents(this.events, events);
    this.events = merged;
    if (added > 0) {
      this.#trim();
      this.version++;
    }
    return added;
  }

  /** Takes the live events of the store's timeline that are not here yet. */
  syncLive(source: readonly WorkspaceEvent[]): number {
    const fresh = newFromTail(this.events, source);
    return fresh.length > 0 ? this.add(fresh) : 0;
  }

  /** The position of an event by seq, or -1. */
  indexOf(seq: number): number {
    const i = lowerBound(this.events, seq);
    return this.events[i]?.seq === seq ? i : -1;
  }

  get(seq: number): WorkspaceEvent | undefined {
    const i = this.indexOf(seq);
    return i >= 0 ? this.events[i] : undefined;
  }

  #trim(): void {
    if (this.events.length <= MAX_BUFFERED_EVENTS) return;
    const drop = this.events.length - MAX_BUFFERED_EVENTS + Math.floor(MAX_BUFFERED_EVENTS / 10);
    this.events = this.events.slice(drop);
    this.cursor = this.events[0]?.seq;
    this.hasOlder = true;
  }
}
