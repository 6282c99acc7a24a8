import { PromptText } from "../needs/PromptText";
import { useId, useState, type FormEvent } from "react";
import type { AwaitingInput, SessionId } from "../../generated";
import { useWorkspace } from "../../state/useWorkspace";
import { SteerErrorMessage } from "./SteerErrorMessage";
import { useSteer } from "./useSteer";

/** A question an agent waits on: its quick responses as buttons, and a free-text answer. */
export function QuestionCard(props: { sessionId: SessionId; question: AwaitingInput }) {
  const { sessionId, question } = props;
  const { store } = useWorkspace();
  const { busy, error, run } = useSteer();
  const [text, setText] = useState("");
  const inputId = useId();

  const answer = (value: string) =>
    run("Answer", () => store.api.submitInput(sessionId, { text: value, requestId: question.requestId }));

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const value = text.trim();
    if (value === "") return;
    void answer(value).then((ok) => {
      if (ok) setText("");
    });
  };

  return (
    <div className="question" data-request-id={question.requestId}>
      <PromptText text={question.prompt} />
      {question.quickResponses.length > 0 ? (
        <div className="question__quick" role="group" aria-label="Quick responses">
          {question.quickResponses.map((r) => (
            <button key={r} type="button" className="btn btn--quick" disabled={busy} onClick={() => void answer(r)}>
              {r}
            </button>
          ))}
        </div>
      ) : null}
      <form className="question__form" onSubmit={onSubmit}>
        <label className="visually-hidden" htmlFor={inputId}>
          Your answer
        </label>
        <input
          id={inputId}
          className="question__input"
          type="text"
          placeholder="Type an answer…"
          autoComplete="off"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
        <button type="submit" className="btn btn--primary" disabled={busy || text.trim() === ""}>
          Send
        </button>
      </form>
      <SteerErrorMessage error={error} />
    </div>
  );
}
