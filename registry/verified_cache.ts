/**
 * A memory of credentials the Registry has already checked, so a CP that authenticates again
 * (a token refresh, a reconnect after an outage) costs a keyed hash instead of an scrypt.
 * Every CP refreshes its token at least every 15 minutes (ARCHITECTURE §Tokens): at 10 000 CPs that
 * alone would be 11 scrypt hashes a second, more than one core can do.
 *
 * What is kept is `HMAC-SHA256(k, credential)` under a random key `k` that never leaves this
 * process, next to the stored scrypt hash it was checked against. A changed stored hash
 * (re-registration) or an expired entry means a full scrypt check again. The database still
 * holds only the slow hash, so a stolen database is no easier to attack; a wrong credential
 * never matches an entry and still costs its scrypt, so timing tells nothing new.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** Settings of {@link VerifiedCredentials}. */
export interface VerifiedCredentialsOptions {
  /** How long a checked credential is remembered (default 1 hour). */
  readonly ttlMs?: number;
  /** At most this many CPs are remembered; the oldest is forgotten first (default 100 000). */
  readonly maxEntries?: number;
}

interface Entry {
  readonly storedHash: string;
  readonly digest: Buffer;
  readonly expiresAt: number;
}

/** Credentials known to match their CP's stored hash, for a while. */
export class VerifiedCredentials {
  readonly #key = randomBytes(32);
  readonly #entries = new Map<string, Entry>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;

  /** Checks the options once: both are positive whole numbers. */
  constructor(options: VerifiedCredentialsOptions = {}) {
    const ttlMs = options.ttlMs ?? 3_600_000;
    const maxEntries = options.maxEntries ?? 100_000;
    if (!Number.isInteger(ttlMs) || ttlMs < 1) {
      throw new RangeError(`ttlMs is a whole number of milliseconds ≥ 1, got ${ttlMs}`);
    }
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`maxEntries is a whole number ≥ 1, got ${maxEntries}`);
    }
    this.#ttlMs = ttlMs;
    this.#maxEntries = maxEntries;
  }

  /** CPs remembered now (expired ones included until they are looked up). */
  get size(): number {
    return this.#entries.size;
  }

  /** Remembers that `credential` matches `storedHash`, the hash stored for `cpId`. */
  remember(cpId: string, storedHash: string, credential: string, now: number): void {
    this.#entries.delete(cpId); // re-inserted last: the Map's order is the eviction order
    this.#entries.set(cpId, {
      storedHash,
      digest: this.#digest(credential),
      expiresAt: now + this.#ttlMs,
    });
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }

  /**
   * Whether `credential` was checked against `storedHash` for `cpId` within the last `ttlMs`.
   * `false` means "not known", not "wrong": the caller then checks the slow hash.
   */
  matches(cpId: string, storedHash: string, credential: string, now: number): boolean {
    const entry = this.#entries.get(cpId);
    if (entry === undefined) return false;
    if (entry.expiresAt <= now || entry.storedHash !== storedHash) {
      this.#entries.delete(cpId);
      return false;
    }
    return timingSafeEqual(entry.digest, this.#digest(credential));
  }

  /** Forgets `cpId` (deregistered, or its credential replaced). */
  forget(cpId: string): void {
    this.#entries.delete(cpId);
  }

  #digest(credential: string): Buffer {
    return createHmac("sha256", this.#key).update(credential).digest();
  }
}
