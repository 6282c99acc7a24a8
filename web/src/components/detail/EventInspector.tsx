// The selected event: what it says for people (a tool call rendered by its tool) and
// its full JSON.
import { useMemo } from "react";
import type { Chain, WorkspaceEvent } from "../../generated";
import { stepNameById } from "../../lib/names";
import { Markdown } from "../text/Markdown";
import { proseOf } from "./model/prose";
import { toRow } from "./model/rows";
import { addToCall, type ToolCall } from "./model/tools";
import { JsonBlock, ToolCallView } from "./ToolCallView";

/** The tool call an event belongs to, from the events around it (same tool_use_id). */
export function callOf(event: WorkspaceEvent, events: readonly WorkspaceEvent[]): ToolCall | undefined {
  if (event.type !== "tool:used") return undefined;
  let call = addToCall(undefined, event);
  if (event.toolUseId === undefined) return call;
  for (const e of events) {
    if (e !== event && e.type === "tool:used" && e.toolUseId === event.toolUseId) call = addToCall(call, e);
  }
  return call;
}

export interface EventInspectorProps {
  readonly event: WorkspaceEvent | undefined;
  readonly seq: number;
  readonly events: readonly WorkspaceEvent[];
  readonly version: number;
  readonly chains: readonly Chain[];
  readonly cwd: string;
  readonly href: string;
  readonly onClose: () => void;
  readonly onOpenStep: (stepId: string) => void;
}

export function EventInspector(props: EventInspectorProps) {
  const { event, seq, events, version, chains, cwd, onOpenStep } = props;
  const call = useMemo(() => (event !== undefined ? callOf(event, events) : undefined), [event, events, version]);
  const row = event !== undefined ? toRow(event, cwd) : undefined;
  const stepId = row?.stepId;
  const prose = event !== undefined ? proseOf(event) : undefined;
  return (
    <aside className="inspector" aria-label={`Event ${seq}`} data-testid="event-inspector" data-seq={seq}>
      <div className="inspector__head">
        <h3>
          Event #{seq}
          {event !== undefined ? <span className="inspector__type"> {event.type}</span> : null}
        </h3>
        <a className="link-button" href={props.href} title="A link to this event">
          Link
        </a>
        <button type="button" className="close-button" aria-label="Close" onClick={props.onClose}>
          ×
        </button>
      </div>
      {event === undefined ? (
        <p className="muted">Loading event #{seq}…</p>
      ) : (
        <>
          <p className="muted">
            {new Date(event.timestamp).toLocaleString()}
            {stepId !== undefined ? (
              <>
                {" · step "}
                <button type="button" className="link-button" title={stepId} onClick={() => onOpenStep(stepId)}>
                  {stepNameById(chains, stepId).full}
                </button>
              </>
            ) : null}
          </p>
          {call !== undefined ? <ToolCallView call={call} chains={chains} cwd={cwd} onOpenStep={onOpenStep} /> : null}
          {call === undefined && prose !== undefined ? <Markdown text={prose} className="md--block" /> : null}
          {call === undefined && prose === undefined && row !== undefined ? (
            <p className={row.failed ? "inspector__text error-text" : "inspector__text"}>{row.text}</p>
          ) : null}
          <details className="inspector__json" open={prose === undefined}>
            <summary>Full JSON</summary>
            <JsonBlock value={event} />
          </details>
        </>
      )}
    </aside>
  );
}
