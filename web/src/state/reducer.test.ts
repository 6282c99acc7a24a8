import { describe, expect, it } from "vitest";
import { restSession } from "./fixtures";
import type { Session, SessionDetail, WorkspaceEvent } from "../generated";
import {
  applyEvent,
  applyEvents,
  dropDetail,
  initialState,
  loadDetail,
  loadCommands,
  loadEvents,
  loadSessions,
  loadSteps,
  resync,
  type State,
} from "./reducer";

// --- recorded-event helpers ---------------------------------------------------------

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

type Body = DistributiveOmit<WorkspaceEvent, "seq" | "eventId" | "sessionId" | "timestamp">;

function ev(seq: number, sessionId: string, body: Body): WorkspaceEvent {
  return {
    seq,
    eventId: `e-${seq}`,
    sessionId,
    timestamp: new Date(Date.UTC(2025, 0, 1, 0, 0, seq)).toISOString(),
    ...body,
  } as WorkspaceEvent;
}

const started = (seq: number, id: string, extra: Partial<Extract<Body, { type: "session:started" }>> = {}) =>
  ev(seq, id, { type: "session:started", cwd: `/work/${id}`, hostname: "laptop", user: "ada", ...extra });

function fold(events: readonly WorkspaceEvent[], state: State = initialState()): State {
  return events.reduce(applyEvent, state);
}

function session(state: State, id: string): Session {
  const s = state.sessions.get(id);
  if (s === undefined) throw new Error(`no session ${id}`);
  return s;
}


function restDetail(id: string, lastSeq: number, patch: Partial<SessionDetail> = {}): SessionDetail {
  return { ...restSession(id, lastSeq), chains: [], answers: [], fileChanges: [], ...patch };
}

// --- tests --------------------------------------------------------------------------

