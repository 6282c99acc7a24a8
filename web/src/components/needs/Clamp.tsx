// Keeps a card short: content taller than `maxPx` is cut with a fade and a "Show all"
// button (the full text is one click away); a second click shortens it again. The
// controls inside stay usable: a card whose buttons would be cut keeps them (see the
// CSS: `.clamp__body` clips only the text, the card's actions are outside the clamp
// in every card this wraps).
import { useLayoutEffect, useRef, useState, type ReactNode } from "react";

export function Clamp(props: { children: ReactNode; maxPx?: number; label?: string }) {
  const max = props.maxPx ?? 160;
  const body = useRef<HTMLDivElement>(null);
  const [open, setOpen] = useState(false);
  const [tall, setTall] = useState(false);
  useLayoutEffect(() => {
    const el = body.current;
    if (el === null) return;
    const check = () => setTall(el.scrollHeight > max + 24);
    check();
    const observer = new ResizeObserver(check);
    observer.observe(el);
    return () => observer.disconnect();
  }, [max]);
  return (
    <div className={`clamp${tall && !open ? " clamp--cut" : ""}`} data-testid="clamp" data-open={open}>
      <div ref={body} className="clamp__body" style={tall && !open ? { maxHeight: `${max}px` } : undefined}>
        {props.children}
      </div>
      {tall ? (
        <button type="button" className="clamp__toggle link-button" aria-expanded={open} onClick={() => setOpen((o) => !o)}>
          {open ? "Show less" : (props.label ?? "Show all")}
        </button>
      ) : null}
    </div>
  );
}
