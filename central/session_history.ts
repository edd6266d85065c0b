/**
 * Session history from Central's database, for `GET /sessions` and `GET /sessions.csv`: a
 * status (`active`, `completed`, `all`), a time range, a CP and a driver, newest first, paged by
 * an opaque cursor (keyset paging: a page costs the same however deep it is, and rows added
 * meanwhile never shift a page).
 *
 * The time that orders and bounds the sessions is their end for `completed`, their start for
 * `active` and `all`. A range is `[from, to)`.
 *
 * @module
 */
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import type { Session } from "./core.ts";
import { toSession } from "./store_rows.ts";

/** Which sessions. */
export type HistoryStatus = "active" | "completed" | "all";

/** Where a page ends: the last row's ordering time and id. */
export interface SessionCursor {
  /** The status the cursor was made for (a cursor is refused under another). */
  readonly status: HistoryStatus;
  /** The last row's ordering time (ISO). */
  readonly at: string;
  /** The last row's id. */
  readonly id: string;
}

/** A history query. */
export interface SessionQuery {
  /** Which sessions. */
  readonly status: HistoryStatus;
  /** Only sessions whose ordering time is at or after this (ISO). */
  readonly from?: string;
  /** Only sessions whose ordering time is before this (ISO). */
  readonly to?: string;
  /** Only this CP's. */
  readonly cpId?: string;
  /** Only this driver's. */
  readonly driverId?: string;
  /** At most this many. */
  readonly limit: number;
  /** After this row (the previous page's `next`). */
  readonly after?: SessionCursor;
}

/** One page. */
export interface SessionPage {
  /** The sessions, newest first. */
  readonly items: Session[];
  /** Where the next page starts, or null when this is the last. */
  readonly next: SessionCursor | null;
}

/** A cursor as the opaque text clients pass back. */
export function encodeCursor(cursor: SessionCursor): string {
  return new TextEncoder().encode(JSON.stringify([cursor.status, cursor.at, cursor.id]))
    .toBase64({ alphabet: "base64url", omitPadding: true });
}

/** The cursor in `text`, or undefined when it is not one this module made. */
export function decodeCursor(text: string): SessionCursor | undefined {
  try {
    const value = JSON.parse(
      new TextDecoder("utf-8", { fatal: true }).decode(
        Uint8Array.fromBase64(text, { alphabet: "base64url" }),
      ),
    );
    if (!Array.isArray(value) || value.length !== 3) return undefined;
    const [status, at, id] = value;
    if (!["active", "completed", "all"].includes(status)) return undefined;
    if (typeof at !== "string" || typeof id !== "string" || Number.isNaN(Date.parse(at))) {
      return undefined;
    }
    return { status, at, id };
  } catch {
    return undefined;
  }
}

/**
 * A time parameter: epoch milliseconds (digits) or an ISO 8601 time, as the ISO text the
 * database holds; undefined when it is neither.
 */
export function parseTimeParam(text: string): string | undefined {
  const ms = /^\d{1,15}$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) return undefined;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** Rows read per step when every matching session is wanted (the CSV export). */
export const EXPORT_BATCH = 500;

/** Session history over Central's database. */
export class SessionHistory {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  /** Reads `db` (Central's store's database). */
  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /** One page of `query`. */
  page(query: SessionQuery): SessionPage {
    const key = query.status === "completed" ? "ended_at" : "started_at";
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (query.status === "active") where.push("ended_at IS NULL");
    if (query.status === "completed") where.push("ended_at IS NOT NULL");
    if (query.from !== undefined) {
      where.push(`${key} >= ?`);
      params.push(query.from);
    }
    if (query.to !== undefined) {
      where.push(`${key} < ?`);
      params.push(query.to);
    }
    if (query.cpId !== undefined) {
      where.push("cp_id = ?");
      params.push(query.cpId);
    }
    if (query.driverId !== undefined) {
      where.push("driver_id = ?");
      params.push(query.driverId);
    }
    if (query.after !== undefined) {
      // A row value, so SQLite walks the (time, id) index from the cursor on.
      where.push(`(${key}, id) < (?, ?)`);
      params.push(query.after.at, query.after.id);
    }
    const sql = `SELECT * FROM sessions ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY ${key} DESC, id DESC LIMIT ?`;
    let statement = this.#statements.get(sql);
    if (statement === undefined) this.#statements.set(sql, statement = this.#db.prepare(sql));
    const rows = statement.all(...params, query.limit + 1) as Record<string, unknown>[];
    const items = rows.slice(0, query.limit).map(toSession);
    const last = items.at(-1);
    const next = rows.length > query.limit && last !== undefined
      ? {
        status: query.status,
        at: (query.status === "completed" ? last.endedAt : last.startedAt) ?? "",
        id: last.id,
      }
      : null;
    return { items, next };
  }

  /**
   * Since `fromIso`: how many sessions started, and the kWh and € of those that ended (open
   * sessions are the caller's: their figures live in the model).
   */
  totalsSince(fromIso: string): { started: number; endedKwh: number; endedEur: number } {
    const started = this.#db.prepare("SELECT count(*) AS n FROM sessions WHERE started_at >= ?")
      .get(fromIso) as { n: number };
    const ended = this.#db.prepare(
      `SELECT coalesce(sum(kwh), 0) AS kwh, coalesce(sum(eur), 0) AS eur
       FROM sessions WHERE ended_at >= ?`,
    ).get(fromIso) as { kwh: number; eur: number };
    return { started: started.n, endedKwh: ended.kwh, endedEur: ended.eur };
  }

  /**
   * Every session of `query` (up to `limit`), read {@link EXPORT_BATCH} rows at a time, so a
   * long range is never held in memory at once.
   */
  *all(query: Omit<SessionQuery, "limit" | "after">, limit = Infinity): Generator<Session> {
    let after: SessionCursor | undefined;
    let left = limit;
    while (left > 0) {
      const page = this.page({ ...query, limit: Math.min(EXPORT_BATCH, left), after });
      yield* page.items;
      left -= page.items.length;
      if (page.next === null) return;
      after = page.next;
    }
  }
}