describe("session lifecycle", () => {
  const log: WorkspaceEvent[] = [
    started(1, "s1", { title: "fix the build" }),
    ev(2, "s1", { type: "session:updated", summary: "looking at CI", model: "opus" }),
    ev(3, "s1", { type: "prompt:submitted", prompt: "make it green" }),
    ev(4, "s1", { type: "tool:used", toolName: "Bash", status: "started" }),
    ev(5, "s1", { type: "tool:used", toolName: "Bash", status: "succeeded" }),
    ev(6, "s1", { type: "tool:used", toolName: "Edit", status: "failed", error: "no such file" }),
    ev(7, "s1", { type: "file:modified", path: "src/main.rs" }),
    ev(8, "s1", { type: "error:occurred", message: "boom" }),
    ev(9, "s1", { type: "interaction:awaiting-input", requestId: "q1", prompt: "Which branch?", quickResponses: ["main", "dev"] }),
  ];

  it("folds the counts like the server", () => {
    const s = session(fold(log), "s1");
    expect(s.counts).toEqual({
      events: 9,
      prompts: 1,
      toolCalls: 2, // started is not a call; succeeded and failed are
      failures: 2, // the failed tool call and the error
      steps: 0,
      stepsCompleted: 0,
      fileChanges: 1, // distinct files changed (core/calls.rs), folded from the start
    });
    expect(s).toMatchObject({ id: "s1", cwd: "/work/s1", hostname: "laptop", user: "ada", title: "fix the build" });
    expect(s.summary).toBe("looking at CI");
    expect(s.model).toBe("opus");
    expect(s.lastSeq).toBe(9);
    expect(s.updatedAt).toBe(log[8]?.timestamp);
  });

  it("waits for input, then goes back to work when answered", () => {
    let state = fold(log);
    expect(session(state, "s1").status).toBe("waiting");
    expect(session(state, "s1").awaitingInput).toMatchObject({ requestId: "q1", prompt: "Which branch?", quickResponses: ["main", "dev"] });
    state = applyEvent(state, ev(10, "s1", { type: "interaction:input-received", requestId: "q1", text: "main" }));
    expect(session(state, "s1").awaitingInput).toBeUndefined();
    expect(session(state, "s1").status).toBe("active");
  });

  it("keeps permission requests pending until decided", () => {
    let state = fold([
      started(1, "s1"),
      ev(2, "s1", { type: "permission:requested", requestId: "p1", toolName: "Bash", toolInput: { command: "rm -rf target" } }),
      ev(3, "s1", { type: "permission:requested", requestId: "p2", toolName: "Write", toolInput: {} }),
    ]);
    expect(session(state, "s1").pendingPermissions.map((p) => p.requestId)).toEqual(["p1", "p2"]);
    expect(session(state, "s1").status).toBe("waiting");
    state = applyEvent(state, ev(4, "s1", { type: "permission:decided", requestId: "p1", behavior: "allow" }));
    expect(session(state, "s1").pendingPermissions.map((p) => p.requestId)).toEqual(["p2"]);
    expect(session(state, "s1").status).toBe("waiting");
    state = applyEvent(state, ev(5, "s1", { type: "permission:decided", requestId: "p2", behavior: "deny", message: "no" }));
    expect(session(state, "s1").pendingPermissions).toEqual([]);
    expect(session(state, "s1").status).toBe("active");
  });

  it("settles a permission answered in the terminal when that call runs, and the rest when the turn ends", () => {
    let state = fold([
      started(1, "s1"),
      ev(2, "s1", { type: "permission:requested", requestId: "p1", toolName: "Bash", toolInput: { command: "ls", timeout: 5 } }),
      ev(3, "s1", { type: "permission:requested", requestId: "p2", toolName: "Write", toolInput: { file_path: "/a" } }),
    ]);
    // The same call (same tool, same input, keys in another order) ran.
    state = applyEvent(state, ev(4, "s1", { type: "tool:used", toolName: "Bash", status: "succeeded", input: { timeout: 5, command: "ls" } }));
    expect(session(state, "s1").pendingPermissions.map((p) => p.requestId)).toEqual(["p2"]);
    state = applyEvent(state, ev(5, "s1", { type: "interaction:awaiting-input", requestId: "q", prompt: "Done.", quickResponses: [] }));
    expect(session(state, "s1").pendingPermissions).toEqual([]);
    expect(session(state, "s1").status).toBe("waiting");
  });

  it("pauses and resumes with commands, pending until acknowledged", () => {
    let state = fold([
      started(1, "s1"),
      ev(2, "s1", { type: "command:issued", commandId: "c1", command: "pause", reason: "lunch" }),
    ]);
    expect(session(state, "s1").status).toBe("paused");
    expect(session(state, "s1").pendingCommands).toEqual([
      { id: "c1", sessionId: "s1", type: "pause", reason: "lunch", status: "pending", issuedAt: state.sessions.get("s1")?.updatedAt },
    ]);
    state = applyEvent(state, ev(3, "s1", { type: "command:acknowledged", commandId: "c1" }));
    expect(session(state, "s1").pendingCommands).toEqual([]);
    expect(session(state, "s1").status).toBe("paused");
    state = applyEvent(state, ev(4, "s1", { type: "command:issued", commandId: "c2", command: "resume" }));
    expect(session(state, "s1").status).toBe("active");
  });

  it("ends with a terminal status, and starts again when resumed", () => {
    let state = fold([...log, ev(10, "s1", { type: "session:ended", status: "failed", reason: "gave up" })]);
    const ended = session(state, "s1");
    expect(ended.status).toBe("failed");
    expect(ended.endedAt).toBe(new Date(Date.UTC(2025, 0, 1, 0, 0, 10)).toISOString());
    expect(ended.endReason).toBe("gave up");
    expect(ended.awaitingInput).toBeUndefined();
    expect(ended.watch).toEqual({ watched: false, reason: "the session has ended" });
    // A pause cannot move an ended session.
    state = applyEvent(state, ev(11, "s1", { type: "command:issued", commandId: "c1", command: "pause" }));
    expect(session(state, "s1").status).toBe("failed");
    // `claude --resume`: the same session starts again.
    state = applyEvent(state, started(12, "s1"));
    expect(session(state, "s1").status).toBe("active");
    expect(session(state, "s1").endedAt).toBeUndefined();
    expect(session(state, "s1").endReason).toBeUndefined();
    expect(state.sessions.size).toBe(1);
  });

  it("drops a session that retention pruned", () => {
    let state = loadDetail(fold([started(1, "s1"), started(2, "s2")]), restDetail("s1", 2));
    const pruned = ev(3, "s1", { type: "session:pruned" });
    state = applyEvent(state, pruned);
    expect([...state.sessions.keys()]).toEqual(["s2"]);
    expect(state.details.has("s1")).toBe(false);
    expect(state.lastSeq).toBe(3);
    // Delivered again (a resume overlapping it): nothing to drop, nothing created.
    const again = applyEvent(state, pruned);
    expect(again.sessions.has("s1")).toBe(false);
    expect(again.missing.has("s1")).toBe(false);
  });

  it("starts pending and becomes active on the agent's first activity", () => {
    let state = fold([started(1, "s1")]);
    expect(session(state, "s1").status).toBe("pending");
    expect(session(state, "s1").watch.watched).toBe(false);
    state = applyEvent(state, ev(2, "s1", { type: "tool:used", toolName: "Read", status: "started" }));
    expect(session(state, "s1").status).toBe("active");
  });

  it("goes back to paused, not active, when a paused session's question is answered", () => {
    let state = fold([
      started(1, "s1"),
      ev(2, "s1", { type: "command:issued", commandId: "c1", command: "pause" }),
      ev(3, "s1", { type: "interaction:awaiting-input", requestId: "q", prompt: "?", quickResponses: [] }),
    ]);
    expect(session(state, "s1").status).toBe("waiting");
    state = applyEvent(state, ev(4, "s1", { type: "interaction:input-received", requestId: "q", text: "ok" }));
    expect(session(state, "s1").status).toBe("paused");
  });

  it("takes a prompt typed in the terminal as the answer to what the agent waited on", () => {
    let state = fold([
      started(1, "s1"),
      ev(2, "s1", { type: "interaction:awaiting-input", requestId: "q", prompt: "?", quickResponses: [] }),
      ev(3, "s1", { type: "prompt:submitted", prompt: "do it" }),
    ]);
    expect(session(state, "s1").awaitingInput).toBeUndefined();
    expect(session(state, "s1").status).toBe("active");
  });
});

