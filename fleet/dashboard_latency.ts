/**
 * Telemetry sent → the dashboard event that shows it, matched with no socket: the benchmark
 * (fleet/bench.ts) tells it each SUPPLY a fleet thread sent and each dashboard event Central's
 * stream carried, and it pairs them by CP and kWh.
 *
 * Either may come first: the fleet threads post what they sent every 100 ms, so an event can
 * reach the benchmark before its send does. So each waits for the other, at most
 * {@link UNMATCHED_MAX} of each, the oldest forgotten first. An event never precedes its send:
 * one stamped before the send it matches shows an earlier session that reached the same kWh,
 * and is dropped.
 *
 * @module
 */

/** Unmatched sends or shown events kept at most, the oldest forgotten first. */
export const UNMATCHED_MAX = 100_000;

/** Pairs sends with the events that show them; counts only while {@link timing} is on. */
export class DashboardLatency {
  /** Whether sends and events are matched now (the steady state); both are ignored when off. */
  timing = false;
  /** The latencies matched so far, ms. */
  readonly latencies: number[] = [];
  readonly #sentAt = new Map<string, number>();
  readonly #shownAt = new Map<string, number>();
  readonly #max: number;

  /** `max`: unmatched entries kept of each kind ({@link UNMATCHED_MAX} by default). */
  constructor(max = UNMATCHED_MAX) {
    if (!Number.isInteger(max) || max < 1) {
      throw new RangeError(`max must be a whole number of at least 1, got ${max}`);
    }
    this.#max = max;
  }

  /** The fleet sent `kwh` for `cpId` at `at` (ms). */
  sent(cpId: string, kwh: number, at: number): void {
    if (!this.timing) return;
    const key = `${cpId}|${kwh}`;
    const shown = this.#shownAt.get(key);
    this.#shownAt.delete(key);
    if (shown !== undefined && shown >= at) this.latencies.push(shown - at);
    else this.#keep(this.#sentAt, key, at);
  }

  /** The dashboard showed `kwh` for `cpId`, read at `at` (ms). */
  shown(cpId: string, kwh: number | null | undefined, at: number): void {
    if (!this.timing) return;
    const key = `${cpId}|${kwh}`;
    const sent = this.#sentAt.get(key);
    if (sent === undefined) return this.#keep(this.#shownAt, key, at);
    this.#sentAt.delete(key);
    this.latencies.push(at - sent);
  }

  #keep(waiting: Map<string, number>, key: string, at: number): void {
    waiting.set(key, at);
    if (waiting.size > this.#max) waiting.delete(waiting.keys().next().value!);
  }
}
