// ANSI-coloured text rendered as React text nodes in spans: the output is never parsed
// as HTML, so a `<script>` in a command's output is shown, not run. Very long text shows
// its start until asked for the rest.
import { memo, useMemo, useState } from "react";
import { ansiSegments, markMatches } from "./model/terminal";

/** Characters shown before "show all". */
export const ANSI_PREVIEW_CHARS = 64_000;

export const AnsiText = memo(function AnsiText(props: { text: string; query?: string; className?: string }) {
  const { text, query = "" } = props;
  const [all, setAll] = useState(false);
  const long = text.length > ANSI_PREVIEW_CHARS && !all;
  const shown = long ? text.slice(0, ANSI_PREVIEW_CHARS) : text;
  const segments = useMemo(() => markMatches(ansiSegments(shown), query.trim()), [shown, query]);
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
      {long ? (
        <>
          {"\n"}
          <button type="button" className="link-button ansi__more" onClick={() => setAll(true)}>
            Show all {text.length.toLocaleString()} characters
          </button>
        </>
      ) : null}
    </pre>
  );
});
