/**
 * How the operator console writes times and figures: every time with its date (local time,
 * `2026-12-05 13:20:11`), and the `<input type="datetime-local">` values the history filters
 * use. Pure: no DOM.
 *
 * @module
 */

const two = (n: number) => String(n).padStart(2, "0");

/** A time as `YYYY-MM-DD HH:MM:SS` in local time; "–" for null or an invalid time. */
export function dateTime(time: string | number | null): string {
  if (time === null) return "–";
  const d = new Date(time);
  if (Number.isNaN(d.getTime())) return "–";
  return `${localDate(d)} ${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

function localDate(d: Date): string {
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
}

/** A time as the value of a `datetime-local` input (`YYYY-MM-DDTHH:MM`, local time). */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  return `${localDate(d)}T${two(d.getHours())}:${two(d.getMinutes())}`;
}

/**
 * A `datetime-local` input's value as an ISO time, "" for an empty input.
 * @throws {RangeError} for text that is no such value.
 */
export function fromLocalInput(value: string): string {
  if (value.trim() === "") return "";
  // Without an offset, `YYYY-MM-DDTHH:MM` is local time (ECMAScript date-time string format).
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(value)) {
    throw new RangeError(`not a date and time: "${value}"`);
  }
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new RangeError(`not a date and time: "${value}"`);
  return d.toISOString();
}

/** kW with one decimal, "–" for null. */
export const kw = (n: number | null): string => n === null ? "–" : `${n.toFixed(1)} kW`;
/** kWh with two decimals, "–" for null. */
export const kwh = (n: number | null): string => n === null ? "–" : `${n.toFixed(2)} kWh`;
/** Euros with two decimals, "–" for null. */
export const eur = (n: number | null): string => n === null ? "–" : `${n.toFixed(2)} €`;
/** A percentage with two decimals, "–" for null. */
export const pct = (n: number | null): string => n === null ? "–" : `${n.toFixed(2)} %`;
