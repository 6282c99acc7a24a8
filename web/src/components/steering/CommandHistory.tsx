import type { Command } from "../../generated";
import { formatDuration, since, useNow } from "../../lib/time";

/** A session's commands, newest first, each pending until the agent acknowledges it. */
export function CommandHistory(props: { commands: readonly Command[] | undefined }) {
  const now = useNow(5000);
  const commands = [...(props.commands ?? [])].reverse();
  if (commands.length === 0) return <p className="empty">No commands issued yet.</p>;
  return (
    <ol className="commands" aria-label="Commands">
      {commands.map((c) => (
        <li key={c.id} className="commands__item" data-command-id={c.id} data-command={c.type} data-status={c.status}>
          <span className="commands__type">{c.type}</span>
          {c.stepId !== undefined ? <span className="commands__step">step {c.stepId}</span> : null}
          <span className={`command-status command-status--${c.status}`}>{c.status}</span>
          <span className="commands__when">
            issued {formatDuration(since(c.issuedAt, now))} ago
            {c.issuedBy !== undefined ? ` by ${c.issuedBy}` : null}
            {c.acknowledgedAt !== undefined ? ` · acknowledged ${formatDuration(since(c.acknowledgedAt, now))} ago` : null}
          </span>
          {c.note !== undefined ? <span className="commands__note">“{c.note}”</span> : null}
        </li>
      ))}
    </ol>
  );
}
