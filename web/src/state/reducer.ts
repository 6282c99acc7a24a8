// The app's one reducer: it holds what the dashboard knows and folds the event log into
// it. The fold mirrors `SessionRecord::apply` in crates/backend/src/core/projection.rs
// line by line, so a session built from REST and a session built from events have the
// same shape (`Session` from generated) and the same values.
//
// Efficiency. The timeline must stay fast at 100k events, and a resuming client may be
// handed tens of thousands of events at once, so folding one event must not copy
// anything proportional to the number of sessions or events:
//   - the containers (`sessions`, `details`, `tracks`, `missing`, `parked`) are Maps and
//     Sets that the reducer owns and changes in place; each call returns a NEW top-level
//     State object (with `version` bumped) so React sees the change. Never keep an old
//     State and expect its containers to be unchanged.
//   - a Session, a SessionDetailState, a Chain and a ChainStep that change are replaced
//     by new objects (they are small), so rows can be memoised by identity.
//   - a session's timeline (`SessionDetailState.events`) is one array appended in place,
//     with `eventsVersion` bumped; readers use the version, not the array's identity.
//
// Idempotence. Every event carries a global `seq`, and each session tracks exactly which
// seqs it has folded (SessionTrack). One global watermark would be wrong, and so would
// one per session: a subscribed session hears two streams that interleave — its
// subscription (replay, then live) and the global topic — so a global event can arrive
// after one of the session's own events with a higher seq, and must still be applied.
import type {
  Chain,
  ChainStep,
  Command,
  FileChange,
  FileChangeKind,
  InputAnswer,
  PermissionBehavior,
  RequestId,
  Session,
  SessionDetail,
  ServerMessage,
  SessionId,
  SessionUsage,
  StepId,
  WatchState,
  WorkspaceEvent,
} from "../generated";
import { isGlobalEventType, isTerminalStatus } from "./events";
import { CHANGED_FILES_KEPT, changesFile, denialsOf, inputPath, sameJson, type ChangedFiles } from "../lib/denials";
import { relativeToCwd } from "../components/detail/model/files";

/** How much of its first prompt a session keeps (projection.rs FIRST_PROMPT_CHARS). */
export const FIRST_PROMPT_CHARS = 200;
/** How many events one session's timeline keeps before dropping its oldest. */
export const MAX_TIMELINE_EVENTS = 250_000;
/** The newest answers and file changes a detail keeps (as projection.rs does). */
export const ANSWERS_KEPT = 64;
export const FILE_CHANGES_KEPT = 1000;
/** Events of not-yet-loaded sessions kept until the session loads: per session, and sessions. */
export const MAX_PARKED_EVENTS = 1_000;
export const MAX_PARKED_SESSIONS = 500;
/** Applied seqs remembered per session above its base before the oldest are folded into it. */
export const MAX_TRACKED_SEQS = 20_000;
/** Commands remembered per session (the newest), with their acknowledgement state. */
export const COMMANDS_KEPT = 50;
/** Questions answered and permissions decided remembered (the newest), across sessions. */
export const RESOLVED_KEPT = 30;

/**
 * Which seqs a session has folded, and where its own stream stands.
 *
 * `base`: every event of the session with seq <= base is in the state (a REST snapshot
 * was taken there). `applied`: the seqs folded since, above `base` (exact, so two
 * interleaved streams cannot shadow each other; bounded by MAX_TRACKED_SEQS).
 * `stream`: the newest seq of the session's own, non-global stream that is folded:
 * what to `subscribe` from after a reconnect (global events are caught up by `resume`).
 */
export interface SessionTrack {
  base: number;
  readonly applied: Set<number>;
  stream: number;
}

/**
 * A question answered or a permission decided, as every page heard it (both are
 * global events): what the "needs you" view shows once an item leaves it.
 */
export type Resolution =
  | {
      readonly kind: "question";
      readonly sessionId: SessionId;
      readonly requestId: RequestId;
      /** The question, when the app knew it. */
      readonly prompt?: string;
      readonly text: string;
      /** Who answered (the token's name), when the server recorded it. */
      readonly by?: string;
      readonly at: string;
      readonly seq: number;
    }
  | {
      readonly kind: "permission";
      readonly sessionId: SessionId;
      readonly requestId: RequestId;
      /** The tool, when the app knew the request. */
      readonly toolName?: string;
      readonly behavior: PermissionBehavior;
      readonly message?: string;
      /** Who decided (the token's name), when the server recorded it. */
      readonly by?: string;
      readonly at: string;
      readonly seq: number;
    };

/** What a session view opened in detail needs beyond `Session`. */
export interface SessionDetailState {
  /** Its chains, in the order they appeared. Replaced (not mutated) on change. */
  readonly chains: readonly Chain[];
  /** The newest answers to its questions, newest last (bounded). */
  readonly answers: readonly InputAnswer[];
  /** The newest files it changed, newest last (bounded). */
  readonly fileChanges: readonly FileChange[];
  /**
   * The timeline: the session's events ordered by seq, without duplicates, bounded by
   * MAX_TIMELINE_EVENTS. Appended IN PLACE; watch `eventsVersion`.
   */
  readonly events: WorkspaceEvent[];
  /** Bumped whenever `events` changes. */
  readonly eventsVersion: number;
  /** Bumped whenever anything in this detail changes. */
  readonly version: number;
}

