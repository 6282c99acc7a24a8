import { describe, expect, test } from "vitest";
import { EventBuffer, hasSeq, lowerBound, mergeEvents, newFromTail, sortUnique } from "./buffer";
import { prompts } from "./fixtures";

const seqs = (events: readonly { seq: number }[]) => events.map((e) => e.seq);

describe("mergeEvents (paging merge)", () => {
  test("live events are appended in place", () => {
    const target = prompts(1, 2, 3);
    const { events, added } = mergeEvents(target, prompts(5, 4));
    expect(events).toBe(target);
    expect(added).toBe(2);
    expect(seqs(events)).toEqual([1, 2, 3, 4, 5]);
  });

  test("an older page goes in front", () => {
    const { events, added } = mergeEvents(prompts(10, 11), prompts(3, 7, 5));
    expect(added).toBe(3);
    expect(seqs(events)).toEqual([3, 5, 7, 10, 11]);
  });

  test("overlapping events are merged once each", () => {
    const { events, added } = mergeEvents(prompts(2, 4, 6, 8), prompts(1, 4, 5, 8, 9, 9));
    expect(added).toBe(3);
    expect(seqs(events)).toEqual([1, 2, 4, 5, 6, 8, 9]);
  });

  test("nothing new leaves the target as it was", () => {
    const target = prompts(1, 2);
    const { events, added } = mergeEvents(target, prompts(2, 1));
    expect(added).toBe(0);
    expect(events).toBe(target);
  });

  test("sortUnique, lowerBound and hasSeq", () => {
    const list = sortUnique(prompts(5, 1, 3, 3));
    expect(seqs(list)).toEqual([1, 3, 5]);
    expect(lowerBound(list, 0)).toBe(0);
    expect(lowerBound(list, 3)).toBe(1);
    expect(lowerBound(list, 4)).toBe(2);
    expect(lowerBound(list, 9)).toBe(3);
    expect(hasSeq(list, 3)).toBe(true);
    expect(hasSeq(list, 4)).toBe(false);
  });
});

describe("newFromTail", () => {
  test("finds what the source has beyond the known events, from the end", () => {
    expect(seqs(newFromTail(prompts(1, 2, 3), prompts(1, 2, 3, 4, 5)))).toEqual([4, 5]);
  });

  test("finds an event inserted out of order within the window", () => {
    expect(seqs(newFromTail(prompts(1, 2, 4, 5), prompts(1, 2, 3, 4, 5, 6)))).toEqual([3, 6]);
  });

  test("stops after `window` known events in a row (cost bounded by the batch)", () => {
    const known = prompts(...Array.from({ length: 100 }, (_, i) => i + 1));
    const source = [...prompts(0), ...known]; // 0 is new, but 100 known events lie after it
    expect(seqs(newFromTail(known, source, 10))).toEqual([]);
    expect(seqs(newFromTail(known, source, 200))).toEqual([0]);
  });
});

describe("EventBuffer", () => {
  test("newest page first, then older pages by cursor, then none", () => {
    const b = new EventBuffer();
    expect(b.hasOlder).toBe(true);
    expect(b.loadedNewest).toBe(false);
    b.addOlderPage(prompts(8, 9, 10), true);
    expect(b.loadedNewest).toBe(true);
    expect(b.cursor).toBe(8);
    b.addOlderPage(prompts(5, 6, 7), true);
    expect(b.cursor).toBe(5);
    b.addOlderPage(prompts(1, 2), false);
    expect(b.hasOlder).toBe(false);
    expect(seqs(b.events)).toEqual([1, 2, 5, 6, 7, 8, 9, 10]);
  });

  test("an empty page ends paging", () => {
    const b = new EventBuffer();
    b.addOlderPage([], true);
    expect(b.hasOlder).toBe(false);
  });

  test("live events merge with pages without duplicates, and syncing twice adds nothing", () => {
    const b = new EventBuffer();
    const live = prompts(10, 11);
    expect(b.syncLive(live)).toBe(2);
    b.addOlderPage(prompts(8, 9, 10), true);
    expect(seqs(b.events)).toEqual([8, 9, 10, 11]);
    live.push(...prompts(12));
    const v = b.version;
    expect(b.syncLive(live)).toBe(1);
    expect(b.syncLive(live)).toBe(0);
    expect(b.version).toBe(v + 1);
    expect(b.indexOf(12)).toBe(4);
    expect(b.get(9)?.seq).toBe(9);
    expect(b.get(7)).toBeUndefined();
  });
});
