// The chain graph: a session's steps (chain steps, Task/Agent calls, subagents) as
// nodes, with waits-for and parent-child edges, laid out by dagre. The layout depends
// only on the graph's shape (nodes and edges), so status changes repaint a node
// without moving anything; a new step lays the graph out again.
import dagre from "@dagrejs/dagre";
import type { Chain, ChainStep, StepStatus } from "../../../generated";

export interface GraphNode {
  readonly id: string;
  readonly step: ChainStep;
  readonly chainId: string;
  readonly chainName?: string;
  /** The session's main agent (not a step): the root every top-level step hangs from. */
  readonly main?: boolean;
}

/** The main agent's node id (no step id can be it: step ids never hold NUL). */
export const MAIN_NODE = "\u0000main";

/**
 * The graph with the main agent as its root: a node for the session's main thread,
 * with a "spawned" edge to every step no other step spawned (its Task/Agent calls, a
 * compiled chain's first steps). `status` is the main agent's (running while the
 * session is live).
 */
export function withMainAgent(model: GraphModel, status: StepStatus, label = "Main agent"): GraphModel {
  if (model.nodes.length === 0) return model;
  const main: GraphNode = {
    id: MAIN_NODE,
    chainId: "",
    main: true,
    step: { id: MAIN_NODE, chainId: "", name: label, kind: "task", status, waitsFor: [] },
  };
  const known = new Set(model.nodes.map((n) => n.id));
  const roots = model.nodes.filter((n) => n.step.parentStepId === undefined || !known.has(n.step.parentStepId));
  // A step that waits on another is reached through it; only the first ones hang from main.
  const edges: GraphEdge[] = roots
    .filter((n) => n.step.waitsFor.every((w) => !known.has(w)))
    .map((n) => ({ kind: "parent" as const, from: MAIN_NODE, to: n.id }));
  return {
    nodes: [main, ...model.nodes],
    edges: [...edges, ...model.edges],
    shapeKey: `main\u0003${model.shapeKey}\u0003${edges.length}`,
  };
}

export interface GraphEdge {
  /** `waits`: `to` waits for `from`; `parent`: `from` spawned `to`. */
  readonly kind: "waits" | "parent";
  readonly from: string;
  readonly to: string;
}

export interface GraphModel {
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
  /** A string naming the shape (nodes and edges, not statuses): a layout's cache key. */
  readonly shapeKey: string;
}

/** Steps in order of their start (those not started yet last, in their own order). */
export function byStart<T>(steps: readonly T[], startOf: (item: T) => string | undefined): T[] {
  const at = (s: T) => {
    const start = startOf(s);
    const t = start !== undefined ? Date.parse(start) : Number.NaN;
    return Number.isNaN(t) ? Number.POSITIVE_INFINITY : t;
  };
  return steps
    .map((step, i) => ({ step, i, t: at(step) }))
    .sort((a, b) => (a.t === b.t ? a.i - b.i : a.t < b.t ? -1 : 1))
    .map((x) => x.step);
}

/**
 * The graph of a session's chains, its nodes in order of their start (so siblings are
 * laid out left to right as they started). Edges to steps the session does not know
 * are left out.
 */
export function buildGraph(chains: readonly Chain[]): GraphModel {
  const all: GraphNode[] = [];
  const seen = new Set<string>();
  for (const chain of chains) {
    for (const step of chain.steps) {
      if (seen.has(step.id)) continue;
      seen.add(step.id);
      all.push({ id: step.id, step, chainId: chain.id, ...(chain.name !== undefined ? { chainName: chain.name } : {}) });
    }
  }
  const nodes = byStart(all, (n) => n.step.startedAt);
  const edges: GraphEdge[] = [];
  const edgeKeys = new Set<string>();
  const addEdge = (edge: GraphEdge) => {
    const key = `${edge.kind}|${edge.from}|${edge.to}`;
    if (edge.from === edge.to || edgeKeys.has(key) || !seen.has(edge.from) || !seen.has(edge.to)) return;
    edgeKeys.add(key);
    edges.push(edge);
  };
  for (const { step } of nodes) {
    if (step.parentStepId !== undefined) addEdge({ kind: "parent", from: step.parentStepId, to: step.id });
    for (const dep of step.waitsFor) addEdge({ kind: "waits", from: dep, to: step.id });
  }
  const shapeKey = `${nodes.map((n) => n.id).join("\u0001")}\u0002${edges.map((e) => `${e.kind}|${e.from}|${e.to}`).join("\u0001")}`;
  return { nodes, edges, shapeKey };
}

