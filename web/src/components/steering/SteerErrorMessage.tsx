import type { SteerError } from "./useSteer";

/** The server's refusal of an answer, decision or command, in words. */
export function SteerErrorMessage(props: { error: SteerError | undefined }) {
  const { error } = props;
  if (error === undefined) return null;
  return (
    <p className={error.conflict ? "steer-error steer-error--conflict" : "steer-error"} role="alert">
      <strong>{error.conflict ? "Not accepted: " : "Failed: "}</strong>
      {error.message}
    </p>
  );
}
