/**
 * The operator's alarms, derived from Central's committed steps (the core's effects): each has
 * a CP, a kind, when it began and when it cleared.
 *
 * | kind              | opens when                                          | clears when                        |
 * | ----------------- | --------------------------------------------------- | ---------------------------------- |
 * | `cp_broken`       | a stored CP turns `BROKEN`                          | it leaves `BROKEN`                 |
 * | `cp_disconnected` | a stored CP turns `DISCONNECTED` (also: recovered so at start) | it leaves `DISCONNECTED` |
 * | `weather_hold`    | the weather office's report for the CP is an alert  | a clear                            |
 * | `key_revoked`     | the CP's keys are revoked, other than by a rotation | the CP logs in again with a new key |
 *
 * Each says what it is about in English (`detail`) and as a code with parameters the dashboard
 * shows in its language (shared/notices.ts).
 *
 * Bounded: the open alarms (at most one per CP and kind) and the newest
 * {@link MAX_CLEARED_ALARMS} cleared ones. Pure apart from its own state: no clock, no I/O.
 *
 * @module
 */
import { notice, type NoticeFields } from "../shared/notices.ts";
import type { Model } from "./core.ts";
import type { Committed } from "./runtime.ts";
import type { AlarmJson } from "./wire.ts";

/** Cleared alarms kept for `GET /alarms`. */
export const MAX_CLEARED_ALARMS = 500;

/** One alarm as the API and the `alarm` SSE event show it. */
export type Alarm = Readonly<AlarmJson>;

/** What an alarm is about. */
export type AlarmKind = Alarm["kind"];

const iso = (ms: number) => new Date(ms).toISOString();

const weatherNotice = (report: { readonly city: string; readonly temperatureC: number }) =>
  notice("alarm_weather", { city: report.city, temperature: report.temperatureC });

// What took the keys away, by the input that did: an admin's revoke, an admin's REVOKED status,
// the Registry's deregistration (another input is named by its type).
function revokedNotice(by: string): NoticeFields {
  if (by === "revoke_keys") return notice("alarm_keys_revoked");
  if (by === "set_security") return notice("alarm_revoked_for_good");
  if (by === "registry_change") return notice("alarm_deregistered");
  return notice("alarm_keys_lost", { by });
}

/** Open and recently cleared alarms. */
export class AlarmBook {
  readonly #open = new Map<string, Alarm>();
  #cleared: Alarm[] = [];
  #nextId = 1;

  /**
   * Starts from a recovered `model` at `atMs`: CPs recovered `DISCONNECTED` or `BROKEN`, and
   * weather holds, are open alarms from then on.
   */
  constructor(model: Model, atMs: number) {
    for (const cp of model.cps.values()) {
      if (cp.status.state === "DISCONNECTED") {
        this.#raise(cp.id, "cp_disconnected", atMs, notice("alarm_out_since_start"));
      }
      if (cp.status.state === "BROKEN") {
        this.#raise(cp.id, "cp_broken", atMs, notice("alarm_engine_ko_at_start"));
      }
    }
    for (const report of model.weather.values()) {
      if (report.status === "alert") {
        this.#raise(report.cpId, "weather_hold", atMs, weatherNotice(report));
      }
    }
  }

  /** Applies one committed step; returns the alarms it opened or cleared, in order. */
  observe({ input, now: at, effects }: Committed): Alarm[] {
    const changed: Alarm[] = [];
    const raise = (cpId: string, kind: AlarmKind, detail: NoticeFields) => {
      const alarm = this.#raise(cpId, kind, at, detail);
      if (alarm !== undefined) changed.push(alarm);
    };
    const clear = (cpId: string, kind: AlarmKind) => {
      const alarm = this.#clear(cpId, kind, at);
      if (alarm !== undefined) changed.push(alarm);
    };
    if (input.type === "login") clear(input.cpId, "key_revoked");
    for (const effect of effects) {
      switch (effect.type) {
        case "save_cp": {
          const { id, status } = effect.cp;
          if (status.state === "BROKEN") raise(id, "cp_broken", notice("alarm_engine_ko"));
          else clear(id, "cp_broken");
          if (status.state === "DISCONNECTED") {
            raise(id, "cp_disconnected", notice("alarm_monitor_out"));
          } else clear(id, "cp_disconnected");
          break;
        }
        case "save_weather": {
          const { report } = effect;
          if (report.status === "alert") raise(report.cpId, "weather_hold", weatherNotice(report));
          else clear(report.cpId, "weather_hold");
          break;
        }
        case "revoke_keys":
          if (!(input.type === "revoke_keys" && input.rotate)) {
            raise(effect.cpId, "key_revoked", revokedNotice(input.type));
          }
          break;
      }
    }
    return changed;
  }

  /** The open alarms, newest first. */
  open(): Alarm[] {
    return [...this.#open.values()].reverse();
  }

  /** Open alarms, then the cleared ones, newest first. */
  all(): Alarm[] {
    return [...this.open(), ...[...this.#cleared].reverse()];
  }

  #raise(cpId: string, kind: AlarmKind, at: number, said: NoticeFields): Alarm | undefined {
    const key = `${kind}|${cpId}`;
    if (this.#open.has(key)) return undefined;
    const alarm: Alarm = {
      id: this.#nextId++,
      cp_id: cpId,
      kind,
      began_at: iso(at),
      cleared_at: null,
      ...said,
    };
    this.#open.set(key, alarm);
    return alarm;
  }

  #clear(cpId: string, kind: AlarmKind, at: number): Alarm | undefined {
    const key = `${kind}|${cpId}`;
    const alarm = this.#open.get(key);
    if (alarm === undefined) return undefined;
    this.#open.delete(key);
    const cleared = { ...alarm, cleared_at: iso(at) };
    this.#cleared.push(cleared);
    if (this.#cleared.length > MAX_CLEARED_ALARMS) {
      this.#cleared = this.#cleared.slice(-MAX_CLEARED_ALARMS);
    }
    return cleared;
  }
}
