/**
 * Central's REST API (ARCHITECTURE §Processes and ports, §Admin and service auth) as a Hono app, built from a running model so tests drive
 * it with `app.request()` and no socket; `central/central.ts` serves it with `Deno.serve`.
 *
 * Reads are open (the public dashboard uses them); every POST needs
 * `Authorization: Bearer <admin token>`, except the weather office's `POST /weather/alert`,
 * which needs `Authorization: Bearer <weather service key>` (the contract of
 * weather/central_client.ts). Secrets are compared in constant time. Errors are
 * `{error, detail, timestamp}`.
 *
 * @module
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import {
  errorContent as err,
  getJsonRoute,
  jsonBody,
  jsonContent as json,
  MAX_BODY_BYTES,
  type Problem,
  problemResponder,
  remoteAddress,
  requestLog,
  requireBearer,
  validationHook,
} from "../shared/http_api.ts";
import { bearerThrottle, type WrongSecretThrottle } from "../shared/rate_limit.ts";
import { bufferBody } from "../shared/http_body.ts";
import { addMetricsRoute } from "../shared/http_metrics.ts";
import { getLogger } from "../shared/log.ts";
import { notice } from "../shared/notices.ts";
import { ENTITY_ID_PATTERN } from "../shared/encoding.ts";
import { type AuditParams, textSchema } from "../shared/messages.ts";
import { addSecurityRoutes, SECURITY_BODY_PATH } from "./api_security.ts";
import { addRestoreRoute, RESTORE_PATH } from "./api_restore.ts";
import { CpRestorer } from "./cp_restore.ts";
import {
  addDashboardRoutes,
  type DashboardDeps,
  LOCAL_CPS_PATH,
  REGISTRY_BODY_PATH,
} from "./api_dashboard.ts";
import { addDocsRoutes } from "../shared/openapi_docs.ts";
import { addConsoleRoutes, type OperatorTrackers } from "./api_console.ts";
import { addHealthRoutes } from "./api_health.ts";
import { addHistoryRoutes, MAX_SESSIONS_PAGE } from "./api_history.ts";
import {
  adminReasonRequest,
  CpBody,
  cpJson,
  DriverBody,
  driverJson,
  originOf,
  reasonParams,
  WeatherBody,
  weatherJson,
} from "./wire.ts";
import type { CentralMetrics } from "./metrics.ts";
import type { SystemStatus } from "./system_health.ts";
import type { CentralRuntime } from "./runtime.ts";

/** Version reported by `GET /health` and the OpenAPI document. */
export const CENTRAL_VERSION = "0.1.0";
/** Largest request body accepted (larger is 413 before anything reads it). */
export { MAX_BODY_BYTES };
/** Most sessions one `GET /sessions` page returns. */
export { MAX_SESSIONS_PAGE };
/** Where the weather office posts alerts and clears (weather/central_client.ts). */
export const WEATHER_ALERT_PATH = "/weather/alert";
/** Longest city name accepted in a weather alert (the office's own limit). */
export const MAX_CITY_CHARS = 100;
/** Temperatures accepted in a weather alert, °C: beyond any reading on Earth is a bad body. */
export const TEMPERATURE_RANGE_C = { min: -100, max: 100 } as const;

/** What the app is built from. */
export interface CentralApiDeps {
  /** The running model, its store and its dispatcher. */
  readonly runtime: CentralRuntime;
  /** The admin bearer token for POST calls. */
  readonly adminToken: string;
  /** The weather office's bearer key for `POST /weather/alert`. */
  readonly weatherServiceKey: string;
  /** Clock (tests). Default `new Date()`. */
  readonly now?: () => Date;
  /** The live feed, the dashboard's files and the CP manager; without it, no dashboard routes. */
  readonly dashboard?: DashboardDeps;
  /** Kafka's and the Registry's health, for readiness (unset: only the database is judged). */
  readonly status?: () => SystemStatus;
  /** The operator console's trackers; without them, no `/series`, `/summary`, `/alarms`. */
  readonly operator?: OperatorTrackers;
  /** The metrics `GET /metrics` serves and the request timer; without it, no such route. */
  readonly metrics?: CentralMetrics;
  /** Missing and wrong bearers per address (default 10 a minute, then 429). */
  readonly bearerThrottle?: WrongSecretThrottle;
  /**
   * Restores REVOKED CPs, shared with Central's panel so one restore at a time per CP holds for
   * both (default: one of the API's own, through the dashboard's Registry client and supervisor).
   */
  readonly restorer?: CpRestorer;
}