export const NODE_WIDTH = 232;
export const NODE_HEIGHT = 58;

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface GraphLayout {
  readonly width: number;
  readonly height: number;
  /** Top-left corner of each node. */
  readonly nodes: ReadonlyMap<string, Point>;
  /** Each edge's polyline, in `edges` order. */
  readonly edges: readonly (readonly Point[])[];
}

const MARGIN = 16;

/**
 * Lays the graph out top to bottom (dagre): the main agent on top, the steps it spawned
 * below it, each subagent under the call that spawned it. Edges are routed around
 * nodes (dagre's dummy nodes on long edges).
 */
export function layoutGraph(model: GraphModel): GraphLayout {
  if (model.nodes.length === 0) return { width: 0, height: 0, nodes: new Map(), edges: [] };
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 28, ranksep: 64, edgesep: 16, marginx: MARGIN, marginy: MARGIN });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of model.nodes) g.setNode(node.id, { width: NODE_WIDTH, height: NODE_HEIGHT });
  model.edges.forEach((edge, i) => g.setEdge(edge.from, edge.to, { weight: edge.kind === "parent" ? 2 : 1 }, `e${i}`));
  dagre.layout(g);

  const nodes = new Map<string, Point>();
  let width = 0;
  let height = 0;
  for (const node of model.nodes) {
    const n = g.node(node.id);
    const x = (n?.x ?? 0) - NODE_WIDTH / 2;
    const y = (n?.y ?? 0) - NODE_HEIGHT / 2;
    nodes.set(node.id, { x, y });
    width = Math.max(width, x + NODE_WIDTH);
    height = Math.max(height, y + NODE_HEIGHT);
  }
  // Node centres' heights: a point at one is in a rank's band (only vertical travel is
  // free there, down a column dagre kept clear); any other point is in a gap between
  // ranks, where horizontal travel crosses nothing.
  const bands = new Set<number>();
  for (const p of nodes.values()) bands.add(Math.round(p.y + NODE_HEIGHT / 2));
  const inGap = (p: Point) => !bands.has(Math.round(p.y));
  const edges = model.edges.map((edge, i) => {
    const raw = (g.edge({ v: edge.from, w: edge.to, name: `e${i}` })?.points ?? []).map((p: Point) => ({ x: p.x, y: p.y }));
    const from = nodes.get(edge.from);
    const to = nodes.get(edge.to);
    if (from === undefined || to === undefined) return raw;
    const points = orthogonal(
      { x: from.x + NODE_WIDTH / 2, y: from.y + NODE_HEIGHT },
      raw.slice(1, -1),
      { x: to.x + NODE_WIDTH / 2, y: to.y },
      inGap,
    );
    for (const p of points) {
      width = Math.max(width, p.x);
      height = Math.max(height, p.y);
    }
    return points;
  });
  const total = Math.ceil(width + MARGIN);
  // Rows read left to right in start order (model.nodes' order): dagre may lay siblings
  // out mirrored, and a mirror image of the layout is as free of crossings.
  if (outOfOrder(model, nodes) > 0) {
    const flipX = (x: number) => total - x;
    const mirrored = new Map<string, Point>();
    for (const [id, p] of nodes) mirrored.set(id, { x: flipX(p.x + NODE_WIDTH), y: p.y });
    if (outOfOrder(model, mirrored) < outOfOrder(model, nodes)) {
      return {
        width: total,
        height: Math.ceil(height + MARGIN),
        nodes: mirrored,
        edges: edges.map((points) => points.map((p: Point) => ({ x: flipX(p.x), y: p.y }))),
      };
    }
  }
  return { width: total, height: Math.ceil(height + MARGIN), nodes, edges };
}

