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
 * Bounded: the open alarms (at most one per CP and kind) and the newest
 * {@link MAX_CLEARED_ALARMS} cleared ones. Pure apart from its own state: no clock, no I/O.
 *
 * @module
 */
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
        this.#raise(cp.id, "cp_disconnected", atMs, "not logged in since Central started");
      }
      if (cp.status.state === "BROKEN") this.#raise(cp.id, "cp_broken", atMs, "engine KO");
    }
    for (const report of model.weather.values()) {
      if (report.status === "alert") {
        this.#raise(report.cpId, "weather_hold", atMs, `${report.city}: ${report.temperatureC} °C`);
      }
    }
  }

  /** Applies one committed step; returns the alarms it opened or cleared, in order. */
  observe({ input, effects }: Committed): Alarm[] {
    const changed: Alarm[] = [];
    const at = input.at;
    const raise = (cpId: string, kind: AlarmKind, detail: string) => {
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
          if (status.state === "BROKEN") raise(id, "cp_broken", "the engine reports KO");
          else clear(id, "cp_broken");
          if (status.state === "DISCONNECTED") {
            raise(id, "cp_disconnected", "monitor not logged in");
          } else clear(id, "cp_disconnected");
          break;
        }
        case "save_weather": {
          const { cpId, city, temperatureC, status } = effect.report;
          if (status === "alert") raise(cpId, "weather_hold", `${city}: ${temperatureC} °C`);
          else clear(cpId, "weather_hold");
          break;
        }
        case "revoke_keys":
          if (!(input.type === "revoke_keys" && input.rotate)) {
            raise(effect.cpId, "key_revoked", `keys revoked (${input.type})`);
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

  #raise(cpId: string, kind: AlarmKind, at: number, detail: string): Alarm | undefined {
    const key = `${kind}|${cpId}`;
    if (this.#open.has(key)) return undefined;
    const alarm: Alarm = {
      id: this.#nextId++,
      cp_id: cpId,
      kind,
      began_at: iso(at),
      cleared_at: null,
      detail,
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
