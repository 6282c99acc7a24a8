import type { SessionFilter } from "../state/selectors";

const STATUS_OPTIONS: ReadonlyArray<{ value: NonNullable<SessionFilter["status"]> | ""; label: string }> = [
  { value: "", label: "All" },
  { value: "live", label: "Live" },
  { value: "waiting", label: "Waiting" },
  { value: "paused", label: "Paused" },
  { value: "ended", label: "Ended" },
  { value: "failed", label: "Failed" },
];

export function SessionFilterBar(props: { filter: SessionFilter; onChange: (filter: SessionFilter) => void }) {
  const { filter, onChange } = props;
  return (
    <div className="filter-bar">
      <input
        className="filter-bar__text"
        type="search"
        placeholder="Filter by id, cwd, user, host, title…"
        aria-label="Filter sessions"
        value={filter.text ?? ""}
        onChange={(e) => onChange({ ...filter, text: e.target.value })}
      />
      <select
        className="filter-bar__status"
        aria-label="Status"
        value={filter.status ?? ""}
        onChange={(e) => {
          const value = e.target.value as NonNullable<SessionFilter["status"]> | "";
          const { status: _old, ...rest } = filter;
          onChange(value === "" ? rest : { ...rest, status: value });
        }}
      >
        {STATUS_OPTIONS.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}