export interface State {
  /** Every session the app knows, by id. Changed in place; values are replaced. */
  readonly sessions: Map<SessionId, Session>;
  /** Chains, answers, file changes and timeline of the sessions opened in detail. */
  readonly details: Map<SessionId, SessionDetailState>;
  /** Per-session record of folded seqs (idempotence) and stream position. */
  readonly tracks: Map<SessionId, SessionTrack>;
  /** The newest seq of any event applied (a position in the global log). */
  readonly lastSeq: number;
  /** Sessions that events named but the app has never loaded: fetch them over REST. */
  readonly missing: Set<SessionId>;
  /**
   * Events of sessions the app does not know yet, kept (bounded) until the session is
   * loaded, then folded: what its REST snapshot already has is dropped as a duplicate.
   */
  readonly parked: Map<SessionId, WorkspaceEvent[]>;
  /**
   * Every session's known steps: step id → whether it is completed now. Chain and
   * step events are global, so this keeps a session's step counts moving exactly like
   * the server's without its detail. Changed in place. The index is exact while its
   * size equals the session's `counts.steps`; a session loaded from REST with steps
   * starts inexact and is seeded from its detail (see `needsSteps`, loadSteps).
   */
  readonly steps: Map<SessionId, Map<StepId, boolean>>;
  /** Sessions whose step index missed a step an event named: fetch the detail (loadSteps). */
  readonly needsSteps: Set<SessionId>;
  /**
   * Per session, the seq of the newest `progress` frame whose counts the app took
   * (applyProgress): an event at or below it that arrives later (a resume's replay)
   * is folded but not counted again. Changed in place.
   */
  readonly countsSeq: Map<SessionId, number>;
  /**
   * The files each session changed, for sessions folded here from their start: the
   * app then counts `counts.fileChanges` exactly as the server does. A REST snapshot or
   * a progress frame that disagrees (events this app never heard) drops the entry, and
   * the figure is the server's from then on. Changed in place.
   */
  readonly changed: Map<SessionId, ChangedFiles>;
  /** Each session's newest commands (oldest first) with their acknowledgement. Values replaced. */
  readonly commands: Map<SessionId, readonly Command[]>;
  /** Questions answered and permissions decided, newest first (bounded). Replaced. */
  readonly resolved: readonly Resolution[];
  /** Set by resync(): the state was cleared and must be refetched over REST. */
  readonly needsRefetch: boolean;
  /** Bumped by every resync(). */
  readonly epoch: number;
  /** Bumped by every change. */
  readonly version: number;
}

export function initialState(): State {
  return {
    sessions: new Map(),
    details: new Map(),
    tracks: new Map(),
    lastSeq: 0,
    missing: new Set(),
    parked: new Map(),
    steps: new Map(),
    needsSteps: new Set(),
    countsSeq: new Map(),
    changed: new Map(),
    commands: new Map(),
    resolved: [],
    needsRefetch: false,
    epoch: 0,
    version: 0,
  };
}

type Draft = { -readonly [K in keyof State]: State[K] };

// ---------------------------------------------------------------------------------
// Folding events

/** Folds one event. Returns `state` itself when the event changed nothing visible. */
export function applyEvent(state: State, event: WorkspaceEvent): State {
  return applyEvents(state, [event]);
}

/**
 * Folds events in order, returning one new State (or `state` if nothing changed).
 * `applied`, when given, receives the events that changed the state (not the
 * duplicates, not the ones parked for a session not loaded yet), in order.
 */
export function applyEvents(state: State, events: readonly WorkspaceEvent[], applied?: WorkspaceEvent[]): State {
  const draft: Draft = { ...state };
  let changed = false;
  for (const event of events) {
    if (applyOne(draft, event)) {
      changed = true;
      applied?.push(event);
    }
  }
  if (!changed) return state;
  draft.version = state.version + 1;
  return draft;
}

function newTrack(base: number): SessionTrack {
  return { base, applied: new Set(), stream: base };
}

function isApplied(track: SessionTrack | undefined, seq: number): boolean {
  return track !== undefined && (seq <= track.base || track.applied.has(seq));
}

function recordApplied(track: SessionTrack, event: WorkspaceEvent): void {
  if (event.seq > track.base) track.applied.add(event.seq);
  if (!isGlobalEventType(event.type) && event.seq > track.stream) track.stream = event.seq;
  if (track.applied.size > MAX_TRACKED_SEQS) {
    // Fold the older half into `base`: an event that late is taken as seen.
    const seqs = [...track.applied].sort((a, b) => a - b);
    const cut = seqs[Math.floor(seqs.length / 2)] as number;
    for (const s of seqs) {
      if (s > cut) break;
      track.applied.delete(s);
    }
    track.base = cut;
  }
}

/** The watch state of a session the server has not said it watches. */
const NOT_WATCHED: WatchState = { watched: false, reason: "file watching is not running for this session" };

function newSession(event: WorkspaceEvent): Session {
  return {
    id: event.sessionId,
    cwd: "",
    status: "pending",
    paused: false,
    startedAt: event.timestamp,
    updatedAt: event.timestamp,
    watch: NOT_WATCHED,
    counts: { events: 0, prompts: 0, toolCalls: 0, failures: 0, steps: 0, stepsCompleted: 0, fileChanges: 0 },
    usage: emptyUsage(),
    pendingPermissions: [],
    pendingCommands: [],
    lastSeq: 0,
  };
}

/** A session's usage before any `message:assistant`. */
export function emptyUsage(): SessionUsage {
  return {
    inputTokens: 0,
    outputTokens: 0,
    cacheReadTokens: 0,
    cacheCreationTokens: 0,
    costUsd: 0,
    requests: 0,
    unpricedRequests: 0,
    contextTokens: 0,
    reportedRequests: 0,
  };
}

