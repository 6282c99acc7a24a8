// The prose of an event: what a person or Claude wrote (a prompt, Claude's message at
// the end of a turn, a subagent's result, a notification). Shown as Markdown in the
// inspector instead of one line.
import type { WorkspaceEvent } from "../../../generated";
import { responseText } from "./tools";

/** The event's text for people, when it carries prose. */
export function proseOf(event: WorkspaceEvent): string | undefined {
  switch (event.type) {
    case "prompt:submitted":
      return event.prompt;
    case "interaction:awaiting-input":
      return event.prompt;
    case "interaction:input-received":
      return event.text;
    case "step:completed":
      return responseText(event.result);
    case "agent:notification":
      return event.message;
    case "message:assistant":
      return event.text !== "" ? event.text : undefined;
    default:
      return undefined;
  }
}
