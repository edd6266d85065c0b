/**
 * Counting failures per key (a client address, a CP id and address) in a sliding window: once a
 * key has `limit` failures in the window, or attempts still running that would reach it, further
 * attempts are refused (an HTTP 429 with `Retry-After`) until the oldest failure leaves the window.
 *
 * Pure: no timers, the clock is injected, memory is bounded (keys are pruned when their window
 * is empty and the oldest keys are dropped past `maxKeys`, so random keys cannot grow it forever).
 *
 * @module
 */

/** Settings of one {@link SlidingWindowLimiter}. */
export interface SlidingWindowOptions {
  /** Failures allowed inside one window; the next attempt is refused. */
  readonly limit: number;
  /** Window length in milliseconds. */
  readonly windowMs: number;
  /** Most keys tracked at once (oldest dropped first). Default 10 000. */
  readonly maxKeys?: number;
  /** Clock in epoch milliseconds. Default `Date.now`. */
  readonly now?: () => number;
}

/** Whether an attempt may go ahead, and if not, how long to wait. */
export type Verdict = { readonly allowed: true } | {
  readonly allowed: false;
  /** Milliseconds until an attempt may go ahead again. */
  readonly retryAfterMs: number;
};

/** An attempt that may go ahead. */
export const ALLOWED: Verdict = { allowed: true };

/**
 * The wait asked for when only attempts still running fill the limit: they end within a hash or
 * two, and then either fail (and the window decides) or free their place.
 */
export const PENDING_RETRY_MS = 1000;

/** Counts failures per key in a sliding window (a log of failure times, at most `limit` long). */
export class SlidingWindowLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  // Map keeps insertion order, which is what eviction of the oldest key relies on.
  readonly #failures = new Map<string, number[]>();
  // Attempts begun and not yet ended: each counts as a failure until it ends. Never evicted
  // (each entry is a request in flight, so there are only as many as requests being served).
  readonly #pending = new Map<string, number>();

  /** Creates a limiter; `limit` and `windowMs` must be positive. */
  constructor(options: SlidingWindowOptions) {
    if (!(options.limit >= 1) || !(options.windowMs > 0)) {
      throw new RangeError("limit must be ≥ 1 and windowMs > 0");
    }
    this.#limit = options.limit;
    this.#windowMs = options.windowMs;
    this.#maxKeys = options.maxKeys ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** Number of keys with failures currently tracked. */
  get size(): number {
    return this.#failures.size;
  }

  /** Attempts begun for `key` and not yet ended. */
  pending(key: string): number {
    return this.#pending.get(key) ?? 0;
  }

  /** Whether `key` may try now: its failures and its running attempts are below the limit. */
  check(key: string): Verdict {
    const recent = this.#recent(key);
    if (recent.length >= this.#limit) {
      return {
        allowed: false,
        retryAfterMs: recent[recent.length - this.#limit] + this.#windowMs - this.#now(),
      };
    }
    if (recent.length + this.pending(key) < this.#limit) return ALLOWED;
    return { allowed: false, retryAfterMs: PENDING_RETRY_MS };
  }

  /** Records one failure for `key`. */
  fail(key: string): void {
    const recent = this.#recent(key);
    recent.push(this.#now());
    // Only the newest `limit` failures can ever decide a verdict.
    if (recent.length > this.#limit) recent.splice(0, recent.length - this.#limit);
    this.#failures.delete(key); // re-insert: most recently failed keys live longest
    this.#failures.set(key, recent);
    this.#evict();
  }

  /** Starts an attempt for `key`: it counts as a failure until {@link end}. */
  begin(key: string): void {
    this.#pending.set(key, this.pending(key) + 1);
  }

  /** Ends an attempt begun with {@link begin}; `failed` records it as a failure. */
  end(key: string, failed: boolean): void {
    const left = this.pending(key) - 1;
    if (left > 0) this.#pending.set(key, left);
    else this.#pending.delete(key);
    if (failed) this.fail(key);
  }

  /** Forgets `key`'s failures (after it proved itself). */
  reset(key: string): void {
    this.#failures.delete(key);
  }

  #recent(key: string): number[] {
    const list = this.#failures.get(key);
    if (list === undefined) return [];
    const cutoff = this.#now() - this.#windowMs;
    const kept = list.filter((t) => t > cutoff);
    if (kept.length === 0) this.#failures.delete(key);
    else this.#failures.set(key, kept);
    return kept;
  }

  #evict(): void {
    if (this.#failures.size <= this.#maxKeys) return;
    const cutoff = this.#now() - this.#windowMs;
    for (const [key, list] of this.#failures) {
      if (list[list.length - 1] <= cutoff) this.#failures.delete(key);
    }
    for (const key of this.#failures.keys()) {
      if (this.#failures.size <= this.#maxKeys) break;
      this.#failures.delete(key);
    }
  }
}

/**
 * Throttles wrong secrets (an admin key, a bearer token) per client address. The secret is
 * compared first and the right one always goes through, from any address: these secrets are
 * long and random (at least 32 characters), so the throttle is not what stops guessing; it stops
 * a flood of wrong ones from costing answers and audit records without end, and it can never
 * lock the holder of the secret out.
 */
export class WrongSecretThrottle {
  readonly #byAddress: SlidingWindowLimiter;

  /** `limit` wrong secrets per address in `windowMs`; the next ones are refused. */
  constructor(options: SlidingWindowOptions) {
    this.#byAddress = new SlidingWindowLimiter(options);
  }

  /**
   * Records a wrong secret from `address`. Allowed: answer 401. Refused: the address had
   * `limit` wrong ones in the window already; answer 429 with the wait as `Retry-After`.
   */
  wrong(address: string): Verdict {
    const verdict = this.#byAddress.check(address);
    this.#byAddress.fail(address);
    return verdict;
  }
}

/**
 * The throttle of wrong bearers on Central's and the weather office's APIs: 10 missing or
 * wrong ones per address per minute, then 429 until the flood stops for a minute.
 */
export function bearerThrottle(now?: () => number): WrongSecretThrottle {
  return new WrongSecretThrottle({ limit: 10, windowMs: 60_000, now });
}

/** `Retry-After` seconds for a wait in milliseconds: whole seconds, at least 1. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
