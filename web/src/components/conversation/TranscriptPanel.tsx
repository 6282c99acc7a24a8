// The transcript tab: the session read as the conversation (prompts, the assistant's
// replies, tool calls folded in between, subagents indented under their call), live,
// virtualised so 10,000 messages scroll as smoothly as ten. Follows the newest item
// while the reader is at the bottom. An item links to its event in the timeline.
import { useVirtualizer } from "@tanstack/react-virtual";
import { memo, useEffect, useMemo, useRef, useState } from "react";
import type { Chain, WorkspaceEvent } from "../../generated";
import { formatTokens, formatUsd } from "../../lib/usage";
import { buildTranscript, type TranscriptItem } from "./transcript";
import "./conversation.css";

const Item = memo(function Item(props: { item: TranscriptItem; onOpenEvent: (seq: number) => void }) {
  const { item } = props;
  const open = (
    <button type="button" className="link-button transcript__seq" onClick={() => props.onOpenEvent(item.seq)} title="Open in the timeline">
      #{item.seq}
    </button>
  );
  const style = { marginLeft: `${item.depth * 1.5}rem` };
  switch (item.kind) {
    case "prompt":
      return (
        <div className="transcript__item transcript__item--prompt" style={style}>
          <div className="transcript__who">
            <span>Prompt</span>
            {item.costUsd > 0 || item.tokens > 0 ? (
              <span className="transcript__usage" data-testid="prompt-usage">
                {formatUsd(item.costUsd)} · {formatTokens(item.tokens)} tokens
              </span>
            ) : null}
            {open}
          </div>
          <p className="transcript__text">{item.text}</p>
        </div>
      );
    case "assistant":
      return (
        <div className={`transcript__item transcript__item--assistant${item.agent !== undefined ? " transcript__item--subagent" : ""}`} style={style}>
          <div className="transcript__who">
            <span>{item.agent !== undefined ? `Subagent · ${item.agent}` : "Assistant"}</span>
            {item.model !== undefined ? <span className="transcript__model">{item.model}</span> : null}
            {open}
          </div>
          <p className="transcript__text">{item.text}</p>
        </div>
      );
    case "tool":
      return (
        <div className={`transcript__item transcript__item--tool transcript__item--${item.status}`} style={style}>
          <span className="transcript__tool-name">{item.name}</span>
          <code className="transcript__tool-input">{item.summary}</code>
          <span className={`transcript__outcome transcript__outcome--${item.status}`}>
            {item.status === "failed" ? `failed${item.error !== undefined ? `: ${item.error}` : ""}` : item.status === "succeeded" ? "ok" : "running"}
          </span>
          {open}
        </div>
      );
    case "question":
    case "answer":
    case "error":
      return (
        <div className={`transcript__item transcript__item--${item.kind}`} style={style}>
          <div className="transcript__who">
            <span>{item.kind === "question" ? "Question" : item.kind === "answer" ? "Answer" : "Error"}</span>
            {open}
          </div>
          <p className="transcript__text">{item.text}</p>
        </div>
      );
  }
});

export function TranscriptPanel(props: {
  events: readonly WorkspaceEvent[];
  version: number;
  chains: readonly Chain[];
  hasOlder: boolean;
  loadingOlder: boolean;
  onLoadOlder: () => void;
  onOpenEvent: (seq: number) => void;
}) {
  const { events, version, chains } = props;
  const items = useMemo(() => buildTranscript(events, chains), [events, version, chains]);
  const scrollRef = useRef<HTMLDivElement | null>(null);
  const [follow, setFollow] = useState(true);
  const virtualizer = useVirtualizer({
    count: items.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => 72,
    overscan: 8,
    getItemKey: (index) => items[index]?.seq ?? index,
  });
  useEffect(() => {
    if (follow && items.length > 0) virtualizer.scrollToIndex(items.length - 1, { align: "end" });
  }, [follow, items.length, virtualizer]);

  return (
    <section className="transcript" aria-label="Transcript">
      <p className="transcript__status" aria-live="polite">
        {items.length.toLocaleString()} items
        {props.hasOlder ? (
          <button type="button" className="link-button" onClick={props.onLoadOlder} disabled={props.loadingOlder}>
            {props.loadingOlder ? " · loading earlier…" : " · load earlier"}
          </button>
        ) : null}
      </p>
      {items.length === 0 ? (
        <p className="empty">Nothing said yet: prompts and the assistant's replies appear here as they happen.</p>
      ) : null}
      <div
        ref={scrollRef}
        className="transcript__scroll"
        data-testid="transcript"
        onScroll={(e) => {
          const el = e.currentTarget;
          setFollow(el.scrollHeight - el.scrollTop - el.clientHeight < 40);
        }}
      >
        <div style={{ height: `${virtualizer.getTotalSize()}px`, position: "relative" }}>
          {virtualizer.getVirtualItems().map((row) => {
            const item = items[row.index];
            if (item === undefined) return null;
            return (
              <div
                key={row.key}
                data-index={row.index}
                data-seq={item.seq}
                data-kind={item.kind}
                ref={virtualizer.measureElement}
                className="transcript__row"
                style={{ position: "absolute", top: 0, left: 0, right: 0, transform: `translateY(${row.start}px)` }}
              >
                <Item item={item} onOpenEvent={props.onOpenEvent} />
              </div>
            );
          })}
        </div>
      </div>
    </section>
  );
}
