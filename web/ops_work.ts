/**
 * What a batch of the event stream asks of the operator console (web/ops.ts): a `reset` (a
 * fresh snapshot) reloads the alarms, readiness and figures; a `status` event re-reads
 * readiness; an `alarm` event is applied as it is; every other event (a state change, figures,
 * a session, a ticket…) may move the headline figures. Pure: no DOM, no network.
 *
 * @module
 */
import type { Alarm } from "./alarm_list.ts";
import type { LiveEvent } from "./state.ts";

/** The work one batch asks for. */
export interface OpsWork {
  /** Reload every alarm (`GET /alarms`). */
  readonly reloadAlarms: boolean;
  /** Re-read `GET /health/ready`. */
  readonly ready: boolean;
  /** Re-read `GET /summary` (soon: it is throttled). */
  readonly summary: boolean;
  /** Alarms opened or cleared, in order. */
  readonly alarms: readonly Alarm[];
}

/** The work `events` ask for. */
export function opsWork(events: readonly LiveEvent[]): OpsWork {
  let reloadAlarms = false;
  let ready = false;
  let summary = false;
  const alarms: Alarm[] = [];
  for (const e of events) {
    if (e.type === "reset") {
      reloadAlarms = ready = summary = true;
    } else if (e.type === "alarm") alarms.push(e.data as Alarm);
    else if (e.type === "status") ready = true;
    else summary = true;
  }
  return { reloadAlarms, ready, summary, alarms };
}

/**
 * How long to wait before the next `GET /summary` that an event asked for, so that it comes at
 * most every `gapMs`: 0 when the last read (`lastAtMs`) is that old.
 */
export function summaryDelay(lastAtMs: number, nowMs: number, gapMs: number): number {
  return Math.max(0, lastAtMs + gapMs - nowMs);
}
