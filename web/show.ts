/**
 * The console's texts (web/console_text.ts), figures and times in the page's language
 * (web/lang.ts): each call reads the language, so a view that shows them redraws when it is
 * switched.
 *
 * @module
 */
import { translate } from "../shared/i18n.ts";
import { type NoticeLike, type NoticeParams, noticeText } from "../shared/notices.ts";
import { CONSOLE_TEXT, type ConsoleKey } from "./console_text.ts";
import { display } from "./format.ts";
import { fmt, lang } from "./lang.ts";

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

/** The console's text `key` in the page's language, `{name}`s filled from `params`. */
export function ct(key: ConsoleKey, params?: Readonly<Record<string, string | number>>): string {
  return translate(CONSOLE_TEXT, lang.value, key, params);
}

/** The console's text `key` if it is one, else `fallback` (a part or kind Central added later). */
export function ctOr(key: string, fallback: string): string {
  return Object.hasOwn(CONSOLE_TEXT.en, key) ? ct(key as ConsoleKey) : fallback;
}

/**
 * A text Central wrote (an alarm's detail, a pill's reason) in the page's language, or Central's
 * English words for a code this page does not know.
 */
export function said(text: NoticeLike): string {
  return noticeText(text, lang.value);
}

/**
 * The `detail` of Central's answer in the page's language (its `detail_code` with
 * `detail_params`, else its English words), or undefined when it has none.
 */
export function answerDetail(body: Record<string, unknown> | undefined): string | undefined {
  if (typeof body?.detail !== "string") return undefined;
  const code = typeof body.detail_code === "string" ? body.detail_code : undefined;
  const params = typeof body.detail_params === "object" && body.detail_params !== null
    ? body.detail_params as NoticeParams
    : undefined;
  return said({ detail: body.detail, detail_code: code, detail_params: params });
}
