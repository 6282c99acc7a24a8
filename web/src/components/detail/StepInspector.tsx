// A step, opened from the graph (or a link): what it was given, what it produced or why
// it failed, how long it ran, the tool calls inside it (events with its stepId) and the
// files it touched.
import { stepName } from "../../lib/names";
import { Markdown } from "../text/Markdown";
import { useMemo } from "react";
import type { Chain, ChainStep, JsonValue, WorkspaceEvent } from "../../generated";
import { useNow } from "../../lib/time";
import { findStep, formatStepDuration, stepDurationMs } from "./model/graph";
import { hasContent } from "./model/json";
import type { TouchedFile } from "./model/files";
import { oneLine, shortenPaths } from "./model/rows";
import { responseText, stepCalls, toolHeadline } from "./model/tools";
import { JsonBlock, ToolCallView } from "./ToolCallView";

function Value(props: { label: string; value: JsonValue | undefined }) {
  const { value } = props;
  if (!hasContent(value)) return null;
  const text = typeof value === "string" ? value : responseText(value);
  if (text !== undefined && typeof value === "string") {
    return (
      <div className="json-block">
        <div className="json-block__label">{props.label}</div>
        <pre className="preview">{text}</pre>
      </div>
    );
  }
  return <JsonBlock label={props.label} value={value} />;
}

function StepLink(props: { step: ChainStep | undefined; id: string; chains: readonly Chain[]; onOpen: (id: string) => void }) {
  return (
    <button type="button" className="link-button" title={props.id} onClick={() => props.onOpen(props.id)}>
      {props.step !== undefined ? stepName(props.step, props.chains).full : props.id}
      {props.step !== undefined ? <span className={`status-dot status-dot--${props.step.status}`}> {props.step.status}</span> : null}
    </button>
  );
}

export interface StepInspectorProps {
  readonly stepId: string;
  readonly chains: readonly Chain[];
  readonly events: readonly WorkspaceEvent[];
  readonly version: number;
  readonly files: readonly TouchedFile[];
  readonly cwd: string;
  readonly href: string;
  readonly onClose: () => void;
  readonly onOpenStep: (stepId: string) => void;
  readonly onOpenFile: (path: string) => void;
  readonly onOpenEvent: (seq: number) => void;
}

