/**
 * The Registry's SQLite store (ARCHITECTURE §Storage): one row per CP (its current registration) and an
 * append-only history of every registry action on it.
 *
 * `node:sqlite` `DatabaseSync` in WAL mode with a busy timeout; numbered migrations applied at
 * open in one transaction and tracked in `PRAGMA user_version`; parameterized statements only;
 * writes that go together (a change and its history entry) share one transaction. Credentials
 * never reach this module: only their scrypt hashes do, and only {@link RegistryStore.getAuth}
 * returns one.
 *
 * @module
 */
import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import { openDatabase, schemaVersion, transaction } from "../shared/sqlite.ts";

/** Registration status of a CP. */
export type CpStatus = "REGISTERED" | "DEREGISTERED";

/** The statuses, for filters and schemas. */
export const CP_STATUSES = ["REGISTERED", "DEREGISTERED"] as const;

/** Metadata: a flat object of short values. */
export type CpMetadata = Record<string, string | number | boolean | null>;

/** A CP as the Registry shows it (no secret, no hash). */
export interface CpRecord {
  /** CP id. */
  readonly cpId: string;
  /** Where it is. */
  readonly location: string;
  /** Price in €/kWh. */
  readonly priceEurKwh: number;
  /** Rated power in kW. */
  readonly powerKw: number;
  /** Free metadata. */
  readonly metadata: CpMetadata;
  /** Registration status. */
  readonly status: CpStatus;
  /** Start of the current registration (ISO 8601). */
  readonly registeredAt: string;
  /** Last change (ISO 8601). */
  readonly updatedAt: string;
  /** When it was deregistered, or `null` while registered. */
  readonly deregisteredAt: string | null;
  /** SHA-256 fingerprint of the certificate given at registration, or `null` if none was. */
  readonly certificateSha256: string | null;
}

/** The fields given at registration. */
export interface NewCp {
  /** CP id. */
  readonly cpId: string;
  /** Where it is. */
  readonly location: string;
  /** Price in €/kWh. */
  readonly priceEurKwh: number;
  /** Rated power in kW. */
  readonly powerKw: number;
  /** Free metadata. */
  readonly metadata: CpMetadata;
  /** SHA-256 fingerprint of the CP's own certificate, when it gave one. */
  readonly certificateSha256?: string;
}

/** The fields an update may change. */
export type CpPatch = Partial<Omit<NewCp, "cpId" | "certificateSha256">>;

/** One entry of a CP's history. */
export interface HistoryEntry {
  /** `registered`, `updated` or `deregistered`. */
  readonly action: "registered" | "updated" | "deregistered";
  /** When (ISO 8601). */
  readonly at: string;
  /** What changed (field names only for updates). */
  readonly details: Record<string, unknown>;
}

/**
 * One entry of the change feed (`GET /changes`): a history entry with its place in the feed.
 * `seq` grows with every registry action and is never reused (the history is append-only).
 */
export interface CpChange {
  /** Position in the feed, from 1. */
  readonly seq: number;
  /** CP id. */
  readonly cpId: string;
  /** What happened. */
  readonly action: HistoryEntry["action"];
  /** When (ISO 8601). */
  readonly at: string;
  /**
   * Start of the registration the change belongs to (ISO 8601): the new one for `registered`,
   * the one that ended for `deregistered`. A reader tells an old deregistration from a newer
   * registration by it.
   */
  readonly registeredAt: string | null;
}

/** Result of a write: the CP, or why nothing was written. */
export type WriteResult =
  | { readonly ok: true; readonly cp: CpRecord }
  | { readonly ok: false; readonly reason: "exists" | "not_found" | "deregistered" };

/** The CP's status and credential hash, for authentication only. */
export interface CpAuth {
  /** CP record. */
  readonly cp: CpRecord;
  /** Stored scrypt hash of its credentials. */
  readonly credentialHash: string;
}

/** A page of CPs. */
export interface CpPage {
  /** The CPs of this page, by id. */
  readonly items: CpRecord[];
  /** How many CPs match the filter in all. */
  readonly total: number;
}