/** Sets an optional field to a value, or removes it (Rust's `clone_from` of an Option). */
function assign<T extends object, K extends keyof T>(obj: T, key: K, value: T[K] | undefined): void {
  if (value === undefined) delete (obj as Record<PropertyKey, unknown>)[key];
  else obj[key] = value;
}

/** JSON values equal as serde_json compares them: structurally, key order ignored. */
export { sameJson };

function bounded<T>(list: readonly T[], item: T, max: number): T[] {
  const next = list.length >= max ? list.slice(list.length - max + 1) : list.slice();
  next.push(item);
  return next;
}

/**
 * Copy-on-write editing of a detail's chains: the chains array, and a chain and its
 * steps array, are copied at most once per event, and only when touched.
 */
class ChainsDraft {
  chains: Chain[] | undefined;
  readonly #source: readonly Chain[];
  readonly #copied = new Set<number>();

  constructor(source: readonly Chain[]) {
    this.#source = source;
  }

  get current(): readonly Chain[] {
    return this.chains ?? this.#source;
  }

  #own(): Chain[] {
    this.chains ??= this.#source.slice();
    return this.chains;
  }

  /** projection.rs `chain_mut`: the chain's index, creating it (pending) when unknown. */
  chainIndex(sessionId: SessionId, chainId: string): number {
    const i = this.current.findIndex((c) => c.id === chainId);
    if (i >= 0) return i;
    const chains = this.#own();
    chains.push({ id: chainId, sessionId, status: "pending", steps: [] });
    this.#copied.add(chains.length - 1);
    return chains.length - 1;
  }

  /** A chain to change in place (copied once per event). */
  chain(index: number): Chain {
    const chains = this.#own();
    const chain = chains[index] as Chain;
    if (this.#copied.has(index)) return chain;
    const copy: Chain = { ...chain, steps: chain.steps.slice() };
    chains[index] = copy;
    this.#copied.add(index);
    return copy;
  }

  find(stepId: StepId): { chain: number; step: number } | undefined {
    const chains = this.current;
    for (let c = 0; c < chains.length; c++) {
      const s = (chains[c] as Chain).steps.findIndex((x) => x.id === stepId);
      if (s >= 0) return { chain: c, step: s };
    }
    return undefined;
  }

  /**
   * projection.rs `step_mut`: a step to change in place, found by id in any chain, or
   * created (pending, named by its id) in `chainId`; `created` is called when new.
   */
  step(sessionId: SessionId, chainId: string, stepId: StepId, created: () => void): ChainStep {
    let at = this.find(stepId);
    if (at === undefined) {
      const c = this.chainIndex(sessionId, chainId);
      const chain = this.chain(c);
      chain.steps.push({ id: stepId, chainId, name: stepId, kind: "step", status: "pending", waitsFor: [] });
      created();
      at = { chain: c, step: chain.steps.length - 1 };
    }
    const chain = this.chain(at.chain);
    const step = { ...(chain.steps[at.step] as ChainStep) };
    chain.steps[at.step] = step;
    return step;
  }
}

// The timeline: ordered by seq, deduplicated, appended in place.

function insertBySeq(events: WorkspaceEvent[], event: WorkspaceEvent): boolean {
  const last = events[events.length - 1];
  if (last === undefined || event.seq > last.seq) {
    events.push(event);
    return true;
  }
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((events[mid] as WorkspaceEvent).seq < event.seq) lo = mid + 1;
    else hi = mid;
  }
  if (events[lo]?.seq === event.seq) return false;
  events.splice(lo, 0, event);
  return true;
}

function trimTimeline(events: WorkspaceEvent[]): void {
  if (events.length > MAX_TIMELINE_EVENTS) {
    // Drop a tenth at once so trimming stays rare (splice is O(n)).
    events.splice(0, events.length - MAX_TIMELINE_EVENTS + Math.floor(MAX_TIMELINE_EVENTS / 10));
  }
}

