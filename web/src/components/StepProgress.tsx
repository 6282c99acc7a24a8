import type { SessionCounts } from "../generated";
import { stepProgress } from "../state/selectors";

export function StepProgress(props: { counts: SessionCounts }) {
  const { done, total } = stepProgress(props.counts);
  if (total === 0) return <span className="steps steps--none">no steps</span>;
  return (
    <span className="steps">
      <progress className="steps__bar" max={total} value={done} aria-label="steps completed" />
      <span className="steps__text">{`${done}/${total}`}</span>
    </span>
  );
}
