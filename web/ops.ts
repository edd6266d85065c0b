/**
 * The operator console's live facts beside the dashboard's state: readiness (the header's
 * pills), the headline figures and the alarms. Alarms follow the `alarm` events of the stream
 * (web/live.ts) and are reloaded at each `reset`; `GET /health/ready` is read again at each
 * `status` event and `GET /summary` after events that move its figures (at most every
 * {@link SUMMARY_GAP_MS}), and both every {@link REFRESH_MS} (what no event announces: a
 * database failing, today's totals rolling over).
 * Browser notifications of new alarms are only asked for on the operator's click. What each
 * batch asks for is decided by web/ops_work.ts.
 *
 * @module
 */
import { signal } from "@preact/signals";
import {
  type Alarm,
  type AlarmList,
  applyAlarms,
  fromAlarms,
  newlyOpen,
  NO_ALARMS,
} from "./alarm_list.ts";
import { batchListeners } from "./live.ts";
import { opsWork, summaryDelay } from "./ops_work.ts";
import type { ReadyBody } from "./pills.ts";
import { cpHref, routeHref } from "./route.ts";
import { ct, ctOr, said } from "./show.ts";

/** How often readiness and the headline figures are read again with no event. */
export const REFRESH_MS = 10_000;
/** The shortest time between two reads of `GET /summary` that events asked for. */
export const SUMMARY_GAP_MS = 2_000;
/** Notifications shown at most per batch of new alarms (the rest are counted in one more). */
const MAX_NOTIFICATIONS = 3;

/** `GET /summary`. */
export interface Summary {
  readonly time: string;
  readonly day_start: string;
  readonly kw_now: number;
  readonly sessions_active: number;
  readonly sessions_today: number;
  readonly kwh_today: number;
  readonly eur_today: number;
  readonly availability_pct: number | null;
  readonly availability_since: string;
  readonly cps: {
    readonly total: number;
    readonly connected: number;
    readonly by_state: Readonly<Record<string, number>>;
  };
  readonly alarms_open: number;
}

/** The last `GET /health/ready` answer (200 or 503), or null while Central does not answer. */
export const ready = signal<ReadyBody | null>(null);
/** The last `GET /summary`, or null before the first. */
export const summary = signal<Summary | null>(null);
/** Open and recently cleared alarms. */
export const alarms = signal<AlarmList>(NO_ALARMS);
/** Whether new alarms are shown as browser notifications (the operator turned them on). */
export const notifying = signal(false);

async function getJson<T>(path: string, okStatuses: readonly number[] = [200]): Promise<T | null> {
  try {
    const res = await fetch(path, { cache: "no-store" });
    if (!okStatuses.includes(res.status)) {
      await res.body?.cancel();
      return null;
    }
    return await res.json() as T;
  } catch {
    return null;
  }
}

const loadReady = async () => {
  ready.value = await getJson<ReadyBody>("/health/ready", [200, 503]);
};
const loadSummary = async () => {
  const body = await getJson<Summary>("/summary");
  if (body !== null) summary.value = body;
};
const loadAlarms = async () => {
  const body = await getJson<{ items: Alarm[] }>("/alarms");
  if (body !== null) alarms.value = fromAlarms(body);
};

function notify(opened: readonly Alarm[]): void {
  if (!notifying.value || opened.length === 0) return;
  if (typeof Notification === "undefined" || Notification.permission !== "granted") return;
  try {
    // A click on one brings the dashboard forward on the page it is about.
    const show = (note: Notification, href: string) =>
      note.onclick = () => {
        focus();
        location.hash = href;
        note.close();
      };
    for (const a of opened.slice(0, MAX_NOTIFICATIONS)) {
      const note = new Notification(`${ctOr(`kind_${a.kind}`, a.kind)}: ${a.cp_id}`, {
        body: said(a),
        tag: `alarm-${a.id}`,
      });
      show(note, cpHref(a.cp_id));
    }
    if (opened.length > MAX_NOTIFICATIONS) {
      const more = ct("moreAlarms", { n: opened.length - MAX_NOTIFICATIONS });
      show(new Notification(more, { tag: "alarm-more" }), routeHref({ page: "alarms" }));
    }
  } catch {
    // Some browsers (Chrome on Android) show notifications only from a service worker: there the
    // switch goes off, and the alarms page and the header's count still say it.
    notifying.value = false;
  }
}

/**
 * Turns browser notifications of new alarms on (asking the browser's permission: call it from a
 * click) or off; resolves to whether they are on.
 */
export async function setNotifying(on: boolean): Promise<boolean> {
  if (!on || typeof Notification === "undefined") {
    notifying.value = false;
    return false;
  }
  const permission = Notification.permission === "granted"
    ? "granted"
    : await Notification.requestPermission();
  notifying.value = permission === "granted";
  return notifying.value;
}

/** Starts following: call once, after web/live.ts `connect()`. */
export function startOps(): void {
  let summaryTimer: ReturnType<typeof setTimeout> | undefined;
  let summaryAt = 0;
  const summarySoon = () => {
    if (summaryTimer !== undefined) return;
    summaryTimer = setTimeout(() => {
      summaryTimer = undefined;
      summaryAt = Date.now();
      loadSummary();
    }, summaryDelay(summaryAt, Date.now(), SUMMARY_GAP_MS));
  };
  batchListeners.add((events) => {
    const work = opsWork(events);
    if (work.reloadAlarms) loadAlarms();
    if (work.ready) loadReady();
    if (work.summary) summarySoon();
    if (work.alarms.length > 0) {
      const before = alarms.value;
      alarms.value = applyAlarms(before, work.alarms);
      notify(newlyOpen(before, alarms.value));
    }
  });
  setInterval(() => {
    loadReady();
    loadSummary();
  }, REFRESH_MS);
}