/** Folds one event into the draft (changing its containers). True when it changed. */
function applyOne(st: Draft, event: WorkspaceEvent): boolean {
  const id = event.sessionId;
  if (isApplied(st.tracks.get(id), event.seq)) return false;

  const current = st.sessions.get(id);
  if (current === undefined && event.type !== "session:started" && event.type !== "session:pruned") {
    // An event of a session the app never loaded (beyond the list's page, or while a
    // refetch runs): keep it, and ask for the session over REST unless everything is
    // being refetched anyway.
    park(st, event);
    if (!st.needsRefetch) st.missing.add(id);
    return false;
  }

  const base = current ?? newSession(event);
  const track = st.tracks.get(id) ?? newTrack(0);
  const detail = st.details.get(id);
  const chains = detail !== undefined ? new ChainsDraft(detail.chains) : undefined;
  let answers: readonly InputAnswer[] | undefined = detail?.answers;
  let fileChanges: readonly FileChange[] | undefined = detail?.fileChanges;

  // The envelope, for every event (projection.rs: last_seq, updated_at, counts.events).
  const s: Session = {
    ...base,
    lastSeq: Math.max(base.lastSeq, event.seq),
    updatedAt: event.timestamp,
    counts: { ...base.counts, events: base.counts.events + 1 },
  };

  /** Moves a session out of `pending` when the agent shows activity. */
  const activity = () => {
    if (s.status === "pending") s.status = "active";
  };
  /** Back to work once nothing waits for a person any more. */
  const settleWaiting = () => {
    if (s.status === "waiting" && s.awaitingInput === undefined && s.pendingPermissions.length === 0) {
      s.status = s.paused ? "paused" : "active";
    }
  };
  /** Pending requests `which` picks leave the list: the session moved on without the
   *  page's answer (mirrors `settle_permissions` in projection.rs). */
  const settlePermissions = (which: (p: Session["pendingPermissions"][number]) => boolean) => {
    if (s.pendingPermissions.length === 0) return;
    s.pendingPermissions = s.pendingPermissions.filter((p) => !which(p));
    settleWaiting();
  };
  // Steps are counted from the session's step index (as projection.rs counts them in
  // `step_mut`), whether or not its chains are open in detail.
  const steps = st.steps.get(id) ?? new Map<StepId, boolean>();
  const stepsExact = steps.size === base.counts.steps;
  /** Makes sure the step is known; counts it when new. */
  const touchStep = (stepId: StepId) => {
    if (steps.has(stepId)) return;
    // An inexact index cannot tell a new step from one created before the snapshot:
    // count it as new, and have the detail fetched to set the counts right.
    if (!stepsExact) st.needsSteps.add(id);
    steps.set(stepId, false);
    s.counts.steps += 1;
  };
  const noop = () => {};
  const endStep = (stepId: StepId) => {
    if (s.currentStepId === stepId) delete s.currentStepId;
  };
  // `counts.fileChanges` is the number of distinct files changed (core/calls.rs): counted
  // here for a session folded from its start, else the server's (REST, progress frames).
  if (event.type === "session:started" && (current === undefined || current.counts.events === 0)) {
    st.changed.set(id, { paths: new Set(), open: new Map() });
  }
  const changed = st.changed.get(id);
  const fileChanged = (raw: string | undefined) => {
    if (changed === undefined || raw === undefined) return;
    const { path } = relativeToCwd(raw, event.type === "session:started" ? event.cwd : base.cwd);
    if (path === "" || changed.paths.has(path) || changed.paths.size >= CHANGED_FILES_KEPT) return;
    changed.paths.add(path);
    s.counts.fileChanges += 1;
  };
  const recordFile = (path: string, change: FileChangeKind, stepId: StepId | undefined) => {
    fileChanged(path);
    if (fileChanges !== undefined) {
      const fc: FileChange = { path, change, at: event.timestamp, seq: event.seq };
      if (stepId !== undefined) fc.stepId = stepId;
      fileChanges = bounded(fileChanges, fc, FILE_CHANGES_KEPT);
    }
  };

  switch (event.type) {
    case "session:started": {
      s.cwd = event.cwd;
      if (event.hostname !== undefined) s.hostname = event.hostname;
      if (event.platform !== undefined) s.platform = event.platform;
      if (event.user !== undefined) s.user = event.user;
      if (event.model !== undefined) s.model = event.model;
      if (event.title !== undefined) s.title = event.title;
      if (event.source !== undefined) s.source = event.source;
      if (event.watch !== undefined) s.watch = event.watch;
      if (isTerminalStatus(s.status)) {
        // A resumed session (claude --resume) starts again.
        s.status = "active";
        delete s.endedAt;
        delete s.endReason;
      }
      break;
    }

    case "session:updated":
      if (event.status !== undefined) s.status = event.status;
      if (event.summary !== undefined) s.summary = event.summary;
      if (event.title !== undefined) s.title = event.title;
      if (event.model !== undefined) s.model = event.model;
      if (event.watch !== undefined) s.watch = event.watch;
      break;

    case "session:ended":
      s.status = event.status;
      s.endedAt = event.timestamp;
      assign(s, "endReason", event.reason);
      delete s.awaitingInput;
      delete s.currentStepId;
      s.watch = { watched: false, reason: "the session has ended" };
      break;

    case "session:pruned":
      // Retention removed the ended session and its events: lists drop it
      // (projection.rs removes the record). A late event of it is then unknown, and
      // fetching it answers 404, which forgets it.
      st.sessions.delete(id);
      st.details.delete(id);
      st.tracks.delete(id);
      st.missing.delete(id);
      st.parked.delete(id);
      st.steps.delete(id);
      st.needsSteps.delete(id);
      st.commands.delete(id);
      st.changed.delete(id);
      if (event.seq > st.lastSeq) st.lastSeq = event.seq;
      return current !== undefined;

    case "chain:compiled":
      for (const spec of event.steps) touchStep(spec.stepId);
      if (chains !== undefined) {
        const c = chains.chainIndex(id, event.chainId);
        if (event.name !== undefined) chains.chain(c).name = event.name;
        for (const spec of event.steps) {
          const step = chains.step(id, event.chainId, spec.stepId, noop);
          step.name = spec.name;
          step.waitsFor = spec.waitsFor;
          assign(step, "parentStepId", spec.parentStepId);
        }
      }
      break;

    case "chain:started":
      activity();
      if (chains !== undefined) {
        const chain = chains.chain(chains.chainIndex(id, event.chainId));
        chain.status = "running";
        chain.startedAt = event.timestamp;
      }
      break;

    case "chain:completed":
      if (chains !== undefined) {
        const chain = chains.chain(chains.chainIndex(id, event.chainId));
        chain.status = event.status;
        chain.completedAt = event.timestamp;
      }
      break;

    case "step:spawned":
      activity();
      touchStep(event.stepId);
      if (chains !== undefined) {
        const step = chains.step(id, event.chainId, event.stepId, noop);
        step.name = event.name;
        step.kind = event.kind;
        step.waitsFor = event.waitsFor;
        assign(step, "parentStepId", event.parentStepId);
        assign(step, "agentType", event.agentType);
        assign(step, "toolUseId", event.toolUseId);
        assign(step, "input", event.input);
      }
      break;

    case "step:started":
      activity();
      touchStep(event.stepId);
      steps.set(event.stepId, false);
      if (chains !== undefined) {
        const step = chains.step(id, event.chainId, event.stepId, noop);
        step.status = "running";
        step.startedAt = event.timestamp;
      }
      s.currentStepId = event.stepId;
      break;

    case "step:completed": {
      touchStep(event.stepId);
      const newly = steps.get(event.stepId) !== true;
      steps.set(event.stepId, true);
      if (chains !== undefined) {
        const step = chains.step(id, event.chainId, event.stepId, noop);
        step.status = "completed";
        assign(step, "result", event.result);
        step.endedAt = event.timestamp;
      }
      if (newly) s.counts.stepsCompleted += 1;
      endStep(event.stepId);
      break;
    }

    case "step:failed":
      touchStep(event.stepId);
      steps.set(event.stepId, false);
      if (chains !== undefined) {
        const step = chains.step(id, event.chainId, event.stepId, noop);
        step.status = "failed";
        step.error = event.error;
        step.endedAt = event.timestamp;
      }
      s.counts.failures += 1;
      endStep(event.stepId);
      break;

    case "interaction:awaiting-input":
      // The turn ended: nothing waits for a permission any more.
      settlePermissions(() => true);
      s.awaitingInput = {
        requestId: event.requestId,
        prompt: event.prompt,
        quickResponses: event.quickResponses,
        since: event.timestamp,
      };
      if (event.stepId !== undefined) s.awaitingInput.stepId = event.stepId;
      if (!isTerminalStatus(s.status)) s.status = "waiting";
      break;

    case "interaction:input-received": {
      const question = s.awaitingInput?.requestId === event.requestId ? s.awaitingInput : undefined;
      st.resolved = resolve(st.resolved, {
        kind: "question",
        sessionId: id,
        requestId: event.requestId,
        ...(question !== undefined ? { prompt: question.prompt } : {}),
        text: event.text,
        ...(event.answeredBy !== undefined ? { by: event.answeredBy } : {}),
        at: event.timestamp,
        seq: event.seq,
      });
      if (question !== undefined) delete s.awaitingInput;
      if (answers !== undefined) {
        answers = bounded(
          answers,
          {
            requestId: event.requestId,
            text: event.text,
            answeredAt: event.timestamp,
            seq: event.seq,
            ...(event.answeredBy !== undefined ? { answeredBy: event.answeredBy } : {}),
          },
          ANSWERS_KEPT,
        );
      }
      settleWaiting();
      break;
    }

    case "permission:requested": {
      const request: Session["pendingPermissions"][number] = {
        requestId: event.requestId,
        toolName: event.toolName,
        toolInput: event.toolInput,
        requestedAt: event.timestamp,
      };
      if (event.toolUseId !== undefined) request.toolUseId = event.toolUseId;
      s.pendingPermissions = [...s.pendingPermissions.filter((p) => p.requestId !== event.requestId), request];
      if (!isTerminalStatus(s.status)) s.status = "waiting";
      break;
    }

    case "permission:decided": {
      // The first answer wins; a decided request leaves the pending list.
      const request = s.pendingPermissions.find((p) => p.requestId === event.requestId);
      st.resolved = resolve(st.resolved, {
        kind: "permission",
        sessionId: id,
        requestId: event.requestId,
        ...(request !== undefined ? { toolName: request.toolName } : {}),
        behavior: event.behavior,
        ...(event.message !== undefined ? { message: event.message } : {}),
        ...(event.decidedBy !== undefined ? { by: event.decidedBy } : {}),
        at: event.timestamp,
        seq: event.seq,
      });
      s.pendingPermissions = s.pendingPermissions.filter((p) => p.requestId !== event.requestId);
      // A denied call never runs, so no later event settles it: the denial does, as a
      // failed call (projection.rs, core/calls.rs). Decided from the session's own
      // stream, when it is open here; a list hears it in the next progress frame.
      if (request !== undefined && event.behavior === "deny" && detail !== undefined && settlesACall(detail.events, event)) {
        s.counts.toolCalls += 1;
        s.counts.failures += 1;
      }
      settleWaiting();
      break;
    }

    case "command:issued": {
      const command: Session["pendingCommands"][number] = {
        id: event.commandId,
        sessionId: id,
        type: event.command,
        status: "pending",
        issuedAt: event.timestamp,
      };
      if (event.stepId !== undefined) command.stepId = event.stepId;
      if (event.reason !== undefined) command.reason = event.reason;
      if (event.issuedBy !== undefined) command.issuedBy = event.issuedBy;
      s.pendingCommands = [...s.pendingCommands, command];
      st.commands.set(id, mergeCommands(st.commands.get(id), [command]));
      if (event.command === "pause") {
        s.paused = true;
        if (!isTerminalStatus(s.status)) s.status = "paused";
      } else if (event.command === "resume") {
        s.paused = false;
        if (s.status === "paused") s.status = "active";
      }
      break;
    }

    case "command:acknowledged": {
      s.pendingCommands = s.pendingCommands.filter((c) => c.id !== event.commandId);
      const known = st.commands.get(id)?.find((c) => c.id === event.commandId);
      if (known !== undefined) {
        const acked: Command = { ...known, status: "acknowledged", acknowledgedAt: event.timestamp };
        assign(acked, "note", event.note);
        st.commands.set(id, mergeCommands(st.commands.get(id), [acked]));
      }
      break;
    }

    case "file:created":
      recordFile(event.path, "created", event.stepId);
      break;

    case "file:modified":
      recordFile(event.path, "modified", event.stepId);
      break;

    case "file:deleted":
      recordFile(event.path, "deleted", event.stepId);
      break;

    case "tool:used":
      // The call a pending request asked about ran or failed: it was answered in the
      // terminal. Same tool and same input is the same call (requests carry no id).
      if (event.status !== "started") {
        const input = event.input ?? null;
        settlePermissions((p) => p.toolName === event.toolName && sameJson(p.toolInput, input));
      }
      if (changed !== undefined && changesFile(event.toolName)) {
        const path = inputPath(event.input);
        if (event.status === "started") {
          if (event.toolUseId !== undefined && path !== undefined) changed.open.set(event.toolUseId, path);
        } else {
          const opened = event.toolUseId !== undefined ? changed.open.get(event.toolUseId) : undefined;
          if (event.toolUseId !== undefined) changed.open.delete(event.toolUseId);
          if (event.status === "succeeded") fileChanged(path ?? opened);
        }
      }
      // `started` announces a call; `succeeded`/`failed` records it.
      if (event.status !== "started") s.counts.toolCalls += 1;
      if (event.status === "failed") s.counts.failures += 1;
      activity();
      break;

    case "prompt:submitted":
      s.counts.prompts += 1;
      if (s.firstPrompt === undefined && event.prompt.trim() !== "") {
        s.firstPrompt = [...event.prompt.trim()].slice(0, FIRST_PROMPT_CHARS).join("");
      }
      // A prompt typed in the terminal answers whatever the agent waited on.
      delete s.awaitingInput;
      if (s.status === "pending" || s.status === "waiting") s.status = "active";
      settleWaiting();
      break;

    case "error:occurred":
      s.counts.failures += 1;
      break;

    case "message:assistant": {
      // projection.rs: sum the usage; a request without a price counts as unpriced.
      const u = { ...(s.usage ?? emptyUsage()) };
      if (event.usage !== undefined && event.superseded === true) {
        // Telemetry already gave this prompt's figures: shown, not summed.
        u.contextTokens = event.usage.inputTokens + event.usage.cacheReadTokens + event.usage.cacheCreationTokens;
      } else if (event.usage !== undefined) {
        u.inputTokens += event.usage.inputTokens;
        u.outputTokens += event.usage.outputTokens;
        u.cacheReadTokens += event.usage.cacheReadTokens;
        u.cacheCreationTokens += event.usage.cacheCreationTokens;
        u.requests += 1;
        u.contextTokens = event.usage.inputTokens + event.usage.cacheReadTokens + event.usage.cacheCreationTokens;
        if (event.costUsd !== undefined) u.costUsd += event.costUsd;
        else u.unpricedRequests += 1;
      } else if (event.costUsd !== undefined && event.superseded !== true) {
        u.costUsd += event.costUsd;
      }
      s.usage = u;
      activity();
      break;
    }

    case "usage:reported": {
      // projection.rs: take back the estimate the server says this report replaces,
      // then add the telemetry's figures.
      const u = { ...(s.usage ?? emptyUsage()) };
      const r = event.replaces;
      if (r !== undefined) {
        u.inputTokens = Math.max(0, u.inputTokens - r.inputTokens);
        u.outputTokens = Math.max(0, u.outputTokens - r.outputTokens);
        u.cacheReadTokens = Math.max(0, u.cacheReadTokens - r.cacheReadTokens);
        u.cacheCreationTokens = Math.max(0, u.cacheCreationTokens - r.cacheCreationTokens);
        u.costUsd = Math.max(0, u.costUsd - r.costUsd);
        u.requests = Math.max(0, u.requests - r.requests);
        u.unpricedRequests = Math.max(0, u.unpricedRequests - r.unpricedRequests);
      }
      u.inputTokens += event.usage.inputTokens;
      u.outputTokens += event.usage.outputTokens;
      u.cacheReadTokens += event.usage.cacheReadTokens;
      u.cacheCreationTokens += event.usage.cacheCreationTokens;
      u.requests += 1;
      u.reportedRequests = (u.reportedRequests ?? 0) + 1;
      u.contextTokens = event.usage.inputTokens + event.usage.cacheReadTokens + event.usage.cacheCreationTokens;
      if (event.costUsd !== undefined) u.costUsd += event.costUsd;
      else u.unpricedRequests += 1;
      s.usage = u;
      break;
    }

    case "terminal:output":
    case "agent:notification":
    case "agent:event":
      // Timeline only.
      break;

    default: {
      // Exhaustive: a type added to the Rust enum and not handled here is a compile
      // error. At run time (a newer server) an unknown event is ignored.
      const _never: never = event;
      void _never;
      return false;
    }
  }

  if (event.seq <= (st.countsSeq.get(id) ?? 0)) {
    // Counted already by a progress frame (see applyProgress).
    s.counts = base.counts;
    s.updatedAt = base.updatedAt;
  }
  st.sessions.set(id, s);
  st.tracks.set(id, track);
  st.steps.set(id, steps);
  recordApplied(track, event);
  st.missing.delete(id);
  if (event.seq > st.lastSeq) st.lastSeq = event.seq;

  if (detail !== undefined) {
    const added = insertBySeq(detail.events, event);
    if (added) trimTimeline(detail.events);
    st.details.set(id, {
      chains: chains?.chains ?? detail.chains,
      answers: answers ?? detail.answers,
      fileChanges: fileChanges ?? detail.fileChanges,
      events: detail.events,
      eventsVersion: added ? detail.eventsVersion + 1 : detail.eventsVersion,
      version: detail.version + 1,
    });
  }
  if (current === undefined) unpark(st, id);
  return true;
}

