/**
 * Central's audit log on disk (ARCHITECTURE §Audit): each record of the hash chain
 * (`audit_chain.ts`) is a row of the `audit_log` table in Central's SQLite database (the truth)
 * and one line of a JSON-lines file (the copy an operator archives and checks with
 * `deno task audit:verify`).
 *
 * **Durability.** A record is committed to SQLite first, then its line is appended to the file.
 * Lines are not fsynced one by one: once `write()` returns the bytes survive a crash of Central,
 * and whatever a crash or power loss leaves out of the file (missing or torn tail lines) is
 * rewritten from SQLite at the next {@link AuditLog.open}. The file is fsynced at open after that
 * repair and at close.
 *
 * **Wiring in Central.**
 * ```ts
 * const audit = AuditLog.open({ db, jsonlPath: "data/audit.jsonl" }); // applies its migrations
 * // The `AUDIT` message of audit.events is the record in an envelope: {v: 1, type: "AUDIT", ...}.
 * audit.subscribe((record) =>
 *   producer.send(TOPICS.auditEvents, record.actor, { v: 1, type: "AUDIT", ...record })
 * );
 * audit.append({ actor: "admin", action: "key.rotate", outcome: "ok", params: { cpId } });
 *
 * // Rejected envelopes, failed logins: anything an attacker can repeat at will.
 * const rejects = new AuditAggregator({ emit: (entry) => audit.append(entry) });
 * setInterval(() => rejects.tick(), 1000);
 * rejects.offer({ actor: `cp:${cpId}`, action: "envelope.reject", outcome: "rejected", reason });
 * // At shutdown: rejects.flush(); audit.close();
 * ```
 *
 * @module
 */
import {
  closeSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import { getLogger, SECRET_FIELDS } from "../shared/log.ts";
import { makePrivateDirSync, PRIVATE_FILE_MODE } from "../shared/private_files.ts";
import { type AuditOutcome, decodeJson, parseMessage } from "../shared/messages.ts";
import { SchemaTooNewError, transaction } from "../shared/sqlite.ts";
import {
  auditContentSchema,
  type AuditEntry,
  type AuditHead,
  type AuditRecord,
  type AuditVerification,
  canonicalJson,
  formatAuditLine,
  GENESIS_HEAD,
  hashAuditRecord,
  verifyAuditLines,
  type VerifyAuditOptions,
} from "./audit_chain.ts";

const log = getLogger(["evcharging", "central", "audit"]);

/**
 * Reads a JSON-lines audit file and checks it with {@link verifyAuditLines}. A final line
 * without `\n` is checked like any other. The file is read whole.
 * @throws {Deno.errors.NotFound} (or another `Deno.errors` class) if the file cannot be read.
 */
export async function verifyAuditFile(
  path: string,
  options: VerifyAuditOptions = {},
): Promise<AuditVerification> {
  const lines = (await Deno.readTextFile(path)).split("\n");
  if (lines.at(-1) === "") lines.pop(); // the "\n" ending the last line starts no new one
  return verifyAuditLines(lines, options);
}

// ---------------------------------------------------------------------------------------------
// Storage
// ---------------------------------------------------------------------------------------------

/**
 * The audit table's migrations. Their version lives in the `audit_schema` table rather than in
 * `PRAGMA user_version`, which belongs to Central's own list: the two lists grow independently
 * and neither needs to know where the other's entries sit. Only ever appended to.
 */
const AUDIT_MIGRATIONS: readonly string[] = [
  `CREATE TABLE audit_log (
     seq       INTEGER PRIMARY KEY,
     ts        TEXT NOT NULL,
     origin_ip TEXT,
     actor     TEXT NOT NULL,
     action    TEXT NOT NULL,
     params    TEXT NOT NULL,
     outcome   TEXT NOT NULL,
     prev_hash TEXT NOT NULL,
     hash      TEXT NOT NULL
   ) STRICT;
   CREATE INDEX audit_log_actor ON audit_log (actor, seq);
   CREATE INDEX audit_log_action ON audit_log (action, seq);
   CREATE INDEX audit_log_ts ON audit_log (ts);`,
];

/**
 * Creates or upgrades the audit tables in `db` (Central's database), in one transaction.
 * Idempotent; {@link AuditLog.open} calls it, so Central only calls it itself to have the full
 * schema without opening the log.
 * @throws {SchemaTooNewError} if the audit tables are newer than this program.
 */
export function applyAuditMigrations(db: DatabaseSync): void {
  transaction(db, () => {
    db.exec("CREATE TABLE IF NOT EXISTS audit_schema (version INTEGER NOT NULL) STRICT");
    const row = db.prepare("SELECT version FROM audit_schema").get() as
      | { version: number }
      | undefined;
    const version = row?.version ?? 0;
    if (version > AUDIT_MIGRATIONS.length) {
      throw new SchemaTooNewError(
        `audit schema ${version} is newer than this Central's (${AUDIT_MIGRATIONS.length})`,
      );
    }
    for (let i = version; i < AUDIT_MIGRATIONS.length; i++) db.exec(AUDIT_MIGRATIONS[i]);
    db.exec("DELETE FROM audit_schema");
    db.prepare("INSERT INTO audit_schema (version) VALUES (?)").run(AUDIT_MIGRATIONS.length);
  });
}

/** A row of `audit_log`. */
interface AuditRow {
  seq: number;
  ts: string;
  origin_ip: string | null;
  actor: string;
  action: string;
  params: string;
  outcome: string;
  prev_hash: string;
  hash: string;
}

function toRecord(row: AuditRow): AuditRecord {
  return {
    seq: row.seq,
    ts: row.ts,
    ...(row.origin_ip === null ? {} : { origin_ip: row.origin_ip }),
    actor: row.actor,
    action: row.action,
    params: JSON.parse(row.params),
    outcome: row.outcome as AuditOutcome,
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}

/**
 * Bytes read from the end of the file at open to find its last complete line. A record line is
 * under 52 KB (32 params of at most 500 characters, 3 UTF-8 bytes each, plus fixed fields), so
 * this always holds the last complete line and any torn one after it.
 */
const TAIL_BYTES = 128 * 1024;

/** Lines written per batch when the file catches up with SQLite. */
const CATCH_UP_BATCH = 500;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Writes every byte (a `write()` may take only part). */
function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done);
}

