// The session's tokens and cost for the detail header, with the export downloads.
import { useState } from "react";
import type { Session } from "../../generated";
import { describeUsage, formatTokens, formatUsd } from "../../lib/usage";
import { useWorkspace } from "../../state/useWorkspace";
import "./conversation.css";

/** Downloads the session as Markdown or JSONL (through the API, so a token is sent). */
export function ExportButtons(props: { sessionId: string }) {
  const { store } = useWorkspace();
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const download = async (format: "markdown" | "jsonl") => {
    setBusy(true);
    setError(undefined);
    try {
      const blob = await store.api.exportSession(props.sessionId, format);
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = `chainwatch-${props.sessionId}.${format === "markdown" ? "md" : "jsonl"}`;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <span className="export-buttons">
      <button type="button" className="btn btn--ghost" data-testid="export-markdown" disabled={busy} onClick={() => void download("markdown")}>
        Export Markdown
      </button>
      <button type="button" className="btn btn--ghost" data-testid="export-jsonl" disabled={busy} onClick={() => void download("jsonl")}>
        Export JSONL
      </button>
      {error !== undefined ? (
        <span role="alert" className="error-text">
          Export failed: {error}
        </span>
      ) : null}
    </span>
  );
}

export function UsageBar(props: { session: Session }) {
  const { session } = props;
  const u = session.usage;
  return (
    <div className="usage-facts" data-testid="session-usage" title={describeUsage(u)}>
      <span className="usage-facts__cost" data-testid="session-cost">
        {formatUsd(u.costUsd)}
      </span>
      <span>
        {formatTokens(u.inputTokens + u.cacheReadTokens + u.cacheCreationTokens)} in · {formatTokens(u.outputTokens)} out
      </span>
      <span>context {formatTokens(u.contextTokens)}</span>
      {u.unpricedRequests > 0 ? <span>{u.unpricedRequests} without a price</span> : null}
      <ExportButtons sessionId={session.id} />
    </div>
  );
}

/** The list's cost cell. */
export function CostCell(props: { session: Session }) {
  const u = props.session.usage;
  return (
    <td className="session-row__num session-row__cost" data-testid="session-row-cost" title={describeUsage(u)}>
      {u.requests > 0 ? formatUsd(u.costUsd) : "—"}
    </td>
  );
}
