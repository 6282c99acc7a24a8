import { useId, type RefObject } from "react";
import type { SessionFilter } from "../../state/selectors";

const STATUS_OPTIONS: ReadonlyArray<{ value: NonNullable<SessionFilter["status"]> | ""; label: string }> = [
  { value: "", label: "Any status" },
  { value: "waiting", label: "Waiting" },
  { value: "active", label: "Active" },
  { value: "paused", label: "Paused" },
  { value: "pending", label: "Pending" },
];

function without<K extends keyof SessionFilter>(filter: SessionFilter, key: K): SessionFilter {
  const next = { ...filter };
  delete next[key];
  return next;
}

export function SessionFilterBar(props: {
  filter: SessionFilter;
  onChange: (filter: SessionFilter) => void;
  users: readonly string[];
  hosts: readonly string[];
  textRef?: RefObject<HTMLInputElement | null>;
}) {
  const { filter, onChange } = props;
  const id = useId();
  return (
    <div className="filter-bar" role="search">
      <label className="visually-hidden" htmlFor={`${id}-text`}>
        Filter sessions
      </label>
      <input
        id={`${id}-text`}
        ref={props.textRef}
        className="filter-bar__text"
        type="search"
        placeholder="Filter by title, cwd, user, host, id…"
        value={filter.text ?? ""}
        onChange={(e) => onChange(e.target.value === "" ? without(filter, "text") : { ...filter, text: e.target.value })}
      />
      <label className="visually-hidden" htmlFor={`${id}-status`}>
        Status
      </label>
      <select
        id={`${id}-status`}
        value={filter.status ?? ""}
        onChange={(e) => {
          const value = e.target.value as NonNullable<SessionFilter["status"]> | "";
          onChange(value === "" ? without(filter, "status") : { ...filter, status: value });
        }}
      >
        {STATUS_OPTIONS.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
      <label className="visually-hidden" htmlFor={`${id}-user`}>
        User
      </label>
      <select
        id={`${id}-user`}
        value={filter.user ?? ""}
        onChange={(e) => onChange(e.target.value === "" ? without(filter, "user") : { ...filter, user: e.target.value })}
      >
        <option value="">Any user</option>
        {props.users.map((u) => (
          <option key={u} value={u}>
            {u}
          </option>
        ))}
      </select>
      <label className="visually-hidden" htmlFor={`${id}-host`}>
        Host
      </label>
      <select
        id={`${id}-host`}
        value={filter.host ?? ""}
        onChange={(e) => onChange(e.target.value === "" ? without(filter, "host") : { ...filter, host: e.target.value })}
      >
        <option value="">Any host</option>
        {props.hosts.map((h) => (
          <option key={h} value={h}>
            {h}
          </option>
        ))}
      </select>
    </div>
  );
}