/** A REST snapshot that counts other changed files than the app did: the server's figure rules. */
function dropChangedUnlessAgrees(draft: Draft, session: Session): void {
  if (draft.changed.get(session.id)?.paths.size !== session.counts.fileChanges) draft.changed.delete(session.id);
}

/** Whether `decided` (a deny, not folded yet) settles an open call of the session's stream. */
function settlesACall(events: readonly WorkspaceEvent[], decided: WorkspaceEvent): boolean {
  function* withIt() {
    yield* events;
    yield decided;
  }
  for (const d of denialsOf(withIt()).values()) if (d.decided.seq === decided.seq) return true;
  return false;
}

/** Adds a resolution in front, bounded; a repeat (same request) replaces the older one. */
function resolve(list: readonly Resolution[], item: Resolution): Resolution[] {
  const next = [item, ...list.filter((r) => !(r.requestId === item.requestId && r.sessionId === item.sessionId))];
  if (next.length > RESOLVED_KEPT) next.length = RESOLVED_KEPT;
  return next;
}

/**
 * Merges commands into a session's list (by id; an acknowledged copy beats a pending
 * one, so an older snapshot cannot un-acknowledge), ordered by issue time, bounded.
 */
function mergeCommands(list: readonly Command[] | undefined, incoming: readonly Command[]): readonly Command[] {
  const byId = new Map((list ?? []).map((c) => [c.id, c]));
  for (const c of incoming) {
    const known = byId.get(c.id);
    if (known === undefined || known.status === "pending" || c.status !== "pending") byId.set(c.id, c);
  }
  const merged = [...byId.values()].sort((a, b) => (a.issuedAt < b.issuedAt ? -1 : a.issuedAt > b.issuedAt ? 1 : 0));
  return merged.length > COMMANDS_KEPT ? merged.slice(merged.length - COMMANDS_KEPT) : merged;
}