describe("idempotence", () => {
  it("applies an event delivered twice once, and never creates a session twice", () => {
    const first = started(1, "s1");
    const s1 = applyEvent(initialState(), first);
    const s2 = applyEvent(s1, first);
    expect(s2).toBe(s1); // nothing changed: same state object
    expect(s2.sessions.size).toBe(1);
    expect(session(s2, "s1").counts.events).toBe(1);

    // A second session:started (a new seq) for a known session does not recreate it:
    // it updates it, as the server's fold does.
    const s3 = applyEvent(s2, started(2, "s1", { cwd: "/elsewhere", title: "again" }));
    expect(s3.sessions.size).toBe(1);
    expect(session(s3, "s1").counts.events).toBe(2);
    expect(session(s3, "s1").startedAt).toBe(session(s1, "s1").startedAt);
    expect(session(s3, "s1").cwd).toBe("/elsewhere");
    expect(session(s3, "s1").title).toBe("again");
  });

  it("folds events replayed after a resume that overlap what was applied exactly once", () => {
    const log = [
      started(1, "s1"),
      ...Array.from({ length: 14 }, (_, i) => ev(i + 2, "s1", { type: "prompt:submitted", prompt: `p${i}` })),
    ];
    const once = fold(log);
    // Connected, saw 1..10, dropped; the resume replays 6..15 (the client asked from an
    // older seq than it had applied).
    const resumed = fold(log.slice(5), fold(log.slice(0, 10)));
    expect(session(resumed, "s1")).toEqual(session(once, "s1"));
    expect(session(resumed, "s1").counts.prompts).toBe(14);
    expect(resumed.lastSeq).toBe(15);
  });
});

describe("out-of-order delivery across topics", () => {
  it("does not drop a session's events because another session's global event had a higher seq", () => {
    let state = loadSessions(initialState(), [restSession("a", 80), restSession("b", 70)]);
    // Global topic: b's update at seq 100 arrives first…
    state = applyEvent(state, ev(100, "b", { type: "session:updated", summary: "later" }));
    // …then a's events with lower seqs (from its subscription's replay).
    state = applyEvents(state, [
      ev(90, "a", { type: "prompt:submitted", prompt: "x" }),
      ev(95, "a", { type: "tool:used", toolName: "Bash", status: "succeeded" }),
    ]);
    expect(session(state, "a").counts.prompts).toBe(1);
    expect(session(state, "a").counts.toolCalls).toBe(1);
    expect(session(state, "a").lastSeq).toBe(95);
    expect(session(state, "b").summary).toBe("later");
    expect(state.lastSeq).toBe(100);
  });

  it("applies a session's global event that arrives after its replayed events with higher seqs", () => {
    // What the server does: subscribing replays the session's own events up to H from
    // the log, and global events it already queued live for this socket follow.
    let state = loadDetail(initialState(), restDetail("a", 50));
    state = applyEvents(state, [
      ev(51, "a", { type: "tool:used", toolName: "Bash", status: "succeeded" }),
      ev(58, "a", { type: "file:modified", path: "x" }),
      ev(55, "a", { type: "interaction:awaiting-input", requestId: "q", prompt: "Proceed?", quickResponses: [] }),
      ev(59, "a", { type: "tool:used", toolName: "Bash", status: "failed" }),
    ]);
    const a = session(state, "a");
    expect(a.awaitingInput?.prompt).toBe("Proceed?");
    expect(a.counts.events).toBe(54);
    expect(a.lastSeq).toBe(59);
    expect(state.details.get("a")?.events.map((e) => e.seq)).toEqual([51, 55, 58, 59]);
    // The session's stream position (to re-subscribe from) counts only its own events.
    expect(state.tracks.get("a")?.stream).toBe(59);
  });

  it("does not drop a subscribed session's replay because its own global event came first", () => {
    let state = loadDetail(initialState(), restDetail("a", 50));
    // The global topic delivers a's permission request (seq 60) before the
    // subscription replays a's events after 50.
    const permission = ev(60, "a", { type: "permission:requested", requestId: "p1", toolName: "Bash", toolInput: null });
    state = applyEvent(state, permission);
    const replay = [
      ev(51, "a", { type: "step:spawned", chainId: "c", stepId: "s", name: "build", kind: "task", waitsFor: [] }),
      ev(55, "a", { type: "step:started", chainId: "c", stepId: "s" }),
      permission, // the replay carries it too: a duplicate
      ev(61, "a", { type: "tool:used", toolName: "Bash", status: "succeeded", input: { command: "make" } }), // another call: p1 stays pending
    ];
    state = applyEvents(state, replay);
    const a = session(state, "a");
    expect(a.pendingPermissions.map((p) => p.requestId)).toEqual(["p1"]);
    expect(a.counts.steps).toBe(1);
    expect(a.counts.toolCalls).toBe(1);
    expect(a.counts.events).toBe(50 + 4);
    expect(a.currentStepId).toBe("s");
    const detail = state.details.get("a");
    expect(detail?.chains[0]?.steps[0]?.status).toBe("running");
    // The timeline is ordered by seq without duplicates.
    expect(detail?.events.map((e) => e.seq)).toEqual([51, 55, 60, 61]);
  });
});

