// JSON for people: indented, and cut past a size a page can show without stalling.
import type { JsonValue } from "../../../generated";

/** Most characters of JSON shown at once. */
export const MAX_JSON_CHARS = 200_000;

/** `value` as indented JSON, cut to `max` characters (with a note saying so). */
export function prettyJson(value: unknown, max = MAX_JSON_CHARS): { text: string; cut: boolean } {
  let text: string;
  try {
    text = JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? { text: text.slice(0, max), cut: true } : { text, cut: false };
}

/** Whether a JSON value is worth a block of its own (not null, not an empty object or array). */
export function hasContent(value: JsonValue | undefined): value is JsonValue {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.keys(value).length > 0;
  return value !== "";
}