/** A step index from a detail's chains. */
function stepIndexOf(chains: readonly Chain[]): Map<StepId, boolean> {
  const index = new Map<StepId, boolean>();
  for (const chain of chains) for (const step of chain.steps) index.set(step.id, step.status === "completed");
  return index;
}

function park(st: Draft, event: WorkspaceEvent): void {
  let list = st.parked.get(event.sessionId);
  if (list === undefined) {
    if (st.parked.size >= MAX_PARKED_SESSIONS) {
      const oldest = st.parked.keys().next();
      if (oldest.done !== true) st.parked.delete(oldest.value);
    }
    list = [];
    st.parked.set(event.sessionId, list);
  }
  if (list.length >= MAX_PARKED_EVENTS) list.shift();
  list.push(event);
}

/** Folds the parked events of a session that just became known. */
function unpark(st: Draft, sessionId: SessionId): void {
  const list = st.parked.get(sessionId);
  if (list === undefined) return;
  st.parked.delete(sessionId);
  for (const event of list.sort((a, b) => a.seq - b.seq)) applyOne(st, event);
}

// ---------------------------------------------------------------------------------
// Snapshots and control actions

export interface LoadSessionsOptions {
  /** The list is the full refetch after start or resync: clears `needsRefetch`. */
  snapshot?: boolean;
}

