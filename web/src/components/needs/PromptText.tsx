// A question's or a finished turn's text in a card: Markdown, kept short (a long Stop
// summary is cut to a few lines with "Show all"), so the cards below stay in view.
import { Markdown } from "../text/Markdown";
import { Clamp } from "./Clamp";

export function PromptText(props: { text: string }) {
  return (
    <Clamp maxPx={120} label="Show the full text">
      <Markdown text={props.text} className="question__prompt" />
    </Clamp>
  );
}
