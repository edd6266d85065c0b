/**
 * The operator console's trackers (power series, availability, alarms) started from Central's
 * recovered model and fed by every committed step; each opened or cleared alarm is also
 * published on the dashboard's live feed as an `alarm` event (data: the alarm as
 * `GET /alarms` shows it).
 *
 * @module
 */
import { AlarmBook } from "./alarms.ts";
import type { OperatorTrackers } from "./api_console.ts";
import { AvailabilityTracker } from "./availability.ts";
import type { LiveFeed } from "./live_feed.ts";
import { PowerSeries } from "./power_series.ts";
import type { CentralRuntime } from "./runtime.ts";

/** The SSE event name of an opened or cleared alarm. */
export const ALARM_EVENT = "alarm";

/** Starts the trackers at `atMs` and subscribes them to `runtime`; alarms go to `feed`. */
export function trackOperator(
  runtime: CentralRuntime,
  feed: LiveFeed | undefined,
  atMs: number,
): OperatorTrackers & { readonly stop: () => void } {
  const series = new PowerSeries(runtime.model);
  const availability = new AvailabilityTracker(runtime.model, atMs);
  const alarms = new AlarmBook(runtime.model, atMs);
  const stop = runtime.subscribe((committed) => {
    series.observe(committed);
    availability.observe(committed);
    for (const alarm of alarms.observe(committed)) feed?.publish(ALARM_EVENT, alarm);
  });
  return { series, availability, alarms, stop };
}