const log = getLogger(["evcharging", "central", "api"]);

// ------------------------------------------------------------------------------- schemas

const WeatherAlertBody = z.object({
  cp_id: z.string().regex(ENTITY_ID_PATTERN, "must be 3–64 characters of A–Z, a–z, 0–9, _ or -")
    .openapi({ example: "CP-001" }),
  city: textSchema(MAX_CITY_CHARS).openapi({ example: "Madrid" }),
  temperature: z.number().min(TEMPERATURE_RANGE_C.min).max(TEMPERATURE_RANGE_C.max)
    .openapi({ description: "°C", example: -2.5 }),
  status: z.enum(["alert", "clear"]).openapi({
    description: "alert: stop the CP for the weather; clear: lift the weather hold",
  }),
}).openapi("WeatherAlert");

// A schema of its own: `.openapi()` exists only on schemas made after @hono/zod-openapi loaded,
// and shared/messages.ts may load first.
const IdParams = z.object({
  id: z.string().regex(ENTITY_ID_PATTERN, "must be 3–64 characters of A–Z, a–z, 0–9, _ or -")
    .openapi({ param: { name: "id", in: "path" }, example: "CP-001" }),
});

// ------------------------------------------------------------------------------- routes

const admin = [{ adminToken: [] }];
/** The admin actions whose optional JSON body is a reason for the audit (central/wire.ts). */
const REASON_PATHS = [
  "/cps/stop",
  "/cps/resume",
  "/cps/:id/stop",
  "/cps/:id/resume",
  "/cps/:id/keys/rotate",
  "/cps/:id/keys/revoke",
  RESTORE_PATH,
  `${REGISTRY_BODY_PATH}/:id/deregister`,
  `${LOCAL_CPS_PATH}/:id/stop`,
  `${LOCAL_CPS_PATH}/:id/start`,
];
const adminErrors = {
  401: err("missing or wrong admin token"),
  413: err("body over 64 KiB"),
  429: err("too many missing or wrong bearers from this address; the right one always passes"),
};

const listCpsRoute = getJsonRoute(
  "/cps",
  "Every CP with its state and live figures",
  z.array(CpBody),
  "the CPs by id",
);
const getCpRoute = createRoute({
  method: "get",
  path: "/cps/{id}",
  summary: "One CP",
  request: { params: IdParams },
  responses: { 200: json(CpBody, "the CP"), 400: err("bad id"), 404: err("no such CP") },
});
const driversRoute = getJsonRoute(
  "/drivers",
  "Every driver seen, with totals",
  z.array(DriverBody),
  "the drivers by id",
);
/** The admin's stop or resume of one CP (`/cps/{id}/<kind>`), answered with the CP. */
const oneCpRoute = (kind: "stop" | "resume", summary: string, answer: string) =>
  createRoute({
    method: "post",
    path: `/cps/{id}/${kind}`,
    summary,
    security: admin,
    request: { params: IdParams, ...adminReasonRequest },
    responses: {
      200: json(CpBody, answer),
      400: err("bad id, or a bad reason"),
      ...adminErrors,
      404: err("no such CP"),
    },
  });
/** The admin's stop or resume of every CP (`/cps/<kind>`), answered with them all. */
const everyCpRoute = (kind: "stop" | "resume", summary: string) =>
  createRoute({
    method: "post",
    path: `/cps/${kind}`,
    summary,
    security: admin,
    request: adminReasonRequest,
    responses: { 200: json(z.array(CpBody), "every CP"), ...adminErrors },
  });