/**
 * The file's last complete line (without `\n`) and the offset just after it; no line and offset 0
 * when the file holds no complete line.
 * @throws {AuditLogMismatchError} if the tail holds no line short enough to be a record.
 */
function readTail(fd: number, size: number, path: string): { line?: string; end: number } {
  const start = Math.max(0, size - TAIL_BYTES);
  const buffer = new Uint8Array(size - start);
  const tail = buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, start));
  const last = tail.lastIndexOf(0x0a);
  // A negative fromIndex would count from the end, so a newline at 0 is handled apart.
  const before = last <= 0 ? -1 : tail.lastIndexOf(0x0a, last - 1);
  if (start > 0 && before < 0) {
    throw new AuditLogMismatchError(`${path}: its last line is longer than any audit record`);
  }
  if (last < 0) return { end: 0 };
  return { line: decoder.decode(tail.subarray(before + 1, last)), end: start + last + 1 };
}

/** The file's last record is not the database's record with that `seq`. */
export class AuditLogMismatchError extends Error {
  /** Always `"AuditLogMismatchError"`. */
  override name = "AuditLogMismatchError";
}

// ---------------------------------------------------------------------------------------------
// The log
// ---------------------------------------------------------------------------------------------

/**
 * Called with every record appended. What it returns is ignored, except that a rejected promise
 * is logged (so an async publish can be returned as is).
 */
export type AuditListener = (record: AuditRecord) => unknown;