describe("resync", () => {
  it("clears the state and marks it for a refetch", () => {
    let state = fold([started(1, "s1"), started(2, "s2")]);
    state = loadDetail(state, restDetail("s1", 5));
    const cleared = resync(state);
    expect(cleared.sessions.size).toBe(0);
    expect(cleared.details.size).toBe(0);
    expect(cleared.lastSeq).toBe(0);
    expect(cleared.needsRefetch).toBe(true);
    expect(cleared.epoch).toBe(state.epoch + 1);
    expect(cleared.version).toBeGreaterThan(state.version);
  });

  it("keeps events heard before the refetch lands, and folds the ones the snapshot lacks", () => {
    let state = resync(fold([started(1, "s1")]));
    state = applyEvents(state, [
      ev(9, "s1", { type: "session:updated", summary: "in the snapshot" }),
      ev(11, "s1", { type: "session:updated", summary: "after the snapshot" }),
    ]);
    expect(state.sessions.size).toBe(0);
    expect(state.missing.size).toBe(0); // a refetch is coming anyway
    state = loadSessions(state, [restSession("s1", 10, { summary: "in the snapshot" })], { snapshot: true });
    expect(state.needsRefetch).toBe(false);
    expect(session(state, "s1").summary).toBe("after the snapshot");
    expect(session(state, "s1").lastSeq).toBe(11);
    expect(session(state, "s1").counts.events).toBe(11);
  });
});

describe("REST snapshots", () => {
  it("merges: the copy with the higher lastSeq wins", () => {
    let state = fold([started(1, "s1"), ev(2, "s1", { type: "session:updated", summary: "live" })]);
    state = loadSessions(state, [restSession("s1", 1, { summary: "stale" }), restSession("s2", 7)]);
    expect(session(state, "s1").summary).toBe("live");
    expect(state.sessions.has("s2")).toBe(true);
    state = loadSessions(state, [restSession("s1", 9, { summary: "newer" })]);
    expect(session(state, "s1").summary).toBe("newer");
    // Events the snapshot already has are duplicates now.
    state = applyEvent(state, ev(8, "s1", { type: "session:updated", summary: "old news" }));
    expect(session(state, "s1").summary).toBe("newer");
  });

  it("asks for sessions it hears of but never loaded, and folds their events once loaded", () => {
    let state = applyEvent(initialState(), ev(5, "ghost", { type: "session:updated", title: "hello" }));
    expect(state.sessions.has("ghost")).toBe(false);
    expect([...state.missing]).toEqual(["ghost"]);
    state = loadSessions(state, [restSession("ghost", 4)]);
    expect(state.missing.size).toBe(0);
    expect(session(state, "ghost").title).toBe("hello");
  });
});