const oneCpRoutes = {
  stop: oneCpRoute(
    "stop",
    "Stop a CP (Out of Order); an active session ends with a ticket",
    "the CP, now STOPPED",
  ),
  resume: oneCpRoute("resume", "Resume a stopped CP", "the CP"),
};
const everyCpRoutes = {
  stop: everyCpRoute("stop", "Stop every CP"),
  resume: everyCpRoute("resume", "Resume every stopped CP"),
};
const weatherAlertRoute = createRoute({
  method: "post",
  path: WEATHER_ALERT_PATH,
  summary: "The weather office's report: alert stops the CP, clear lifts the weather hold",
  description: "Idempotent: only a change of status acts. A clear never lifts an admin stop.",
  security: [{ weatherServiceKey: [] }],
  request: {
    body: jsonBody(WeatherAlertBody),
  },
  responses: {
    200: json(WeatherBody, "the CP's weather report as Central now holds it"),
    400: err("bad body"),
    401: err("missing or wrong weather service key"),
    429: err("too many missing or wrong bearers from this address; the right one always passes"),
    404: err("no such CP"),
    413: err("body over 64 KiB"),
  },
});
const weatherRoute = getJsonRoute(
  "/weather",
  "The weather office's last report per CP, with its hold",
  z.array(WeatherBody),
  "the reports by CP id",
);

// ------------------------------------------------------------------------------- mapping

// ------------------------------------------------------------------------------- app

/** What every route group of the app shares: its dependencies, clock, error responder and CPs. */
interface CentralKit {
  readonly deps: CentralApiDeps;
  readonly runtime: CentralRuntime;
  readonly now: () => Date;
  readonly problem: Problem;
  /** One CP as the API shows it, with its open session; undefined for an unknown id. */
  readonly cpOf: (id: string) => ReturnType<typeof cpJson> | undefined;
  /** Every CP as the API shows it, by id. */
  readonly allCps: () => ReturnType<typeof cpJson>[];
}

function centralKit(deps: CentralApiDeps): CentralKit {
  const { runtime } = deps;
  const cpOf = (id: string) => {
    const cp = runtime.model.cps.get(id);
    if (cp === undefined) return undefined;
    const sessionId = cp.status.sessionId;
    return cpJson(cp, sessionId === null ? undefined : runtime.model.sessions.get(sessionId));
  };
  const allCps = () =>
    [...runtime.model.cps.keys()].sort().map((id) => cpOf(id)).filter((cp) => cp !== undefined);
  const now = deps.now ?? (() => new Date());
  return { deps, runtime, now, problem: problemResponder(now), cpOf, allCps };
}

/** Builds the REST API: middleware, then each concern's routes, the docs and the error shape. */
export function createCentralApp(deps: CentralApiDeps): OpenAPIHono {
  const kit = centralKit(deps);
  const { runtime, now, problem } = kit;
  const app = new OpenAPIHono({ defaultHook: validationHook(problem) });
  addMiddleware(app, kit);
  addHealthRoutes(app, { runtime, now, status: deps.status, version: CENTRAL_VERSION });
  addHistoryRoutes(app, { runtime, problem });
  if (deps.operator !== undefined) {
    addConsoleRoutes(app, { runtime, now, problem, trackers: deps.operator });
  }
  addCpRoutes(app, kit);
  addWeatherRoutes(app, kit);
  addSecurityRoutes(app, { runtime, now });
  const restorer = deps.restorer ?? new CpRestorer({
    runtime,
    now,
    registry: deps.dashboard?.registryAdmin ? deps.dashboard.registry : undefined,
    supervisor: deps.dashboard?.supervisor,
  });
  addRestoreRoute(app, { restorer, now });
  if (deps.metrics !== undefined) addMetricsRoute(app, deps.metrics.registry);
  if (deps.dashboard !== undefined) {
    addDashboardRoutes(app, { runtime, now, dashboard: deps.dashboard });
  }
  addDocsRoutes(app, {
    title: "EVCharging Central",
    version: CENTRAL_VERSION,
    description: "Supervises the charging network: CPs, sessions, drivers; stop and resume.",
  });
  addErrorHandlers(app, problem);
  return app;
}