/**
 * Merges sessions from REST. A session the app does not know is added; one it knows is
 * replaced only when the REST copy is newer (higher `lastSeq`: it then contains
 * everything the app had folded). A session open in detail is kept current by its own
 * stream and left alone (its chains are at its own seq).
 */
export function loadSessions(state: State, list: readonly Session[], options: LoadSessionsOptions = {}): State {
  const draft: Draft = { ...state, version: state.version + 1 };
  for (const incoming of list) {
    draft.missing.delete(incoming.id);
    const known = draft.sessions.get(incoming.id);
    if (known !== undefined && (known.lastSeq >= incoming.lastSeq || draft.details.has(incoming.id))) continue;
    dropChangedUnlessAgrees(draft, incoming);
    draft.sessions.set(incoming.id, incoming);
    draft.tracks.set(incoming.id, newTrack(incoming.lastSeq));
    if (incoming.pendingCommands.length > 0) {
      draft.commands.set(incoming.id, mergeCommands(draft.commands.get(incoming.id), incoming.pendingCommands));
    }
    unpark(draft, incoming.id);
  }
  if (options.snapshot === true) draft.needsRefetch = false;
  return draft;
}

/**
 * Whether a detail from REST is at least as new as what the app has folded for the
 * session. An older one would lose global events already heard (the subscription does
 * not replay those): fetch it again instead (the store does).
 */
export function isDetailCurrent(state: State, detail: SessionDetail): boolean {
  return detail.lastSeq >= (state.sessions.get(detail.id)?.lastSeq ?? 0);
}

/**
 * Loads a session's detail from REST (`GET /api/sessions/{id}`), then subscribe to its
 * stream with `since = detail.lastSeq`. The detail replaces what the app had for the
 * session; check isDetailCurrent first. The timeline keeps the events it had.
 */
export function loadDetail(state: State, detail: SessionDetail): State {
  const { chains, answers, fileChanges, ...session } = detail;
  const draft: Draft = { ...state, version: state.version + 1 };
  dropChangedUnlessAgrees(draft, session);
  const previous = draft.details.get(session.id);
  draft.sessions.set(session.id, session);
  draft.details.set(session.id, {
    chains,
    answers,
    fileChanges,
    events: previous?.events ?? [],
    eventsVersion: (previous?.eventsVersion ?? 0) + 1,
    version: (previous?.version ?? 0) + 1,
  });
  draft.tracks.set(session.id, newTrack(session.lastSeq));
  draft.steps.set(session.id, stepIndexOf(chains));
  draft.needsSteps.delete(session.id);
  if (session.pendingCommands.length > 0) {
    draft.commands.set(session.id, mergeCommands(draft.commands.get(session.id), session.pendingCommands));
  }
  draft.missing.delete(session.id);
  unpark(draft, session.id);
  return draft;
}

