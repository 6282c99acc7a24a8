// ANSI-coloured text rendered as React text nodes in spans: the output is never parsed
// as HTML, so a `<script>` in a command's output is shown, not run.
import { memo, useMemo } from "react";
import { ansiSegments, markMatches } from "./model/terminal";

export const AnsiText = memo(function AnsiText(props: { text: string; query?: string; className?: string }) {
  const { text, query = "" } = props;
  const segments = useMemo(() => markMatches(ansiSegments(text), query.trim()), [text, query]);
  return (
    <pre className={`ansi ${props.className ?? ""}`}>
      {segments.map((s, i) => {
        const className = [...s.classes, s.mark ? "ansi-mark" : ""].filter((c) => c !== "").join(" ");
        const style =
          s.color !== undefined || s.background !== undefined
            ? { ...(s.color !== undefined ? { color: s.color } : {}), ...(s.background !== undefined ? { backgroundColor: s.background } : {}) }
            : undefined;
        if (s.mark) {
          return (
            <mark key={i} className={className} style={style}>
              {s.text}
            </mark>
          );
        }
        return className === "" && style === undefined ? (
          <span key={i}>{s.text}</span>
        ) : (
          <span key={i} className={className} style={style}>
            {s.text}
          </span>
        );
      })}
    </pre>
  );
});
