/**
 * The console's figures and times in the page's language (web/lang.ts): each call reads the
 * language, so a view that shows them redraws when it is switched.
 *
 * @module
 */
import { display } from "./format.ts";
import { fmt } from "./lang.ts";

const now = () => display(fmt());

/** A time with its date; "–" for null. */
export const dateTime = (time: string | number | null): string => now().dateTime(time);
/** A chart tick: hours and minutes. */
export const clock = (ms: number): string => now().clock(ms);
/** kW, "–" for null. */
export const kw = (n: number | null): string => now().kw(n);
/** kWh, "–" for null. */
export const kwh = (n: number | null): string => now().kwh(n);
/** Euros, "–" for null. */
export const eur = (n: number | null): string => now().eur(n);
/** A percentage, "–" for null. */
export const pct = (n: number | null): string => now().pct(n);
