// Events for the detail view's unit tests: the envelope filled in, fields as given.
import type { WorkspaceEvent } from "../../../generated";

type Body = WorkspaceEvent extends infer E ? (E extends { type: string } ? Omit<E, "seq" | "eventId" | "sessionId" | "timestamp"> : never) : never;

let counter = 0;

/** An event of session `s1` with this seq (timestamp: seq seconds after a fixed start). */
export function ev(seq: number, body: Body, extra: Partial<Pick<WorkspaceEvent, "timestamp" | "sessionId">> = {}): WorkspaceEvent {
  counter++;
  return {
    seq,
    eventId: `e${seq}-${counter}`,
    sessionId: "s1",
    timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, 0) + seq * 1000).toISOString(),
    ...extra,
    ...body,
  } as WorkspaceEvent;
}

/** Events with these seqs (prompts). */
export function prompts(...seqs: number[]): WorkspaceEvent[] {
  return seqs.map((seq) => ev(seq, { type: "prompt:submitted", prompt: `p${seq}` }));
}
