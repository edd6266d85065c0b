/**
 * Central's operator console figures, added to the app of central/api.ts:
 *
 * - `GET /series?cp=&minutes=`: power and energy over time, for the network or one CP, in
 *   10 s buckets over up to the last hour (central/power_series.ts);
 * - `GET /summary`: the headline figures: kW now, sessions, kWh and € today, availability
 *   (central/availability.ts), CPs by state, open alarms;
 * - `GET /alarms?open=1&limit=`: open alarms, or open and recently cleared ones, newest first
 *   (central/alarms.ts); the same alarms reach the dashboard's stream as `alarm` events.
 *
 * "Today" is the current UTC day.
 *
 * @module
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { ENTITY_ID_PATTERN } from "../shared/encoding.ts";
import {
  errorContent as err,
  getJsonRoute,
  jsonContent as json,
  type Problem,
} from "../shared/http_api.ts";
import { cpStateSchema } from "../shared/messages.ts";
import { notice } from "../shared/notices.ts";
import type { AlarmBook } from "./alarms.ts";
import { type AvailabilityTracker, utcDayStart } from "./availability.ts";
import type { PowerSeries } from "./power_series.ts";
import type { CentralRuntime } from "./runtime.ts";
import { SessionHistory } from "./session_history.ts";
import { AlarmBody } from "./wire.ts";

/** The trackers the console reads (central.ts feeds them from the committed steps). */
export interface OperatorTrackers {
  /** Power and energy over time. */
  readonly series: PowerSeries;
  /** Availability over the day. */
  readonly availability: AvailabilityTracker;
  /** Open and recent alarms. */
  readonly alarms: AlarmBook;
}

/** What the console routes need. */
export interface ConsoleDeps {
  /** The model and the store. */
  readonly runtime: CentralRuntime;
  /** Clock. */
  readonly now: () => Date;
  /** The app's error answer. */
  readonly problem: Problem;
  /** The trackers. */
  readonly trackers: OperatorTrackers;
}

const SeriesQuery = z.object({
  cp: z.string().regex(ENTITY_ID_PATTERN, "must be 3–64 characters of A–Z, a–z, 0–9, _ or -")
    .optional().openapi({ description: "one CP (default: the whole network)", example: "CP-001" }),
  minutes: z.coerce.number().int().min(1).max(60).default(60),
});

const SeriesBody = z.object({
  cp: z.string().nullable().openapi({ description: "the CP, or null for the network" }),
  bucket_seconds: z.number().int(),
  points: z.array(z.object({
    t: z.number().openapi({ description: "bucket start, epoch ms" }),
    kw: z.number().openapi({ description: "mean reported power over the bucket" }),
    kwh: z.number().openapi({ description: "energy delivered during the bucket" }),
  })).openapi({ description: "oldest first, one per bucket, the current one last" }),
}).openapi("Series");

const SummaryBody = z.object({
  time: z.string(),
  day_start: z.string().openapi({ description: "start of today (UTC)" }),
  kw_now: z.number().openapi({ description: "sum of the open sessions' reported power" }),
  sessions_active: z.number().int(),
  sessions_today: z.number().int().openapi({ description: "sessions started today" }),
  kwh_today: z.number().openapi({
    description: "sessions ended today, plus the open sessions so far",
  }),
  eur_today: z.number(),
  availability_pct: z.number().nullable().openapi({
    description: "CP-time neither BROKEN nor DISCONNECTED since availability_since, 0–100",
  }),
  availability_since: z.string(),
  cps: z.object({
    total: z.number().int(),
    connected: z.number().int(),
    by_state: z.record(z.string(), z.number().int()),
  }),
  alarms_open: z.number().int(),
}).openapi("Summary");