export function StepInspector(props: StepInspectorProps) {
  const { stepId, chains, events, version, files, cwd, onOpenStep } = props;
  const step = findStep(chains, stepId);
  const now = useNow(step?.status === "running" ? 1000 : 3_600_000);
  const calls = useMemo(
    () => stepCalls(events, stepId),
    [events, version, stepId],
  );
  const otherEvents = useMemo(
    () =>
      events.filter(
        (e) => e.type !== "tool:used" && "stepId" in e && e.stepId === stepId && (e.type === "error:occurred" || e.type === "terminal:output"),
      ).length,
    [events, version, stepId],
  );
  const children = useMemo(
    () => chains.flatMap((c) => c.steps).filter((s) => s.parentStepId === stepId),
    [chains, stepId],
  );
  const waitedBy = useMemo(() => chains.flatMap((c) => c.steps).filter((s) => s.waitsFor.includes(stepId)), [chains, stepId]);
  const myFiles = files.filter((f) => f.stepId === stepId);

  if (step === undefined) {
    return (
      <aside className="inspector" aria-label={`Step ${stepId}`} data-testid="step-inspector" data-step-id={stepId}>
        <div className="inspector__head">
          <h3>Step {stepId}</h3>
          <button type="button" className="close-button" aria-label="Close" onClick={props.onClose}>
            ×
          </button>
        </div>
        <p className="muted">This session has no step “{stepId}” (yet).</p>
      </aside>
    );
  }

  const duration = stepDurationMs(step, now);
  const resultText = responseText(step.result);
  const chain = chains.find((c) => c.id === step.chainId);
  return (
    <aside className="inspector" aria-label={`Step ${stepName(step, chains).full}`} data-testid="step-inspector" data-step-id={stepId}>
      <div className="inspector__head">
        <h3>
          {stepName(step, chains).title} <span className={`step-status step-status--${step.status}`}>{step.status}</span>
        </h3>
        <a className="link-button" href={props.href} title="A link to this step">
          Link
        </a>
        <button type="button" className="close-button" aria-label="Close" onClick={props.onClose}>
          ×
        </button>
      </div>
      <dl className="facts">
        <dt>Kind</dt>
        <dd>
          {step.kind}
          {step.agentType !== undefined ? ` · ${step.agentType}` : ""}
        </dd>
        <dt>Id</dt>
        <dd>
          <code>{step.id}</code>
        </dd>
        <dt>Chain</dt>
        <dd>{chain?.name ?? step.chainId}</dd>
        <dt>Duration</dt>
        <dd data-testid="step-duration">{duration !== undefined ? formatStepDuration(duration) : "—"}</dd>
        {step.startedAt !== undefined ? (
          <>
            <dt>Started</dt>
            <dd>{new Date(step.startedAt).toLocaleString()}</dd>
          </>
        ) : null}
        {step.parentStepId !== undefined ? (
          <>
            <dt>Spawned by</dt>
            <dd>
              <StepLink id={step.parentStepId} step={findStep(chains, step.parentStepId)} chains={chains} onOpen={onOpenStep} />
            </dd>
          </>
        ) : null}
        {step.waitsFor.length > 0 ? (
          <>
            <dt>Waits for</dt>
            <dd>
              {step.waitsFor.map((id) => (
                <StepLink key={id} id={id} step={findStep(chains, id)} chains={chains} onOpen={onOpenStep} />
              ))}
            </dd>
          </>
        ) : null}
        {children.length > 0 ? (
          <>
            <dt>Spawned</dt>
            <dd>
              {children.map((c) => (
                <StepLink key={c.id} id={c.id} step={c} chains={chains} onOpen={onOpenStep} />
              ))}
            </dd>
          </>
        ) : null}
        {waitedBy.length > 0 ? (
          <>
            <dt>Needed by</dt>
            <dd>
              {waitedBy.map((c) => (
                <StepLink key={c.id} id={c.id} step={c} chains={chains} onOpen={onOpenStep} />
              ))}
            </dd>
          </>
        ) : null}
      </dl>
      {step.error !== undefined ? (
        <p className="tool-call__error" role="alert">
          {step.error}
        </p>
      ) : null}
      <Value label="Input" value={step.input} />
      {resultText !== undefined ? (
        <section className="inspector__section" aria-label="Result">
          <h4>Result</h4>
          <Markdown text={resultText} className="md--block" />
        </section>
      ) : (
        <Value label="Result" value={step.result} />
      )}

      <section className="inspector__section" aria-label="Tool calls in this step">
        <h4>
          Tool calls <span className="count">{calls.length}</span>
          {otherEvents > 0 ? <span className="muted"> · {otherEvents} output and error events</span> : null}
        </h4>
        {calls.length === 0 ? <p className="muted">No tool calls of this step among the loaded events.</p> : null}
        <ul className="step-calls">
          {calls.map((call) => (
            <li key={call.key}>
              <details className={call.status === "failed" ? "step-call step-call--failed" : "step-call"}>
                <summary>
                  <span className="tool-call__name">{call.toolName}</span> {oneLine(shortenPaths(toolHeadline(call.toolName, call.input), cwd), 80)}
                  <span className={`tool-status tool-status--${call.status}`}>{call.status}</span>
                </summary>
                <ToolCallView call={call} chains={chains} cwd={cwd} onOpenStep={onOpenStep} />
                <button type="button" className="link-button" onClick={() => props.onOpenEvent(call.seq)}>
                  Show in the timeline
                </button>
              </details>
            </li>
          ))}
        </ul>
      </section>

      <section className="inspector__section" aria-label="Files this step touched" data-testid="step-files">
        <h4>
          Files <span className="count">{myFiles.length}</span>
        </h4>
        {myFiles.length === 0 ? <p className="muted">No files touched by this step.</p> : null}
        <ul className="file-list">
          {myFiles.map((f) => (
            <li key={f.path} className="file-item" data-path={f.path}>
              <button type="button" className="link-button" disabled={!f.inCwd} onClick={() => props.onOpenFile(f.path)}>
                <code>{f.path}</code>
              </button>{" "}
              <span className="muted">{f.accesses.join(", ")}</span>
            </li>
          ))}
        </ul>
      </section>
    </aside>
  );
}
