// A session's page: its header, what it waits on, the steering commands and its steps.
// The full detail view (timeline, chain graph, files, terminal) is its own component
// tree; this panel is the boundary it plugs into.
import { stepNameById } from "../../lib/names";
import { useEffect } from "react";
import type { Chain } from "../../generated";
import { routeHref } from "../../lib/route";
import { formatDuration, since, useNow } from "../../lib/time";
import { isTerminalStatus } from "../../state/events";
import { useSessionDetail, useWorkspace } from "../../state/useWorkspace";
import { CommandBar } from "../steering/CommandBar";
import { CommandHistory } from "../steering/CommandHistory";
import { PermissionCard } from "../steering/PermissionCard";
import { QuestionCard } from "../steering/QuestionCard";
import { ChainSummary } from "./ChainSummary";
import { SessionHeader } from "./SessionHeader";

function stepName(chains: readonly Chain[] | undefined, stepId: string | undefined): string | undefined {
  if (stepId === undefined) return undefined;
  return stepNameById(chains ?? [], stepId).full;
}

/** The kind of item and how long it has waited. */
function WaitedTag(props: { kind: "question" | "permission"; since: string }) {
  const now = useNow(1000);
  return (
    <div className="needs-item__head">
      <span className={`tag tag--${props.kind}`}>{props.kind}</span>
      <span className="needs-item__waited">waiting {formatDuration(since(props.since, now))}</span>
    </div>
  );
}

export function SessionPanel(props: { id: string }) {
  const { id } = props;
  useSessionDetail(id);
  const { state, store, notFound, loading } = useWorkspace();
  useEffect(() => {
    void store.loadCommands(id);
  }, [store, id]);

  const session = state.sessions.get(id);
  const detail = state.details.get(id);
  const back = (
    <a className="back" href={routeHref({ name: "sessions" })}>
      ← All sessions
    </a>
  );

  if (session === undefined) {
    return (
      <article className="panel session-panel">
        {back}
        <p className="empty" role={notFound.has(id) ? "alert" : undefined}>
          {notFound.has(id) ? `There is no session “${id}”.` : loading ? "Loading…" : "Loading session…"}
        </p>
      </article>
    );
  }

  const waiting = session.awaitingInput !== undefined || session.pendingPermissions.length > 0;
  const ended = isTerminalStatus(session.status);
  return (
    <article className="panel session-panel" data-session-id={id} aria-label={`Session ${id}`}>
      {back}
      <SessionHeader session={session} />
      <section className="session-panel__section" aria-labelledby="steer-waiting">
        <h3 id="steer-waiting">Waiting on you</h3>
        {!waiting ? <p className="empty">{ended ? "The session has ended." : "Nothing waits on you here."}</p> : null}
        {session.awaitingInput !== undefined ? (
          <div className="needs-item needs-item--question" data-kind="question" data-request-id={session.awaitingInput.requestId}>
            <WaitedTag kind="question" since={session.awaitingInput.since} />
            <QuestionCard sessionId={id} question={session.awaitingInput} />
          </div>
        ) : null}
        {session.pendingPermissions.map((p) => (
          <div key={p.requestId} className="needs-item needs-item--permission" data-kind="permission" data-request-id={p.requestId}>
            <WaitedTag kind="permission" since={p.requestedAt} />
            <PermissionCard sessionId={id} request={p} />
          </div>
        ))}
      </section>
      <section className="session-panel__section" aria-labelledby="steer-commands">
        <h3 id="steer-commands">Steer</h3>
        <CommandBar session={session} currentStepName={stepName(detail?.chains, session.currentStepId)} />
        <CommandHistory commands={state.commands.get(id)} />
      </section>
      <section className="session-panel__section" aria-labelledby="steer-steps">
        <h3 id="steer-steps">Steps</h3>
        <ChainSummary chains={detail?.chains} />
      </section>
    </article>
  );
}
