import type { PermissionBehavior, PermissionRequest, SessionId } from "../../generated";
import { summarizeInput } from "../../state/notices";
import { useWorkspace } from "../../state/useWorkspace";
import { PlanCard } from "./PlanCard";
import { SteerErrorMessage } from "./SteerErrorMessage";
import { useSteer } from "./useSteer";

/** A tool call waiting for permission: the tool, its input, and Allow / Deny. */
export function PermissionCard(props: { sessionId: SessionId; request: PermissionRequest }) {
  if (props.request.toolName === "ExitPlanMode") return <PlanCard {...props} />;
  return <ToolPermissionCard {...props} />;
}

function ToolPermissionCard(props: { sessionId: SessionId; request: PermissionRequest }) {
  const { sessionId, request } = props;
  const { store } = useWorkspace();
  const { busy, error, run } = useSteer();
  const full = JSON.stringify(request.toolInput, null, 2) ?? "";
  const summary = summarizeInput(request.toolInput);

  const decide = (behavior: PermissionBehavior) =>
    void run(behavior === "allow" ? "Allow" : "Deny", () =>
      store.api.decidePermission(sessionId, request.requestId, { behavior }),
    );

  return (
    <div className="permission" data-request-id={request.requestId}>
      <p className="permission__what">
        <span className="permission__tool">{request.toolName}</span>
        <code className="permission__summary">{summary}</code>
      </p>
      {full.length > summary.length ? (
        <details className="permission__input">
          <summary>Full input</summary>
          <pre>{full}</pre>
        </details>
      ) : null}
      <div className="permission__actions">
        <button type="button" className="btn btn--allow" disabled={busy} onClick={() => decide("allow")}>
          Allow
        </button>
        <button type="button" className="btn btn--deny" disabled={busy} onClick={() => decide("deny")}>
          Deny
        </button>
      </div>
      <SteerErrorMessage error={error} />
    </div>
  );
}
