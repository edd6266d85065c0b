/**
 * The weather office's REST API (default :8090) as a Hono app, built from a narrow view of the
 * office so tests drive it with `app.request()` and no socket.
 *
 * Reads are open; every change (PUT, DELETE) needs `Authorization: Bearer <WEATHER_SERVICE_KEY>`,
 * compared in constant time. Order of checks: body size (64 KiB), the service key, JSON and the
 * strict schemas, then the handler. Every failure is `{error, detail, timestamp}`.
 *
 * @module
 */
import { addMetricsRoute } from "../shared/http_metrics.ts";
import { OfficeMetrics } from "./metrics.ts";
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { secureHeaders } from "hono/secure-headers";
import {
  answerErrors,
  capBodies,
  errorContent as err,
  getJsonRoute,
  jsonBody as body,
  jsonContent as json,
  MAX_BODY_BYTES,
  type Problem,
  problemResponder,
  requestLog,
  requireBearer,
  validationHook,
} from "../shared/http_api.ts";
import { bearerThrottle, type WrongSecretThrottle } from "../shared/rate_limit.ts";
import { getLogger } from "../shared/log.ts";
import { cpIdSchema } from "../shared/messages.ts";
import type { LocationRow } from "./core.ts";
import { citySchema, LocationsFileError } from "./locations.ts";
import type { SimulatedProvider } from "./providers.ts";

/** Largest request body accepted (larger is 413 before parsing). */
export { MAX_BODY_BYTES };
/** Coldest and warmest manual temperature accepted, °C. */
export const MANUAL_TEMPERATURE_RANGE = { min: -90, max: 60 } as const;

/** What the office looks like from the API and the menu at one moment. */
export interface OfficeSnapshot {
  /** Where temperatures come from. */
  readonly provider: "openweather" | "simulated";
  /** Below this (°C) is an alert. */
  readonly thresholdC: number;
  /** Central's base URL and how the office stands with it. */
  readonly central: {
    readonly url: string;
    readonly reachable?: boolean;
    readonly lastError?: string;
  };
  /** What is wrong with the locations file, while its previous content is kept. */
  readonly locationsProblem?: string;
  /** When the last round ended (ms since the epoch). */
  readonly lastRoundAt?: number;
  /** Every watched CP, by id. */
  readonly rows: readonly LocationRow[];
}

/** The office as the API (and the menu) use it. */
export interface WeatherOfficeView {
  /** The current state. */
  snapshot(): OfficeSnapshot;
  /** See `LocationStore.set`. */
  setLocation(cpId: string, city: string): Promise<"added" | "changed" | "unchanged">;
  /** See `LocationStore.remove`. */
  removeLocation(cpId: string): Promise<string | undefined>;
  /** The simulated provider, if it is the one in use (manual temperatures need it). */
  readonly simulated?: SimulatedProvider;
  /** Starts a round now (or right after the one running), so a change shows at once. */
  poke(): void;
}

/** What {@link createWeatherApp} is built from. */
export interface WeatherApiDeps {
  /** The office. */
  readonly office: WeatherOfficeView;
  /** The key every change must carry as a bearer token. */
  readonly serviceKey: string;
  /** Clock for timestamps. Default `new Date()`. */
  readonly now?: () => Date;
  /** What `GET /metrics` serves and the request timer. Default: a registry of this app's own. */
  readonly metrics?: OfficeMetrics;
  /** Missing and wrong service keys per address (default 10 a minute, then 429). */
  readonly bearerThrottle?: WrongSecretThrottle;
}

type Ctx = Context;

const log = getLogger(["evcharging", "weather", "api"]);

// ------------------------------------------------------------------------------- schemas

// `cpIdSchema` and `citySchema` are plain zod, made before this module extends zod with
// `.openapi()` (that depends on import order), so only schemas made here are annotated.
const CpIdParams = z.strictObject({ cpId: cpIdSchema });
const CityParams = z.strictObject({ city: citySchema });