/** A query of {@link AuditLog.list}. */
export interface AuditQuery {
  /** Only records with `ts` at or after this ISO 8601 timestamp. */
  readonly since?: string;
  /** Only records of this actor. */
  readonly actor?: string;
  /** Only records of this action. */
  readonly action?: string;
  /** Only records about this CP: its own (actor `cp:<id>`) and those naming it (`params.cpId`). */
  readonly cpId?: string;
  /** Page size, 1 to {@link AUDIT_PAGE_MAX}. */
  readonly limit: number;
  /** Records to skip (matching ones, newest first). Default 0. */
  readonly offset?: number;
}

/** A page of {@link AuditLog.list}: records newest first, and how many match in all. */
export interface AuditPage {
  /** The page, newest (highest `seq`) first. */
  readonly items: AuditRecord[];
  /** Records matching the filters, over all pages. */
  readonly total: number;
}

/** The largest page {@link AuditLog.list} returns. */
export const AUDIT_PAGE_MAX = 1000;

/** Options of {@link AuditLog.open}. */
export interface AuditLogOptions {
  /** Central's database (opened with shared/sqlite.ts); the log adds its tables and never closes it. */
  readonly db: DatabaseSync;
  /** The JSON-lines file, created with its folder if missing (Central's default `data/audit.jsonl`). */
  readonly jsonlPath: string;
  /** The clock that stamps `ts`. Default the system clock. */
  readonly now?: () => Date;
}

/**
 * The audit log: appends records to SQLite and the JSON-lines file, lists them, and tells
 * subscribers. Everything is synchronous, so appends are serialized by construction and two
 * records can never claim the same place in the chain. One writer per database: a second
 * `AuditLog` on the same database would fail on the `seq` primary key rather than fork the chain.
 */
export class AuditLog {
  readonly #db: DatabaseSync;
  readonly #path: string;
  readonly #now: () => Date;
  readonly #fd: number;
  readonly #listeners = new Set<AuditListener>();
  readonly #insert: StatementSync;
  readonly #rowsAfter: StatementSync;
  /** The chain's last record, as committed to SQLite. */
  #head: AuditHead;
  /** The last record the file holds, and the file's size just after it. */
  #fileSeq = 0;
  #fileBytes = 0;
  #closed = false;

