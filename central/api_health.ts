/**
 * Central's health routes, added to the app of central/api.ts:
 *
 * - `GET /health/live`: always 200 while the process serves HTTP (a liveness probe);
 * - `GET /health/ready`: 200 when Kafka, the Registry, its change feed and the database are
 *   healthy, else 503 naming the failing parts (central/readiness.ts);
 * - `GET /health`: the same verdict and status code as `/health/ready`, with the counters it
 *   always had (`cps`, `connected`, `active_sessions`, `outbox_pending`, `dropped`).
 *
 * @module
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { getJsonRoute, jsonContent as json } from "../shared/http_api.ts";
import { noticeSchema } from "./wire.ts";
import { type Readiness, readiness } from "./readiness.ts";
import type { CentralRuntime } from "./runtime.ts";
import type { SystemStatus } from "./system_health.ts";

/** What the health routes read. */
export interface HealthDeps {
  /** The model, the store and the drop counters. */
  readonly runtime: CentralRuntime;
  /** Clock. */
  readonly now: () => Date;
  /** Kafka's and the Registry's health now (unset: not watched, only the database is judged). */
  readonly status?: () => SystemStatus;
  /** The version `GET /health` reports. */
  readonly version: string;
}

const CheckBody = z.object({
  status: z.enum(["ok", "down", "unknown"]),
  ...noticeSchema,
}).openapi("HealthCheck");

const Verdict = {
  service: z.literal("central"),
  status: z.enum(["ok", "unavailable"]).openapi({
    description: "ok: Kafka, the Registry, its change feed and the database are healthy (200); " +
      "else 503",
  }),
  version: z.string(),
  time: z.string(),
  failing: z.array(z.enum(["kafka", "registry", "registry_feed", "database"])).openapi({
    description: "the parts that are not ok",
  }),
  checks: z.object({
    kafka: CheckBody,
    registry: CheckBody,
    registry_feed: CheckBody,
    database: CheckBody,
  }),
};

const ReadyBody = z.object(Verdict).openapi("Ready");

const HealthBody = z.object({
  ...Verdict,
  cps: z.number().int(),
  connected: z.number().int(),
  active_sessions: z.number().int(),
  outbox_pending: z.number().int().openapi({ description: "-1 when the database cannot tell" }),
  dropped: z.object({
    duplicate_requests: z.number().int(),
    duplicate_telemetry: z.number().int(),
    rejected_telemetry: z.number().int(),
  }),
}).openapi("Health");

const LiveBody = z.object({
  service: z.literal("central"),
  status: z.literal("ok"),
  version: z.string(),
  time: z.string(),
}).openapi("Live");

const healthRoute = createRoute({
  method: "get",
  path: "/health",
  summary: "Readiness with counters",
  responses: {
    200: json(HealthBody, "Central is ready"),
    503: json(HealthBody, "a part Central needs is failing: see failing and checks"),
  },
});
const readyRoute = createRoute({
  method: "get",
  path: "/health/ready",
  summary: "Readiness: Kafka, the Registry, its change feed and the database",
  responses: {
    200: json(ReadyBody, "Central is ready"),
    503: json(ReadyBody, "a part Central needs is failing: see failing and checks"),
  },
});
const liveRoute = getJsonRoute(
  "/health/live",
  "Liveness: always 200 while Central serves",
  LiveBody,
  "Central is alive",
);

/** Adds `GET /health`, `/health/ready` and `/health/live` to `app`. */
export function addHealthRoutes(app: OpenAPIHono, deps: HealthDeps): void {
  const { runtime, now } = deps;

  const verdict = () => {
    let queryError: string | null = null;
    try {
      runtime.store.ping();
    } catch (error) {
      queryError = (error as Error)?.message ?? String(error);
    }
    const found: Readiness = readiness(deps.status?.(), {
      failure: runtime.storeFailure,
      queryError,
    });
    return {
      body: {
        service: "central" as const,
        status: found.ready ? "ok" as const : "unavailable" as const,
        version: deps.version,
        time: now().toISOString(),
        failing: [...found.failing],
        checks: found.checks,
      },
      code: found.ready ? 200 as const : 503 as const,
    };
  };

  // -1 when the database cannot tell (then `database` is failing too).
  const outboxPending = () => {
    try {
      return runtime.store.pendingCount();
    } catch {
      return -1;
    }
  };

  app.openapi(liveRoute, (c) =>
    c.json({
      service: "central" as const,
      status: "ok" as const,
      version: deps.version,
      time: now().toISOString(),
    }, 200));

  app.openapi(readyRoute, (c) => {
    const { body, code } = verdict();
    return c.json(body, code, { "cache-control": "no-store" });
  });

  app.openapi(healthRoute, (c) => {
    const { body, code } = verdict();
    const cps = [...runtime.model.cps.values()];
    return c.json(
      {
        ...body,
        cps: cps.length,
        connected: cps.filter((cp) => cp.connection !== null).length,
        active_sessions: runtime.model.sessions.size,
        outbox_pending: outboxPending(),
        dropped: {
          duplicate_requests: runtime.drops.duplicateRequests,
          duplicate_telemetry: runtime.drops.duplicateTelemetry,
          rejected_telemetry: runtime.drops.rejectedTelemetry,
        },
      },
      code,
      { "cache-control": "no-store" },
    );
  });
}
