// The timeline's data for one session view: the newest page read over REST once the
// store has the session's detail (so the page and the live stream meet without a gap:
// the subscription starts at the detail's seq, the page ends after it), older pages read
// backwards by seq on demand, and the live events the store folds, merged by seq.
import { useCallback, useEffect, useRef, useState } from "react";
import type { Api } from "../../api";
import type { SessionDetailState } from "../../state/reducer";
import { EventBuffer } from "./model/buffer";

/** The newest events read when a view opens (first paint), and each older page. */
export const FIRST_PAGE = 1000;
export const OLDER_PAGE = 2000;
/** `before` for the newest page: above any seq. */
const NEWEST = Number.MAX_SAFE_INTEGER;

export interface Timeline {
  readonly buffer: EventBuffer;
  /** Changes whenever the buffer does. */
  readonly version: number;
  readonly loadingOlder: boolean;
  readonly error: string | undefined;
  /** Reads the next older page (no-op while one is read or when none is left). */
  loadOlder(): void;
  /** Makes sure an event (by seq) is in the buffer, reading it when it is not. */
  ensureEvent(seq: number): void;
}

export function useTimeline(
  sessionId: string,
  api: Api,
  detail: SessionDetailState | undefined,
  epoch: number,
): Timeline {
  const bufferRef = useRef<EventBuffer | null>(null);
  bufferRef.current ??= new EventBuffer();
  const buffer = bufferRef.current;
  const [, setTick] = useState(0);
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const busy = useRef(false);
  const alive = useRef(true);
  const bump = useCallback(() => setTick((t) => t + 1), []);

  useEffect(() => {
    alive.current = true;
    return () => {
      alive.current = false;
    };
  }, []);

  // Live events: whatever the store folded into the detail's timeline and the buffer
  // lacks (cheap: scanned from the end). Idempotent, so doing it while rendering is safe.
  const synced = useRef(-1);
  if (detail !== undefined && detail.eventsVersion !== synced.current) {
    synced.current = detail.eventsVersion;
    buffer.syncLive(detail.events);
  }

  const readPage = useCallback(
    async (before: number, limit: number) => {
      if (busy.current) return;
      busy.current = true;
      setLoadingOlder(true);
      try {
        const page = await api.listSessionEvents(sessionId, { before, limit });
        if (!alive.current) return;
        buffer.addOlderPage(page.events, page.hasMore);
        setError(undefined);
      } catch (err) {
        if (alive.current) setError(err instanceof Error ? err.message : String(err));
      } finally {
        busy.current = false;
        if (alive.current) {
          setLoadingOlder(false);
          bump();
        }
      }
    },
    [api, sessionId, buffer, bump],
  );

  // The newest page, once the detail is loaded (its subscription covers what follows).
  const hasDetail = detail !== undefined;
  useEffect(() => {
    if (hasDetail && !buffer.loadedNewest) void readPage(NEWEST, FIRST_PAGE);
  }, [hasDetail, buffer, readPage]);

  // After a resync the live stream restarted from a newer snapshot: read forward from
  // the newest event here, so nothing in between is missing.
  const firstEpoch = useRef(epoch);
  useEffect(() => {
    if (epoch === firstEpoch.current || !buffer.loadedNewest) return;
    let cancelled = false;
    void (async () => {
      let since = buffer.events[buffer.events.length - 1]?.seq ?? 0;
      for (let pages = 0; pages < 20 && !cancelled; pages++) {
        try {
          const page = await api.listSessionEvents(sessionId, { since, limit: 10_000 });
          if (cancelled || !alive.current) return;
          buffer.add(page.events);
          bump();
          const last = page.events[page.events.length - 1];
          if (!page.hasMore || last === undefined) return;
          since = last.seq;
        } catch {
          return;
        }
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [epoch, api, sessionId, buffer, bump]);

  const loadOlder = useCallback(() => {
    if (!buffer.loadedNewest || !buffer.hasOlder || buffer.cursor === undefined) return;
    void readPage(buffer.cursor, OLDER_PAGE);
  }, [buffer, readPage]);

  const asked = useRef(new Set<number>());
  const ensureEvent = useCallback(
    (seq: number) => {
      if (buffer.indexOf(seq) >= 0 || asked.current.has(seq)) return;
      asked.current.add(seq);
      api.listSessionEvents(sessionId, { since: Math.max(0, seq - 1), limit: 1 }).then(
        (page) => {
          const found = page.events.filter((e) => e.seq === seq);
          if (alive.current && found.length > 0 && buffer.add(found) > 0) bump();
        },
        () => {},
      );
    },
    [api, sessionId, buffer, bump],
  );

  return { buffer, version: buffer.version, loadingOlder, error, loadOlder, ensureEvent };
}
