// The session's header: where it runs, who runs it, its state and how long it has run
// (ticking while live), and its counts.
import type { Chain, Session } from "../../generated";
import { sessionTitle } from "../../lib/names";
import { useNow } from "../../lib/time";
import { UsageBar } from "../conversation/UsageBar";
import { isTerminalStatus } from "../../state/events";
import { formatElapsed, subagentCount } from "./model/graph";

function Duration(props: { session: Session }) {
  const { session } = props;
  const live = !isTerminalStatus(session.status);
  const now = useNow(live ? 1000 : 3_600_000);
  const start = Date.parse(session.startedAt);
  const end = session.endedAt !== undefined ? Date.parse(session.endedAt) : live ? now : Date.parse(session.updatedAt);
  const ms = Number.isNaN(start) || Number.isNaN(end) ? 0 : end - start;
  return (
    <span data-testid="session-duration" data-live={live}>
      {formatElapsed(ms)}
    </span>
  );
}

function Count(props: { label: string; value: number; name: string; bad?: boolean }) {
  return (
    <div className={props.bad === true && props.value > 0 ? "count-box count-box--bad" : "count-box"} data-count={props.name}>
      <span className="count-box__value">{props.value.toLocaleString()}</span>
      <span className="count-box__label">{props.label}</span>
    </div>
  );
}

export function DetailHeader(props: { session: Session; chains: readonly Chain[] }) {
  const { session, chains } = props;
  const c = session.counts;
  return (
    <header className="detail-header" data-testid="detail-header">
      <div className="detail-header__top">
        <h2 className="detail-header__title" title={session.title ?? session.firstPrompt ?? session.cwd}>
          {sessionTitle(session, session.id)}
        </h2>
        <span className={`status status--${session.status}`} data-testid="session-status">
          {session.status}
        </span>
        {session.paused && session.status !== "paused" ? <span className="status status--paused">paused</span> : null}
      </div>
      <dl className="detail-header__facts">
        <div>
          <dt>cwd</dt>
          <dd>
            <code data-testid="session-cwd">{session.cwd}</code>
          </dd>
        </div>
        <div>
          <dt>host</dt>
          <dd data-testid="session-host">{session.hostname ?? "—"}</dd>
        </div>
        <div>
          <dt>user</dt>
          <dd data-testid="session-user">{session.user ?? "—"}</dd>
        </div>
        <div>
          <dt>model</dt>
          <dd data-testid="session-model">{session.model ?? "—"}</dd>
        </div>
        <div>
          <dt>started</dt>
          <dd>
            <time dateTime={session.startedAt}>{new Date(session.startedAt).toLocaleString()}</time>
          </dd>
        </div>
        <div>
          <dt>duration</dt>
          <dd>
            <Duration session={session} />
          </dd>
        </div>
      </dl>
      <div className="detail-header__counts" aria-label="Counts">
        <Count label="prompts" name="prompts" value={c.prompts} />
        <Count label="tool calls" name="toolCalls" value={c.toolCalls} />
        <Count label="failures" name="failures" value={c.failures} bad />
        <Count label="subagents" name="subagents" value={subagentCount(chains)} />
        <Count label="files changed" name="fileChanges" value={c.fileChanges} />
        <Count label="steps" name="steps" value={c.steps} />
        <Count label="events" name="events" value={c.events} />
      </div>
      <UsageBar session={session} />
      {session.summary !== undefined ? <p className="detail-header__summary">{session.summary}</p> : null}
    </header>
  );
}