  private constructor(options: AuditLogOptions, fd: number) {
    this.#db = options.db;
    this.#path = options.jsonlPath;
    this.#now = options.now ?? (() => new Date());
    this.#fd = fd;
    this.#insert = this.#db.prepare(
      `INSERT INTO audit_log (seq, ts, origin_ip, actor, action, params, outcome, prev_hash, hash)
       VALUES (:seq, :ts, :origin_ip, :actor, :action, :params, :outcome, :prev_hash, :hash)`,
    );
    this.#rowsAfter = this.#db.prepare(
      "SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?",
    );
    const last = this.#db.prepare("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
      .get() as AuditHead | undefined;
    this.#head = last ? { seq: last.seq, hash: last.hash } : GENESIS_HEAD;
  }

  /**
   * Opens the log: applies the audit migrations to `db`, opens the file for appending, and
   * repairs it from SQLite: a torn last line (a write cut short) is cut off and records the file
   * lacks are appended. Logs the head, a checkpoint outside both stores.
   * @throws {AuditLogMismatchError} if the file's last record is not the database's record with
   * that `seq` (the file was edited, or belongs to another database). Nothing is changed: an
   * operator checks the file (`deno task audit:verify`), moves it aside, and restarts; the file is
   * then rewritten from SQLite.
   * @throws {SchemaTooNewError} if the audit tables are newer than this program.
   */
  static open(options: AuditLogOptions): AuditLog {
    applyAuditMigrations(options.db);
    makePrivateDirSync(dirname(options.jsonlPath));
    // "a+": every write lands at the end, and the tail can still be read and truncated. A new
    // file is made 0600 by this very call.
    const fd = openSync(options.jsonlPath, "a+", PRIVATE_FILE_MODE);
    try {
      const auditLog = new AuditLog(options, fd);
      auditLog.#repairFile();
      return auditLog;
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /** The chain's last record as committed to SQLite: pass it as a verifier's expected head. */
  get head(): AuditHead {
    return this.#head;
  }

  /**
   * Appends one record: validates it, commits it to SQLite, appends its line to the file and
   * tells every subscriber. Call it after the transaction of the action it records has committed
   * (outside any transaction): a record must not outlive a rollback of its own row.
   *
   * If the file cannot be written (disk full), the error is logged and the record still counts:
   * it is in SQLite, and the file catches up on the next append or open.
   * @throws {TypeError} if `params` has a key that looks like a secret (`token`, `cpKey`,
   * `password`, …; shared/log.ts `SECRET_FIELDS`) or any field is invalid. Both are programming
   * errors, refused the same way in every environment so that tests find them.
   * @throws {Error} if the log is closed, if called inside a transaction, or if SQLite fails.
   */
  append(entry: AuditEntry): AuditRecord {
    if (this.#closed) throw new Error("audit log is closed");
    if (this.#db.isTransaction) {
      throw new Error("AuditLog.append: call it after the transaction commits, not inside it");
    }
    const content = parseMessage(auditContentSchema, {
      seq: this.#head.seq + 1,
      ts: this.#now().toISOString(),
      ...(entry.originIp === undefined ? {} : { origin_ip: entry.originIp }),
      actor: entry.actor,
      action: entry.action,
      params: entry.params,
      outcome: entry.outcome,
      prev_hash: this.#head.hash,
    });
    if (!content.ok) throw new TypeError(`audit record refused: ${content.reason}`);
    const secret = Object.keys(content.value.params).find(isSecretField);
    if (secret !== undefined) {
      throw new TypeError(`audit params must not carry secrets: "${secret}" is a secret field`);
    }
    const record: AuditRecord = { ...content.value, hash: hashAuditRecord(content.value) };

    this.#insert.run({
      seq: record.seq,
      ts: record.ts,
      origin_ip: record.origin_ip ?? null,
      actor: record.actor,
      action: record.action,
      params: canonicalJson(record.params),
      outcome: record.outcome,
      prev_hash: record.prev_hash,
      hash: record.hash,
    });
    this.#head = { seq: record.seq, hash: record.hash };
    try {
      this.#catchUpFile(record);
    } catch (error) {
      log.error("audit file {path} not written, kept in SQLite: {error}", {
        path: this.#path,
        error,
      });
    }
    for (const listener of this.#listeners) this.#deliver(listener, record);
    return record;
  }

  /**
   * Registers `listener` for every later record (Central publishes each to `audit.events` and
   * the dashboard's event stream). A listener's error is logged and never fails the append.
   * @returns a function that unsubscribes it.
   */
  subscribe(listener: AuditListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * A page of records, **newest first** (what an operator looks at), filtered by any of `since`,
   * `actor` and `action`, with the total that match. Filter values are bound parameters.
   * @throws {RangeError} if `limit` is not 1–{@link AUDIT_PAGE_MAX} or `offset` is negative.
   */
  list(query: AuditQuery): AuditPage {
    const offset = query.offset ?? 0;
    if (!Number.isSafeInteger(query.limit) || query.limit < 1 || query.limit > AUDIT_PAGE_MAX) {
      throw new RangeError(`limit must be an integer from 1 to ${AUDIT_PAGE_MAX}`);
    }
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new RangeError("offset must be a non-negative integer");
    }
    const conditions: string[] = [];
    const params: Record<string, SQLInputValue> = {};
    if (query.since !== undefined) {
      conditions.push("ts >= :since");
      params.since = query.since;
    }
    if (query.actor !== undefined) {
      conditions.push("actor = :actor");
      params.actor = query.actor;
    }
    if (query.action !== undefined) {
      conditions.push("action = :action");
      params.action = query.action;
    }
    if (query.cpId !== undefined) {
      conditions.push("(actor = :cpActor OR json_extract(params, '$.cpId') = :cpId)");
      params.cpActor = `cp:${query.cpId}`;
      params.cpId = query.cpId;
    }
    const where = conditions.length > 0 ? `WHERE ${conditions.join(" AND ")}` : "";
    const rows = this.#db.prepare(
      `SELECT * FROM audit_log ${where} ORDER BY seq DESC LIMIT :limit OFFSET :offset`,
    ).all({ ...params, limit: query.limit, offset }) as unknown as AuditRow[];
    const count = this.#db.prepare(`SELECT COUNT(*) AS n FROM audit_log ${where}`).get(params) as {
      n: number;
    };
    return { items: rows.map(toRecord), total: count.n };
  }

  /**
   * Fsyncs and closes the file (not the database), and logs the head. Idempotent. A failed fsync
   * is logged, not thrown: the records are in SQLite and the next open repairs the file.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      fsyncSync(this.#fd);
    } catch (error) {
      log.error("audit file {path} not synced at close: {error}", { path: this.#path, error });
    }
    closeSync(this.#fd);
    log.info("audit log closed at head {seq}/{hash}", { ...this.#head });
  }

  /** Checks the file's last line against SQLite, cuts a torn tail, appends what it lacks. */
  #repairFile(): void {
    const size = fstatSync(this.#fd).size;
    const tail = readTail(this.#fd, size, this.#path);
    if (tail.line !== undefined) {
      const json = decodeJson(tail.line);
      const claimed = json.ok ? (json.value as { seq?: unknown }).seq : undefined;
      const seq = Number.isSafeInteger(claimed) ? claimed as number : -1;
      const row = this.#db.prepare("SELECT * FROM audit_log WHERE seq = ?").get(seq) as
        | AuditRow
        | undefined;
      if (row === undefined || formatAuditLine(toRecord(row)) !== tail.line) {
        const expected = seq < 0 ? "a record" : `the database's record ${seq}`;
        throw new AuditLogMismatchError(
          `${this.#path}: its last line is not ${expected} (database head ${this.#head.seq}); ` +
            "check it with deno task audit:verify, move it aside and restart to rewrite it from " +
            "the database",
        );
      }
      this.#fileSeq = seq;
    }
    if (tail.end < size) {
      log.warning("audit file {path}: cut a torn last line of {bytes} bytes", {
        path: this.#path,
        bytes: size - tail.end,
      });
      ftruncateSync(this.#fd, tail.end);
    }
    this.#fileBytes = tail.end;
    const behind = this.#head.seq - this.#fileSeq;
    this.#catchUpFile();
    if (behind > 0) {
      fsyncSync(this.#fd);
      log.warning("audit file {path}: rewrote {behind} records from the database", {
        path: this.#path,
        behind,
      });
    }
    log.info("audit log open at head {seq}/{hash}", { ...this.#head });
  }

  /**
   * Appends the lines the file lacks up to the head: just `newest` in the usual case, else rows
   * read back from SQLite. A failed write is cut back to the last whole line, then rethrown.
   */
  #catchUpFile(newest?: AuditRecord): void {
    while (this.#fileSeq < this.#head.seq) {
      const records = newest?.seq === this.#fileSeq + 1
        ? [newest]
        : (this.#rowsAfter.all(this.#fileSeq, CATCH_UP_BATCH) as unknown as AuditRow[])
          .map(toRecord);
      const bytes = encoder.encode(records.map((r) => `${formatAuditLine(r)}\n`).join(""));
      try {
        writeAll(this.#fd, bytes);
      } catch (error) {
        try {
          ftruncateSync(this.#fd, this.#fileBytes);
        } catch {
          // The next open cuts the torn line instead.
        }
        throw error;
      }
      this.#fileBytes += bytes.length;
      this.#fileSeq = records[records.length - 1].seq;
    }
  }

  #deliver(listener: AuditListener, record: AuditRecord): void {
    const report = (error: unknown) =>
      log.error("audit listener failed on record {seq}: {error}", { seq: record.seq, error });
    try {
      Promise.resolve(listener(record)).catch(report);
    } catch (error) {
      report(error);
    }
  }
}

/** Whether a params key matches one of shared/log.ts's secret field patterns. */
function isSecretField(key: string): boolean {
  return SECRET_FIELDS.some((pattern) =>
    typeof pattern === "string" ? pattern === key : pattern.test(key)
  );
}
