// GLOBAL_EVENT_TYPES comes from `cargo xtask gen-types` (web/src/generated/eventTypes.ts),
// which reads `EventKind::is_global` in Rust; CI checks the generated file is current.
// Here: the web's helpers answer from it, for every type of the generated union.
import { describe, expect, it } from "vitest";
import { GLOBAL_EVENT_TYPES } from "../../src/generated/eventTypes";
import { isGlobalEventType } from "../../src/state/events";

describe("the generated global event types", () => {
  it("name every event type, lifecycle and attention events global, the high-volume rest not", () => {
    const types = Object.keys(GLOBAL_EVENT_TYPES);
    expect(types.length).toBeGreaterThan(20);
    for (const type of ["session:started", "session:updated", "session:ended", "permission:requested", "message:assistant"]) {
      expect(isGlobalEventType(type)).toBe(true);
    }
    for (const type of ["tool:used", "file:modified", "terminal:output", "agent:event"]) {
      expect(isGlobalEventType(type)).toBe(false);
    }
  });

  it("answers from the generated table for every type, and false for unknown ones", () => {
    for (const [type, global] of Object.entries(GLOBAL_EVENT_TYPES)) {
      expect(isGlobalEventType(type)).toBe(global);
    }
    expect(isGlobalEventType("no:such-type")).toBe(false);
    expect(isGlobalEventType("constructor")).toBe(false);
  });
});