/**
 * The bearer checks (one throttle per address for both secrets: a stranger guessing either is
 * the same flood), each refusal logged and audited; `what` names the secret in answers and
 * logs, `actor` the one who claims to hold it in the audit.
 */
function bearerGates(kit: CentralKit) {
  const { deps, runtime, problem } = kit;
  /** A refused bearer, audited as a flood: anyone can try tokens at will. */
  const auditRefused = (c: Context, actor: string, reason: string) =>
    runtime.audit({
      actor,
      action: "api.auth",
      outcome: "rejected",
      params: { reason, method: c.req.method, path: c.req.path.slice(0, 200) },
      ...originOf(c),
    }, true);
  const throttle = deps.bearerThrottle ?? bearerThrottle();
  const requireSecret = (secret: string, what: string, actor: string) =>
    requireBearer({
      secret,
      realm: "central",
      problem,
      throttle,
      missing: { error: "unauthorized", detail: `this call needs Authorization: Bearer <${what}>` },
      wrong: { error: "unauthorized", detail: `the ${what} is wrong` },
      onRefused: (c, reason) => {
        if (reason === "wrong_bearer") {
          log.warning("Wrong {what} on {method} {path}", {
            what,
            method: c.req.method,
            path: c.req.path,
          });
        }
        auditRefused(c, actor, reason);
      },
    });
  return {
    requireAdmin: requireSecret(deps.adminToken, "admin token", "admin"),
    requireWeatherKey: requireSecret(deps.weatherServiceKey, "weather service key", "weather"),
  };
}

