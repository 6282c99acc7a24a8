// Compile-time proof that the web app cannot listen for an event type that does not
// exist (the replaced system's `session:updated` bug, docs/CONTRACT.md gap 2).
//
// How it works: `// @ts-expect-error` tells the compiler "the next line MUST be a type
// error". If the next line compiles, TypeScript reports error TS2578 ("Unused
// '@ts-expect-error' directive") and `npm run typecheck` fails. So:
//   - while 'session:phantom' is not a member of WorkspaceEvent["type"], the line
//     below is an error, the directive is used, and typecheck passes;
//   - if someone added a `session:phantom` event in Rust (and regenerated the types),
//     or replaced the string with a real type, the line would compile, the directive
//     would be unused, and typecheck would fail.
// This file is only type-checked (nothing imports it at run time).
import type { ServerMessage, WorkspaceEvent } from "../generated";

// @ts-expect-error 'session:phantom' is not an event type
export const phantom: WorkspaceEvent["type"] = "session:phantom";

// Matching on a phantom type inside a switch over the union is an error too.
export function phantomCase(event: WorkspaceEvent): string {
  switch (event.type) {
    // @ts-expect-error 'session:phantom' is not comparable to any member of the union
    case "session:phantom":
      return "never";
    default:
      return event.type;
  }
}

/**
 * Switch exhaustiveness: every member of the union has a case, and the default branch
 * assigns the event to `never`. Remove any case (or add an event type in Rust without
 * a case here) and `const _never: never = event` stops compiling. The reducer
 * (state/reducer.ts) and the socket client (socket/client.ts) use the same pattern.
 */
export function eventArea(event: WorkspaceEvent): "session" | "chain" | "step" | "person" | "activity" | "agent" {
  switch (event.type) {
    case "session:started":
    case "session:updated":
    case "session:ended":
    case "session:pruned":
      return "session";
    case "chain:compiled":
    case "chain:started":
    case "chain:completed":
      return "chain";
    case "step:spawned":
    case "step:started":
    case "step:completed":
    case "step:failed":
      return "step";
    case "interaction:awaiting-input":
    case "interaction:input-received":
    case "permission:requested":
    case "permission:decided":
    case "command:issued":
    case "command:acknowledged":
      return "person";
    case "file:created":
    case "file:modified":
    case "file:deleted":
    case "tool:used":
    case "prompt:submitted":
    case "terminal:output":
    case "error:occurred":
    case "message:assistant":
    case "usage:reported":
      return "activity";
    case "agent:notification":
    case "agent:event":
      return "agent";
    default: {
      const _never: never = event;
      return _never;
    }
  }
}

/** The same for socket frames. */
export function frameKind(msg: ServerMessage): string {
  switch (msg.type) {
    case "hello":
    case "event":
    case "subscribed":
    case "unsubscribed":
    case "error":
    case "resync":
    case "pong":
    case "progress":
      return msg.type;
    default: {
      const _never: never = msg;
      return _never;
    }
  }
}

// A missing case is an error: with "step:failed" left out, `event` is not `never` in
// the default branch. (Kept as a proof: remove the directive and typecheck fails.)
export function missingCase(event: WorkspaceEvent): void {
  switch (event.type) {
    case "step:completed":
      return;
    default: {
      // @ts-expect-error not every event type is handled above, so `event` is not never
      const _never: never = event;
      void _never;
    }
  }
}
