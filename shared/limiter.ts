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
   * @throws the reason of `signal`, without running `task`, if it aborts while `task` waits.
   */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const release = await this.acquire(signal);
    try {
      return await task();
    } finally {
      release();
    }
  }

  /**
   * Waits for a turn and resolves with the function that gives it back (once; later calls do
   * nothing), for work whose end is not one promise (a login that goes on as a session).
   * @throws {QueueFullError} at once when `maxWaiting` tasks wait.
   * @throws the reason of `signal` if it is aborted, or aborts while waiting: the place in the
   * queue is given up, so an abandoned wait never takes a turn.
   */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.#running >= this.#limit) {
      if (this.#waiting.length >= this.#maxWaiting) {
        throw new QueueFullError(`${this.#waiting.length} tasks wait already`);
      }
      await this.#wait(signal);
    } else {
      this.#running++;
    }
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      // The turn passes straight to the next waiter, so `running` never overshoots.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
    };
  }

  /** Resolves when a finished turn is handed to this waiter; rejects if `signal` aborts first. */
  #wait(signal: AbortSignal | undefined): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const handOver = () => {
      signal?.removeEventListener("abort", giveUp);
      resolve();
    };
    const giveUp = () => {
      const at = this.#waiting.indexOf(handOver);
      if (at !== -1) this.#waiting.splice(at, 1);
      reject(signal!.reason);
    };
    this.#waiting.push(handOver);
    signal?.addEventListener("abort", giveUp, { once: true });
    return promise;
  }
}
