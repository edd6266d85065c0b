/**
 * How the operator console writes times and figures: in the page's language's formats
 * (shared/i18n.ts), every time with its date; and the `<input type="datetime-local">` values the
 * history filters use (local time). Pure: no DOM; web/show.ts binds it to the page's language.
 *
 * @module
 */
import type { Formats } from "../shared/i18n.ts";

const two = (n: number) => String(n).padStart(2, "0");

/** The console's figures and times in one language's formats (shared/i18n.ts). */
export interface Display {
  /** A time with its date; "–" for null or an invalid time. */
  dateTime(time: string | number | null): string;
  /** A chart tick: hours and minutes, 24 h. */
  clock(ms: number): string;
  /** kW with one decimal, "–" for null. */
  kw(n: number | null): string;
  /** kWh with two decimals, "–" for null. */
  kwh(n: number | null): string;
  /** Euros, "–" for null. */
  eur(n: number | null): string;
  /** A percentage with two decimals, "–" for null. */
  pct(n: number | null): string;
}

/** The console's formats for `f` (a language's, from shared/i18n.ts `formats`). */
export function display(f: Formats): Display {
  const or = (n: number | null, show: (n: number) => string) => n === null ? "–" : show(n);
  return {
    dateTime(time) {
      if (time === null) return "–";
      const d = new Date(time);
      return Number.isNaN(d.getTime()) ? "–" : f.dateTime(d);
    },
    clock: (ms) => {
      const d = new Date(ms);
      return `${two(d.getHours())}:${two(d.getMinutes())}`;
    },
    kw: (n) => or(n, f.kw),
    kwh: (n) => or(n, (v) => f.kwh(v)),
    eur: (n) => or(n, f.eur),
    pct: (n) => or(n, (v) => `${f.number(v, 2)} %`),
  };
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
