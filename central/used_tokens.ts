/**
 * Each CP token logs in once: Central remembers the `jti` of every token that logged in until
 * the token expires, so a token captured on the way (or read off a monitor's host) cannot log in
 * again, not even after Central restarts.
 *
 * {@link UsedTokens} is the pure part (a map of jti → expiry, pruned as time passes);
 * {@link SqliteUsedTokens} keeps the same in Central's SQLite file (table `used_token_ids`).
 *
 * @module
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";

/**
 * How long a jti is kept past its token's `exp`: verification tolerates 30 s of clock skew, so
 * an expired token is still accepted that long, and must still be refused if it was used.
 */
export const KEEP_AFTER_EXPIRY_MS = 60_000;

/** Remembered jtis, without any storage. */
export class UsedTokens {
  readonly #expiry = new Map<string, number>();
  #prunedAt = -Infinity;

  /** How many are remembered. */
  get size(): number {
    return this.#expiry.size;
  }

  /**
   * Takes `jti` (of a token expiring at `expiresAtMs`) for a login at `now` (ms): true the first
   * time, false if it was taken before. It is kept until {@link KEEP_AFTER_EXPIRY_MS} past the
   * expiry; expired ones are forgotten at most once a second, so a claim costs O(1).
   * @throws {RangeError} for an empty jti or an expiry that is not a time.
   */
  claim(jti: string, expiresAtMs: number, now: number): boolean {
    if (jti === "") throw new RangeError("a token id (jti) is needed");
    if (!Number.isFinite(expiresAtMs)) throw new RangeError("the expiry must be a time in ms");
    if (now - this.#prunedAt >= 1000) this.prune(now);
    if (this.#expiry.has(jti)) return false;
    this.#expiry.set(jti, expiresAtMs + KEEP_AFTER_EXPIRY_MS);
    return true;
  }

  /** Forgets the jtis of tokens expired at `now`; returns how many. */
  prune(now: number): number {
    this.#prunedAt = now;
    let dropped = 0;
    for (const [jti, expiresAtMs] of this.#expiry) {
      if (expiresAtMs > now) continue;
      this.#expiry.delete(jti);
      dropped++;
    }
    return dropped;
  }

  /** Adds one remembered before a restart (`keepUntilMs` as stored), unless past at `now`. */
  restore(jti: string, keepUntilMs: number, now: number): void {
    if (keepUntilMs > now) this.#expiry.set(jti, keepUntilMs);
  }
}

/**
 * {@link UsedTokens} kept in SQLite as well: a claim is written before the login goes on, and
 * the table is pruned with the map (at most one prune per {@link PRUNE_EVERY_MS}).
 */
export class SqliteUsedTokens {
  readonly #memory = new UsedTokens();
  readonly #insert: StatementSync;
  readonly #prune: StatementSync;
  #prunedAt = 0;

  /** Opens (creating the table if needed) and loads the unexpired jtis. */
  constructor(db: DatabaseSync, now: number = Date.now()) {
    db.exec(`CREATE TABLE IF NOT EXISTS used_token_ids (
      jti        TEXT PRIMARY KEY,
      keep_until INTEGER NOT NULL
    ) STRICT`);
    db.prepare("DELETE FROM used_token_ids WHERE keep_until <= ?").run(now);
    for (const row of db.prepare("SELECT jti, keep_until FROM used_token_ids").all()) {
      this.#memory.restore(String(row.jti), Number(row.keep_until), now);
    }
    this.#insert = db.prepare(
      "INSERT INTO used_token_ids (jti, keep_until) VALUES (?, ?) ON CONFLICT DO NOTHING",
    );
    this.#prune = db.prepare("DELETE FROM used_token_ids WHERE keep_until <= ?");
    this.#prunedAt = now;
  }

  /** How many unexpired jtis are remembered. */
  get size(): number {
    return this.#memory.size;
  }

  /** Like {@link UsedTokens.claim}, and stored. */
  claim(jti: string, expiresAtMs: number, now: number): boolean {
    if (!this.#memory.claim(jti, expiresAtMs, now)) return false;
    this.#insert.run(jti, expiresAtMs + KEEP_AFTER_EXPIRY_MS);
    if (now - this.#prunedAt >= PRUNE_EVERY_MS) {
      this.#prune.run(now);
      this.#prunedAt = now;
    }
    return true;
  }
}

/** How often expired rows leave the table (the map forgets them at every claim). */
export const PRUNE_EVERY_MS = 60_000;