/** Metrics, the request log, security headers, body limits and who may POST what. */
function addMiddleware(app: OpenAPIHono, kit: CentralKit): void {
  const { deps, problem } = kit;
  const { requireAdmin, requireWeatherKey } = bearerGates(kit);
  // The routes that parse a body read it here, capped, once the key is checked.
  const readBody = bufferBody(
    MAX_BODY_BYTES,
    (c) => problem(c, 413, "payload_too_large", `request body over ${MAX_BODY_BYTES} bytes`),
  );

  // First, so requests refused by any later middleware are timed and counted too.
  if (deps.metrics !== undefined) app.use("*", deps.metrics.http());
  app.use("*", requestLog(log));
  app.use("*", secureHeaders());
  // Only the weather alert reads a body (capped in readBody); a declared oversize one is refused
  // before the token check. (hono's bodyLimit would copy the request to re-read it, which makes
  // Deno.serve print a warning about request.signal on every POST.)
  const bodyLimit: MiddlewareHandler = async (c, next) => {
    const declared = Number(c.req.header("content-length") ?? "0");
    if (!(declared <= MAX_BODY_BYTES)) {
      return problem(c, 413, "payload_too_large", `request body over ${MAX_BODY_BYTES} bytes`);
    }
    return await next();
  };
  app.on("POST", "*", bodyLimit, async (c, next) => {
    return c.req.path === WEATHER_ALERT_PATH ? await next() : await requireAdmin(c, next);
  });
  app.on("POST", WEATHER_ALERT_PATH, requireWeatherKey, readBody);
  app.on("POST", SECURITY_BODY_PATH, readBody);
  app.on("POST", REGISTRY_BODY_PATH, readBody);
  app.on("POST", LOCAL_CPS_PATH, readBody);
  // Admin actions take an optional reason: an empty body is none.
  const readReason = bufferBody(
    MAX_BODY_BYTES,
    (c) => problem(c, 413, "payload_too_large", `request body over ${MAX_BODY_BYTES} bytes`),
    { emptyAs: "{}" },
  );
  for (const action of REASON_PATHS) app.on("POST", action, readReason);
  // The one admin read: which processes run on the supervisor's machine is not public status.
  app.on("GET", LOCAL_CPS_PATH, requireAdmin);
  app.openAPIRegistry.registerComponent("securitySchemes", "adminToken", {
    type: "http",
    scheme: "bearer",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "weatherServiceKey", {
    type: "http",
    scheme: "bearer",
  });
}

/** CPs and drivers: the reads, and the admin's stop and resume of one CP or all. */
function addCpRoutes(app: OpenAPIHono, kit: CentralKit): void {
  const { runtime, now, problem, cpOf, allCps } = kit;
  app.openapi(listCpsRoute, (c) => c.json(allCps(), 200));

  app.openapi(getCpRoute, (c) => {
    const { id } = c.req.valid("param");
    const cp = cpOf(id);
    return cp ? c.json(cp, 200) : problem(c, 404, "not_found", notice("no_cp", { id }));
  });

  app.openapi(driversRoute, (c) => c.json(runtime.store.drivers().map(driverJson), 200));

  const auditAdmin = (c: Context, action: string, params: AuditParams) =>
    runtime.audit({ actor: "admin", action, outcome: "ok", params, ...originOf(c) });

  const act = (c: Context, id: string, kind: "stop" | "resume", reason: { reason?: string }) => {
    if (!runtime.model.cps.has(id)) return undefined;
    runtime.dispatch(
      kind === "stop" ? { type: "stop", cpId: id, reason: "admin" } : { type: "resume", cpId: id },
      now().getTime(),
    );
    log.info("Admin {kind} of CP {cpId}", { kind, cpId: id, ip: remoteAddress(c) });
    auditAdmin(c, `cp.${kind}`, { cpId: id, ...reason });
    return cpOf(id);
  };

  for (const kind of ["stop", "resume"] as const) {
    app.openapi(oneCpRoutes[kind], (c) => {
      const { id } = c.req.valid("param");
      const cp = act(c, id, kind, reasonParams(c.req.valid("json")));
      return cp ? c.json(cp, 200) : problem(c, 404, "not_found", notice("no_cp", { id }));
    });
  }

  for (const kind of ["stop", "resume"] as const) {
    app.openapi(everyCpRoutes[kind], (c) => {
      runtime.dispatch(
        kind === "stop" ? { type: "stop", reason: "admin" } : { type: "resume" },
        now().getTime(),
      );
      log.info(`Admin ${kind} of every CP`, { ip: remoteAddress(c) });
      auditAdmin(c, `cp.${kind}`, { cpId: "*", ...reasonParams(c.req.valid("json")) });
      return c.json(allCps(), 200);
    });
  }
}

/** The weather office's alerts and clears, and the weather reports. */
function addWeatherRoutes(app: OpenAPIHono, kit: CentralKit): void {
  const { runtime, now, problem } = kit;
  const weatherOf = (cpId: string) => {
    const report = runtime.model.weather.get(cpId);
    const cp = runtime.model.cps.get(cpId);
    return report && cp ? weatherJson(report, cp) : undefined;
  };

  app.openapi(weatherAlertRoute, (c) => {
    const body = c.req.valid("json");
    if (!runtime.model.cps.has(body.cp_id)) {
      return problem(c, 404, "not_found", `no CP ${body.cp_id}: Central knows CPs that logged in`);
    }
    runtime.dispatch({
      type: "weather",
      cpId: body.cp_id,
      city: body.city,
      temperatureC: body.temperature,
      status: body.status,
      ...originOf(c),
    }, now().getTime());
    const report = weatherOf(body.cp_id);
    if (report === undefined) throw new Error(`weather report of ${body.cp_id} not recorded`);
    return c.json(report, 200);
  });

  app.openapi(weatherRoute, (c) => {
    const reports = [...runtime.model.weather.keys()].sort().map(weatherOf);
    return c.json(reports.filter((r) => r !== undefined), 200);
  });
}

/** Unknown routes and errors, answered in the error shape. */
function addErrorHandlers(app: OpenAPIHono, problem: Problem): void {
  app.notFound((c) => problem(c, 404, "not_found", `no route ${c.req.method} ${c.req.path}`));
  app.onError((error, c) => {
    if (error instanceof HTTPException) {
      return problem(
        c,
        error.status as ContentfulStatusCode,
        "http_error",
        error.message || "refused",
      );
    }
    log.error("{method} {path} failed: {error}", { method: c.req.method, path: c.req.path, error });
    return problem(c, 500, "internal_error", notice("internal_error"));
  });
}
