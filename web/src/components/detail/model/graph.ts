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

/** The graph of a session's chains. Edges to steps the session does not know are left out. */
export function buildGraph(chains: readonly Chain[]): GraphModel {
  const nodes: GraphNode[] = [];
  const seen = new Set<string>();
  for (const chain of chains) {
    for (const step of chain.steps) {
      if (seen.has(step.id)) continue;
      seen.add(step.id);
      nodes.push({ id: step.id, step, chainId: chain.id, ...(chain.name !== undefined ? { chainName: chain.name } : {}) });
    }
  }
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

export const NODE_WIDTH = 200;
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

/** Lays the graph out left to right (dagre). */
export function layoutGraph(model: GraphModel): GraphLayout {
  if (model.nodes.length === 0) return { width: 0, height: 0, nodes: new Map(), edges: [] };
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "LR", nodesep: 24, ranksep: 56, edgesep: 12, marginx: MARGIN, marginy: MARGIN });
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
  const edges = model.edges.map((edge, i) => {
    const points = (g.edge({ v: edge.from, w: edge.to, name: `e${i}` })?.points ?? []).map((p: Point) => ({ x: p.x, y: p.y }));
    for (const p of points) {
      width = Math.max(width, p.x);
      height = Math.max(height, p.y);
    }
    return points;
  });
  return { width: Math.ceil(width + MARGIN), height: Math.ceil(height + MARGIN), nodes, edges };
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
