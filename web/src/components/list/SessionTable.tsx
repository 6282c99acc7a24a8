import type { Session } from "../../generated";
import type { SortOrder } from "../../state/selectors";
import { SessionRow } from "./SessionRow";
import { SortHeader } from "./SortHeader";
import { useRowNavigation } from "./useRowNavigation";

/** Sessions as a table: sortable columns (when `order` is given), keyboard navigable rows. */
export function SessionTable(props: {
  sessions: readonly Session[];
  mode: "live" | "history";
  now: number;
  order?: SortOrder;
  onSort?: (order: SortOrder) => void;
  onOpen: (id: string) => void;
  label: string;
  navigation?: ReturnType<typeof useRowNavigation>;
}) {
  const { sessions, mode, order, onSort } = props;
  const ownNavigation = useRowNavigation(
    sessions.map((s) => s.id),
    props.onOpen,
  );
  const nav = props.navigation ?? ownNavigation;
  const header = (label: string, key: Parameters<typeof SortHeader>[0]["sortKey"]) =>
    order !== undefined && onSort !== undefined ? (
      <SortHeader label={label} sortKey={key} order={order} onSort={onSort} />
    ) : (
      <th scope="col">{label}</th>
    );
  return (
    <table className={`session-table session-table--${mode}`} aria-label={props.label}>
      <thead>
        <tr>
          {header("Status", "status")}
          {header("Session", "session")}
          {header("User", "user")}
          {header("Host", "host")}
          {mode === "history" ? <th scope="col">Started</th> : null}
          {header(mode === "live" ? "Age" : "Duration", "age")}
          {header("Steps", "steps")}
          <th scope="col">Tools</th>
          <th scope="col">Cost</th>
        </tr>
      </thead>
      <tbody ref={nav.containerRef} onKeyDown={nav.onKeyDown}>
        {sessions.map((s) => (
          <SessionRow
            key={s.id}
            session={s}
            now={props.now}
            mode={mode}
            active={s.id === nav.activeId}
            onOpen={props.onOpen}
            onFocus={nav.onRowFocus}
          />
        ))}
      </tbody>
    </table>
  );
}
