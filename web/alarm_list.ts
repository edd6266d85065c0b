/**
 * The alarms the dashboard lists: loaded from Central's `GET /alarms` (open ones, then recently
 * cleared ones) and kept current by the `alarm` events of `GET /events`, each of which replaces
 * the alarm with its id. Open alarms come first, newest first; then cleared ones, the latest
 * cleared first, at most {@link MAX_CLEARED_SHOWN}. Pure: no DOM.
 *
 * @module
 */
import type { AlarmJson } from "../central/wire.ts";

/** One alarm as `GET /alarms` and the `alarm` event carry it. */
export type Alarm = Readonly<AlarmJson>;

/** What an alarm is about. */
export type AlarmKind = Alarm["kind"];

/** Cleared alarms kept (Central keeps 500). */
export const MAX_CLEARED_SHOWN = 200;

/** The alarms, open first, and how many are open. */
export interface AlarmList {
  /** Open (newest began first), then cleared (latest cleared first). */
  readonly items: readonly Alarm[];
  /** Open alarms. */
  readonly open: number;
}

/** No alarm yet. */
export const NO_ALARMS: AlarmList = { items: [], open: 0 };

const newestFirst = (a: string, b: string) => a < b ? 1 : a > b ? -1 : 0;

function ordered(alarms: Iterable<Alarm>): AlarmList {
  const open: Alarm[] = [];
  const cleared: Alarm[] = [];
  for (const a of alarms) (a.cleared_at === null ? open : cleared).push(a);
  open.sort((a, b) => newestFirst(a.began_at, b.began_at) || b.id - a.id);
  cleared.sort((a, b) => newestFirst(a.cleared_at!, b.cleared_at!) || b.id - a.id);
  return { items: [...open, ...cleared.slice(0, MAX_CLEARED_SHOWN)], open: open.length };
}

/** The list `GET /alarms` answered (`{items}`). */
export function fromAlarms(body: { readonly items: readonly Alarm[] }): AlarmList {
  return ordered(body.items);
}

/**
 * The list after `alarms` (events, in order): each replaces the alarm with its id. With no
 * alarm, the very same list comes back.
 */
export function applyAlarms(list: AlarmList, alarms: readonly Alarm[]): AlarmList {
  if (alarms.length === 0) return list;
  const byId = new Map(list.items.map((a) => [a.id, a]));
  for (const a of alarms) byId.set(a.id, a);
  return ordered(byId.values());
}

/** The alarms open in `after` that were not open in `before` (for notifications). */
export function newlyOpen(before: AlarmList, after: AlarmList): Alarm[] {
  const wasOpen = new Set(before.items.filter((a) => a.cleared_at === null).map((a) => a.id));
  return after.items.filter((a) => a.cleared_at === null && !wasOpen.has(a.id));
}
