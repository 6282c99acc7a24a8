import { describe, expect, test } from "vitest";
import { parseRoute } from "../../../lib/route";
import { detailHref, parseDetailHash, parseDetailQuery } from "./url";

describe("the detail view's URL", () => {
  test("names the session and the selected step, event or file", () => {
    expect(parseDetailHash("#/sessions/abc")).toEqual({ id: "abc", params: { tab: "timeline" } });
    expect(parseDetailHash("#/sessions/abc?step=agent-1")).toEqual({ id: "abc", params: { tab: "graph", step: "agent-1" } });
    expect(parseDetailHash("#/sessions/abc?event=42")).toEqual({ id: "abc", params: { tab: "timeline", event: 42 } });
    expect(parseDetailHash("#/sessions/abc?tab=files&file=src%2Fa.ts")).toEqual({
      id: "abc",
      params: { tab: "files", file: "src/a.ts" },
    });
    expect(parseDetailHash("#/history")).toBeUndefined();
    expect(parseDetailHash("#/sessions/")).toBeUndefined();
  });

  test("drops what it does not understand", () => {
    expect(parseDetailQuery("tab=nope&event=x1")).toEqual({ tab: "timeline" });
    expect(parseDetailQuery("event=-3")).toEqual({ tab: "timeline" });
  });

  test("round-trips, ids with slashes and spaces included", () => {
    const id = "sess/with space";
    for (const params of [
      { tab: "timeline" as const },
      { tab: "graph" as const, step: "task-toolu_01" },
      { tab: "timeline" as const, event: 7 },
      { tab: "files" as const, file: "src/a b.ts" },
    ]) {
      expect(parseDetailHash(detailHref(id, params))).toEqual({ id, params });
    }
  });

  test("the app's route ignores the query, so the session is still the route", () => {
    expect(parseRoute(detailHref("abc", { tab: "graph", step: "s1" }))).toEqual({ name: "session", id: "abc" });
    expect(parseRoute("#/sessions/abc?event=3")).toEqual({ name: "session", id: "abc" });
  });
});
