/**
 * A timeout that counts only the time this thread could have noticed the answer it waits for.
 *
 * A plain `setTimeout` judges a peer by wall time. When this thread is held up (a starved
 * process on a busy machine, a long task), the answer may have arrived long ago and wait unread
 * in a socket while the timer, due meanwhile, fires first and calls the peer silent. On a
 * loaded machine that drops healthy links by the thousand, and reconnecting them loads it more.
 * So a timer that fires late gives the loop as long again as it was held up before it gives up:
 * what waited that long is read in that time, and a peer that is really silent is still caught.
 *
 * @module
 */

/** Lateness up to this is a timer's ordinary jitter, not a held-up thread. */
export const JITTER_MS = 50;

/** The clock and timers an {@link awakeTimeout} uses (the platform's by default). */
export interface TimerHost {
  /** Now, in ms on a monotonic clock. */
  now(): number;
  /** Calls `fn` after `ms`; returns a handle for {@link TimerHost.clear}. */
  set(fn: () => void, ms: number): unknown;
  /** Cancels a timer of {@link TimerHost.set}. */
  clear(handle: unknown): void;
}

const PLATFORM: TimerHost = {
  now: () => performance.now(),
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Calls `onTimeout` once `ms` have passed with this thread able to run; returns a function that
 * cancels it. Each time the timer fires more than {@link JITTER_MS} late, it waits as long
 * again as it was late before deciding.
 * @throws {RangeError} when `ms` is not a finite number of at least 0.
 */
export function awakeTimeout(onTimeout: () => void, ms: number, host = PLATFORM): () => void {
  if (!Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`ms must be a finite number of at least 0, got ${ms}`);
  }
  let handle: unknown;
  const arm = (delay: number) => {
    const dueAt = host.now() + delay;
    handle = host.set(() => {
      const lateMs = host.now() - dueAt;
      if (lateMs > JITTER_MS) arm(lateMs);
      else onTimeout();
    }, delay);
  };
  arm(ms);
  return () => host.clear(handle);
}
