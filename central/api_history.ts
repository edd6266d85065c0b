/**
 * Central's session history routes, added to the app of central/api.ts:
 *
 * - `GET /sessions?status=&from=&to=&cp=&driver=&limit=&cursor=`: sessions newest first. With
 *   only `status` and `limit` (what callers always passed) the answer is the array of sessions it
 *   always was; with any of `from`, `to`, `cp`, `driver` or `cursor` (empty for the first page)
 *   it is a page `{items, next_cursor}`, and `next_cursor` (null on the last page) fetches the
 *   next one;
 * - `GET /sessions.csv`: the same query (without paging: every matching session, or `limit`) as
 *   CSV (RFC 4180, UTF-8, one header row), streamed from the database a batch at a time.
 *
 * `from` and `to` are ISO 8601 times or epoch milliseconds, a range `[from, to)` over the
 * sessions' end for `status=completed` and their start for `active` and `all`
 * (central/session_history.ts).
 *
 * @module
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { csvStream } from "../shared/csv.ts";
import { ENTITY_ID_PATTERN } from "../shared/encoding.ts";
import { notice } from "../shared/notices.ts";
import { errorContent as err, jsonContent as json, type Problem } from "../shared/http_api.ts";
import type { CentralRuntime } from "./runtime.ts";
import { SessionBody, sessionJson } from "./wire.ts";
import {
  decodeCursor,
  encodeCursor,
  parseTimeParam,
  type SessionCursor,
  SessionHistory,
  type SessionQuery,
} from "./session_history.ts";

/** Most sessions one `GET /sessions` page returns. */
export const MAX_SESSIONS_PAGE = 1000;

/** The columns of `GET /sessions.csv`, in order. */
export const SESSION_CSV_COLUMNS = [
  "id",
  "cp_id",
  "driver_id",
  "started_at",
  "ended_at",
  "kwh",
  "eur",
  "end_reason",
] as const;

const ID = z.string().regex(ENTITY_ID_PATTERN, "must be 3–64 characters of A–Z, a–z, 0–9, _ or -");
const TIME = z.string().refine(
  (text) => parseTimeParam(text) !== undefined,
  "must be an ISO 8601 time or epoch milliseconds",
);

const Filters = {
  status: z.enum(["active", "completed", "all"]).default("active").openapi({
    description: "active (open), completed (ticketed) or all",
  }),
  from: TIME.optional().openapi({
    description: "at or after (ISO 8601 or epoch ms): the end for completed, else the start",
    example: "2026-12-05T00:00:00Z",
  }),
  to: TIME.optional().openapi({ description: "before (ISO 8601 or epoch ms)" }),
  cp: ID.optional().openapi({ description: "only this CP's sessions", example: "CP-001" }),
  driver: ID.optional().openapi({ description: "only this driver's sessions" }),
};

const SessionsQuery = z.object({
  ...Filters,
  limit: z.coerce.number().int().min(1).max(MAX_SESSIONS_PAGE).default(100),
  cursor: z.string().max(1000).optional().openapi({
    description: "next_cursor of the previous page; empty for the first page",
  }),
});

const CsvQuery = z.object({
  ...Filters,
  limit: z.coerce.number().int().min(1).optional().openapi({
    description: "at most this many rows (default: every matching session)",
  }),
});

const PageBody = z.object({
  items: z.array(SessionBody),
  next_cursor: z.string().nullable().openapi({ description: "the next page, or null" }),
}).openapi("SessionPage");

const sessionsRoute = createRoute({
  method: "get",
  path: "/sessions",
  summary: "Sessions, newest first: an array, or a page with a filter or a cursor",
  request: { query: SessionsQuery },
  responses: {
    200: json(z.union([z.array(SessionBody), PageBody]), "the sessions"),
    400: err("bad query, range or cursor"),
  },
});

const csvRoute = createRoute({
  method: "get",
  path: "/sessions.csv",
  summary: "The same sessions as CSV (RFC 4180, UTF-8, one header row), streamed",
  request: { query: CsvQuery },
  responses: {
    200: {
      description: `columns: ${SESSION_CSV_COLUMNS.join(", ")}`,
      content: { "text/csv": { schema: z.string() } },
    },
    400: err("bad query or range"),
  },
});

/** What the history routes need. */
export interface HistoryDeps {
  /** The store to read. */
  readonly runtime: CentralRuntime;
  /** The app's error answer. */
  readonly problem: Problem;
}

/** Adds `GET /sessions` and `GET /sessions.csv` to `app`. */
export function addHistoryRoutes(app: OpenAPIHono, deps: HistoryDeps): void {
  const { problem } = deps;
  const history = new SessionHistory(deps.runtime.store.db);

  const range = (from?: string, to?: string) => {
    const fromIso = from === undefined ? undefined : parseTimeParam(from);
    const toIso = to === undefined ? undefined : parseTimeParam(to);
    const bad = fromIso !== undefined && toIso !== undefined && fromIso > toIso;
    return { from: fromIso, to: toIso, bad };
  };

  app.openapi(sessionsRoute, (c) => {
    const q = c.req.valid("query");
    const { from, to, bad } = range(q.from, q.to);
    if (bad) return problem(c, 400, "validation_failed", notice("from_after_to"));
    let after: SessionCursor | undefined;
    if (q.cursor !== undefined && q.cursor !== "") {
      after = decodeCursor(q.cursor);
      if (after === undefined || after.status !== q.status) {
        return problem(c, 400, "validation_failed", notice("foreign_cursor"));
      }
    }
    const query: SessionQuery = {
      status: q.status,
      from,
      to,
      cpId: q.cp,
      driverId: q.driver,
      limit: q.limit,
      after,
    };
    const page = history.page(query);
    const paged = [q.from, q.to, q.cp, q.driver, q.cursor].some((v) => v !== undefined);
    if (!paged) return c.json(page.items.map(sessionJson), 200);
    return c.json({
      items: page.items.map(sessionJson),
      next_cursor: page.next === null ? null : encodeCursor(page.next),
    }, 200);
  });

  app.openapi(csvRoute, (c) => {
    const q = c.req.valid("query");
    const { from, to, bad } = range(q.from, q.to);
    if (bad) return problem(c, 400, "validation_failed", notice("from_after_to"));
    const sessions = history.all(
      { status: q.status, from, to, cpId: q.cp, driverId: q.driver },
      q.limit,
    );
    const rows = (function* () {
      for (const s of sessions) {
        const j = sessionJson(s);
        yield SESSION_CSV_COLUMNS.map((column) => j[column]);
      }
    })();
    return c.body(csvStream(SESSION_CSV_COLUMNS, rows), 200, {
      "content-type": "text/csv; charset=utf-8; header=present",
      "content-disposition": 'attachment; filename="sessions.csv"',
      "cache-control": "no-store",
    });
  });
}