describe("chains and steps", () => {
  it("builds chains from step events in a session's detail", () => {
    let state = loadDetail(fold([started(1, "s1")]), restDetail("s1", 1));
    state = applyEvents(state, [
      ev(2, "s1", { type: "chain:compiled", chainId: "plan", name: "Plan", steps: [
        { stepId: "a", name: "lint", waitsFor: [] },
        { stepId: "b", name: "test", waitsFor: ["a"] },
      ] }),
      ev(3, "s1", { type: "step:spawned", chainId: "agents", stepId: "sub1", name: "explorer", kind: "subagent", waitsFor: [], agentType: "Explore" }),
      ev(4, "s1", { type: "step:started", chainId: "plan", stepId: "a" }),
      ev(5, "s1", { type: "step:completed", chainId: "plan", stepId: "a", result: { ok: true } }),
      ev(6, "s1", { type: "step:started", chainId: "plan", stepId: "b" }),
      ev(7, "s1", { type: "step:failed", chainId: "plan", stepId: "b", error: "3 tests failed" }),
      ev(8, "s1", { type: "step:started", chainId: "agents", stepId: "sub1" }),
    ]);
    const s = session(state, "s1");
    expect(s.counts.steps).toBe(3);
    expect(s.counts.stepsCompleted).toBe(1);
    expect(s.counts.failures).toBe(1);
    expect(s.currentStepId).toBe("sub1");

    const chains = state.details.get("s1")?.chains ?? [];
    // Step events do not move a chain's status; chain:started/completed do.
    expect(chains.map((c) => [c.id, c.status])).toEqual([
      ["plan", "pending"],
      ["agents", "pending"],
    ]);
    const plan = chains[0];
    expect(plan?.name).toBe("Plan");
    expect(plan?.steps.map((x) => [x.id, x.status])).toEqual([
      ["a", "completed"],
      ["b", "failed"],
    ]);
    expect(plan?.steps[1]?.waitsFor).toEqual(["a"]);
    expect(plan?.steps[1]?.error).toBe("3 tests failed");
    expect(plan?.steps[0]?.result).toEqual({ ok: true });
    expect(chains[1]?.steps[0]).toMatchObject({ id: "sub1", kind: "subagent", agentType: "Explore", status: "running" });

    state = applyEvents(state, [
      ev(9, "s1", { type: "step:completed", chainId: "agents", stepId: "sub1" }),
      ev(10, "s1", { type: "chain:started", chainId: "agents" }),
      ev(11, "s1", { type: "chain:completed", chainId: "plan", status: "failed" }),
    ]);
    expect(state.details.get("s1")?.chains[1]?.status).toBe("running");
    expect(session(state, "s1").currentStepId).toBeUndefined();
    expect(state.details.get("s1")?.chains[0]?.status).toBe("failed");
    expect(state.details.get("s1")?.chains[0]?.completedAt).toBeDefined();
  });
});

describe("timeline", () => {
  it("appends in place (no copy per event) and merges history", () => {
    let state = loadDetail(fold([started(1, "s1")]), restDetail("s1", 1000));
    const timeline = state.details.get("s1")?.events;
    const live = Array.from({ length: 100_000 }, (_, i) =>
      ev(1001 + i, "s1", { type: "terminal:output", text: `line ${i}\n` }),
    );
    state = applyEvents(state, live);
    const detail = state.details.get("s1");
    expect(detail?.events).toBe(timeline); // the same array, grown in place
    expect(detail?.events.length).toBe(100_000);
    expect(session(state, "s1").counts.events).toBe(1000 + 100_000);

    // Paging back through history puts older events first, without folding them again.
    const history = Array.from({ length: 3 }, (_, i) => ev(998 + i, "s1", { type: "prompt:submitted", prompt: "old" }));
    state = loadEvents(state, "s1", history);
    expect(state.details.get("s1")?.events.slice(0, 4).map((e) => e.seq)).toEqual([998, 999, 1000, 1001]);
    expect(session(state, "s1").counts.prompts).toBe(0);
  });

  it("drops the detail when the view closes, keeping the session", () => {
    let state = loadDetail(fold([started(1, "s1")]), restDetail("s1", 1));
    state = dropDetail(state, "s1");
    expect(state.details.has("s1")).toBe(false);
    expect(state.sessions.has("s1")).toBe(true);
  });
});

