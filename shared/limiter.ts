/**
 * A concurrency limit for async work: at most `limit` tasks run at once, the rest wait in
 * arrival order. The Registry runs its scrypt hashes through one, so a burst of logins queues
 * instead of filling every core with hashing threads and starving the processes beside it.
 *
 * @module
 */

/** Runs async tasks with at most a fixed number in flight. */
export class ConcurrencyLimiter {
  readonly #limit: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  /** `limit`: how many tasks may run at once (a whole number ≥ 1). */
  constructor(limit: number) {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new RangeError(`a concurrency limit is a whole number of at least 1, got ${limit}`);
    }
    this.#limit = limit;
  }

  /** Tasks running now. */
  get running(): number {
    return this.#running;
  }

  /** Tasks waiting for a turn. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Runs `task` once a turn is free; resolves or rejects as it does. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#limit) {
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
