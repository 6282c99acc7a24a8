// Helpers over the generated event union. Nothing here restates a field of an event:
// the shapes come from `../generated`, which `cargo xtask gen-types` writes from Rust.
import type { SessionStatus, WorkspaceEvent } from "../generated";

/** Every event `type` name, as the generated union spells it. */
export type EventType = WorkspaceEvent["type"];

/** The event of one `type`, envelope included. */
export type EventOf<T extends EventType> = Extract<WorkspaceEvent, { type: T }>;

/**
 * Which events travel on the global `sessions` topic that every socket is on, keyed by
 * every member of the union (a type added in Rust and missing here fails to compile).
 * Mirrors `EventKind::is_global` in crates/shared/src/event.rs.
 */
export const GLOBAL_EVENT_TYPES: Readonly<Record<EventType, boolean>> = {
  "session:started": true,
  "session:updated": true,
  "session:ended": true,
  "session:pruned": true,
  "chain:compiled": true,
  "chain:started": true,
  "chain:completed": true,
  "step:spawned": true,
  "step:started": true,
  "step:completed": true,
  "step:failed": true,
  "interaction:awaiting-input": true,
  "interaction:input-received": true,
  "permission:requested": true,
  "permission:decided": true,
  "command:issued": true,
  "command:acknowledged": true,
  "message:assistant": true,
  "usage:reported": true,
  "file:created": false,
  "file:modified": false,
  "file:deleted": false,
  "tool:used": false,
  "prompt:submitted": false,
  "terminal:output": false,
  "error:occurred": false,
  "agent:notification": false,
  "agent:event": false,
};

/** Whether an event of this type reaches every socket without a subscription. */
export function isGlobalEventType(type: string): boolean {
  return Object.hasOwn(GLOBAL_EVENT_TYPES, type) && GLOBAL_EVENT_TYPES[type as EventType];
}

/** `completed`, `failed` and `cancelled`: the session has ended and changes no more. */
export function isTerminalStatus(status: SessionStatus): boolean {
  switch (status) {
    case "completed":
    case "failed":
    case "cancelled":
      return true;
    case "pending":
    case "active":
    case "waiting":
    case "paused":
      return false;
  }
}