describe("step counts of sessions not open in detail (chain and step events are global)", () => {
  const compiled = (seq: number, id: string, steps: string[]) =>
    ev(seq, id, { type: "chain:compiled", chainId: "plan", steps: steps.map((s) => ({ stepId: s, name: s, waitsFor: [] })) });

  it("counts steps like the server: a spawned step the plan named is not new", () => {
    let state = fold([started(1, "s1"), compiled(2, "s1", ["a", "b"])]);
    state = applyEvents(state, [
      ev(3, "s1", { type: "step:spawned", chainId: "plan", stepId: "a", name: "lint", kind: "task", waitsFor: [] }),
      ev(4, "s1", { type: "step:started", chainId: "plan", stepId: "a" }),
      ev(5, "s1", { type: "step:completed", chainId: "plan", stepId: "a" }),
      ev(6, "s1", { type: "step:completed", chainId: "plan", stepId: "a" }), // again: not newly completed
      ev(7, "s1", { type: "step:started", chainId: "other", stepId: "c" }), // unknown: a new step
    ]);
    expect(session(state, "s1").counts).toMatchObject({ steps: 3, stepsCompleted: 1 });
    expect(session(state, "s1").currentStepId).toBe("c");
    expect(state.needsSteps.size).toBe(0); // the index was exact all along
    // A retried step that completes again counts again, as projection.rs does.
    state = applyEvents(state, [
      ev(8, "s1", { type: "step:started", chainId: "plan", stepId: "a" }),
      ev(9, "s1", { type: "step:completed", chainId: "plan", stepId: "a" }),
    ]);
    expect(session(state, "s1").counts.stepsCompleted).toBe(2);
  });

  it("asks for the detail of a session loaded with steps it cannot name, then trusts the detail", () => {
    let state = loadSessions(initialState(), [
      restSession("s1", 10, { counts: { events: 10, prompts: 0, toolCalls: 0, failures: 0, steps: 2, stepsCompleted: 1, fileChanges: 0 } }),
    ]);
    state = applyEvent(state, ev(11, "s1", { type: "step:completed", chainId: "plan", stepId: "b" }));
    expect([...state.needsSteps]).toEqual(["s1"]);
    // The detail the store fetches: b was step 2 of the plan.
    state = loadSteps(
      state,
      restDetail("s1", 11, {
        counts: { events: 11, prompts: 0, toolCalls: 0, failures: 0, steps: 2, stepsCompleted: 2, fileChanges: 0 },
        chains: [
          {
            id: "plan",
            sessionId: "s1",
            status: "running",
            steps: [
              { id: "a", chainId: "plan", name: "a", kind: "step", status: "completed", waitsFor: [] },
              { id: "b", chainId: "plan", name: "b", kind: "step", status: "completed", waitsFor: [] },
            ],
          },
        ],
      }),
    );
    expect(state.needsSteps.size).toBe(0);
    expect(session(state, "s1").counts).toMatchObject({ steps: 2, stepsCompleted: 2 });
    expect(state.details.has("s1")).toBe(false); // seeding is not opening
    // From now on the index is exact.
    state = applyEvent(state, ev(12, "s1", { type: "step:failed", chainId: "plan", stepId: "b", error: "flaky" }));
    expect(session(state, "s1").counts).toMatchObject({ steps: 2, stepsCompleted: 2, failures: 1 });
    expect(state.needsSteps.size).toBe(0);
  });

  it("keeps a session without steps exact after a REST load", () => {
    let state = loadSessions(initialState(), [restSession("s1", 4)]);
    state = applyEvent(state, compiled(5, "s1", ["a"]));
    expect(session(state, "s1").counts.steps).toBe(1);
    expect(state.needsSteps.size).toBe(0);
  });

  it("drops a detail older than what it folded", () => {
    let state = loadSessions(initialState(), [restSession("s1", 10, { counts: { events: 10, prompts: 0, toolCalls: 0, failures: 0, steps: 1, stepsCompleted: 0, fileChanges: 0 } })]);
    state = applyEvent(state, ev(11, "s1", { type: "step:started", chainId: "plan", stepId: "x" }));
    state = loadSteps(state, restDetail("s1", 9));
    expect(state.needsSteps.size).toBe(0);
    expect(session(state, "s1").lastSeq).toBe(11);
  });
});

describe("paused comes from the server", () => {
  it("returns to paused after answering a session the REST snapshot says is paused", () => {
    let state = loadSessions(initialState(), [
      restSession("s1", 5, {
        status: "waiting",
        paused: true,
        awaitingInput: { requestId: "q", prompt: "?", quickResponses: [], since: "2025-01-01T00:00:00.000Z" },
      }),
    ]);
    state = applyEvent(state, ev(6, "s1", { type: "interaction:input-received", requestId: "q", text: "ok" }));
    expect(session(state, "s1").status).toBe("paused");
    state = applyEvent(state, ev(7, "s1", { type: "command:issued", commandId: "c", command: "resume" }));
    expect(session(state, "s1")).toMatchObject({ status: "active", paused: false });
  });
});

