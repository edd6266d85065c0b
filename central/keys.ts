/**
 * Central's CP keys (ARCHITECTURE §Login and keys, §Secrets at rest): the per-login key agreement, the keyring that opens
 * telemetry and seals commands, and the replay guard of telemetry.
 *
 * Keys live in memory as non-extractable `CryptoKey`s and in the database only wrapped under
 * the master key, bound to their CP and version. At start every live and retired key is
 * unwrapped again, so telemetry that waited in Kafka while Central was down still opens.
 *
 * @module
 */
import {
  deriveCpKey,
  exportEcdhPublicKey,
  generateEcdhKeyPair,
  importEcdhPublicKey,
  newSalt,
  unwrapCpKey,
  wrapCpKey,
} from "../shared/cp_key.ts";
import { CpKeyring, type ForgottenKey, ReplayGuard } from "../shared/envelope.ts";
import type { Recovered } from "./store.ts";

/** What a login needs from the key agreement: the answer for `AUTH_OK` and the key to keep. */
export interface LoginKey {
  /** The new key version. */
  readonly keyVersion: number;
  /** The HKDF salt, for `AUTH_OK`. */
  readonly salt: string;
  /** Central's ephemeral ECDH public key, for `AUTH_OK`. */
  readonly ecdhPublicKey: string;
  /** The key wrapped under the master key, for the database. */
  readonly wrappedKey: string;
  /** The key itself (not extractable), for the keyring once the login is stored. */
  readonly key: CryptoKey;
}

/** The keyring, the replay guard and the master key that wraps keys at rest. */
export class KeyVault {
  /** Every CP's live and retired keys. */
  readonly keyring: CpKeyring;
  /** Highest accepted telemetry seq per (cp, kv, channel). */
  readonly guard = new ReplayGuard();
  readonly #master: CryptoKey;
  readonly #nextVersion: (cpId: string) => number;
  // Versions handed out to logins still in progress, so two logins at once never share one.
  readonly #reserved = new Map<string, number>();

  private constructor(
    master: CryptoKey,
    nextVersion: (cpId: string) => number,
    now: () => number,
  ) {
    this.keyring = new CpKeyring({ now });
    this.#master = master;
    this.#nextVersion = nextVersion;
  }

  /**
   * Rebuilds the keyring from the stored wrapped keys and the guard from the stored marks.
   * `nextVersion` says which version a CP's next login gets (the store's `nextKeyVersion`).
   * A retired key stored without its retirement time starts its grace period now (`now`,
   * epoch ms, injectable for tests).
   * @throws {import("../shared/cp_key.ts").CpKeyError} if a key does not unwrap (wrong master key).
   */
  static async open(
    master: CryptoKey,
    recovered: Pick<Recovered, "keys" | "marks">,
    nextVersion: (cpId: string) => number,
    now: () => number = Date.now,
  ): Promise<KeyVault> {
    const vault = new KeyVault(master, nextVersion, now);
    // Oldest first, so adding the live one last leaves it live.
    const keys = [...recovered.keys].sort((a, b) =>
      a.state === b.state ? a.keyVersion - b.keyVersion : a.state === "live" ? 1 : -1
    );
    for (const { cpId, keyVersion, wrapped, state, retiredAt } of keys) {
      const key = await unwrapCpKey(master, wrapped, { cpId, keyVersion });
      vault.keyring.add(cpId, keyVersion, key, state, retiredAt ?? undefined);
    }
    vault.guard.restore(recovered.marks);
    return vault;
  }

  /**
   * Central's side of a login: a fresh ECDH pair, a salt, the next key version, the derived key
   * and its wrapped form. Nothing is stored or installed: call {@link install} once the login
   * is committed.
   * @throws {import("../shared/cp_key.ts").CpKeyError} for a bad monitor public key.
   */
  async agree(cpId: string, monitorPublicKey: string): Promise<LoginKey> {
    const peer = await importEcdhPublicKey(monitorPublicKey);
    const keyVersion = Math.max(this.#nextVersion(cpId), (this.#reserved.get(cpId) ?? 0) + 1);
    this.#reserved.set(cpId, keyVersion);
    const pair = await generateEcdhKeyPair();
    const salt = newSalt();
    const derived = await deriveCpKey({
      privateKey: pair.privateKey,
      peerPublicKey: peer,
      salt,
      cpId,
      keyVersion,
      extractable: true, // only to wrap it; the keyring gets the non-extractable unwrapped copy
    });
    const label = { cpId, keyVersion };
    const wrappedKey = await wrapCpKey(this.#master, derived, label);
    return {
      keyVersion,
      salt,
      ecdhPublicKey: await exportEcdhPublicKey(pair.publicKey),
      wrappedKey,
      key: await unwrapCpKey(this.#master, wrappedKey, label),
    };
  }

  /**
   * Forgets retired and revoked key versions whose grace period (`graceMs` since they stopped
   * being live) is over, with their replay marks; returns them, for the store to drop too.
   * Telemetry under them is then rejected as `expired_kv`.
   */
  forgetExpired(graceMs: number): ForgottenKey[] {
    const forgotten = this.keyring.forgetExpired(graceMs);
    for (const { cp, kv } of forgotten) this.guard.forget(cp, kv);
    return forgotten;
  }

  /** Makes a committed login's key the CP's live key (the previous one is retired). */
  install(cpId: string, login: LoginKey): void {
    this.keyring.add(cpId, login.keyVersion, login.key);
  }
}
