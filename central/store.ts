/**
 * Central's SQLite database (ARCHITECTURE §Storage): CPs, drivers, sessions with their last figures,
 * processed requests, wrapped keys, replay marks, weather holds and the outbox.
 *
 * Writes come in two kinds. {@link CentralStore.commit} stores the effects of one core step
 * (central/core.ts) — state rows, outbox rows, the request mark and the telemetry replay mark
 * — in ONE transaction, so Central never sends what it did not store, nor stores without
 * queueing what it must send (docs/charging_loop.md §6). The outbox publisher then reads the
 * pending rows in order and marks them sent.
 *
 * Synchronous (`node:sqlite` `DatabaseSync`): a core step and its commit run without yielding,
 * so no other input can slip between deciding and storing.
 *
 * @module
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import type { ForgottenKey, ReplayMark } from "../shared/envelope.ts";
import { TOPICS } from "../shared/kafka.ts";
import { openDatabase, transaction } from "../shared/sqlite.ts";
import { NO_SECURITY_INFO } from "./core.ts";
import type { Cp, Effect, Model, RequestRecord, Session } from "./core.ts";
import { MIGRATIONS } from "./store_schema.ts";
import {
  type DriverSummary,
  type OutboxRow,
  type Row,
  type StoredKey,
  toDriverSummary,
  toOutboxRow,
  toRecoveredCp,
  toReplayMark,
  toRequestRecord,
  toSecurityInfo,
  toSession,
  toStoredKey,
  toWeatherReport,
} from "./store_rows.ts";

export type { DriverSummary, OutboxRow };

/** What Central reads at start. */
export interface Recovered {
  /** Every known CP, now `DISCONNECTED`, with its hold, live key and open session. */
  readonly model: Model;
  /** Live and retired wrapped keys, to rebuild the keyring. */
  readonly keys: readonly StoredKey[];
  /** Replay high-water marks of telemetry. */
  readonly marks: readonly ReplayMark[];
}

/** Central's database. */
export class CentralStore {
  readonly #db: DatabaseSync;
  // Every statement is prepared once: telemetry writes a session row each second per CP.
  readonly #statements = new Map<string, StatementSync>();

  private constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /**
   * Opens (creating if needed) the database at `path` (`:memory:` for a throwaway one) in WAL
   * mode with a busy timeout, and applies pending migrations.
   * @throws {import("../shared/sqlite.ts").SchemaTooNewError} for a newer schema.
   */
  static open(path: string): CentralStore {
    return new CentralStore(openDatabase(path, MIGRATIONS, { owner: "this Central" }));
  }

  /** Closes the database. */
  close(): void {
    this.#db.close();
  }

  /** The connection, for the audit log (central/audit.ts), which keeps its own tables in it. */
  get db(): DatabaseSync {
    return this.#db;
  }