describe("commands and their acknowledgements", () => {
  it("keeps every page's view of a command: pending, then acknowledged with the agent's note", () => {
    let state = fold([started(1, "s1"), ev(2, "s1", { type: "command:issued", commandId: "c1", command: "skip", stepId: "a" })]);
    expect(state.commands.get("s1")).toEqual([
      expect.objectContaining({ id: "c1", type: "skip", stepId: "a", status: "pending" }),
    ]);
    state = applyEvent(state, ev(3, "s1", { type: "command:acknowledged", commandId: "c1", note: "skipped" }));
    expect(state.commands.get("s1")).toEqual([
      expect.objectContaining({ id: "c1", status: "acknowledged", note: "skipped", acknowledgedAt: session(state, "s1").updatedAt }),
    ]);
    expect(session(state, "s1").pendingCommands).toEqual([]);
    // An older REST copy cannot make it pending again.
    state = loadCommands(state, "s1", [
      { id: "c1", sessionId: "s1", type: "skip", status: "pending", issuedAt: "2025-01-01T00:00:02.000Z" },
      { id: "c0", sessionId: "s1", type: "pause", status: "acknowledged", issuedAt: "2025-01-01T00:00:00.500Z" },
    ]);
    expect(state.commands.get("s1")?.map((c) => [c.id, c.status])).toEqual([
      ["c0", "acknowledged"],
      ["c1", "acknowledged"],
    ]);
  });

  it("learns pending commands from a REST snapshot", () => {
    const pending = { id: "c9", sessionId: "s1", type: "cancel" as const, status: "pending" as const, issuedAt: "2025-01-01T00:00:00.000Z" };
    let state = loadSessions(initialState(), [restSession("s1", 3, { pendingCommands: [pending] })]);
    expect(state.commands.get("s1")).toEqual([pending]);
    state = applyEvent(state, ev(4, "s1", { type: "command:acknowledged", commandId: "c9" }));
    expect(state.commands.get("s1")?.[0]?.status).toBe("acknowledged");
  });
});

describe("resolved questions and permissions", () => {
  it("records answers and decisions, newest first, with what was asked", () => {
    let state = fold([
      started(1, "s1"),
      ev(2, "s1", { type: "interaction:awaiting-input", requestId: "q1", prompt: "Deploy?", quickResponses: ["yes"] }),
      ev(3, "s1", { type: "permission:requested", requestId: "p1", toolName: "Bash", toolInput: { command: "ls" } }),
    ]);
    state = applyEvents(state, [
      ev(4, "s1", { type: "interaction:input-received", requestId: "q1", text: "yes" }),
      ev(5, "s1", { type: "permission:decided", requestId: "p1", behavior: "deny", message: "not now" }),
    ]);
    expect(state.resolved).toEqual([
      expect.objectContaining({ kind: "permission", requestId: "p1", toolName: "Bash", behavior: "deny", message: "not now", seq: 5 }),
      expect.objectContaining({ kind: "question", requestId: "q1", prompt: "Deploy?", text: "yes", seq: 4 }),
    ]);
    // Delivered again after a resume: nothing doubles.
    const again = applyEvent(state, ev(5, "s1", { type: "permission:decided", requestId: "p1", behavior: "deny" }));
    expect(again.resolved.length).toBe(2);
  });
});

describe("applyEvents reports what it applied", () => {
  it("lists the events that changed the state, not duplicates or parked ones", () => {
    const applied: WorkspaceEvent[] = [];
    const state = fold([started(1, "s1")]);
    applyEvents(
      state,
      [
        started(1, "s1"), // duplicate
        ev(2, "s1", { type: "session:updated", title: "t" }),
        ev(3, "ghost", { type: "session:updated", title: "?" }), // unknown session: parked
      ],
      applied,
    );
    expect(applied.map((e) => e.seq)).toEqual([2]);
  });
});

describe("message:assistant", () => {
  it("totals usage and cost as projection.rs does, live from the global topic", () => {
    const usage = (i: number, o: number, r: number, w: number) => ({
      inputTokens: i,
      outputTokens: o,
      cacheReadTokens: r,
      cacheCreationTokens: w,
    });
    const state = fold([
      started(1, "s1"),
      ev(2, "s1", { type: "message:assistant", text: "hello", model: "m", usage: usage(10, 5, 100, 20), costUsd: 0.5 }),
      ev(3, "s1", { type: "message:assistant", text: "again", model: "m" }),
      ev(4, "s1", { type: "message:assistant", text: "", model: "local", usage: usage(1, 2, 3, 4) }),
    ]);
    const s = session(state, "s1");
    expect(s.status).toBe("active");
    expect(s.usage).toEqual({
      inputTokens: 11,
      outputTokens: 7,
      cacheReadTokens: 103,
      cacheCreationTokens: 24,
      costUsd: 0.5,
      requests: 2,
      unpricedRequests: 1,
      contextTokens: 8,
      reportedRequests: 0,
    });
  });

  it("lets telemetry replace a prompt's estimate once, as projection.rs does", () => {
    const usage = (i: number, o: number, r: number, w: number) => ({
      inputTokens: i,
      outputTokens: o,
      cacheReadTokens: r,
      cacheCreationTokens: w,
    });
    const state = fold([
      started(1, "s1"),
      ev(2, "s1", { type: "message:assistant", text: "", model: "m", usage: usage(10, 5, 0, 0), costUsd: 0.5, promptId: "p1" }),
      ev(3, "s1", {
        type: "usage:reported",
        promptId: "p1",
        model: "m",
        usage: usage(12, 6, 0, 0),
        costUsd: 0.25,
        replaces: { inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheCreationTokens: 0, costUsd: 0.5, requests: 1, unpricedRequests: 0 },
      }),
      ev(4, "s1", { type: "message:assistant", text: "", model: "m", usage: usage(99, 99, 0, 0), costUsd: 9, promptId: "p1", superseded: true }),
    ]);
    const u = session(state, "s1").usage;
    expect([u.inputTokens, u.outputTokens, u.costUsd, u.requests, u.reportedRequests]).toEqual([12, 6, 0.25, 1, 1]);
  });
});

