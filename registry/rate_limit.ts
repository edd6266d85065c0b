/**
 * Brute-force guard for `POST /cp/authenticate`: failed attempts are counted per CP id and per
 * client IP in sliding windows; once either reaches its limit, further attempts are refused
 * (HTTP 429 with `Retry-After`) until the oldest failure leaves the window.
 *
 * Pure: no timers, the clock is injected, memory is bounded (keys are pruned when their window
 * is empty and the oldest keys are dropped past `maxKeys`, so random ids cannot grow it forever).
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
  /** Milliseconds until one failure leaves the window. */
  readonly retryAfterMs: number;
};

const ALLOWED: Verdict = { allowed: true };

/** Counts failures per key in a sliding window (a log of failure times, at most `limit` long). */
export class SlidingWindowLimiter {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #maxKeys: number;
  readonly #now: () => number;
  // Map keeps insertion order, which is what eviction of the oldest key relies on.
  readonly #failures = new Map<string, number[]>();

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

  /** Number of keys currently tracked. */
  get size(): number {
    return this.#failures.size;
  }

  /** Whether `key` may try now. */
  check(key: string): Verdict {
    const recent = this.#recent(key);
    if (recent.length < this.#limit) return ALLOWED;
    return {
      allowed: false,
      retryAfterMs: recent[recent.length - this.#limit] + this.#windowMs - this.#now(),
    };
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

/** Limits for {@link AuthGuard}. */
export interface AuthGuardOptions {
  /** Failures per CP id per window. Default 10. */
  readonly perCpLimit?: number;
  /** Failures per client IP per window (an IP may try many ids). Default 30. */
  readonly perIpLimit?: number;
  /** Window in milliseconds. Default 5 minutes. */
  readonly windowMs?: number;
  /** Clock in epoch milliseconds. */
  readonly now?: () => number;
}

/**
 * The two limiters the authenticate endpoint uses together. An attempt is refused when either
 * the CP id or the IP is over its limit; a success clears the CP id's count only, so one valid
 * credential cannot be used to reset an IP that is guessing others.
 */
export class AuthGuard {
  readonly #byCp: SlidingWindowLimiter;
  readonly #byIp: SlidingWindowLimiter;

  /** Creates the guard with the given limits (defaults: 10 per CP, 30 per IP, 5 min). */
  constructor(options: AuthGuardOptions = {}) {
    const windowMs = options.windowMs ?? 5 * 60_000;
    this.#byCp = new SlidingWindowLimiter({
      limit: options.perCpLimit ?? 10,
      windowMs,
      now: options.now,
    });
    this.#byIp = new SlidingWindowLimiter({
      limit: options.perIpLimit ?? 30,
      windowMs,
      now: options.now,
    });
  }

  /** Whether `cpId` from `ip` may try now; when refused, the longer of the two waits. */
  check(cpId: string, ip: string): Verdict {
    const verdicts = [this.#byCp.check(cpId), this.#byIp.check(ip)];
    const waits = verdicts.flatMap((v) => v.allowed ? [] : [v.retryAfterMs]);
    return waits.length === 0 ? ALLOWED : { allowed: false, retryAfterMs: Math.max(...waits) };
  }

  /** Counts a failed attempt against both the CP id and the IP. */
  fail(cpId: string, ip: string): void {
    this.#byCp.fail(cpId);
    this.#byIp.fail(ip);
  }

  /** Counts a failure against the IP only (e.g. a wrong admin key). */
  failIp(ip: string): void {
    this.#byIp.fail(ip);
  }

  /** Whether `ip` alone may try now. */
  checkIp(ip: string): Verdict {
    return this.#byIp.check(ip);
  }

  /** Clears the CP id's failures after a successful authentication. */
  succeed(cpId: string): void {
    this.#byCp.reset(cpId);
  }
}