const LocationRequest = z.strictObject({ city: citySchema })
  .openapi("LocationRequest", { example: { city: "Madrid" } });
const TemperatureRequest = z.strictObject({
  temperature: z.number().min(MANUAL_TEMPERATURE_RANGE.min).max(MANUAL_TEMPERATURE_RANGE.max)
    .openapi({ description: "°C", example: -3 }),
}).openapi("TemperatureRequest");

const WeatherStatus = z.enum(["alert", "clear"]);

const Health = z.object({
  service: z.literal("weather"),
  status: z.literal("ok"),
  provider: z.enum(["openweather", "simulated"]),
  threshold_celsius: z.number(),
  central: z.object({
    url: z.string(),
    reachable: z.boolean().nullable().openapi({ description: "null before the first attempt" }),
    last_error: z.string().nullable(),
  }),
  locations: z.number().int(),
  locations_problem: z.string().nullable(),
  last_round_at: z.string().nullable(),
  time: z.string(),
}).openapi("Health");

const Location = z.object({
  cp_id: z.string(),
  city: z.string(),
  temperature: z.number().nullable().openapi({ description: "the city's last good reading, °C" }),
  read_at: z.string().nullable().openapi({ description: "when that reading was taken" }),
  state: z.enum(["alert", "clear", "unknown"]).openapi({
    description: "from that reading; unknown before the first one",
  }),
  central_state: WeatherStatus.nullable().openapi({
    description: "what Central acknowledged and still holds, as far as the office knows",
  }),
  last_error: z.object({ kind: z.string(), detail: z.string(), at: z.string() }).nullable()
    .openapi({ description: "the city's provider error, if its last reading failed" }),
  known_to_central: z.boolean().nullable().openapi({
    description: "false: Central does not know this CP, so it gets no alerts; null: not yet known",
  }),
}).openapi("Location");

const LocationList = z.object({
  provider: z.enum(["openweather", "simulated"]),
  threshold_celsius: z.number(),
  locations_problem: z.string().nullable(),
  items: z.array(Location),
}).openapi("LocationList");

const LocationChange = z.object({
  cp_id: z.string(),
  city: z.string(),
  result: z.enum(["added", "changed", "unchanged", "removed"]),
}).openapi("LocationChange");

const ManualTemperature = z.object({
  city: z.string(),
  temperature: z.number().nullable().openapi({ description: "null: drifting again" }),
}).openapi("ManualTemperature");

// ------------------------------------------------------------------------------- routes

const secured = [{ serviceKey: [] }];
const changeErrors = {
  400: err("validation failed (the detail names the field) or invalid JSON"),
  401: err("missing or wrong service key"),
  413: err("body over 64 KiB"),
};

const healthRoute = getJsonRoute(
  "/health",
  "Health, provider and how the office stands with Central",
  Health,
  "the office is up",
);

const listRoute = getJsonRoute(
  "/locations",
  "Every watched CP with its city, temperature and state",
  LocationList,
  "the watched CPs, by id",
);

const putLocationRoute = createRoute({
  method: "put",
  path: "/locations/{cpId}",
  summary: "Watch a CP in a city, or move it to another",
  security: secured,
  request: { params: CpIdParams, body: body(LocationRequest) },
  responses: {
    200: json(LocationChange, "changed (or already so)"),
    201: json(LocationChange, "added"),
    ...changeErrors,
    409: err("the locations file is malformed or missing: fix it first"),
  },
});

const deleteLocationRoute = createRoute({
  method: "delete",
  path: "/locations/{cpId}",
  summary: "Stop watching a CP (a weather alert it is under is cleared)",
  security: secured,
  request: { params: CpIdParams },
  responses: {
    200: json(LocationChange, "removed"),
    400: changeErrors[400],
    401: changeErrors[401],
    404: err("the CP is not watched"),
    409: err("the locations file is malformed or missing: fix it first"),
  },
});