describe("a tool call denied from the page", () => {
  const push = { command: "git push --force" };
  const base = (): State =>
    loadDetail(fold([started(1, "s1")]), restDetail("s1", 1));
  const opened = (state: State): State =>
    fold(
      [
        ev(2, "s1", { type: "tool:used", toolName: "Bash", toolUseId: "t1", status: "started", input: push }),
        ev(3, "s1", { type: "permission:requested", requestId: "r1", toolName: "Bash", toolInput: push }),
      ],
      state,
    );

  it("is settled by the denial as a failed call, like the server's fold", () => {
    let state = opened(base());
    expect(session(state, "s1").counts.toolCalls).toBe(0);
    state = applyEvent(state, ev(4, "s1", { type: "permission:decided", requestId: "r1", behavior: "deny", message: "not today" }));
    const s = session(state, "s1");
    expect(s.pendingPermissions).toEqual([]);
    expect(s.counts.toolCalls).toBe(1);
    expect(s.counts.failures).toBe(1);
  });

  it("is counted by its outcome when allowed", () => {
    let state = opened(base());
    state = fold(
      [
        ev(4, "s1", { type: "permission:decided", requestId: "r1", behavior: "allow" }),
        ev(5, "s1", { type: "tool:used", toolName: "Bash", toolUseId: "t1", status: "succeeded", input: push }),
      ],
      state,
    );
    expect(session(state, "s1").counts).toMatchObject({ toolCalls: 1, failures: 0 });
  });

  it("settles nothing when no call of that tool and input is open", () => {
    let state = fold(
      [ev(3, "s1", { type: "permission:requested", requestId: "r1", toolName: "Bash", toolInput: push })],
      base(),
    );
    state = applyEvent(state, ev(4, "s1", { type: "permission:decided", requestId: "r1", behavior: "deny" }));
    expect(session(state, "s1").counts).toMatchObject({ toolCalls: 0, failures: 0 });
  });
});

describe("files changed", () => {
  it("counts distinct files from file events and succeeded Write/Edit calls, as the server does", () => {
    const state = fold([
      started(1, "f1"),
      ev(2, "f1", { type: "tool:used", toolName: "Write", toolUseId: "w", status: "started", input: { file_path: "/work/f1/a.ts", content: "x" } }),
      ev(3, "f1", { type: "tool:used", toolName: "Write", toolUseId: "w", status: "succeeded" }),
      ev(4, "f1", { type: "file:created", path: "a.ts" }),
      ev(5, "f1", { type: "tool:used", toolName: "Edit", toolUseId: "e", status: "failed", input: { file_path: "/work/f1/b.ts" } }),
      ev(6, "f1", { type: "tool:used", toolName: "Read", toolUseId: "r", status: "succeeded", input: { file_path: "/work/f1/c.ts" } }),
      ev(7, "f1", { type: "file:deleted", path: "./old.txt" }),
    ]);
    expect(session(state, "f1").counts.fileChanges).toBe(2);
  });

  it("leaves the figure to the server for a session it did not fold from its start", () => {
    let state = loadSessions(initialState(), [restSession("f2", 10, { counts: { events: 10, prompts: 0, toolCalls: 0, failures: 0, steps: 0, stepsCompleted: 0, fileChanges: 4 } })]);
    state = loadDetail(state, restDetail("f2", 10, { counts: { events: 10, prompts: 0, toolCalls: 0, failures: 0, steps: 0, stepsCompleted: 0, fileChanges: 4 } }));
    state = applyEvent(state, ev(11, "f2", { type: "file:modified", path: "src/known.rs" }));
    // It may be one of the four: not counted again here (the next progress frame says).
    expect(session(state, "f2").counts.fileChanges).toBe(4);
  });
});

