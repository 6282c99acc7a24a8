// Keyboard navigation over a list of rows: arrow keys or j/k move, Home/End jump,
// Enter opens. One row is in the tab order at a time (roving tabindex).
import { useCallback, useRef, useState, type KeyboardEvent, type RefObject } from "react";

export interface RowNavigation {
  /** The row that takes focus (in the tab order). */
  activeId: string | undefined;
  /** Put on the element holding the rows (they carry `data-row-id`). */
  containerRef: RefObject<HTMLTableSectionElement | null>;
  onKeyDown: (e: KeyboardEvent) => void;
  /** Call when a row gets focus (by click or tab). */
  onRowFocus: (id: string) => void;
  /** Focuses the active row (e.g. from a global shortcut). */
  focusActive: () => void;
}

export function useRowNavigation(ids: readonly string[], open: (id: string) => void): RowNavigation {
  const [active, setActive] = useState<string | undefined>(undefined);
  const containerRef = useRef<HTMLTableSectionElement | null>(null);
  const activeId = active !== undefined && ids.includes(active) ? active : ids[0];

  const focusRow = useCallback((id: string) => {
    const rows = containerRef.current?.querySelectorAll<HTMLElement>("[data-row-id]") ?? [];
    for (const row of rows) {
      if (row.dataset["rowId"] === id) {
        row.focus();
        row.scrollIntoView({ block: "nearest" });
        return;
      }
    }
  }, []);

  const onKeyDown = useCallback(
    (e: KeyboardEvent) => {
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      const target = e.target as HTMLElement;
      if (target.closest("input, textarea, select, button") !== null) return;
      const i = activeId === undefined ? -1 : ids.indexOf(activeId);
      let next: string | undefined;
      switch (e.key) {
        case "ArrowDown":
        case "j":
          next = ids[Math.min(i + 1, ids.length - 1)];
          break;
        case "ArrowUp":
        case "k":
          next = ids[Math.max(i - 1, 0)];
          break;
        case "Home":
          next = ids[0];
          break;
        case "End":
          next = ids[ids.length - 1];
          break;
        case "Enter":
          if (activeId !== undefined) {
            e.preventDefault();
            open(activeId);
          }
          return;
        default:
          return;
      }
      e.preventDefault();
      if (next !== undefined) {
        setActive(next);
        focusRow(next);
      }
    },
    [activeId, ids, open, focusRow],
  );

  const focusActive = useCallback(() => {
    if (activeId !== undefined) focusRow(activeId);
  }, [activeId, focusRow]);

  return { activeId, containerRef, onKeyDown, onRowFocus: setActive, focusActive };
}
