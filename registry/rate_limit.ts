/**
 * Brute-force guard for `POST /cp/authenticate`: failed attempts are counted per (CP id, client
 * address) and per client address in sliding windows (shared/rate_limit.ts); once either
 * reaches its limit, further attempts are refused (HTTP 429 with `Retry-After`).
 *
 * No lockouts: nothing is counted per CP id alone, so failures from one address never refuse
 * the CP from another (CP ids are public). Attempts still being hashed count as failures until
 * they end, so a burst sent in parallel cannot slip past the limit while scrypt runs, and an
 * address may have only a few attempts in flight at once, so it cannot take the whole hashing
 * queue (registry/credentials.ts).
 *
 * Wrong admin and feed keys are throttled per address apart from all this, and only wrong ones:
 * the right key always goes through, so the Registry's management calls (Central's CP manager,
 * on the same address as anything else on its machine) are never throttled by strangers.
 *
 * Pure: no timers, the clock is injected, memory is bounded.
 *
 * @module
 */
import {
  ALLOWED,
  SlidingWindowLimiter,
  type Verdict,
  WrongSecretThrottle,
} from "../shared/rate_limit.ts";

export type { Verdict };

/** Limits for {@link AuthGuard}. */
export interface AuthGuardOptions {
  /** Failures per (CP id, address) per window. Default 10. */
  readonly perCpLimit?: number;
  /** Failures per client address per window (an address may host many CPs). Default 100. */
  readonly perIpLimit?: number;
  /** Attempts one address may have in flight at once. Default 16. */
  readonly perIpInFlight?: number;
  /** Wrong admin or feed keys per address per window before 429s. Default 10. */
  readonly wrongKeyLimit?: number;
  /** Window in milliseconds. Default 5 minutes. */
  readonly windowMs?: number;
  /** Clock in epoch milliseconds. */
  readonly now?: () => number;
}

/** One authentication that went ahead: end it exactly once. */
export interface Attempt {
  /** The credential was right: the (CP id, address) pair's failures are forgotten. */
  succeed(): void;
  /** The credential was wrong (or the id unknown): a failure for the pair and the address. */
  fail(): void;
  /** Not decided (the hashing queue was full): counted as nothing. */
  abandon(): void;
}

/** An attempt that may go ahead, or how long to wait. */
export type Admission =
  | { readonly allowed: true; readonly attempt: Attempt }
  | { readonly allowed: false; readonly retryAfterMs: number };

/**
 * The limiters the authenticate endpoint uses together. An attempt is refused when its (CP id,
 * address) pair or its address is over its limit, or the address has `perIpInFlight` attempts
 * running; a success clears the pair's count only, so one valid credential cannot be used to
 * reset an address that is guessing others.
 */
export class AuthGuard {
  readonly #byPair: SlidingWindowLimiter;
  readonly #byIp: SlidingWindowLimiter;
  readonly #inFlight: number;
  readonly #wrongKeys: WrongSecretThrottle;

  /** Creates the guard with the given limits (defaults: 10 per pair, 100 per address, 5 min). */
  constructor(options: AuthGuardOptions = {}) {
    const windowMs = options.windowMs ?? 5 * 60_000;
    this.#byPair = new SlidingWindowLimiter({
      limit: options.perCpLimit ?? 10,
      windowMs,
      now: options.now,
    });
    this.#byIp = new SlidingWindowLimiter({
      limit: options.perIpLimit ?? 100,
      windowMs,
      now: options.now,
    });
    this.#inFlight = options.perIpInFlight ?? 16;
    this.#wrongKeys = new WrongSecretThrottle({
      limit: options.wrongKeyLimit ?? 10,
      windowMs,
      now: options.now,
    });
  }

  /**
   * Records a wrong or missing admin or feed key from `ip`: allowed means answer 401; refused
   * means the address sent too many, answer 429. Never asked for a right key.
   */
  wrongKey(ip: string): Verdict {
    return this.#wrongKeys.wrong(ip);
  }

  /** Whether `cpId` from `ip` may try now; when refused, the longest of the waits. */
  check(cpId: string, ip: string): Verdict {
    const pair = pairKey(cpId, ip);
    const verdicts = [this.#byPair.check(pair), this.#byIp.check(ip)];
    if (this.#byIp.pending(ip) >= this.#inFlight) {
      verdicts.push({ allowed: false, retryAfterMs: 1000 });
    }
    const waits = verdicts.flatMap((v) => v.allowed ? [] : [v.retryAfterMs]);
    return waits.length === 0 ? ALLOWED : { allowed: false, retryAfterMs: Math.max(...waits) };
  }

  /**
   * Starts an attempt of `cpId` from `ip` if {@link check} allows it. Until it ends it counts
   * as a failure of the pair and of the address.
   */
  begin(cpId: string, ip: string): Admission {
    const verdict = this.check(cpId, ip);
    if (!verdict.allowed) return verdict;
    const pair = pairKey(cpId, ip);
    this.#byPair.begin(pair);
    this.#byIp.begin(ip);
    let ended = false;
    const end = (failed: boolean) => {
      if (ended) return;
      ended = true;
      this.#byPair.end(pair, failed);
      this.#byIp.end(ip, failed);
    };
    return {
      allowed: true,
      attempt: {
        succeed: () => {
          end(false);
          this.#byPair.reset(pair);
        },
        fail: () => end(true),
        abandon: () => end(false),
      },
    };
  }
}

function pairKey(cpId: string, ip: string): string {
  return JSON.stringify([cpId, ip]);
}