/**
 * Seeds the step index of a session the app holds without its detail (it was named in
 * `needsSteps`), from a detail fetched for that. A detail at least as new as the
 * session also replaces it, setting its step counts right; an older one is dropped
 * (the session is asked for again on its next unknown step).
 */
export function loadSteps(state: State, detail: SessionDetail): State {
  const draft: Draft = { ...state, version: state.version + 1 };
  draft.needsSteps.delete(detail.id);
  const known = draft.sessions.get(detail.id);
  if (known === undefined || draft.details.has(detail.id) || detail.lastSeq < known.lastSeq) return draft;
  const { chains, answers: _answers, fileChanges: _files, ...session } = detail;
  draft.sessions.set(session.id, session);
  draft.tracks.set(session.id, newTrack(session.lastSeq));
  draft.steps.set(session.id, stepIndexOf(chains));
  return draft;
}

/** Merges a session's commands from REST (`GET /api/sessions/{id}/commands`). */
export function loadCommands(state: State, sessionId: SessionId, commands: readonly Command[]): State {
  if (!state.sessions.has(sessionId)) return state;
  state.commands.set(sessionId, mergeCommands(state.commands.get(sessionId), commands));
  return { ...state, version: state.version + 1 };
}

/** The seq to subscribe to a session's stream from (its folded own-stream position). */
export function streamSeq(state: State, sessionId: SessionId): number | undefined {
  return state.tracks.get(sessionId)?.stream;
}

/**
 * Adds past events to a session's timeline (from `GET /api/sessions/{id}/events`),
 * without folding them: the detail snapshot already contains their effect.
 */
export function loadEvents(state: State, sessionId: SessionId, events: readonly WorkspaceEvent[]): State {
  const detail = state.details.get(sessionId);
  if (detail === undefined) return state;
  const sorted = events.filter((e) => e.sessionId === sessionId).sort((a, b) => a.seq - b.seq);
  const lastNew = sorted[sorted.length - 1];
  if (lastNew === undefined) return state;
  const timeline = detail.events;
  const first = timeline[0];
  if (first === undefined || lastNew.seq < first.seq) {
    timeline.unshift(...sorted); // the usual case: paging back through history
  } else {
    for (const e of sorted) insertBySeq(timeline, e);
  }
  trimTimeline(timeline);
  state.details.set(sessionId, { ...detail, eventsVersion: detail.eventsVersion + 1, version: detail.version + 1 });
  return { ...state, version: state.version + 1 };
}

/** Forgets a session's detail (its view closed and it was unsubscribed). */
export function dropDetail(state: State, sessionId: SessionId): State {
  if (!state.details.delete(sessionId)) return state;
  return { ...state, version: state.version + 1 };
}

/** Stops asking for sessions that could not be fetched (e.g. 404), and drops their events. */
export function forgetMissing(state: State, ids: Iterable<SessionId>): State {
  let changed = false;
  for (const id of ids) {
    state.parked.delete(id);
    changed = state.missing.delete(id) || changed;
  }
  return changed ? { ...state, version: state.version + 1 } : state;
}

/** The server's `progress` frame: a session's counts after events lists do not hear. */
export type ProgressFrame = Extract<ServerMessage, { type: "progress" }>;

/**
 * Takes a session's counts from a `progress` frame. Every event of the session up to
 * `frame.seq` was sent to this socket before the frame, so a frame at least as new as
 * what the app folded replaces the counts outright. A session open in detail hears
 * its whole stream and counts it exactly itself, but for `fileChanges` (distinct files,
 * which only the server counts): that one figure is taken. An older frame (a REST
 * snapshot or a global event came after it) is dropped.
 */
export function applyProgress(state: State, frame: ProgressFrame): State {
  const id = frame.sessionId;
  const known = state.sessions.get(id);
  if (known === undefined || frame.seq < known.lastSeq) return state;
  // A frame that disagrees on the files changed: the app missed some; the server counts.
  if (known.counts.fileChanges !== frame.counts.fileChanges) state.changed.delete(id);
  if (state.details.has(id)) {
    // Folded exactly here, but for the distinct files changed of a session not folded
    // from its start (core/calls.rs): taken from a frame as new as what was folded.
    if (known.counts.fileChanges === frame.counts.fileChanges) return state;
    const draft: Draft = { ...state, version: state.version + 1 };
    draft.sessions.set(id, { ...known, counts: { ...known.counts, fileChanges: frame.counts.fileChanges } });
    return draft;
  }
  const draft: Draft = { ...state, version: state.version + 1 };
  const next: Session = { ...known, counts: frame.counts, lastSeq: frame.seq, updatedAt: frame.updatedAt };
  if (frame.firstPrompt !== undefined) next.firstPrompt = frame.firstPrompt;
  draft.sessions.set(id, next);
  draft.countsSeq.set(id, frame.seq);
  return draft;
}

/**
 * The server said the client fell too far behind: drop everything and mark the state
 * for a refetch over REST (the socket then resumes from the seq the server gave).
 */
export function resync(state: State): State {
  return {
    ...initialState(),
    needsRefetch: true,
    epoch: state.epoch + 1,
    version: state.version + 1,
  };
}
