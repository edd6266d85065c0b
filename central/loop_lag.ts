/**
 * How late Central's own event loop has been lately, from a periodic timer's lateness. The
 * heartbeat timeout must judge a CP's silence, not Central's: when Central's loop is held up
 * (overload, a long pause), heartbeats wait unread in its sockets, and judging the CPs then
 * would disconnect every one of them at once, and their logins would overload it further.
 *
 * @module
 */

/** The largest lateness of a timer over a sliding window. */
export class LatenessWindow {
  readonly #windowMs: number;
  #samples: { readonly at: number; readonly lateMs: number }[] = [];

  /** Keeps `windowMs` (a positive number) of samples. */
  constructor(windowMs: number) {
    if (!(windowMs > 0)) throw new RangeError(`windowMs must be positive, got ${windowMs}`);
    this.#windowMs = windowMs;
  }

  /**
   * Notes that a timer due at `dueAt` ran at `at`; returns the largest lateness (ms, ≥ 0) of the
   * runs within the last `windowMs`, this one included.
   */
  note(dueAt: number, at: number): number {
    this.#samples.push({ at, lateMs: Math.max(0, at - dueAt) });
    this.#samples = this.#samples.filter((s) => s.at > at - this.#windowMs);
    return Math.max(...this.#samples.map((s) => s.lateMs));
  }
}