  /**
   * Start-up: marks every CP `DISCONNECTED` (no monitor is connected to a process that just
   * started) and reads back the model, the keys and the replay marks.
   */
  recover(at: Date): Recovered {
    return transaction(this.#db, () => {
      this.#run("UPDATE cps SET state = 'DISCONNECTED', updated_at = ?", at.toISOString());
      const sessions = new Map<string, Session>();
      for (const row of this.#all("SELECT * FROM sessions WHERE ended_at IS NULL")) {
        const session = toSession(row);
        sessions.set(session.id, session);
      }
      const openOn = new Map([...sessions.values()].map((s) => [s.cpId, s.id]));
      const live = new Map(
        this.#all("SELECT cp_id, key_version FROM cp_keys WHERE state = 'live'")
          .map((r) => [r.cp_id as string, r.key_version as number]),
      );
      const security = new Map(
        this.#all("SELECT * FROM cp_security").map((r) => [r.cp_id as string, toSecurityInfo(r)]),
      );
      const cps = new Map<string, Cp>();
      for (const row of this.#all("SELECT * FROM cps")) {
        const id = row.id as string;
        cps.set(
          id,
          toRecoveredCp(row, {
            sessionId: openOn.get(id) ?? null,
            keyVersion: live.get(id) ?? null,
            securityInfo: security.get(id) ?? NO_SECURITY_INFO,
          }),
        );
      }
      const keys = this.#all(
        "SELECT cp_id, key_version, wrapped, state, retired_at FROM cp_keys WHERE state != 'revoked'",
      ).map(toStoredKey);
      const marks = this.#all("SELECT cp_id, key_version, channel, seq FROM replay_marks")
        .map(toReplayMark);
      const weather = new Map(
        this.#all("SELECT * FROM weather").map((r) => [r.cp_id as string, toWeatherReport(r)]),
      );
      return { model: { cps, sessions, weather }, keys, marks };
    });
  }

  /**
   * Stores the effects of one core step in one transaction, with the replay mark of the
   * telemetry message that caused them, if any. Effects that are not about storage (closing a
   * connection, notes) are skipped here.
   */
  commit(effects: readonly Effect[], mark?: ReplayMark): void {
    this.commitAll([{ effects, mark }]);
  }

  /**
   * Stores the effects of several core steps (a Kafka batch), each with its replay mark, in ONE
   * transaction: one write-ahead-log commit instead of one per message. A session saved more
   * than once in the batch (a CP's telemetry every second) is written once, where it is first
   * saved, with its last state; each replay mark once, with its highest seq. What the
   * transaction leaves is the same as writing every step in turn.
   */
  commitAll(steps: readonly { readonly effects: readonly Effect[]; readonly mark?: ReplayMark }[]) {
    const lastSession = new Map<string, Session>();
    const marks = new Map<string, ReplayMark>();
    for (const { effects, mark } of steps) {
      for (const effect of effects) {
        if (effect.type === "save_session") lastSession.set(effect.session.id, effect.session);
      }
      if (mark !== undefined) {
        const key = `${mark.cp}|${mark.kv}|${mark.channel}`;
        if (mark.seq > (marks.get(key)?.seq ?? -1)) marks.set(key, mark);
      }
    }
    transaction(this.#db, () => {
      const written = new Set<string>();
      for (const { effects } of steps) {
        for (const effect of effects) {
          if (effect.type !== "save_session") {
            this.#store(effect);
          } else if (!written.has(effect.session.id)) {
            written.add(effect.session.id);
            this.#saveSession(lastSession.get(effect.session.id)!);
          }
        }
      }
      for (const mark of marks.values()) this.#saveMark(mark);
    });
  }

  #saveMark(mark: ReplayMark): void {
    this.#run(
      `INSERT INTO replay_marks (cp_id, key_version, channel, seq) VALUES (?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET seq = max(seq, excluded.seq)`,
      mark.cp,
      mark.kv,
      mark.channel,
      mark.seq,
    );
  }

  #store(effect: Effect): void {
    switch (effect.type) {
      case "save_cp":
        this.#saveCp(effect.cp);
        return;
      case "save_session":
        this.#saveSession(effect.session);
        return;
      case "save_driver":
        this.#run(
          `INSERT INTO drivers (id, first_seen, last_seen) VALUES (?, ?, ?)
           ON CONFLICT DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)`,
          effect.driverId,
          effect.at,
          effect.at,
        );
        return;
      case "save_request": {
        const r = effect.request;
        this.#run(
          `INSERT OR IGNORE INTO processed_requests
             (request_id, driver_id, cp_id, outcome, reason, session_id, at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
          r.requestId,
          r.driverId,
          r.cpId,
          r.outcome,
          r.reason,
          r.sessionId,
          r.at,
        );
        return;
      }
      case "save_key":
        this.#run(
          "UPDATE cp_keys SET state = 'retired', retired_at = ? WHERE cp_id = ? AND state = 'live'",
          effect.at,
          effect.cpId,
        );
        this.#run(
          `INSERT INTO cp_keys (cp_id, key_version, wrapped, state, created_at)
           VALUES (?, ?, ?, 'live', ?)`,
          effect.cpId,
          effect.keyVersion,
          effect.wrappedKey,
          effect.at,
        );
        return;
      case "save_weather": {
        const w = effect.report;
        this.#run(
          `INSERT INTO weather (cp_id, city, temperature, status, since, updated_at)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT DO UPDATE SET city = excluded.city, temperature = excluded.temperature,
             status = excluded.status, since = excluded.since, updated_at = excluded.updated_at`,
          w.cpId,
          w.city,
          w.temperatureC,
          w.status,
          w.since,
          w.updatedAt,
        );
        return;
      }
      case "publish":
        this.#enqueue(TOPICS.driverUpdates, effect.message.driverId, effect.message, null);
        return;
      case "command":
        this.#enqueue(TOPICS.cpCommands, effect.cpId, effect.payload, effect.cpId);
        return;
      case "revoke_keys":
        // The wrapped key goes too; the row stays, so the CP's versions keep growing.
        this.#run(
          `UPDATE cp_keys SET state = 'revoked', wrapped = '', retired_at = coalesce(retired_at, ?)
           WHERE cp_id = ?`,
          effect.at,
          effect.cpId,
        );
        return;
      case "save_registry_seq":
        this.#run(
          `INSERT INTO registry_feed (id, seq) VALUES (1, ?)
           ON CONFLICT DO UPDATE SET seq = excluded.seq`,
          effect.seq,
        );
        return;
      case "close_connection":
      case "audit":
      case "note":
        return;
    }
  }

  #saveCp(cp: Cp): void {
    this.#run(
      `INSERT INTO cps (id, location, price_eur_kwh, power_kw, state, stop_reason, security,
                        last_seen, updated_at, maintenance, protocol)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET location = excluded.location,
         price_eur_kwh = excluded.price_eur_kwh, power_kw = excluded.power_kw,
         state = excluded.state, stop_reason = excluded.stop_reason,
         security = excluded.security, last_seen = excluded.last_seen,
         updated_at = excluded.updated_at, maintenance = excluded.maintenance,
         protocol = excluded.protocol`,
      cp.id,
      cp.location,
      cp.priceEurKwh,
      cp.powerKw,
      cp.status.state,
      cp.status.stopReason,
      cp.security,
      cp.lastSeenMs === null ? null : new Date(cp.lastSeenMs).toISOString(),
      new Date().toISOString(),
      cp.maintenance === true ? 1 : 0,
      cp.protocol ?? null,
    );
    const info = cp.securityInfo;
    this.#run(
      `INSERT INTO cp_security (cp_id, reason, changed_at, revoked_at, key_revoked_at,
                                last_login_at, failed_logins, registered_at, deregistered_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET reason = excluded.reason, changed_at = excluded.changed_at,
         revoked_at = excluded.revoked_at, key_revoked_at = excluded.key_revoked_at,
         last_login_at = excluded.last_login_at, failed_logins = excluded.failed_logins,
         registered_at = excluded.registered_at, deregistered_at = excluded.deregistered_at`,
      cp.id,
      info.reason,
      info.changedAt,
      info.revokedAt,
      info.keyRevokedAt,
      info.lastLoginAt,
      info.failedLogins,
      info.registeredAt,
      info.deregisteredAt,
    );
  }

  #saveSession(s: Session): void {
    // Telemetry moves only a session's figures and plug time, none of them indexed: when the rest
    // of the row is as stored, an UPDATE of those alone rewrites no index, where the upsert below
    // rewrote four (every index over ended_at) in 3.6× the time (BENCHMARKS.md, cost per telemetry
    // message). Whatever else changed, or a new session, takes the upsert.
    const pending = [s.pendingEnd?.reason ?? null, s.pendingEnd?.deadlineMs ?? null];
    const figures = this.#run(
      `UPDATE sessions SET plugged_at = ?, kw = ?, kwh = ?, eur = ?
       WHERE id = ? AND ended_at IS ? AND end_reason IS ? AND pending_end_reason IS ?
         AND pending_end_deadline IS ?`,
      s.pluggedAt,
      s.kw,
      s.kwh,
      s.eur,
      s.id,
      s.endedAt,
      s.endReason,
      ...pending,
    );
    if (figures.changes === 1) return;
    this.#run(
      `INSERT INTO sessions (id, cp_id, driver_id, request_id, price_eur_kwh, power_kw,
                             started_at, plugged_at, ended_at, kw, kwh, eur, end_reason,
                             pending_end_reason, pending_end_deadline)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET plugged_at = excluded.plugged_at, ended_at = excluded.ended_at,
         kw = excluded.kw, kwh = excluded.kwh, eur = excluded.eur,
         end_reason = excluded.end_reason, pending_end_reason = excluded.pending_end_reason,
         pending_end_deadline = excluded.pending_end_deadline`,
      s.id,
      s.cpId,
      s.driverId,
      s.requestId,
      s.priceEurKwh,
      s.powerKw,
      s.startedAt,
      s.pluggedAt,
      s.endedAt,
      s.kw,
      s.kwh,
      s.eur,
      s.endReason,
      ...pending,
    );
  }

  #enqueue(topic: string, key: string, payload: unknown, sealFor: string | null): void {
    this.#run(
      "INSERT INTO outbox (topic, key, payload, seal_for, created_at) VALUES (?, ?, ?, ?, ?)",
      topic,
      key,
      JSON.stringify(payload),
      sealFor,
      new Date().toISOString(),
    );
  }

  /**
   * Whether `driverId`'s request `requestId` was answered already (at any time, any run). Per
   * driver, so two drivers that both number their requests 1, 2, 3 never collide.
   */
  hasRequest(driverId: string, requestId: string): boolean {
    const row = this.#get(
      "SELECT 1 AS found FROM processed_requests WHERE driver_id = ? AND request_id = ?",
      driverId,
      requestId,
    );
    return row !== undefined;
  }

  /** The latest answered requests, newest first. */
  recentRequests(limit: number): RequestRecord[] {
    return this.#all(
      "SELECT * FROM processed_requests ORDER BY at DESC, rowid DESC LIMIT ?",
      limit,
    ).map(toRequestRecord);
  }

  /**
   * Drops what is stored of key versions forgotten after their grace period: a retired
   * version's row (a newer row always remains, so versions keep growing) and the replay marks.
   * A revoked version's row stays, already without its key.
   */
  forgetKeys(keys: readonly ForgottenKey[]): void {
    if (keys.length === 0) return;
    transaction(this.#db, () => {
      for (const { cp, kv } of keys) {
        this.#run(
          "DELETE FROM cp_keys WHERE cp_id = ? AND key_version = ? AND state = 'retired'",
          cp,
          kv,
        );
        this.#run("DELETE FROM replay_marks WHERE cp_id = ? AND key_version = ?", cp, kv);
      }
    });
  }

  /** The key versions stored for `cpId` and their states, oldest first (never a key). */
  keyStates(cpId: string): { keyVersion: number; state: string }[] {
    return this.#all(
      "SELECT key_version, state FROM cp_keys WHERE cp_id = ? ORDER BY key_version",
      cpId,
    ).map((r) => ({ keyVersion: r.key_version as number, state: r.state as string }));
  }

  /** The last change of the Registry's feed applied (0: none yet). */
  registrySeq(): number {
    return (this.#get("SELECT seq FROM registry_feed WHERE id = 1")?.seq as number | undefined) ??
      0;
  }

  /** The version the CP's next login gets: one above every version it ever had (from 1). */
  nextKeyVersion(cpId: string): number {
    const row = this.#get("SELECT max(key_version) AS kv FROM cp_keys WHERE cp_id = ?", cpId);
    return ((row?.kv as number | null) ?? 0) + 1;
  }

  /** Up to `limit` pending outbox rows, oldest first. */
  pendingOutbox(limit: number): OutboxRow[] {
    return this.#all(
      "SELECT id, topic, key, payload, seal_for FROM outbox WHERE status = 'pending' ORDER BY id LIMIT ?",
      limit,
    ).map(toOutboxRow);
  }

  /** Marks outbox rows `sent` (published) or `dropped` (could not be sealed: no live key). */
  markOutbox(ids: readonly number[], status: "sent" | "dropped", at: Date): void {
    if (ids.length === 0) return;
    transaction(this.#db, () => {
      for (const id of ids) {
        this.#run(
          "UPDATE outbox SET status = ?, done_at = ? WHERE id = ?",
          status,
          at.toISOString(),
          id,
        );
      }
    });
  }

  /** Deletes outbox rows done before `before` (they are only kept to inspect recent traffic). */
  pruneOutbox(before: Date): number {
    return Number(
      this.#run(
        "DELETE FROM outbox WHERE status != 'pending' AND done_at < ?",
        before.toISOString(),
      )
        .changes,
    );
  }

  /** Throws unless the database answers a trivial query (readiness). */
  ping(): void {
    this.#get("SELECT 1 AS one");
  }

  /** How many outbox rows wait to be published. */
  pendingCount(): number {
    return this.#get("SELECT count(*) AS n FROM outbox WHERE status = 'pending'")?.n as number;
  }

  /** Sessions, newest first: `active` (open) or `completed` (ticketed). */
  sessions(status: "active" | "completed", limit: number): Session[] {
    const sql = status === "active"
      ? "SELECT * FROM sessions WHERE ended_at IS NULL ORDER BY started_at DESC LIMIT ?"
      : "SELECT * FROM sessions WHERE ended_at IS NOT NULL ORDER BY ended_at DESC LIMIT ?";
    return this.#all(sql, limit).map(toSession);
  }

  /** How many sessions were ticketed, with their kWh and € summed (over the whole history). */
  completedTotals(): { readonly sessions: number; readonly kwh: number; readonly eur: number } {
    const row = this.#get(
      `SELECT count(*) AS n, coalesce(sum(kwh), 0) AS kwh, coalesce(sum(eur), 0) AS eur
       FROM sessions WHERE ended_at IS NOT NULL`,
    );
    return { sessions: row?.n as number, kwh: row?.kwh as number, eur: row?.eur as number };
  }

  /** One session by id. */
  session(id: string): Session | undefined {
    const row = this.#get("SELECT * FROM sessions WHERE id = ?", id);
    return row === undefined ? undefined : toSession(row);
  }

  /** Every driver with totals over its completed sessions, by id. */
  drivers(): DriverSummary[] {
    return this.#all(
      `SELECT d.id, d.first_seen, d.last_seen,
              count(s.ended_at) AS sessions,
              coalesce(sum(CASE WHEN s.ended_at IS NOT NULL THEN s.kwh END), 0) AS kwh,
              coalesce(sum(CASE WHEN s.ended_at IS NOT NULL THEN s.eur END), 0) AS eur,
              max(CASE WHEN s.id IS NOT NULL AND s.ended_at IS NULL THEN s.id END) AS active
       FROM drivers d LEFT JOIN sessions s ON s.driver_id = d.id
       GROUP BY d.id ORDER BY d.id`,
    ).map(toDriverSummary);
  }

  #prepare(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #run(sql: string, ...params: SQLInputValue[]) {
    return this.#prepare(sql).run(...params);
  }

  #get(sql: string, ...params: SQLInputValue[]): Row | undefined {
    return this.#prepare(sql).get(...params) as Row | undefined;
  }

  #all(sql: string, ...params: SQLInputValue[]): Row[] {
    return this.#prepare(sql).all(...params) as Row[];
  }
}
