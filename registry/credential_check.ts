/**
 * The credential check of `POST /cp/authenticate`, under the brute-force guard: an attempt is
 * admitted by the guard (per (CP id, address) and per address, attempts still being hashed
 * counting), then the credential is checked against the remembered ones or by scrypt in the
 * bounded hashing queue, and the attempt ends as a success or a failure. A full queue decides
 * nothing and counts nothing: the caller answers 503 with `Retry-After`.
 *
 * Apart from the route so the token side of authentication (registry/app.ts) and this side
 * change independently.
 *
 * @module
 */
import type { ConcurrencyLimiter } from "../shared/limiter.ts";
import { QueueFullError, verifyCredential } from "./credentials.ts";
import type { AuthGuard } from "./rate_limit.ts";
import type { CpAuth, RegistryStore } from "./store.ts";
import type { VerifiedCredentials } from "./verified_cache.ts";

/** What {@link checkCredentials} needs. */
export interface CredentialCheckDeps {
  /** The CP database. */
  readonly store: RegistryStore;
  /** The brute-force guard. */
  readonly guard: AuthGuard;
  /** Credentials checked recently. */
  readonly verified: VerifiedCredentials;
  /** The hashing queue. */
  readonly hashQueue: ConcurrencyLimiter;
  /** A stored hash of no credential: unknown ids cost one scrypt like known ones (timing). */
  readonly dummyHash: () => Promise<string>;
  /** Clock in epoch ms. */
  readonly now: () => number;
}

/** How a credential check ended. */
export type CredentialCheck =
  /** The right credential: the CP's record (its status is the caller's to check). */
  | { readonly kind: "ok"; readonly auth: CpAuth }
  /** Unknown id or wrong credential (one answer for both). */
  | { readonly kind: "invalid"; readonly reason: "unknown_cp" | "wrong_credentials" }
  /** Too many failures (or attempts running) for the pair or the address: 429. */
  | { readonly kind: "throttled"; readonly retryAfterMs: number }
  /** The hashing queue is full: 503, nothing decided. */
  | { readonly kind: "busy" };

/** Checks `credentials` of `cpId` sent from `ip`. */
export async function checkCredentials(
  deps: CredentialCheckDeps,
  cpId: string,
  credentials: string,
  ip: string,
): Promise<CredentialCheck> {
  const admission = deps.guard.begin(cpId, ip);
  if (!admission.allowed) return { kind: "throttled", retryAfterMs: admission.retryAfterMs };
  const { attempt } = admission;
  try {
    const auth = deps.store.getAuth(cpId);
    const at = deps.now();
    const known = auth !== undefined &&
      deps.verified.matches(cpId, auth.credentialHash, credentials, at);
    const valid = known ||
      await verifyCredential(
        credentials,
        auth?.credentialHash ?? await deps.dummyHash(),
        deps.hashQueue,
      );
    if (auth === undefined || !valid) {
      attempt.fail();
      return { kind: "invalid", reason: auth === undefined ? "unknown_cp" : "wrong_credentials" };
    }
    attempt.succeed();
    if (!known && auth.cp.status === "REGISTERED") {
      deps.verified.remember(cpId, auth.credentialHash, credentials, at);
    }
    return { kind: "ok", auth };
  } catch (error) {
    attempt.abandon();
    if (error instanceof QueueFullError) return { kind: "busy" };
    throw error;
  }
}
