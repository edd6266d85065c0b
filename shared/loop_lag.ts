/**
 * How late this thread's event loop has been lately, from a periodic timer's lateness. A
 * timeout must judge the peer's silence, not this thread's: when the loop is held up (overload,
 * a starved process, a long pause), answers wait unread in its sockets, and judging the peers
 * then would call every one of them silent at once. Central judges heartbeats with it, the CP
 * monitor its engine's health checks.
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
    return this.largest(at);
  }

  /** The largest lateness (ms, ≥ 0) of the runs within the `windowMs` before `at`. */
  largest(at: number): number {
    this.#samples = this.#samples.filter((s) => s.at > at - this.#windowMs);
    return Math.max(0, ...this.#samples.map((s) => s.lateMs));
  }
}

/**
 * The lateness of a timer that runs every `everyMs`, kept over `windowMs`. It also counts the
 * lateness of a run still due: after a stall, whichever timer runs first learns of it from
 * {@link PeriodicLateness.lagMs} before this one's own run comes.
 */
export class PeriodicLateness {
  readonly #everyMs: number;
  readonly #window: LatenessWindow;
  #dueAt = Number.POSITIVE_INFINITY;

  /** For a timer every `everyMs` (positive), lateness kept over `windowMs` (positive). */
  constructor(everyMs: number, windowMs: number) {
    if (!(everyMs > 0)) throw new RangeError(`everyMs must be positive, got ${everyMs}`);
    this.#everyMs = everyMs;
    this.#window = new LatenessWindow(windowMs);
  }

  /** The timer was started at `at`: its first run is due `everyMs` later. */
  started(at: number): void {
    this.#dueAt = at + this.#everyMs;
  }

  /** The timer ran at `at`; returns {@link PeriodicLateness.lagMs} then. */
  ran(at: number): number {
    const lagMs = this.#window.note(this.#dueAt, at);
    this.#dueAt = at + this.#everyMs;
    return lagMs;
  }

  /** How late the loop has been (ms, ≥ 0) within the window before `at`, a run still due included. */
  lagMs(at: number): number {
    return Math.max(this.#window.largest(at), at - this.#dueAt);
  }
}

/**
 * Another thread's lateness, from what it reports: it runs a timer every `everyMs` and reports
 * each run's lateness. The largest report within `windowMs` counts, with the time it took to
 * arrive, and so does a report that is overdue: a thread that cannot report cannot read its
 * sockets either.
 */
export class ReportedLateness {
  readonly #everyMs: number;
  readonly #window: LatenessWindow;
  #lastAt: number;

  /** Reports every `everyMs` (positive), kept over `windowMs` (positive), expected from `startedAt`. */
  constructor(everyMs: number, windowMs: number, startedAt: number) {
    if (!(everyMs > 0)) throw new RangeError(`everyMs must be positive, got ${everyMs}`);
    this.#everyMs = everyMs;
    this.#window = new LatenessWindow(windowMs);
    this.#lastAt = startedAt;
  }

  /**
   * A report sent at `sentAt` came at `at`: the thread's timer ran `lateMs` late. Its way here
   * counts too: news the thread passed on that wait unread (a receiving loop behind on its
   * messages, though its own timers run on time) are late by as much.
   */
  report(lateMs: number, sentAt: number, at: number): void {
    this.#window.note(Math.min(sentAt, at) - Math.max(0, lateMs), at);
    this.#lastAt = at;
  }

  /** How late the thread has been (ms, ≥ 0) within the window before `at`, an overdue report included. */
  lagMs(at: number): number {
    return Math.max(this.#window.largest(at), at - this.#lastAt - this.#everyMs);
  }
}
