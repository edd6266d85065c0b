/**
 * What the CP grid shows, with no DOM: the CPs that match the search and filters, grouped by
 * city when there are many, one page at a time, and the count per state. Linear in the number
 * of CPs (the ids come sorted in the state), so it can run on every batch at 5,000 CPs.
 *
 * @module
 */
import type { CpView } from "./state.ts";

/** The grid's search and filters (empty matches everything). */
export interface GridFilter {
  /** Part of a CP id or city, any case. */
  readonly text: string;
  /** One city, exactly. */
  readonly city: string;
  /** One state. */
  readonly state: CpView["state"] | "";
}

/** No filter. */
export const NO_FILTER: GridFilter = { text: "", city: "", state: "" };
/** Tiles on one page of the grid. */
export const PAGE_SIZE = 60;
/** Above this many CPs the grid is grouped by city. */
export const GROUP_ABOVE = 24;

/** One page of the grid. */
export interface GridPage {
  /** The page's CPs by city (one group with city "" when not grouped), cities in order. */
  readonly groups: readonly { readonly city: string; readonly cps: readonly CpView[] }[];
  /** CPs that match the filter. */
  readonly matching: number;
  /** The page shown (0-based, clamped to the pages there are). */
  readonly page: number;
  /** Pages there are (at least 1). */
  readonly pages: number;
}

/** Whether `cp` passes `filter`. */
export function matches(cp: CpView, filter: GridFilter): boolean {
  if (filter.state !== "" && cp.state !== filter.state) return false;
  if (filter.city !== "" && cp.location !== filter.city) return false;
  const text = filter.text.trim().toLowerCase();
  return text === "" || cp.id.toLowerCase().includes(text) ||
    cp.location.toLowerCase().includes(text);
}

/**
 * Page `page` of the CPs in `order` (sorted ids) that match `filter`: when there are more than
 * {@link GROUP_ABOVE} CPs in all, ordered by city then id and grouped by city.
 */
export function gridPage(
  cps: Readonly<Record<string, CpView>>,
  order: readonly string[],
  filter: GridFilter,
  page: number,
  pageSize = PAGE_SIZE,
): GridPage {
  const grouped = order.length > GROUP_ABOVE;
  const byCity = new Map<string, CpView[]>();
  let matching = 0;
  for (const id of order) {
    const cp = cps[id];
    if (cp === undefined || !matches(cp, filter)) continue;
    matching++;
    const city = grouped ? cp.location : "";
    const list = byCity.get(city);
    if (list) list.push(cp);
    else byCity.set(city, [cp]);
  }
  const pages = Math.max(1, Math.ceil(matching / pageSize));
  const shown = Math.min(Math.max(0, Math.floor(page)), pages - 1);
  const from = shown * pageSize;
  const to = from + pageSize;
  const groups: { city: string; cps: CpView[] }[] = [];
  let at = 0;
  for (const city of [...byCity.keys()].sort((a, b) => a < b ? -1 : a > b ? 1 : 0)) {
    const list = byCity.get(city)!;
    const start = Math.max(from, at);
    const end = Math.min(to, at + list.length);
    if (start < end) groups.push({ city, cps: list.slice(start - at, end - at) });
    at += list.length;
    if (at >= to) break;
  }
  return { groups, matching, page: shown, pages };
}

/** CPs per state, and the cities there are (sorted). */
export function gridSummary(
  cps: Readonly<Record<string, CpView>>,
): { byState: Record<CpView["state"], number>; cities: string[] } {
  const byState: Record<CpView["state"], number> = {
    ACTIVATED: 0,
    SUPPLYING: 0,
    STOPPED: 0,
    BROKEN: 0,
    DISCONNECTED: 0,
  };
  const cities = new Set<string>();
  for (const id in cps) {
    const cp = cps[id];
    byState[cp.state] = (byState[cp.state] ?? 0) + 1;
    cities.add(cp.location);
  }
  return { byState, cities: [...cities].sort((a, b) => a < b ? -1 : a > b ? 1 : 0) };
}
