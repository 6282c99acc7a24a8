// The chain graph: the main agent on top, steps as nodes under what spawned them (laid
// out by dagre, drawn as SVG here), waits-for edges dashed, parent-child edges solid,
// status colours by CSS class, duration on each node, ticking while it runs. Nodes are
// named by their task and agent type (lib/names.ts). Fit and zoom scale the drawing; a
// click (or Enter) on a step opens the step inspector.
import { memo, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from "react";
import type { Chain, ChainStep, StepStatus } from "../../generated";
import { stepName } from "../../lib/names";
import { useNow } from "../../lib/time";
import {
  buildGraph,
  edgePath,
  formatStepDuration,
  layoutGraph,
  MAIN_NODE,
  NODE_HEIGHT,
  withMainAgent,
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
  /** Its name for people, and the agent type (or kind) under it. */
  title: string;
  meta: string;
  main: boolean;
  x: number;
  y: number;
  selected: boolean;
  onSelect: (id: string) => void;
}) {
  const { step, x, y, selected, onSelect } = props;
  if (props.main) {
    return (
      <g className={`graph-node graph-node--main graph-node--${step.status}`} transform={`translate(${x.toFixed(1)},${y.toFixed(1)})`} data-step-id="main" data-kind="main" data-status={step.status}>
        <title>{props.title}</title>
        <rect className="graph-node__box" width={NODE_WIDTH} height={NODE_HEIGHT} rx={8} ry={8} />
        <rect className="graph-node__bar" width={6} height={NODE_HEIGHT} rx={3} ry={3} />
        <text className="graph-node__name" x={14} y={22}>
          {cut(props.title, 30)}
        </text>
        <text className="graph-node__meta" x={14} y={42}>
          {cut(props.meta, 36)}
        </text>
      </g>
    );
  }
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
      aria-label={`${step.kind} ${props.title}, ${step.status}`}
      aria-pressed={selected}
      data-step-id={step.id}
      data-status={step.status}
      data-kind={step.kind}
      onClick={() => onSelect(step.id)}
      onKeyDown={onKeyDown}
    >
      <title>{`${props.title} · ${props.meta} (${step.id})`}</title>
      <rect className="graph-node__box" width={NODE_WIDTH} height={NODE_HEIGHT} rx={8} ry={8} />
      <rect className="graph-node__bar" width={6} height={NODE_HEIGHT} rx={3} ry={3} />
      <text className="graph-node__name" x={14} y={22}>
        {cut(props.title, 30)}
      </text>
      <text className="graph-node__meta" x={14} y={42}>
        {cut(props.meta, 16)} · {step.status} · <NodeDuration step={step} />
      </text>
    </g>
  );
});

export interface ChainGraphProps {
  readonly chains: readonly Chain[];
  /** The main agent's state (running while the session is live) and what it is called. */
  readonly mainStatus?: StepStatus;
  readonly mainLabel?: string;
  readonly selected: string | undefined;
  readonly onSelect: (stepId: string) => void;
}

export function ChainGraph(props: ChainGraphProps) {
  const { chains, selected, onSelect } = props;
  const mainStatus = props.mainStatus ?? "running";
  const steps: GraphModel = useMemo(() => buildGraph(chains), [chains]);
  const model: GraphModel = useMemo(() => withMainAgent(steps, mainStatus), [steps, mainStatus]);
  // Lay out again only when the shape changes (a status change keeps every position).
  const cache = useRef<{ key: string; layout: GraphLayout } | null>(null);
  if (cache.current === null || cache.current.key !== model.shapeKey) {
    cache.current = { key: model.shapeKey, layout: layoutGraph(model) };
  }
  const layout = cache.current.layout;
  const counts = statusCounts(steps);

  // Zoom: a scale of the drawing; "Fit" makes it as wide as the view (never larger).
  const scroller = useRef<HTMLDivElement>(null);
  const [zoom, setZoom] = useState<number | "fit">("fit");
  const [viewWidth, setViewWidth] = useState(0);
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el === null) return;
    const measure = () => setViewWidth(el.clientWidth);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, [model.nodes.length > 0]);
  const fit = layout.width > 0 && viewWidth > 0 ? Math.min(1, (viewWidth - 4) / layout.width) : 1;
  const scale = zoom === "fit" ? fit : zoom;
  const zoomBy = (f: number) => setZoom(Math.min(2, Math.max(0.2, Math.round(scale * f * 100) / 100)));

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
        <span className="graph__zoom" role="group" aria-label="Zoom">
          <button type="button" className="btn btn--ghost" aria-label="Zoom out" onClick={() => zoomBy(0.8)}>
            −
          </button>
          <span className="graph__scale" data-testid="graph-scale">
            {Math.round(scale * 100)}%
          </span>
          <button type="button" className="btn btn--ghost" aria-label="Zoom in" onClick={() => zoomBy(1.25)}>
            +
          </button>
          <button type="button" className="btn btn--ghost" aria-pressed={zoom === "fit"} onClick={() => setZoom("fit")}>
            Fit
          </button>
          <button type="button" className="btn btn--ghost" onClick={() => setZoom(1)}>
            100%
          </button>
        </span>
      </p>
      <div className="graph__scroll" ref={scroller} data-scroll-x>
        <svg
          className="graph__svg"
          width={Math.ceil(layout.width * scale)}
          height={Math.ceil(layout.height * scale)}
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
                data-from={edge.from === MAIN_NODE ? "main" : edge.from}
                data-to={edge.to}
                data-kind={edge.kind}
              />
            ))}
          </g>
          <g className="graph__nodes">
            {model.nodes.map((node) => {
              const p = layout.nodes.get(node.id);
              if (p === undefined) return null;
              const name = node.main === true ? undefined : stepName(node.step, chains);
              const meta =
                node.main === true
                  ? `${steps.nodes.length} steps · ${node.step.status}`
                  : node.step.kind === "task" && node.step.agentType !== undefined
                    ? `call → ${node.step.agentType}`
                    : (node.step.agentType ?? node.step.kind);
              return (
                <Node
                  key={node.id}
                  step={node.step}
                  title={node.main === true ? (props.mainLabel ?? "Main agent") : (name?.title ?? node.step.name)}
                  meta={meta}
                  main={node.id === MAIN_NODE}
                  x={p.x}
                  y={p.y}
                  selected={node.id === selected}
                  onSelect={onSelect}
                />
              );
            })}
          </g>
        </svg>
      </div>
    </section>
  );
}
