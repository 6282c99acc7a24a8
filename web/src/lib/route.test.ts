import { describe, expect, it } from "vitest";
import { parseRoute, routeHref, type Route } from "./route";

describe("routes", () => {
  it("round-trips every route through the hash", () => {
    const routes: Route[] = [
      { name: "sessions" },
      { name: "needs-you" },
      { name: "history" },
      { name: "session", id: "7f3a/odd id?" },
    ];
    for (const r of routes) expect(parseRoute(routeHref(r))).toEqual(r);
  });

  it("takes anything else for the session list", () => {
    expect(parseRoute("")).toEqual({ name: "sessions" });
    expect(parseRoute("#/nope")).toEqual({ name: "sessions" });
    expect(parseRoute("#/sessions/")).toEqual({ name: "sessions" });
    expect(parseRoute("#/sessions/%E0%A4%A")).toEqual({ name: "sessions" });
  });
});
