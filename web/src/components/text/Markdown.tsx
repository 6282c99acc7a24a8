// Markdown as people read it: Claude's messages, Stop summaries and subagent results
// are Markdown. Rendered by react-markdown, which builds React elements (never HTML
// strings): raw HTML in the text is shown as text, and link targets pass its URL
// filter (no `javascript:`). Links open in a new tab without the opener.
import { memo } from "react";
import ReactMarkdown, { type Components } from "react-markdown";

const components: Components = {
  a: ({ node: _node, ...props }) => <a {...props} target="_blank" rel="noreferrer noopener" />,
  // Images from an agent's text are not fetched (the page's CSP forbids most anyway).
  img: ({ node: _node, alt }) => <span className="md__img">{alt ?? "image"}</span>,
};

/** Markdown text, rendered safely. `className` goes on the wrapper. */
export const Markdown = memo(function Markdown(props: { text: string; className?: string }) {
  return (
    <div className={props.className !== undefined ? `md ${props.className}` : "md"} data-testid="markdown">
      <ReactMarkdown components={components} skipHtml>
        {props.text}
      </ReactMarkdown>
    </div>
  );
});
