// The chain graph: steps as nodes (laid out by dagre, drawn as SVG here), waits-for
// edges dashed, parent-child edges solid, status colours by CSS class, duration on each
// node, ticking while it runs. A click (or Enter) opens the step inspector.
import { memo, useMemo, useRef, type KeyboardEvent } from "react";
import type { Chain, ChainStep } from "../../generated";
import { useNow } from "../../lib/time";
import {
  buildGraph,
  edgePath,
  formatStepDuration,
  layoutGraph,
  NODE_HEIGHT,
  NODE_WIDTH,
  statusCounts,
  stepDurationMs,
  type GraphLayout,
  type GraphModel,
} from "./model/graph";

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function NodeDuration(props: { step: ChainStep }) {
  const running = props.step.status === "running";
  // Only running steps tick; a finished step's duration is fixed.
  const now = useNow(running ? 1000 : 3_600_000);
  const ms = stepDurationMs(props.step, now);
  return <>{ms !== undefined ? formatStepDuration(ms) : props.step.status === "pending" ? "not started" : ""}</>;
}

const Node = memo(function Node(props: {
  step: ChainStep;
  x: number;
  y: number;
  selected: boolean;
  onSelect: (id: string) => void;
}) {
  const { step, x, y, selected, onSelect } = props;
  const kindLabel = step.kind === "subagent" ? (step.agentType ?? "subagent") : step.kind;
  const onKeyDown = (e: KeyboardEvent<SVGGElement>) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      onSelect(step.id);
    }
  };
  return (
    <g
      className={`graph-node graph-node--${step.status} graph-node--${step.kind}${selected ? " graph-node--selected" : ""}`}
      transform={`translate(${x.toFixed(1)},${y.toFixed(1)})`}
      role="button"
      tabIndex={0}
      aria-label={`${step.kind} ${step.name}, ${step.status}`}
      aria-pressed={selected}
      data-step-id={step.id}
      data-status={step.status}
      data-kind={step.kind}
      onClick={() => onSelect(step.id)}
      onKeyDown={onKeyDown}
    >
      <title>{`${step.name} (${step.id})`}</title>
      <rect className="graph-node__box" width={NODE_WIDTH} height={NODE_HEIGHT} rx={8} ry={8} />
      <rect className="graph-node__bar" width={6} height={NODE_HEIGHT} rx={3} ry={3} />
      <text className="graph-node__name" x={14} y={22}>
        {cut(step.name, 24)}
      </text>
      <text className="graph-node__meta" x={14} y={42}>
        {cut(kindLabel, 12)} · {step.status} · <NodeDuration step={step} />
      </text>
    </g>
  );
});

export interface ChainGraphProps {
  readonly chains: readonly Chain[];
  readonly selected: string | undefined;
  readonly onSelect: (stepId: string) => void;
}

export function ChainGraph(props: ChainGraphProps) {
  const { chains, selected, onSelect } = props;
  const model: GraphModel = useMemo(() => buildGraph(chains), [chains]);
  // Lay out again only when the shape changes (a status change keeps every position).
  const cache = useRef<{ key: string; layout: GraphLayout } | null>(null);
  if (cache.current === null || cache.current.key !== model.shapeKey) {
    cache.current = { key: model.shapeKey, layout: layoutGraph(model) };
  }
  const layout = cache.current.layout;
  const counts = statusCounts(model);

  if (model.nodes.length === 0) {
    return (
      <section className="graph" aria-label="Chain graph">
        <p className="empty">No steps yet: subagents, Task/Agent calls and chain steps show here as they are spawned.</p>
      </section>
    );
  }

  return (
    <section className="graph" aria-label="Chain graph">
      <p className="graph__legend">
        <span>{model.nodes.length} steps</span>
        {(["running", "pending", "completed", "failed", "skipped"] as const).map((s) =>
          counts[s] > 0 ? (
            <span key={s} className={`legend-dot legend-dot--${s}`}>
              {counts[s]} {s}
            </span>
          ) : null,
        )}
        <span className="legend-edge legend-edge--parent">spawned</span>
        <span className="legend-edge legend-edge--waits">waits for</span>
      </p>
      <div className="graph__scroll">
        <svg
          className="graph__svg"
          width={layout.width}
          height={layout.height}
          viewBox={`0 0 ${layout.width} ${layout.height}`}
          role="group"
          aria-label="Steps and their edges"
        >
          <defs>
            <marker id="cw-arrow-parent" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path className="graph-arrow graph-arrow--parent" d="M0,0 L10,5 L0,10 z" />
            </marker>
            <marker id="cw-arrow-waits" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path className="graph-arrow graph-arrow--waits" d="M0,0 L10,5 L0,10 z" />
            </marker>
          </defs>
          <g className="graph__edges">
            {model.edges.map((edge, i) => (
              <path
                key={`${edge.kind}|${edge.from}|${edge.to}`}
                className={`graph-edge graph-edge--${edge.kind}`}
                d={edgePath(layout.edges[i] ?? [])}
                markerEnd={`url(#cw-arrow-${edge.kind})`}
                data-from={edge.from}
                data-to={edge.to}
                data-kind={edge.kind}
              />
            ))}
          </g>
          <g className="graph__nodes">
            {model.nodes.map((node) => {
              const p = layout.nodes.get(node.id);
              if (p === undefined) return null;
              return (
                <Node key={node.id} step={node.step} x={p.x} y={p.y} selected={node.id === selected} onSelect={onSelect} />
              );
            })}
          </g>
        </svg>
      </div>
    </section>
  );
}
