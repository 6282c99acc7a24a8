// The detail view's place in the URL: `#/sessions/<id>?tab=graph&step=<stepId>` or
// `#/sessions/<id>?event=<seq>`, so a link names the session and what is selected in it.
// The query sits inside the hash (the app routes by hash); lib/route.ts ignores it.

export type DetailTab = "timeline" | "transcript" | "graph" | "files" | "terminal";

export const DETAIL_TABS: readonly DetailTab[] = ["timeline", "transcript", "graph", "files", "terminal"];

export interface DetailParams {
  readonly tab: DetailTab;
  /** The selected step (opens the step inspector). */
  readonly step?: string;
  /** The selected event, by seq (opens its JSON). */
  readonly event?: number;
  /** A file opened in the Files tab (relative to the cwd). */
  readonly file?: string;
}

function isTab(value: string | null): value is DetailTab {
  return value !== null && (DETAIL_TABS as readonly string[]).includes(value);
}

/** The session id and the detail parameters of a hash, or undefined when it is not a session's. */
export function parseDetailHash(hash: string): { id: string; params: DetailParams } | undefined {
  const raw = hash.replace(/^#/, "").replace(/^\/+/, "");
  const q = raw.indexOf("?");
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const query = q >= 0 ? raw.slice(q + 1) : "";
  if (!path.startsWith("sessions/")) return undefined;
  let id: string;
  try {
    id = decodeURIComponent(path.slice("sessions/".length));
  } catch {
    return undefined;
  }
  if (id === "") return undefined;
  return { id, params: parseDetailQuery(query) };
}

/** The detail parameters of a query string (without `?`). Unknown or bad values are dropped. */
export function parseDetailQuery(query: string): DetailParams {
  const search = new URLSearchParams(query);
  const step = search.get("step");
  const eventText = search.get("event");
  const file = search.get("file");
  const tabText = search.get("tab");
  const event = eventText !== null && /^\d+$/.test(eventText) ? Number(eventText) : undefined;
  // A step selection shows the graph unless a tab was named.
  const tab: DetailTab = isTab(tabText) ? tabText : step !== null && step !== "" ? "graph" : file !== null ? "files" : "timeline";
  return {
    tab,
    ...(step !== null && step !== "" ? { step } : {}),
    ...(event !== undefined && Number.isSafeInteger(event) ? { event } : {}),
    ...(file !== null && file !== "" ? { file } : {}),
  };
}

/** The hash naming a session and its selection: `#/sessions/<id>?…`. */
export function detailHref(id: string, params: Partial<DetailParams> = {}): string {
  const search = new URLSearchParams();
  if (params.tab !== undefined && params.tab !== "timeline") search.set("tab", params.tab);
  if (params.step !== undefined) search.set("step", params.step);
  if (params.event !== undefined) search.set("event", String(params.event));
  if (params.file !== undefined) search.set("file", params.file);
  const text = search.toString();
  return `#/sessions/${encodeURIComponent(id)}${text === "" ? "" : `?${text}`}`;
}
