import { useState } from "react";
import type { CommandType, Session } from "../../generated";
import { isTerminalStatus } from "../../state/events";
import { useWorkspace } from "../../state/useWorkspace";
import { SteerErrorMessage } from "./SteerErrorMessage";
import { useSteer } from "./useSteer";

const LABELS: Record<CommandType, string> = {
  pause: "Pause",
  resume: "Resume",
  cancel: "Cancel",
  retry: "Retry step",
  skip: "Skip step",
};

/** Whether a command makes sense for the session now. */
export function commandEnabled(session: Session, type: CommandType): boolean {
  if (isTerminalStatus(session.status)) return false;
  switch (type) {
    case "pause":
      return !session.paused;
    case "resume":
      return session.paused;
    case "cancel":
    case "retry":
    case "skip":
      return true;
  }
}

/** Pause, resume, cancel, retry and skip: each issues a command the agent acknowledges. */
export function CommandBar(props: { session: Session; currentStepName?: string | undefined }) {
  const { session } = props;
  const { store } = useWorkspace();
  const { busy, error, run } = useSteer();
  const [confirmCancel, setConfirmCancel] = useState(false);

  const issue = (type: CommandType) => {
    setConfirmCancel(false);
    const stepId = type === "retry" || type === "skip" ? session.currentStepId : undefined;
    void run(LABELS[type], () =>
      store.api.issueCommand(session.id, stepId === undefined ? { type } : { type, stepId }),
    );
  };

  const button = (type: CommandType) => (
    <button
      key={type}
      type="button"
      className={`btn btn--command btn--${type}`}
      data-command={type}
      disabled={busy || !commandEnabled(session, type)}
      onClick={() => (type === "cancel" && !confirmCancel ? setConfirmCancel(true) : issue(type))}
    >
      {type === "cancel" && confirmCancel ? "Confirm cancel" : LABELS[type]}
    </button>
  );

  return (
    <div className="command-bar">
      <div className="command-bar__buttons" role="group" aria-label="Steer the session">
        {(["pause", "resume", "cancel", "retry", "skip"] as const).map(button)}
        {confirmCancel ? (
          <button type="button" className="btn btn--ghost" onClick={() => setConfirmCancel(false)}>
            Keep running
          </button>
        ) : null}
      </div>
      {session.currentStepId !== undefined ? (
        <p className="command-bar__hint">
          Retry and skip target the running step “{props.currentStepName ?? session.currentStepId}”.
        </p>
      ) : null}
      <SteerErrorMessage error={error} />
    </div>
  );
}