const AlarmsQuery = z.object({
  open: z.enum(["0", "1", "true", "false"]).optional().openapi({
    description: "1: only open alarms; else open then recently cleared",
  }),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

const seriesRoute = createRoute({
  method: "get",
  path: "/series",
  summary: "Power and energy over time, network or one CP (10 s buckets, up to an hour)",
  request: { query: SeriesQuery },
  responses: {
    200: json(SeriesBody, "the series"),
    400: err("bad query"),
    404: err("no such CP"),
  },
});
const summaryRoute = getJsonRoute(
  "/summary",
  "Headline figures: kW now, today's sessions, kWh and €, availability",
  SummaryBody,
  "the figures",
);
const alarmsRoute = createRoute({
  method: "get",
  path: "/alarms",
  summary: "Alarms (BROKEN, DISCONNECTED, weather hold, key revoked), newest first",
  request: { query: AlarmsQuery },
  responses: {
    200: json(z.object({ items: z.array(AlarmBody), open: z.number().int() }), "the alarms"),
    400: err("bad query"),
  },
});

/** How long today's ended-session totals of `GET /summary` are reused. */
export const SUMMARY_TOTALS_MS = 5_000;

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

/** Adds `GET /series`, `GET /summary` and `GET /alarms` to `app`. */
export function addConsoleRoutes(app: OpenAPIHono, deps: ConsoleDeps): void {
  const { runtime, now, problem, trackers } = deps;
  const history = new SessionHistory(runtime.store.db);
  // Today's ended sessions, summed at most every SUMMARY_TOTALS_MS: a day can hold tens of
  // thousands of sessions, and dashboards ask often.
  let cached: { day: number; at: number; totals: ReturnType<typeof history.totalsSince> } | null =
    null;
  const todayTotals = (dayStart: number, at: number) => {
    if (cached === null || cached.day !== dayStart || at - cached.at >= SUMMARY_TOTALS_MS) {
      cached = {
        day: dayStart,
        at,
        totals: history.totalsSince(new Date(dayStart).toISOString()),
      };
    }
    return cached.totals;
  };

  app.openapi(seriesRoute, (c) => {
    const { cp, minutes } = c.req.valid("query");
    if (cp !== undefined && !runtime.model.cps.has(cp)) {
      return problem(c, 404, "not_found", notice("no_cp", { id: cp }));
    }
    return c.json({
      cp: cp ?? null,
      bucket_seconds: trackers.series.bucketMs / 1000,
      points: trackers.series.series(cp, minutes, now().getTime()),
    }, 200);
  });

  app.openapi(summaryRoute, (c) => {
    const at = now().getTime();
    const dayStart = utcDayStart(at);
    const totals = todayTotals(dayStart, at);
    let kw = 0;
    let kwh = totals.endedKwh;
    let eur = totals.endedEur;
    for (const session of runtime.model.sessions.values()) {
      kw += session.kw;
      kwh += session.kwh;
      eur += session.eur;
    }
    const byState = Object.fromEntries(cpStateSchema.options.map((s) => [s, 0]));
    let connected = 0;
    for (const cp of runtime.model.cps.values()) {
      byState[cp.status.state]++;
      if (cp.connection !== null) connected++;
    }
    const availability = trackers.availability.at(at);
    return c.json({
      time: new Date(at).toISOString(),
      day_start: new Date(dayStart).toISOString(),
      kw_now: round(kw, 3),
      sessions_active: runtime.model.sessions.size,
      sessions_today: totals.started,
      kwh_today: round(kwh, 4),
      eur_today: round(eur, 2),
      availability_pct: availability.percent,
      availability_since: new Date(availability.sinceMs).toISOString(),
      cps: { total: runtime.model.cps.size, connected, by_state: byState },
      alarms_open: trackers.alarms.open().length,
    }, 200);
  });

  app.openapi(alarmsRoute, (c) => {
    const { open, limit } = c.req.valid("query");
    const openOnly = open === "1" || open === "true";
    const openCount = trackers.alarms.open().length;
    const items = (openOnly ? trackers.alarms.open() : trackers.alarms.all()).slice(0, limit);
    return c.json({ items, open: openCount }, 200);
  });
}