/** Pairs of nodes in one row whose left-to-right order is not their order in `model.nodes`. */
function outOfOrder(model: GraphModel, nodes: ReadonlyMap<string, Point>): number {
  const rows = new Map<number, number[]>();
  for (const node of model.nodes) {
    const p = nodes.get(node.id);
    if (p === undefined) continue;
    const y = Math.round(p.y);
    const row = rows.get(y);
    if (row === undefined) rows.set(y, [p.x]);
    else row.push(p.x);
  }
  let n = 0;
  for (const xs of rows.values()) for (let i = 0; i < xs.length; i++) for (let j = i + 1; j < xs.length; j++) if ((xs[i] as number) > (xs[j] as number)) n++;
  return n;
}

/**
 * An edge from the bottom centre of its source to the top centre of its target through
 * dagre's interior points, in vertical and horizontal runs only: horizontal runs only in
 * the gaps between ranks, vertical runs down the columns dagre reserved, so no run
 * crosses a node.
 */
function orthogonal(start: Point, interior: readonly Point[], end: Point, inGap: (p: Point) => boolean): Point[] {
  const pts = [start, ...interior, end];
  const out: Point[] = [start];
  for (let i = 0; i + 1 < pts.length; i++) {
    const a = pts[i] as Point;
    const b = pts[i + 1] as Point;
    if (a.x === b.x || a.y === b.y) {
      out.push(b);
    } else if (i > 0 && inGap(a)) {
      out.push({ x: b.x, y: a.y }, b);
    } else if (i + 1 < pts.length - 1 && inGap(b)) {
      out.push({ x: a.x, y: b.y }, b);
    } else {
      const mid = (a.y + b.y) / 2;
      out.push({ x: a.x, y: mid }, { x: b.x, y: mid }, b);
    }
  }
  return out;
}

/** An SVG path through points, its corners rounded (a quadratic curve through each midpoint). */
export function edgePath(points: readonly Point[]): string {
  if (points.length === 0) return "";
  const f = (p: Point) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`;
  const [first, ...rest] = points as [Point, ...Point[]];
  if (rest.length <= 1) return `M${f(first)}${rest.map((p) => ` L${f(p)}`).join("")}`;
  let d = `M${f(first)}`;
  for (let i = 0; i < rest.length - 1; i++) {
    const p = rest[i] as Point;
    const next = rest[i + 1] as Point;
    d += ` Q${f(p)} ${f({ x: (p.x + next.x) / 2, y: (p.y + next.y) / 2 })}`;
  }
  return `${d} L${f(rest[rest.length - 1] as Point)}`;
}

/** How long a step ran (ms): start to end, or to `now` while it runs. */
export function stepDurationMs(step: Pick<ChainStep, "startedAt" | "endedAt" | "status">, now: number): number | undefined {
  if (step.startedAt === undefined) return undefined;
  const start = Date.parse(step.startedAt);
  if (Number.isNaN(start)) return undefined;
  const end = step.endedAt !== undefined ? Date.parse(step.endedAt) : step.status === "running" ? now : Number.NaN;
  if (Number.isNaN(end)) return undefined;
  return Math.max(0, end - start);
}

/** "850 ms", "12.3 s", "4m 05s", "1h 02m": a step's duration. */
export function formatStepDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.floor(ms / 1000);
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

/** "45s", "9m 12s", "2h 05m 10s", "3d 4h": how long a session has run, to the second. */
export function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, "0")}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

/** Counts of steps by status. */
export function statusCounts(model: GraphModel): Record<StepStatus, number> {
  const counts: Record<StepStatus, number> = { pending: 0, running: 0, completed: 0, failed: 0, skipped: 0 };
  for (const node of model.nodes) counts[node.step.status] += 1;
  return counts;
}

/** Finds a step of the chains by id. */
export function findStep(chains: readonly Chain[], stepId: string): ChainStep | undefined {
  for (const chain of chains) for (const step of chain.steps) if (step.id === stepId) return step;
  return undefined;
}

/** The subagents of a session (steps of kind `subagent`). */
export function subagentCount(chains: readonly Chain[]): number {
  let n = 0;
  for (const chain of chains) for (const step of chain.steps) if (step.kind === "subagent") n++;
  return n;
}
