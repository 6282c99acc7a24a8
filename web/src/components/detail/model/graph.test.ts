import { describe, expect, test } from "vitest";
import type { Chain, ChainStep } from "../../../generated";
import {
  buildGraph,
  edgePath,
  findStep,
  formatElapsed,
  formatStepDuration,
  layoutGraph,
  NODE_HEIGHT,
  NODE_WIDTH,
  statusCounts,
  stepDurationMs,
  subagentCount,
  MAIN_NODE,
  withMainAgent,
} from "./graph";

const step = (id: string, extra: Partial<ChainStep> = {}): ChainStep => ({
  id,
  chainId: "main",
  name: id,
  kind: "task",
  status: "pending",
  waitsFor: [],
  ...extra,
});

const chain = (steps: ChainStep[], id = "main"): Chain => ({ id, sessionId: "s1", status: "running", steps });

// Three Agent calls (c waits for a and b), each with its subagent.
const session: Chain[] = [
  chain([
    step("task-a", { status: "completed" }),
    step("task-b", { status: "completed" }),
    step("agent-a", { kind: "subagent", parentStepId: "task-a", status: "completed" }),
    step("agent-b", { kind: "subagent", parentStepId: "task-b", status: "completed" }),
    step("task-c", { waitsFor: ["task-a", "task-b"], status: "running" }),
    step("agent-c", { kind: "subagent", parentStepId: "task-c", status: "running", waitsFor: ["ghost"] }),
  ]),
];

describe("graph model", () => {
  test("steps are nodes; parents and waits-for are edges; unknown steps are left out", () => {
    const g = buildGraph(session);
    expect(g.nodes.map((n) => n.id)).toEqual(["task-a", "task-b", "agent-a", "agent-b", "task-c", "agent-c"]);
    expect(g.edges).toEqual([
      { kind: "parent", from: "task-a", to: "agent-a" },
      { kind: "parent", from: "task-b", to: "agent-b" },
      { kind: "waits", from: "task-a", to: "task-c" },
      { kind: "waits", from: "task-b", to: "task-c" },
      { kind: "parent", from: "task-c", to: "agent-c" },
    ]);
    expect(subagentCount(session)).toBe(3);
    expect(findStep(session, "agent-b")?.parentStepId).toBe("task-b");
    expect(statusCounts(g)).toEqual({ pending: 0, running: 2, completed: 4, failed: 0, skipped: 0 });
  });

  test("a step in two chains is one node; self and duplicate edges are dropped", () => {
    const g = buildGraph([chain([step("x", { waitsFor: ["x", "y", "y"] }), step("y")]), chain([step("x")], "other")]);
    expect(g.nodes).toHaveLength(2);
    expect(g.edges).toEqual([{ kind: "waits", from: "y", to: "x" }]);
  });

  test("the shape key ignores statuses, so a status change does not lay out again", () => {
    const a = buildGraph(session);
    const moved = session.map((c) => ({ ...c, steps: c.steps.map((s) => ({ ...s, status: "failed" as const })) }));
    expect(buildGraph(moved).shapeKey).toBe(a.shapeKey);
    const grown = [chain([...(session[0]?.steps ?? []), step("task-d")])];
    expect(buildGraph(grown).shapeKey).not.toBe(a.shapeKey);
  });

  test("dagre places every node without overlaps, top to bottom along the edges", () => {
    const g = buildGraph(session);
    const layout = layoutGraph(g);
    expect(layout.nodes.size).toBe(6);
    const boxes = [...layout.nodes.entries()];
    for (const [i, [, a]] of boxes.entries()) {
      expect(a.x).toBeGreaterThanOrEqual(0);
      expect(a.y).toBeGreaterThanOrEqual(0);
      expect(a.x + NODE_WIDTH).toBeLessThanOrEqual(layout.width);
      expect(a.y + NODE_HEIGHT).toBeLessThanOrEqual(layout.height);
      for (const [, b] of boxes.slice(i + 1)) {
        const overlap = a.x < b.x + NODE_WIDTH && b.x < a.x + NODE_WIDTH && a.y < b.y + NODE_HEIGHT && b.y < a.y + NODE_HEIGHT;
        expect(overlap).toBe(false);
      }
    }
    for (const e of g.edges) expect(layout.nodes.get(e.from)!.y).toBeLessThan(layout.nodes.get(e.to)!.y);
    expect(layout.edges).toHaveLength(g.edges.length);
    for (const points of layout.edges) expect(points.length).toBeGreaterThanOrEqual(2);
    expect(layoutGraph(buildGraph([]))).toEqual({ width: 0, height: 0, nodes: new Map(), edges: [] });
  });

  test("edge paths", () => {
    expect(edgePath([])).toBe("");
    expect(edgePath([{ x: 0, y: 0 }, { x: 10, y: 5 }])).toBe("M0.0,0.0 L10.0,5.0");
    expect(edgePath([{ x: 0, y: 0 }, { x: 10, y: 0 }, { x: 10, y: 10 }])).toBe("M0.0,0.0 Q10.0,0.0 10.0,5.0 L10.0,10.0");
  });
});

