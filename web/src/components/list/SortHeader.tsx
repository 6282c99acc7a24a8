import type { SortKey, SortOrder } from "../../state/selectors";

/** A column header that sorts the list (click again to reverse). */
export function SortHeader(props: { label: string; sortKey: SortKey; order: SortOrder; onSort: (order: SortOrder) => void }) {
  const { label, sortKey, order, onSort } = props;
  const current = order.key === sortKey;
  return (
    <th scope="col" aria-sort={current ? (order.desc ? "descending" : "ascending") : "none"}>
      <button
        type="button"
        className={current ? "sort sort--current" : "sort"}
        onClick={() => onSort({ key: sortKey, desc: current ? !order.desc : false })}
      >
        {label}
        <span className="sort__arrow" aria-hidden="true">
          {current ? (order.desc ? "▼" : "▲") : ""}
        </span>
      </button>
    </th>
  );
}