/**
 * Schema changes, in order; migration `i` brings the database to `user_version = i + 1`.
 * Never edit a released migration: append a new one.
 */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE charging_points (
     cp_id           TEXT PRIMARY KEY,
     location        TEXT NOT NULL,
     price_eur_kwh   REAL NOT NULL,
     power_kw        REAL NOT NULL,
     metadata        TEXT NOT NULL DEFAULT '{}',
     status          TEXT NOT NULL CHECK (status IN ('REGISTERED', 'DEREGISTERED')),
     credential_hash TEXT NOT NULL,
     registered_at   TEXT NOT NULL,
     updated_at      TEXT NOT NULL,
     deregistered_at TEXT
   ) STRICT;
   CREATE INDEX charging_points_by_status ON charging_points (status, cp_id);
   CREATE TABLE cp_history (
     id      INTEGER PRIMARY KEY,
     cp_id   TEXT NOT NULL,
     action  TEXT NOT NULL,
     at      TEXT NOT NULL,
     details TEXT NOT NULL DEFAULT '{}'
   ) STRICT;
   CREATE INDEX cp_history_by_cp ON cp_history (cp_id, id);`,
  `ALTER TABLE charging_points ADD COLUMN certificate_sha256 TEXT;`,
];

interface CpRow {
  cp_id: string;
  location: string;
  price_eur_kwh: number;
  power_kw: number;
  metadata: string;
  status: CpStatus;
  credential_hash: string;
  registered_at: string;
  updated_at: string;
  deregistered_at: string | null;
  certificate_sha256: string | null;
}

function toRecord(row: CpRow): CpRecord {
  return {
    cpId: row.cp_id,
    location: row.location,
    priceEurKwh: row.price_eur_kwh,
    powerKw: row.power_kw,
    metadata: JSON.parse(row.metadata),
    status: row.status,
    registeredAt: row.registered_at,
    updatedAt: row.updated_at,
    deregisteredAt: row.deregistered_at,
    certificateSha256: row.certificate_sha256,
  };
}

/** The Registry's database. Synchronous (`DatabaseSync`): each call is one short transaction. */
export class RegistryStore {
  readonly #db: DatabaseSync;
  readonly #listeners = new Set<() => void>();

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /**
   * Opens (creating if needed) the database at `path` (`:memory:` for a throwaway one), sets
   * WAL and the busy timeout, and applies pending migrations.
   * @throws {SchemaTooNewError} (from `shared/sqlite.ts`) if the file's schema is newer than
   * {@link MIGRATIONS}.
   */
  static open(path: string, options: { busyTimeoutMs?: number } = {}): RegistryStore {
    return new RegistryStore(
      openDatabase(path, MIGRATIONS, { ...options, owner: "this Registry" }),
    );
  }

  /** Closes the database. */
  close(): void {
    this.#db.close();
  }

  /** The schema version (`PRAGMA user_version`). */
  get schemaVersion(): number {
    return schemaVersion(this.#db);
  }

  /**
   * Registers a new CP, or registers a deregistered one again (new data, new credential hash,
   * new registration date; its history stays).
   * @returns `exists` if the id is currently registered.
   */
  register(cp: NewCp, credentialHash: string, now: Date): WriteResult {
    const at = now.toISOString();
    return this.#transaction(() => {
      const current = this.#row(cp.cpId);
      if (current?.status === "REGISTERED") return { ok: false, reason: "exists" };
      const values = {
        cp_id: cp.cpId,
        location: cp.location,
        price_eur_kwh: cp.priceEurKwh,
        power_kw: cp.powerKw,
        metadata: JSON.stringify(cp.metadata),
        credential_hash: credentialHash,
        certificate_sha256: cp.certificateSha256 ?? null,
        at,
      };
      this.#db.prepare(
        `INSERT INTO charging_points (cp_id, location, price_eur_kwh, power_kw, metadata, status,
                                      credential_hash, registered_at, updated_at, deregistered_at,
                                      certificate_sha256)
         VALUES (:cp_id, :location, :price_eur_kwh, :power_kw, :metadata, 'REGISTERED',
                 :credential_hash, :at, :at, NULL, :certificate_sha256)
         ON CONFLICT (cp_id) DO UPDATE SET
           location = excluded.location, price_eur_kwh = excluded.price_eur_kwh,
           power_kw = excluded.power_kw, metadata = excluded.metadata, status = 'REGISTERED',
           credential_hash = excluded.credential_hash, registered_at = excluded.registered_at,
           updated_at = excluded.updated_at, deregistered_at = NULL,
           certificate_sha256 = excluded.certificate_sha256`,
      ).run(values);
      this.#history(cp.cpId, "registered", at, { again: current !== undefined });
      return { ok: true, cp: toRecord(this.#row(cp.cpId)!) };
    });
  }

  /** The CP, or `undefined`. */
  get(cpId: string): CpRecord | undefined {
    const row = this.#row(cpId);
    return row && toRecord(row);
  }

  /** The CP and its credential hash, for the authenticate endpoint only. */
  getAuth(cpId: string): CpAuth | undefined {
    const row = this.#row(cpId);
    return row && { cp: toRecord(row), credentialHash: row.credential_hash };
  }

  /** A page of CPs ordered by id, optionally only those with `status`, with the total count. */
  list(query: { status?: CpStatus; limit: number; offset: number }): CpPage {
    const where = query.status ? "WHERE status = :status" : "";
    const params: Record<string, SQLInputValue> = query.status ? { status: query.status } : {};
    const rows = this.#db.prepare(
      `SELECT * FROM charging_points ${where} ORDER BY cp_id LIMIT :limit OFFSET :offset`,
    ).all({ ...params, limit: query.limit, offset: query.offset }) as unknown as CpRow[];
    const count = this.#db.prepare(`SELECT COUNT(*) AS n FROM charging_points ${where}`)
      .get(params) as { n: number };
    return { items: rows.map(toRecord), total: count.n };
  }

  /** Changes a registered CP's location, price, power or metadata (only the given fields). */
  update(cpId: string, patch: CpPatch, now: Date): WriteResult {
    const at = now.toISOString();
    return this.#changeRegistered(cpId, (current) => {
      this.#db.prepare(
        `UPDATE charging_points SET location = :location, price_eur_kwh = :price_eur_kwh,
           power_kw = :power_kw, metadata = :metadata, updated_at = :at WHERE cp_id = :cp_id`,
      ).run({
        cp_id: cpId,
        location: patch.location ?? current.location,
        price_eur_kwh: patch.priceEurKwh ?? current.price_eur_kwh,
        power_kw: patch.powerKw ?? current.power_kw,
        metadata: patch.metadata === undefined ? current.metadata : JSON.stringify(patch.metadata),
        at,
      });
      this.#history(cpId, "updated", at, { fields: Object.keys(patch).sort() });
    });
  }

  /**
   * Gives a registered CP new credentials (their hash): the old ones stop working at once. The
   * history records that the credentials changed, never what they are.
   */
  resetCredentials(cpId: string, credentialHash: string, now: Date): WriteResult {
    const at = now.toISOString();
    return this.#changeRegistered(cpId, () => {
      this.#db.prepare(
        `UPDATE charging_points SET credential_hash = :hash, updated_at = :at WHERE cp_id = :cp_id`,
      ).run({ cp_id: cpId, hash: credentialHash, at });
      this.#history(cpId, "updated", at, { fields: ["credentials"] });
    });
  }

  /** Deregisters a CP: it stays, with status `DEREGISTERED` and the date; history is kept. */
  deregister(cpId: string, now: Date): WriteResult {
    const at = now.toISOString();
    return this.#changeRegistered(cpId, () => {
      this.#db.prepare(
        `UPDATE charging_points SET status = 'DEREGISTERED', deregistered_at = :at,
           updated_at = :at WHERE cp_id = :cp_id`,
      ).run({ cp_id: cpId, at });
      this.#history(cpId, "deregistered", at, {});
    });
  }

  /**
   * Up to `limit` changes after `after`, in feed order. Each is a history entry; its
   * `registeredAt` is the latest registration of that CP at or before it.
   */
  changesAfter(after: number, limit: number): CpChange[] {
    const rows = this.#db.prepare(
      `SELECT h.id AS seq, h.cp_id, h.action, h.at,
         (SELECT r.at FROM cp_history r
           WHERE r.cp_id = h.cp_id AND r.action = 'registered' AND r.id <= h.id
           ORDER BY r.id DESC LIMIT 1) AS registered_at
       FROM cp_history h WHERE h.id > ? ORDER BY h.id LIMIT ?`,
    ).all(after, limit) as unknown as {
      seq: number;
      cp_id: string;
      action: HistoryEntry["action"];
      at: string;
      registered_at: string | null;
    }[];
    return rows.map((r) => ({
      seq: r.seq,
      cpId: r.cp_id,
      action: r.action,
      at: r.at,
      registeredAt: r.registered_at,
    }));
  }

  /** The newest change's `seq` (0 when nothing ever happened). */
  lastChangeSeq(): number {
    const row = this.#db.prepare("SELECT max(id) AS seq FROM cp_history").get() as {
      seq: number | null;
    };
    return row.seq ?? 0;
  }

  /** Calls `listener` after each committed change; returns the function that removes it. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Every registry action on `cpId`, oldest first. */
  history(cpId: string): HistoryEntry[] {
    const rows = this.#db.prepare(
      "SELECT action, at, details FROM cp_history WHERE cp_id = ? ORDER BY id",
    ).all(cpId) as unknown as { action: HistoryEntry["action"]; at: string; details: string }[];
    return rows.map((r) => ({ action: r.action, at: r.at, details: JSON.parse(r.details) }));
  }

  #row(cpId: string): CpRow | undefined {
    return this.#db.prepare("SELECT * FROM charging_points WHERE cp_id = ?").get(cpId) as
      | CpRow
      | undefined;
  }

  #history(cpId: string, action: HistoryEntry["action"], at: string, details: object): void {
    this.#db.prepare("INSERT INTO cp_history (cp_id, action, at, details) VALUES (?, ?, ?, ?)")
      .run(cpId, action, at, JSON.stringify(details));
  }

  /**
   * Runs `change` on the registered CP `cpId` in a transaction and answers the CP as it then is;
   * `not_found` or `deregistered` (nothing changed) otherwise.
   */
  #changeRegistered(cpId: string, change: (current: CpRow) => void): WriteResult {
    return this.#transaction(() => {
      const current = this.#row(cpId);
      if (current === undefined) return { ok: false, reason: "not_found" };
      if (current.status !== "REGISTERED") return { ok: false, reason: "deregistered" };
      change(current);
      return { ok: true, cp: toRecord(this.#row(cpId)!) };
    });
  }

  /** Runs `work` in a transaction; a write that succeeded wakes the change listeners. */
  #transaction<T extends WriteResult>(work: () => T): T {
    const result = transaction(this.#db, work);
    if (result.ok) { for (const listener of this.#listeners) listener(); }
    return result;
  }
}
