/**
 * CP credentials (ARCHITECTURE §Registration): 256 random bits shown once, stored only as an scrypt hash.
 *
 * A stored hash is one self-describing string, `scrypt$N$r$p$salt$hash` (base64url salt and
 * hash), so the cost parameters can be raised later without breaking existing CPs. Checks
 * compare in constant time.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { ConcurrencyLimiter, QueueFullError } from "../shared/limiter.ts";

export { QueueFullError };

/** scrypt cost parameters. */
export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  readonly N: number;
  /** Block size. */
  readonly r: number;
  /** Parallelism. */
  readonly p: number;
}

/**
 * Default cost: N=2^14, r=8, p=1 (16 MiB, ~0.1 s). A credential is 256 random bits, so it
 * cannot be guessed whatever the hash; the slow hash only protects a stolen database further,
 * while keeping an authentication cheap enough for a fleet of CPs.
 */
export const DEFAULT_SCRYPT: ScryptParams = { N: 16384, r: 8, p: 1 };

const KEY_BYTES = 32;
const SALT_BYTES = 16;

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}

/**
 * Hashes that may wait for their turn. At ~0.1 s a hash, the last of 32 waits ~3 s, inside the
 * clients' 5 s timeout; more would only answer after the client gave up.
 */
export const DEFAULT_HASH_QUEUE_BOUND = 32;

/**
 * A queue of hashes: one at a time, at most `maxWaiting` waiting; a hash past that is refused
 * at once with {@link QueueFullError} (the Registry answers 503 with `Retry-After`).
 */
export function createHashQueue(maxWaiting = DEFAULT_HASH_QUEUE_BOUND): ConcurrencyLimiter {
  return new ConcurrencyLimiter(1, maxWaiting);
}

/**
 * The process's hash queue, used unless another is given. One hash at a time: each async
 * scrypt runs on its own thread, and a burst of registrations (a fleet ramping) or of logins
 * right after the Registry restarted (it forgets the credentials it checked,
 * registry/verified_cache.ts) would otherwise put every core into hashing and starve Central and
 * the CPs on the same machine until their heartbeats time out (BENCHMARKS.md). Queued hashes
 * cost latency, not correctness; a flood past the bound is refused rather than queued.
 */
export const HASH_QUEUE: ConcurrencyLimiter = createHashQueue();

function derive(
  secret: string,
  salt: Uint8Array,
  params: ScryptParams,
  queue: ConcurrencyLimiter,
): Promise<Buffer> {
  const { N, r, p } = params;
  // maxmem must exceed 128·N·r or node refuses large N; leave headroom.
  const maxmem = 256 * N * r + 1024 * 1024;
  return queue.run(() =>
    new Promise((resolve, reject) =>
      scrypt(
        secret,
        salt,
        KEY_BYTES,
        { N, r, p, maxmem },
        (error, key) => error ? reject(error) : resolve(key),
      )
    )
  );
}

/**
 * Hashes `credential` with a fresh random salt; returns the self-describing stored form.
 * @throws {QueueFullError} when `queue` (default: the process's) is full.
 */
export async function hashCredential(
  credential: string,
  params: ScryptParams = DEFAULT_SCRYPT,
  queue: ConcurrencyLimiter = HASH_QUEUE,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(credential, salt, params, queue);
  return `scrypt$${params.N}$${params.r}$${params.p}$${b64url(salt)}$${b64url(hash)}`;
}

const STORED = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

/**
 * Whether `credential` matches `stored`, compared in constant time. A malformed stored value
 * never matches (and does not throw, so callers cannot leak it through an error).
 * @throws {QueueFullError} when `queue` (default: the process's) is full: nothing was decided.
 */
export async function verifyCredential(
  credential: string,
  stored: string,
  queue: ConcurrencyLimiter = HASH_QUEUE,
): Promise<boolean> {
  const match = STORED.exec(stored);
  if (!match) return false;
  const [N, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const salt = Buffer.from(match[4], "base64url");
  const expected = Buffer.from(match[5], "base64url");
  let actual: Buffer;
  try {
    actual = await derive(credential, salt, { N, r, p }, queue);
  } catch (error) {
    if (error instanceof QueueFullError) throw error;
    return false;
  }
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
