/**
 * The history view's query: its filters as the form holds them, turned into the query of
 * Central's `GET /sessions` (a page, with a cursor) and `GET /sessions.csv` (every match, the
 * same filters), so the download is exactly what the table pages through; and the same filters in
 * the history page's hash (`#/history?cp=CP-001&from=…`), so a filtered history is a link. Pure:
 * no DOM.
 *
 * @module
 */
import { fromLocalInput, toLocalInput } from "./format.ts";

/** The history filters as the form holds them. */
export interface HistoryFilter {
  /** Which sessions. */
  readonly status: "all" | "active" | "completed";
  /** From (a `datetime-local` value, local time), "" for no bound. */
  readonly from: string;
  /** To, exclusive (a `datetime-local` value), "" for no bound. */
  readonly to: string;
  /** A CP id, "" for every CP. */
  readonly cp: string;
  /** A driver id, "" for every driver. */
  readonly driver: string;
}

/** No filter: every session. */
export const ANY_SESSION: HistoryFilter = { status: "all", from: "", to: "", cp: "", driver: "" };

/** Sessions per page of the history view (unless the hash's `limit` says otherwise). */
export const HISTORY_PAGE = 50;
/** The most sessions a page may ask for (Central's limit). */
export const MAX_PAGE = 1000;

const STATUSES: readonly HistoryFilter["status"][] = ["all", "active", "completed"];

/**
 * The filters and page size a history hash's query holds (`status`, `from` and `to` as ISO
 * times, `cp`, `driver`, `limit`); what is missing or unreadable is left unfiltered.
 */
export function fromHistoryQuery(query: string): { filter: HistoryFilter; limit: number } {
  const q = new URLSearchParams(query);
  const status = q.get("status") as HistoryFilter["status"] | null;
  const time = (key: string) => {
    const ms = Date.parse(q.get(key) ?? "");
    return Number.isNaN(ms) ? "" : toLocalInput(ms);
  };
  const limit = Number(q.get("limit"));
  return {
    filter: {
      status: status !== null && STATUSES.includes(status) ? status : "all",
      from: time("from"),
      to: time("to"),
      cp: q.get("cp") ?? "",
      driver: q.get("driver") ?? "",
    },
    limit: Number.isInteger(limit) && limit >= 1 && limit <= MAX_PAGE ? limit : HISTORY_PAGE,
  };
}

/** The history hash's query for `params` (of {@link filterParams}) and a page size. */
export function historyQuery(params: URLSearchParams, limit: number): string {
  const query = new URLSearchParams(params);
  if (limit !== HISTORY_PAGE) query.set("limit", String(limit));
  return query.toString();
}

/**
 * The filters as query parameters (no cursor, no limit), or a message naming what is wrong: an
 * unreadable time, or a range that ends before it begins.
 */
export function filterParams(filter: HistoryFilter): URLSearchParams | string {
  const params = new URLSearchParams({ status: filter.status });
  let from = "";
  let to = "";
  try {
    from = fromLocalInput(filter.from);
    to = fromLocalInput(filter.to);
  } catch (error) {
    return (error as Error).message;
  }
  if (from !== "" && to !== "" && to <= from) return "the range ends before it begins";
  if (from !== "") params.set("from", from);
  if (to !== "") params.set("to", to);
  if (filter.cp.trim() !== "") params.set("cp", filter.cp.trim());
  if (filter.driver.trim() !== "") params.set("driver", filter.driver.trim());
  return params;
}

/**
 * `GET /sessions` for one page: always with a `cursor` (empty for the first page), so Central
 * answers `{items, next_cursor}`.
 */
export function pageUrl(params: URLSearchParams, cursor = "", limit = HISTORY_PAGE): string {
  const query = new URLSearchParams(params);
  query.set("limit", String(limit));
  query.set("cursor", cursor);
  return `/sessions?${query}`;
}

/** `GET /sessions.csv` with the same filters: every matching session. */
export function csvUrl(params: URLSearchParams): string {
  return `/sessions.csv?${params}`;
}
