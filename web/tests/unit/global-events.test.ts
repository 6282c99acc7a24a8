// GLOBAL_EVENT_TYPES (web/src/state/events.ts) must say what `EventKind::is_global`
// (crates/shared/src/event.rs) says: the socket client's resume point and the reducer's
// per-session stream positions depend on it. This reads the Rust source and compares.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { GLOBAL_EVENT_TYPES } from "../../src/state/events";

const source = readFileSync(resolve(dirname(fileURLToPath(import.meta.url)), "../../../crates/shared/src/event.rs"), "utf8");

/** Variant name → serde `type` name, from the EventKind enum. */
function typeNames(): Map<string, string> {
  const body = source.slice(source.indexOf("pub enum EventKind"), source.indexOf("impl EventKind"));
  const names = new Map<string, string>();
  for (const m of body.matchAll(/#\[serde\(rename = "([^"]+)"[^)]*\)\]\s*(?:#\[[^\]]*\]\s*)*(\w+)\s*\{/g)) {
    names.set(m[2] as string, m[1] as string);
  }
  return names;
}

function globalVariants(): string[] {
  const start = source.indexOf("pub fn is_global");
  // is_global is an exhaustive match: the global variants are the arm ending `=> true`.
  const body = source.slice(start, source.indexOf("=> true", start));
  return [...body.matchAll(/Self::(\w+)/g)].map((m) => m[1] as string);
}

describe("GLOBAL_EVENT_TYPES mirrors EventKind::is_global", () => {
  it("names every event type the Rust enum has", () => {
    const names = typeNames();
    expect(names.size).toBeGreaterThan(20);
    expect(Object.keys(GLOBAL_EVENT_TYPES).sort()).toEqual([...names.values()].sort());
  });

  it("marks exactly the Rust global events as global", () => {
    const names = typeNames();
    const rust = globalVariants().map((v) => names.get(v) ?? `unknown variant ${v}`);
    expect(rust.length).toBeGreaterThan(5);
    const web = Object.entries(GLOBAL_EVENT_TYPES)
      .filter(([, global]) => global)
      .map(([type]) => type);
    expect(web.sort()).toEqual(rust.sort());
  });
});
