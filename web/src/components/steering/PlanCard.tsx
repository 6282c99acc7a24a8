import { useId, useState, type FormEvent } from "react";
import type { PermissionRequest, SessionId } from "../../generated";
import { useWorkspace } from "../../state/useWorkspace";
import { SteerErrorMessage } from "./SteerErrorMessage";
import { useSteer } from "./useSteer";

/** The plan of an `ExitPlanMode` call (the hook attaches the plan file's text as `plan`). */
export function planOf(request: PermissionRequest): string | null {
  const input = request.toolInput;
  if (typeof input !== "object" || input === null || Array.isArray(input)) return null;
  const plan = (input as Record<string, unknown>).plan;
  return typeof plan === "string" && plan.trim() !== "" ? plan : null;
}

/**
 * Claude asks to leave plan mode: the plan, Approve (allow), or Send back with feedback
 * (deny with the feedback as message, which Claude reads and revises the plan on).
 */
export function PlanCard(props: { sessionId: SessionId; request: PermissionRequest }) {
  const { sessionId, request } = props;
  const { store } = useWorkspace();
  const { busy, error, run } = useSteer();
  const [feedback, setFeedback] = useState("");
  const inputId = useId();
  const plan = planOf(request) ?? "(Claude Code did not share the plan's text.)";

  const approve = () =>
    void run("Approve plan", () =>
      store.api.decidePermission(sessionId, request.requestId, { behavior: "allow" }),
    );

  const sendBack = (e: FormEvent) => {
    e.preventDefault();
    const message = feedback.trim();
    if (message === "") return;
    void run("Send back", () =>
      store.api.decidePermission(sessionId, request.requestId, { behavior: "deny", message }),
    );
  };

  return (
    <div className="permission permission--plan" data-request-id={request.requestId}>
      <p className="permission__what">
        <span className="permission__tool">Plan</span> Claude is ready to leave plan mode with this plan:
      </p>
      <pre className="permission__plan">{plan}</pre>
      <div className="permission__actions">
        <button type="button" className="btn btn--allow" disabled={busy} onClick={approve}>
          Approve plan
        </button>
      </div>
      <form className="question__form" onSubmit={sendBack}>
        <label className="visually-hidden" htmlFor={inputId}>
          Feedback on the plan
        </label>
        <input
          id={inputId}
          className="question__input"
          type="text"
          placeholder="What should change in the plan…"
          autoComplete="off"
          value={feedback}
          onChange={(e) => setFeedback(e.target.value)}
        />
        <button type="submit" className="btn btn--deny" disabled={busy || feedback.trim() === ""}>
          Send back
        </button>
      </form>
      <SteerErrorMessage error={error} />
    </div>
  );
}
