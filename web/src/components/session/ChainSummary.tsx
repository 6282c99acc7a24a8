import type { Chain } from "../../generated";
import { stepName } from "../../lib/names";

/**
 * The session's chains and their steps, as a plain list. The session detail view
 * (timeline, chain graph, step inspector) replaces this.
 */
export function ChainSummary(props: { chains: readonly Chain[] | undefined }) {
  const chains = props.chains;
  if (chains === undefined) return <p className="empty">Loading steps…</p>;
  if (chains.length === 0) return <p className="empty">No chains or steps reported.</p>;
  return (
    <ul className="chains">
      {chains.map((c) => (
        <li key={c.id} className="chains__chain">
          <span className="chains__name">{c.name ?? c.id}</span>
          <span className={`step-status step-status--${c.status}`}>{c.status}</span>
          <ol className="chains__steps">
            {c.steps.map((step) => (
              <li key={step.id} className="chains__step" data-step-id={step.id}>
                <span className={`step-status step-status--${step.status}`}>{step.status}</span> {stepName(step, chains).full}
                {step.error !== undefined ? <span className="chains__error"> — {step.error}</span> : null}
              </li>
            ))}
          </ol>
        </li>
      ))}
    </ul>
  );
}
