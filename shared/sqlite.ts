/**
 * The one way EVCharging opens a SQLite database (ARCHITECTURE §Storage): `node:sqlite`
 * `DatabaseSync` in WAL mode with a busy timeout, numbered migrations applied
 * at open in one transaction and tracked in `PRAGMA user_version`, and
 * `BEGIN IMMEDIATE` transactions for writes that go together.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { ensurePrivateFileSync } from "./private_files.ts";

/** The database was written by a newer program than this one. */
export class SchemaTooNewError extends Error {
  /** Always `"SchemaTooNewError"`. */
  override name = "SchemaTooNewError";
}

/** Options for {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** How long a writer waits for the lock before failing. Default 5000 ms. */
  readonly busyTimeoutMs?: number;
  /** Who owns the schema, for the "newer schema" message (e.g. `Registry`). */
  readonly owner?: string;
}

/**
 * Opens (creating if needed, with its folder) the database at `path`
 * (`:memory:` for a throwaway one), sets WAL and the busy timeout, and applies
 * pending `migrations`. A new folder is made 0700 and a new file 0600 before
 * SQLite opens it; SQLite gives the `-wal` and `-shm` files the database
 * file's mode, so they are 0600 from their creation too.
 * @throws {SchemaTooNewError} if the file's schema is newer than `migrations`.
 */
export function openDatabase(
  path: string,
  migrations: readonly string[],
  options: OpenDatabaseOptions = {},
): DatabaseSync {
  if (path !== ":memory:") ensurePrivateFileSync(path);
  const db = new DatabaseSync(path);
  try {
    db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
    db.exec("PRAGMA journal_mode = WAL");
    // NORMAL is durable across process crashes in WAL mode; only a power loss can drop the
    // last transactions, which Kafka's uncommitted offsets then replay.
    db.exec("PRAGMA synchronous = NORMAL");
    applyMigrations(db, migrations, options.owner);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

/**
 * Runs `work` in one transaction. `BEGIN IMMEDIATE` takes the write lock up
 * front, so a read-then-write cannot be overtaken by another writer (and a
 * busy database waits `busy_timeout` instead of failing mid-way).
 */
export function transaction<T>(db: DatabaseSync, work: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = work();
    db.exec("COMMIT");
    return result;
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
}

/** The schema version (`PRAGMA user_version`). */
export function schemaVersion(db: DatabaseSync): number {
  return (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
}

/**
 * Brings `db` to the last of `migrations` in one transaction (all or nothing)
 * and records it in `PRAGMA user_version`. Migration `i` brings the database
 * to version `i + 1`; a released migration is never edited, only appended to.
 * @throws {SchemaTooNewError} if the database is newer than `migrations`.
 */
export function applyMigrations(
  db: DatabaseSync,
  migrations: readonly string[],
  owner = "this program",
): void {
  transaction(db, () => {
    const version = schemaVersion(db);
    if (version > migrations.length) {
      throw new SchemaTooNewError(
        `database schema ${version} is newer than ${owner}'s (${migrations.length})`,
      );
    }
    for (let i = version; i < migrations.length; i++) db.exec(migrations[i]);
    // PRAGMA takes no bound parameters; the value is an integer we computed.
    db.exec(`PRAGMA user_version = ${migrations.length}`);
  });
}