const putSimulatedRoute = createRoute({
  method: "put",
  path: "/simulated/{city}",
  summary: "Hold a city at a temperature (simulated provider only)",
  security: secured,
  request: { params: CityParams, body: body(TemperatureRequest) },
  responses: {
    200: json(ManualTemperature, "set; a round starts at once"),
    ...changeErrors,
    409: err("the office reads OpenWeather, not the simulated provider"),
  },
});

const deleteSimulatedRoute = createRoute({
  method: "delete",
  path: "/simulated/{city}",
  summary: "Let a city's simulated temperature drift again",
  security: secured,
  request: { params: CityParams },
  responses: {
    200: json(ManualTemperature, "drifting again"),
    400: changeErrors[400],
    401: changeErrors[401],
    404: err("the city has no manual temperature"),
    409: err("the office reads OpenWeather, not the simulated provider"),
  },
});

// ------------------------------------------------------------------------------- helpers

function toIso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

function rowJson(row: LocationRow): z.infer<typeof Location> {
  return {
    cp_id: row.cpId,
    city: row.city,
    temperature: row.temperature ?? null,
    read_at: toIso(row.readAt),
    state: row.state,
    central_state: row.centralState ?? null,
    last_error: row.lastError === undefined ? null : {
      kind: row.lastError.kind,
      detail: row.lastError.detail,
      at: new Date(row.lastError.at).toISOString(),
    },
    known_to_central: row.knownToCentral ?? null,
  };
}

// ----------------------------------------------------------------------------------- app

/** Builds the weather office's API. */
export function createWeatherApp(deps: WeatherApiDeps): OpenAPIHono {
  const now = deps.now ?? (() => new Date());
  const problem = problemResponder(now);
  const kit: WeatherKit = { office: deps.office, now, problem };
  const app = new OpenAPIHono({ defaultHook: validationHook(problem) });
  addMiddleware(app, deps, problem);
  addStatusRoutes(app, kit);
  addLocationRoutes(app, kit);
  addSimulatedRoutes(app, kit);
  app.doc("/openapi.json", {
    openapi: "3.0.3",
    info: {
      title: "EVCharging weather office",
      version: "0.1.0",
      description: "Which city each CP is in, the temperatures read, and the alerts sent.",
    },
  });
  addErrorHandlers(app, problem);
  return app;
}

/** What every route group of the app shares. */
interface WeatherKit {
  readonly office: WeatherOfficeView;
  readonly now: () => Date;
  readonly problem: Problem;
}

/** Metrics, the request log, security headers, the body cap and the service key gate. */
function addMiddleware(app: OpenAPIHono, deps: WeatherApiDeps, problem: Problem): void {
  const { office } = deps;
  const requireServiceKey = requireBearer({
    secret: deps.serviceKey,
    realm: "weather",
    problem,
    throttle: deps.bearerThrottle ?? bearerThrottle(),
    missing: {
      error: "service_key_required",
      detail: "this call needs Authorization: Bearer <WEATHER_SERVICE_KEY>",
    },
    wrong: { error: "invalid_service_key", detail: "the service key is wrong" },
    onRefused: (c, reason) => {
      if (reason !== "wrong_bearer") return;
      log.warning("wrong service key on {method} {path}", {
        method: c.req.method,
        path: c.req.path,
      });
    },
  });

  // First, so requests refused by any later middleware are timed and counted too.
  const metrics = deps.metrics ?? new OfficeMetrics(() => office.snapshot().rows);
  app.use("*", metrics.http());
  addMetricsRoute(app, metrics.registry);
  app.use("*", requestLog(log));
  app.use("*", secureHeaders());
  capBodies(app, problem);
  app.on(["PUT", "DELETE", "POST", "PATCH"], "*", requireServiceKey);

  app.openAPIRegistry.registerComponent("securitySchemes", "serviceKey", {
    type: "http",
    scheme: "bearer",
    description: "WEATHER_SERVICE_KEY, or the key in data/weather_service.key",
  });
}