describe("durations", () => {
  test("a step's duration: start to end, or to now while running", () => {
    const startedAt = "2026-01-01T00:00:00.000Z";
    const start = Date.parse(startedAt);
    expect(stepDurationMs({ status: "completed", startedAt, endedAt: "2026-01-01T00:00:02.500Z" }, 0)).toBe(2500);
    expect(stepDurationMs({ status: "running", startedAt }, start + 7000)).toBe(7000);
    expect(stepDurationMs({ status: "pending" }, start)).toBeUndefined();
    expect(stepDurationMs({ status: "failed", startedAt }, start)).toBeUndefined();
  });

  test("formats", () => {
    expect(formatStepDuration(850)).toBe("850 ms");
    expect(formatStepDuration(12_340)).toBe("12.3 s");
    expect(formatStepDuration(245_000)).toBe("4m 05s");
    expect(formatStepDuration(3_720_000)).toBe("1h 02m");
    expect(formatElapsed(45_000)).toBe("45s");
    expect(formatElapsed(552_000)).toBe("9m 12s");
    expect(formatElapsed(7_510_000)).toBe("2h 05m 10s");
    expect(formatElapsed(100_000_000)).toBe("1d 3h");
  });
});

describe("a graph of ten subagents", () => {
  // Ten Agent calls from the main agent, each with its subagent; the last three wait
  // on earlier ones (as an orchestrator's plan does).
  const steps: ChainStep[] = [];
  for (let i = 0; i < 10; i++) {
    steps.push(step(`task-${i}`, { waitsFor: i >= 7 ? [`task-${i - 7}`, `task-${i - 6}`] : [], name: `Task number ${i}` }));
    steps.push(step(`agent-${i}`, { kind: "subagent", parentStepId: `task-${i}`, agentType: "general-purpose" }));
  }
  const model = withMainAgent(buildGraph([chain(steps)]), "running");
  const layout = layoutGraph(model);

  test("has the main agent as its root, above every call it made", () => {
    expect(model.nodes[0]?.id).toBe(MAIN_NODE);
    const roots = model.edges.filter((e) => e.from === MAIN_NODE).map((e) => e.to);
    expect(roots).toEqual(["task-0", "task-1", "task-2", "task-3", "task-4", "task-5", "task-6"]);
    const main = layout.nodes.get(MAIN_NODE) as { x: number; y: number };
    for (let i = 0; i < 10; i++) {
      const task = layout.nodes.get(`task-${i}`) as { y: number };
      const agent = layout.nodes.get(`agent-${i}`) as { y: number };
      expect(task.y).toBeGreaterThan(main.y);
      // Each subagent sits under the call that spawned it.
      expect(agent.y).toBeGreaterThan(task.y);
    }
  });

  test("no edge runs through a node other than its own two", () => {
    const inside = (p: { x: number; y: number }, n: { x: number; y: number }) =>
      p.x > n.x + 1 && p.x < n.x + NODE_WIDTH - 1 && p.y > n.y + 1 && p.y < n.y + NODE_HEIGHT - 1;
    model.edges.forEach((edge, i) => {
      const points = layout.edges[i] ?? [];
      for (let k = 0; k + 1 < points.length; k++) {
        const a = points[k] as { x: number; y: number };
        const b = points[k + 1] as { x: number; y: number };
        for (let t = 0; t <= 1; t += 0.05) {
          const p = { x: a.x + (b.x - a.x) * t, y: a.y + (b.y - a.y) * t };
          for (const [id, n] of layout.nodes) {
            if (id === edge.from || id === edge.to) continue;
            expect(inside(p, n), `${edge.from}→${edge.to} crosses ${id}`).toBe(false);
          }
        }
      }
    });
  });
});

describe("rows in order of start", () => {
  test("five parallel calls and their subagents are laid out left to right as they started", () => {
    // The chain lists them in another order than they started (as parallel hooks report).
    const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    const order = ["c", "a", "e", "b", "d"];
    const started: Record<string, number> = { a: 1, b: 2, c: 3, d: 4, e: 5 };
    const steps: ChainStep[] = [];
    for (const k of order) steps.push(step(`task-${k}`, { startedAt: at(started[k] as number), status: "running" }));
    for (const k of order) steps.push(step(`agent-${k}`, { kind: "subagent", parentStepId: `task-${k}`, startedAt: at((started[k] as number) + 10), status: "running" }));
    const model = withMainAgent(buildGraph([chain(steps)]), "running");
    expect(model.nodes.slice(1, 6).map((n) => n.id)).toEqual(["task-a", "task-b", "task-c", "task-d", "task-e"]);
    const layout = layoutGraph(model);
    const xs = (prefix: string) => ["a", "b", "c", "d", "e"].map((k) => layout.nodes.get(`${prefix}-${k}`)?.x ?? Number.NaN);
    for (const prefix of ["task", "agent"]) {
      const row = xs(prefix);
      expect([...row].sort((p, q) => p - q)).toEqual(row);
    }
  });

  test("steps not started yet come after the started ones, in their own order", () => {
    const model = buildGraph([chain([step("p1"), step("s2", { startedAt: "2026-01-01T00:00:02Z" }), step("p2"), step("s1", { startedAt: "2026-01-01T00:00:01Z" })])]);
    expect(model.nodes.map((n) => n.id)).toEqual(["s1", "s2", "p1", "p2"]);
  });
});
