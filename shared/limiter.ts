/**
 * A concurrency limit for async work: at most `limit` tasks run at once, the rest wait in
 * arrival order, and at most `maxWaiting` wait: one more is refused at once with
 * {@link QueueFullError}. The Registry runs its scrypt hashes through one, so a burst of logins
 * queues instead of filling every core with hashing threads and starving the processes beside
 * it, and a flood is answered "busy" instead of growing the queue without end.
 *
 * @module
 */

/** The queue of a {@link ConcurrencyLimiter} is full: the task was not queued. */
export class QueueFullError extends Error {
  /** Always `"QueueFullError"`. */
  override name = "QueueFullError";
}

/** Runs async tasks with at most a fixed number in flight. */
export class ConcurrencyLimiter {
  readonly #limit: number;
  readonly #maxWaiting: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  /**
   * `limit`: how many tasks may run at once (a whole number ≥ 1); `maxWaiting`: how many may
   * wait for a turn (a whole number ≥ 0, default unbounded).
   */
  constructor(limit: number, maxWaiting = Infinity) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`a concurrency limit is a whole number of at least 1, got ${limit}`);
    }
    if (maxWaiting !== Infinity && (!Number.isInteger(maxWaiting) || maxWaiting < 0)) {
      throw new RangeError(`a queue bound is a whole number of at least 0, got ${maxWaiting}`);
    }
    this.#limit = limit;
    this.#maxWaiting = maxWaiting;
  }

  /** How many tasks may wait for a turn. */
  get maxWaiting(): number {
    return this.#maxWaiting;
  }

  /** Tasks running now. */
  get running(): number {
    return this.#running;
  }

  /** Tasks waiting for a turn. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Runs `task` once a turn is free; resolves or rejects as it does.
   * @throws {QueueFullError} at once, without running `task`, when `maxWaiting` tasks wait.
   */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#limit) {
      if (this.#waiting.length >= this.#maxWaiting) {
        throw new QueueFullError(`${this.#waiting.length} tasks wait already`);
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      return await task();
    } finally {
      // The turn passes straight to the next waiter, so `running` never overshoots.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    }
  }
}