/** `GET /health` and the watched CPs. */
function addStatusRoutes(app: OpenAPIHono, { office, now }: WeatherKit): void {
  app.openapi(healthRoute, (c) => {
    const s = office.snapshot();
    return c.json({
      service: "weather" as const,
      status: "ok" as const,
      provider: s.provider,
      threshold_celsius: s.thresholdC,
      central: {
        url: s.central.url,
        reachable: s.central.reachable ?? null,
        last_error: s.central.lastError ?? null,
      },
      locations: s.rows.length,
      locations_problem: s.locationsProblem ?? null,
      last_round_at: toIso(s.lastRoundAt),
      time: now().toISOString(),
    }, 200);
  });

  app.openapi(listRoute, (c) => {
    const s = office.snapshot();
    return c.json({
      provider: s.provider,
      threshold_celsius: s.thresholdC,
      locations_problem: s.locationsProblem ?? null,
      items: s.rows.map(rowJson),
    }, 200);
  });
}

/** Watching a CP in a city, or no more. */
function addLocationRoutes(app: OpenAPIHono, { office, problem }: WeatherKit): void {
  const fileProblem = (c: Ctx, error: LocationsFileError) =>
    problem(c, 409, "locations_file_invalid", error.message);

  app.openapi(putLocationRoute, async (c) => {
    const { cpId } = c.req.valid("param");
    const { city } = c.req.valid("json");
    try {
      const result = await office.setLocation(cpId, city);
      return c.json({ cp_id: cpId, city, result }, result === "added" ? 201 : 200);
    } catch (error) {
      if (error instanceof LocationsFileError) return fileProblem(c, error);
      throw error;
    }
  });

  app.openapi(deleteLocationRoute, async (c) => {
    const { cpId } = c.req.valid("param");
    try {
      const city = await office.removeLocation(cpId);
      if (city === undefined) return problem(c, 404, "not_found", `CP ${cpId} is not watched`);
      return c.json({ cp_id: cpId, city, result: "removed" as const }, 200);
    } catch (error) {
      if (error instanceof LocationsFileError) return fileProblem(c, error);
      throw error;
    }
  });
}

/** The simulated provider's temperatures set and cleared by hand. */
function addSimulatedRoutes(app: OpenAPIHono, { office, problem }: WeatherKit): void {
  const notSimulated = (c: Ctx) =>
    problem(
      c,
      409,
      "not_simulated",
      "the office reads OpenWeather; manual temperatures exist only with the simulated provider",
    );

  app.openapi(putSimulatedRoute, (c) => {
    const { city } = c.req.valid("param");
    const { temperature } = c.req.valid("json");
    if (office.simulated === undefined) return notSimulated(c);
    office.simulated.setTemperature(city, temperature);
    office.poke();
    log.info("{city} held at {temperature} °C by hand", { city, temperature });
    return c.json({ city, temperature }, 200);
  });

  app.openapi(deleteSimulatedRoute, (c) => {
    const { city } = c.req.valid("param");
    if (office.simulated === undefined) return notSimulated(c);
    if (!office.simulated.clearTemperature(city)) {
      return problem(c, 404, "not_found", `${city} has no manual temperature`);
    }
    office.poke();
    log.info("{city} drifts again", { city });
    return c.json({ city, temperature: null }, 200);
  });
}

/** Unknown routes and errors, answered in the error shape. */
function addErrorHandlers(app: OpenAPIHono, problem: Problem): void {
  answerErrors(app, problem, log, "the weather office's", (error, c) => {
    if (error.status === 400) {
      return problem(c, 400, "invalid_json", "send the body as valid JSON (application/json)");
    }
    if (error.status === 415) {
      return problem(c, 415, "unsupported_media_type", "send the body as application/json");
    }
    return undefined;
  });
}
