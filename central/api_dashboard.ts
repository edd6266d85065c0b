/**
 * Central's dashboard routes, added to the app of central/api.ts:
 *
 * - `GET /snapshot`: everything the dashboard shows, with the event id to resume from;
 * - `GET /events`: the live feed (central/live_feed.ts) as Server-Sent Events, resumable with
 *   `Last-Event-ID` (or `?last_event_id=`); `reset` tells the client to reload `/snapshot`;
 *   a `ping` event every {@link SSE_HEARTBEAT_MS} keeps proxies open and lets the client see a
 *   dead link; a client that falls {@link SSE_MAX_QUEUED} events behind has its stream ended (it resumes);
 *   with `?batch=1` the events published together (a feed flush: every CP's figures) come as
 *   one `batch` event, so a browser parses and dispatches one message, not a thousand;
 * - `GET /registry/cps`, `POST /registry/cps` and `POST /registry/cps/{id}/deregister`: the CP
 *   manager, proxied to the Registry with Central's Registry admin key (never shown; the one
 *   answer that carries a secret is the new CP's credentials, shown once);
 * - `GET /local/cps`, `POST /local/cps`, `POST /local/cps/{id}/start|stop`, and the demo actions
 *   `POST /local/cps/{id}/fault|repair|kill-engine|kill-monitor|restart-engine|restart-monitor`: the CP manager's
 *   control of the simulated CPs a local supervisor runs (`deno task start`,
 *   infra/supervisor_api.ts), forwarded to it with the admin token; 404 without one;
 * - `GET /`, `/app.js`, `/app.css`: the dashboard itself (central/web_bundle.ts).
 *
 * Reads are open (ARCHITECTURE §Admin and service auth), except the local CPs (processes of the supervisor's machine);
 * the POSTs need the admin token (checked by api.ts).
 *
 * @module
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { RegistryClient, RegistryError } from "../registry/client.ts";
import {
  errorContent as err,
  getJsonRoute,
  jsonBody,
  jsonContent as json,
  type Problem,
  problemResponder,
} from "../shared/http_api.ts";
import { ENTITY_ID_PATTERN } from "../shared/encoding.ts";
import { getLogger } from "../shared/log.ts";
import { notice } from "../shared/notices.ts";
import {
  LOCAL_CP_ACTIONS,
  type LocalCpAction,
  localCpSchema as LocalCpBody,
  newLocalCpSchema,
} from "../shared/local_cps.ts";
import { textSchema } from "../shared/messages.ts";
import { buildSnapshot } from "./dashboard.ts";
import type { FeedEvent, LiveFeed } from "./live_feed.ts";
import type { CentralRuntime } from "./runtime.ts";
import type { SystemStatus } from "./system_health.ts";
import type { WebAssets } from "./web_bundle.ts";
import { adminReasonRequest, originOf, reasonParams } from "./wire.ts";

const log = getLogger(["evcharging", "central", "dashboard"]);

/** Completed sessions in a snapshot. */
export const SNAPSHOT_RECENT_SESSIONS = 200;
/** Audit records in a snapshot. */
export const SNAPSHOT_AUDIT_RECORDS = 200;
/** Time between two `ping` events of an open stream. */
export const SSE_HEARTBEAT_MS = 15_000;
/** Events an unread stream may hold before its client is dropped (it resumes from its id). */
export const SSE_MAX_QUEUED = 2048;
/** What the browser waits before reconnecting (SSE `retry`). */
export const SSE_RETRY_MS = 1500;
/** Where `POST /registry/cps` is routed (api.ts reads its body). */
export const REGISTRY_BODY_PATH = "/registry/cps";
/** The local CPs (api.ts reads the POST's body and checks the admin token on the GET too). */
export const LOCAL_CPS_PATH = "/local/cps";
/** How long a call to the supervisor may take (a stop waits for the CP to exit). */
export const SUPERVISOR_TIMEOUT_MS = 20_000;

/** One call to the local supervisor, with Central's admin token (see {@link supervisorCaller}). */
export type SupervisorCall = (
  method: "GET" | "POST",
  path: string,
  body?: unknown,
) => Promise<Response>;

/** Calls the local supervisor at `url` with the admin token `token` (`fetcher`: tests). */
export function supervisorCaller(
  url: string,
  token: string,
  fetcher: typeof fetch = fetch,
): SupervisorCall {
  return (method, path, body) =>
    fetcher(`${url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(SUPERVISOR_TIMEOUT_MS),
    });
}

/**
 * The Registry's answer to a call Central made for an admin, as Central answers it. The Registry
 * busy (503) or throttling (429) is passed on as such with its `Retry-After` (at least 1 s), and
 * an unreachable Registry is a 503 too: the caller should come back, nothing is broken. A
 * refused admin key is Central's configuration (502). Anything not from the Registry client is
 * thrown again.
 */
export function registryProblem(
  problem: ReturnType<typeof problemResponder>,
  c: Context,
  error: unknown,
): Response {
  // By name, not instanceof: importing registry/client.ts here would load its schemas before
  // @hono/zod-openapi in tests that import shared/messages.ts first.
  if (!(error instanceof Error) || !error.name.startsWith("Registry")) throw error;
  const e = error as RegistryError;
  const retry = { "Retry-After": String(e.retryAfterSeconds ?? UNAVAILABLE_RETRY_S) };
  if (error.name === "RegistryUnavailableError") {
    return e.status === 503
      ? problem(c, 503, "registry_busy", notice("registry_busy", { detail: e.detail }), retry)
      : problem(
        c,
        503,
        "registry_unavailable",
        notice("registry_unreachable", { detail: e.detail }),
        retry,
      );
  }
  if (e.status === 429) {
    const said = notice("registry_throttles", { detail: e.detail });
    return problem(c, 429, "registry_rate_limited", said, retry);
  }
  if (e.status === 401 || e.status === 403) {
    return problem(c, 502, "registry_refused", notice("registry_refused_key"));
  }
  const status = [400, 404, 409].includes(e.status) ? e.status as 400 : 502;
  return problem(c, status, e.code, e.detail);
}

/** What the dashboard routes need. */
export interface DashboardDeps {
  /** The live feed. */
  readonly feed: LiveFeed;
  /** The open event streams (closed by Central at stop, before the HTTP server). */
  readonly streams: EventStreams;
  /** The health view now. */
  readonly status: () => SystemStatus;
  /** The dashboard's files, or why there are none. */
  readonly web: () => Promise<WebAssets>;
  /** The Registry client, with Central's Registry admin key if `registryAdmin`. */
  readonly registry?: RegistryClient;
  /** Whether Central holds a Registry admin key. */
  readonly registryAdmin: boolean;
  /** The local supervisor that runs the simulated CPs, when Central was given one. */
  readonly supervisor?: SupervisorCall;
}

/** One `batch` frame: `events` in order, with the id of the last one (resume from there). */
export function sseBatchFrame(events: readonly Pick<FeedEvent, "id" | "type" | "data">[]): string {
  const items = events.map(({ id, type, data }) => ({ id, type, data }));
  return sseFrame({ id: events[events.length - 1].id, type: "batch", data: items });
}

/** One SSE frame. */
export function sseFrame(event: Pick<FeedEvent, "type" | "data"> & { id?: string }): string {
  const id = event.id === undefined ? "" : `id: ${event.id}\n`;
  // JSON.stringify never emits a raw newline, so one data line always suffices.
  return `${id}event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

/** The open SSE streams of one Central. */
export class EventStreams {
  readonly #open = new Set<() => void>();
  #closed = false;

  /** Streams now open. */
  get size(): number {
    return this.#open.size;
  }

  /**
   * A stream of `feed` for a client that last saw `lastEventId`: the events after it, or a
   * `reset`; then every new event, and a `ping` every `heartbeatMs`. With `batch`, the replay
   * and each run of events published in one turn (until the next microtask) are one `batch`.
   */
  open(
    feed: LiveFeed,
    lastEventId: string | undefined,
    heartbeatMs = SSE_HEARTBEAT_MS,
    batch = false,
  ): Response {
    const encoder = new TextEncoder();
    let done = false;
    let unsubscribe = () => {};
    let timer: ReturnType<typeof setInterval> | undefined;
    let close = () => {};
    const stop = () => {
      if (done) return;
      done = true;
      unsubscribe();
      clearInterval(timer);
      this.#open.delete(close);
    };
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        if (this.#closed) {
          done = true;
          controller.close();
          return;
        }
        let replayed = 0;
        const send = (text: string) => {
          if (done) return;
          controller.enqueue(encoder.encode(text));
          // A client that reads slower than the feed grows this queue: end its stream, so the
          // queue grows no more; it reads what is queued, then resumes from its last id.
          // Closed, not errored: Deno.serve prints an errored body's reason raw on stderr.
          if ((controller.desiredSize ?? 0) < -(replayed + SSE_MAX_QUEUED)) {
            log.info("Ended a dashboard stream {n} events behind", { n: SSE_MAX_QUEUED });
            close();
          }
        };
        close = () => {
          if (done) return;
          stop();
          controller.close();
        };
        send(`retry: ${SSE_RETRY_MS}\n\n`);
        const resume = feed.since(lastEventId);
        if (resume.kind === "reset") {
          send(sseFrame({
            id: feed.lastId,
            type: "reset",
            data: { reason: resume.reason, boot: feed.boot, last_event_id: feed.lastId },
          }));
        } else {
          // The replay is bounded by the feed's own capacity; only what comes after counts.
          replayed = resume.events.length;
          if (!batch) { for (const event of resume.events) send(sseFrame(event)); }
          else if (resume.events.length > 0) send(sseBatchFrame(resume.events));
        }
        let run: FeedEvent[] = [];
        unsubscribe = feed.subscribe((event) => {
          if (!batch) return send(sseFrame(event));
          run.push(event);
          if (run.length > 1) return;
          queueMicrotask(() => {
            const events = run;
            run = [];
            send(sseBatchFrame(events));
          });
        });
        timer = setInterval(() => send(sseFrame({ type: "ping", data: {} })), heartbeatMs);
        this.#open.add(close);
      },
      cancel: () => stop(),
    });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        "x-accel-buffering": "no",
      },
    });
  }

  /** Ends every stream and refuses new ones (Central is stopping). */
  closeAll(): void {
    this.#closed = true;
    for (const close of [...this.#open]) close();
  }
}

// ------------------------------------------------------------------------------- schemas

const Item = z.looseObject({});
const SnapshotBody = z.object({
  boot: z.string().openapi({ description: "this start of Central: the prefix of event ids" }),
  last_event_id: z.string().openapi({ description: "open /events from here" }),
  time: z.string(),
  cps: z.array(Item).openapi({ description: "Cp, plus session_id and security" }),
  drivers: z.array(Item).openapi({ description: "Driver, plus current_session, last_session" }),
  sessions: z.object({ active: z.array(Item), recent: z.array(Item) }),
  weather: z.array(Item).openapi({ description: "Weather" }),
  audit: z.array(Item).openapi({ description: "AuditRecord, newest first" }),
  status: z.object({ kafka: Item, registry: Item, registry_feed: Item, weather: Item }).openapi({
    description: "health of Kafka, the Registry, its change feed and the weather office as " +
      "Central sees them",
  }),
  registry_admin: z.boolean().openapi({ description: "the CP manager can register CPs" }),
  local_cps: z.boolean().openapi({
    description: "the CP manager can start and stop local simulated CPs (GET /local/cps)",
  }),
}).openapi("Snapshot");

const RegisterBody = z.object({
  cp_id: z.string().regex(ENTITY_ID_PATTERN, "must be 3–64 characters of A–Z, a–z, 0–9, _ or -")
    .openapi({ example: "CP-006" }),
  location: textSchema(200).openapi({ example: "Murcia" }),
  price_eur_kwh: z.number().positive().max(100).optional(),
  power_kw: z.number().positive().max(10_000).optional(),
}).openapi("RegisterCp");

const IdParams = z.object({
  id: z.string().regex(ENTITY_ID_PATTERN, "must be 3–64 characters of A–Z, a–z, 0–9, _ or -")
    .openapi({ param: { name: "id", in: "path" }, example: "CP-006" }),
});

/** `Retry-After` seconds when the Registry could not be reached at all. */
const UNAVAILABLE_RETRY_S = 5;

const registryErrors = {
  400: err("bad body"),
  401: err("missing or wrong admin token"),
  409: err("already registered"),
  429: err("the Registry throttles (Retry-After passed on)"),
  502: err("the Registry refused Central's admin key"),
  503: err(
    "no Registry admin key configured, the Registry is busy or unreachable (Retry-After)",
  ),
};

const snapshotRoute = getJsonRoute(
  "/snapshot",
  "Everything the dashboard shows, and the event id to follow it from",
  SnapshotBody,
  "the snapshot",
);
const eventsRoute = createRoute({
  method: "get",
  path: "/events",
  summary: "Live events (Server-Sent Events), resumable with Last-Event-ID",
  description: "Events: cp, telemetry (coalesced per CP), session, ticket, weather, driver, " +
    "audit, status; reset (reload /snapshot, then go on); ping (heartbeat). Ids are " +
    "<boot>-<n>: an id of an earlier start of Central, or one too old to resume, gets reset.",
  request: {
    query: z.object({
      last_event_id: z.string().max(100).optional().openapi({
        description: "resume after this id (the Last-Event-ID header wins)",
      }),
      batch: z.enum(["0", "1"]).optional().openapi({
        description: "1: events published together come as one `batch` event, whose data is " +
          "the list of {id, type, data} and whose id is the last one's",
      }),
    }),
  },
  responses: { 200: { description: "an event stream", content: { "text/event-stream": {} } } },
});
const listRegistryRoute = createRoute({
  method: "get",
  path: "/registry/cps",
  summary: "The CPs the Registry holds (first 100)",
  responses: {
    200: json(z.array(Item), "the Registry's CPs, never a secret"),
    503: err("the Registry is unreachable"),
  },
});
const registerRoute = createRoute({
  method: "post",
  path: "/registry/cps",
  summary: "Register a CP in the Registry (its credentials are in this answer only)",
  security: [{ adminToken: [] }],
  request: {
    body: jsonBody(RegisterBody),
  },
  responses: { 201: json(Item, "the CP and its credentials, shown once"), ...registryErrors },
});
const deregisterRoute = createRoute({
  method: "post",
  path: "/registry/cps/{id}/deregister",
  summary: "Deregister a CP in the Registry (it can no longer log in)",
  security: [{ adminToken: [] }],
  request: { params: IdParams, ...adminReasonRequest },
  responses: { 200: json(Item, "the CP, DEREGISTERED"), 404: err("no such CP"), ...registryErrors },
});

const localErrors = {
  401: err("missing or wrong admin token"),
  404: err("no local supervisor (Central was not started by deno task start), or no such CP"),
  502: err("the supervisor refused Central's admin token, or answered nonsense"),
  503: err("the supervisor does not answer"),
};
const listLocalRoute = createRoute({
  method: "get",
  path: LOCAL_CPS_PATH,
  summary: "The simulated CPs the local supervisor runs",
  security: [{ adminToken: [] }],
  responses: { 200: json(z.array(LocalCpBody), "the local CPs by id"), ...localErrors },
});
const addLocalRoute = createRoute({
  method: "post",
  path: LOCAL_CPS_PATH,
  summary: "Start a new simulated CP on the supervisor's machine (it registers itself)",
  security: [{ adminToken: [] }],
  request: {
    body: jsonBody(newLocalCpSchema),
  },
  responses: {
    201: json(LocalCpBody, "the CP, started"),
    400: err("bad body"),
    409: err("a CP of that id is run there already"),
    ...localErrors,
  },
});
const actLocalRoute = (action: "start" | "stop") =>
  createRoute({
    method: "post",
    path: `${LOCAL_CPS_PATH}/{id}/${action}`,
    summary: `${action === "start" ? "Start" : "Stop"} a local simulated CP's process`,
    security: [{ adminToken: [] }],
    request: { params: IdParams, ...adminReasonRequest },
    responses: {
      200: json(LocalCpBody, "the CP"),
      400: err("bad id, or a bad reason"),
      409: err(action === "start" ? "running already, or busy" : "not running, or busy"),
      ...localErrors,
    },
  });

/** What each demo action does, for the API docs. */
const DEMO_ACTION_SUMMARY: Readonly<Record<LocalCpAction, string>> = {
  "fault": "Simulate a fault on a local CP's engine (it reports KO: BROKEN)",
  "repair": "Clear the simulated fault of a local CP's engine",
  "kill-engine": "Kill a local CP's engine process (its monitor reports KO: BROKEN)",
  "kill-monitor": "Kill a local CP's monitor process (DISCONNECTED; the engine goes on)",
  "restart-engine": "Start a local CP's dead engine again (it gets the monitor's key)",
  "restart-monitor": "Start a local CP's dead monitor again (it logs in again)",
};
const demoLocalRoute = (action: LocalCpAction) =>
  createRoute({
    method: "post",
    path: `${LOCAL_CPS_PATH}/{id}/${action}`,
    summary: DEMO_ACTION_SUMMARY[action],
    security: [{ adminToken: [] }],
    request: { params: IdParams },
    responses: {
      200: json(LocalCpBody, "the CP, once the action shows done"),
      400: err("bad id"),
      409: err("not running, busy, or its engine/monitor is not in a state for it"),
      504: err("the CP did not show the action done in time"),
      ...localErrors,
    },
  });

// ------------------------------------------------------------------------------- routes

/** What every group of dashboard routes shares. */
interface DashboardKit {
  readonly runtime: CentralRuntime;
  readonly now: () => Date;
  readonly dashboard: DashboardDeps;
  readonly problem: Problem;
  /** Audits one CP manager action of the admin, from the caller's address. */
  readonly auditManager: (
    c: Context,
    action: string,
    cpId: string,
    outcome: "ok" | "failed",
    reason?: { reason?: string },
  ) => void;
}

/** Adds the dashboard routes to `app`: the feed, the CP manager (Registry, local CPs), the page. */
export function addDashboardRoutes(
  app: OpenAPIHono,
  deps: { runtime: CentralRuntime; now: () => Date; dashboard: DashboardDeps },
): void {
  const { runtime, now, dashboard } = deps;
  const auditManager: DashboardKit["auditManager"] = (c, action, cpId, outcome, reason = {}) => {
    runtime.audit({ actor: "admin", action, outcome, params: { cpId, ...reason }, ...originOf(c) });
  };
  const kit: DashboardKit = {
    runtime,
    now,
    dashboard,
    problem: problemResponder(now),
    auditManager,
  };
  addFeedRoutes(app, kit);
  addRegistryRoutes(app, kit);
  addLocalCpRoutes(app, kit);
  addPageRoutes(app, kit);
}

/** `GET /snapshot` and the live feed `GET /events`. */
function addFeedRoutes(app: OpenAPIHono, { runtime, now, dashboard }: DashboardKit): void {
  app.openapi(snapshotRoute, (c) => {
    const snapshot = buildSnapshot({
      model: runtime.model,
      recent: runtime.store.sessions("completed", SNAPSHOT_RECENT_SESSIONS),
      drivers: runtime.store.drivers(),
      audit: runtime.auditPage({ limit: SNAPSHOT_AUDIT_RECORDS }).items,
      status: dashboard.status(),
      feed: dashboard.feed,
      registryAdmin: dashboard.registryAdmin,
      localCps: dashboard.supervisor !== undefined,
      now: now(),
    });
    return c.json(snapshot, 200);
  });

  app.openapi(eventsRoute, (c) => {
    const query = c.req.valid("query");
    const lastEventId = c.req.header("last-event-id") ?? query.last_event_id;
    return dashboard.streams.open(
      dashboard.feed,
      lastEventId,
      SSE_HEARTBEAT_MS,
      query.batch === "1",
    ) as never;
  });
}

/** The CP manager's Registry calls, with Central's Registry admin key. */
function addRegistryRoutes(app: OpenAPIHono, kit: DashboardKit): void {
  const { dashboard, problem, auditManager } = kit;
  const registryFailure = (c: Context, error: unknown) => registryProblem(problem, c, error);
  const admin = (c: Context) => {
    if (dashboard.registry === undefined || !dashboard.registryAdmin) {
      return problem(
        c,
        503,
        "no_registry_admin_key",
        notice("no_registry_admin_key"),
      );
    }
    return dashboard.registry;
  };
  app.openapi(listRegistryRoute, async (c) => {
    if (dashboard.registry === undefined) {
      return problem(c, 503, "registry_unavailable", notice("no_registry_client"));
    }
    try {
      const page = await dashboard.registry.listCps({ limit: 100 });
      return c.json(page.items as z.infer<typeof Item>[], 200);
    } catch (error) {
      return registryFailure(c, error) as never;
    }
  });

  app.openapi(registerRoute, async (c) => {
    const client = admin(c);
    if (client instanceof Response) return client as never;
    const body = c.req.valid("json");
    try {
      const registered = await client.register(body);
      auditManager(c, "registry.register", body.cp_id, "ok");
      log.info("Admin registered CP {cpId} in the Registry", { cpId: body.cp_id });
      // The answer carries the CP's credentials: no cache may keep it.
      return c.json(registered as z.infer<typeof Item>, 201, { "Cache-Control": "no-store" });
    } catch (error) {
      auditManager(c, "registry.register", body.cp_id, "failed");
      return registryFailure(c, error) as never;
    }
  });

  app.openapi(deregisterRoute, async (c) => {
    const client = admin(c);
    if (client instanceof Response) return client as never;
    const { id } = c.req.valid("param");
    const reason = reasonParams(c.req.valid("json"));
    try {
      const cp = await client.deregister(id);
      auditManager(c, "registry.deregister", id, "ok", reason);
      log.info("Admin deregistered CP {cpId} in the Registry", { cpId: id });
      return c.json(cp as z.infer<typeof Item>, 200);
    } catch (error) {
      auditManager(c, "registry.deregister", id, "failed", reason);
      return registryFailure(c, error) as never;
    }
  });
}

/** The CP manager's control of the local supervisor's CPs, forwarded with the admin token. */
function addLocalCpRoutes(app: OpenAPIHono, kit: DashboardKit): void {
  const { dashboard, problem, auditManager } = kit;
  /** The supervisor's answer to `method path`, passed through (its 401 is Central's fault). */
  const forward = async (c: Context, method: "GET" | "POST", path: string, body?: unknown) => {
    if (dashboard.supervisor === undefined) {
      return problem(
        c,
        404,
        "no_supervisor",
        notice("no_supervisor"),
      );
    }
    let res: Response;
    let answer: unknown;
    try {
      res = await dashboard.supervisor(method, path, body);
      const text = await res.text();
      answer = JSON.parse(text);
    } catch (error) {
      if (error instanceof SyntaxError) {
        return problem(c, 502, "supervisor_bad_answer", notice("supervisor_bad_answer"));
      }
      const why = error instanceof Error ? error.message : String(error);
      return problem(
        c,
        503,
        "supervisor_unavailable",
        notice("supervisor_unavailable", { error: why }),
      );
    }
    if (res.status === 401) {
      return problem(
        c,
        502,
        "supervisor_refused",
        notice("supervisor_refused"),
      );
    }
    return c.json(answer as z.infer<typeof Item>, res.status as ContentfulStatusCode);
  };

  app.openapi(listLocalRoute, (c) => forward(c, "GET", "/cps") as never);

  app.openapi(addLocalRoute, async (c) => {
    const body = c.req.valid("json");
    const res = await forward(c, "POST", "/cps", body);
    auditManager(c, "local_cp.add", body.id, res.ok ? "ok" : "failed");
    if (res.ok) log.info("Admin started a new local CP {cpId}", { cpId: body.id });
    return res as never;
  });

  for (const action of LOCAL_CP_ACTIONS) {
    app.openapi(demoLocalRoute(action), async (c) => {
      const { id } = c.req.valid("param");
      const res = await forward(c, "POST", `/cps/${encodeURIComponent(id)}/${action}`);
      // Audit actions are dotted lower-case words: local_cp.kill_engine.
      auditManager(c, `local_cp.${action.replaceAll("-", "_")}`, id, res.ok ? "ok" : "failed");
      if (res.ok) log.info("Admin {action} on local CP {cpId}", { action, cpId: id });
      return res as never;
    });
  }

  for (const action of ["start", "stop"] as const) {
    app.openapi(actLocalRoute(action), async (c) => {
      const { id } = c.req.valid("param");
      const res = await forward(c, "POST", `/cps/${encodeURIComponent(id)}/${action}`);
      const reason = reasonParams(c.req.valid("json"));
      auditManager(c, `local_cp.${action}`, id, res.ok ? "ok" : "failed", reason);
      if (res.ok) log.info("Admin {action} of local CP {cpId}", { action, cpId: id });
      return res as never;
    });
  }
}

/** The dashboard itself: its page, script and stylesheet. */
function addPageRoutes(app: OpenAPIHono, { dashboard, problem }: DashboardKit): void {
  const asset = (type: string, pick: (w: WebAssets) => string) => async (c: Context) => {
    try {
      const body = pick(await dashboard.web());
      return c.body(body, 200, { "content-type": type, "cache-control": "no-cache" });
    } catch (error) {
      return problem(c, 503, "no_dashboard", error instanceof Error ? error.message : "unknown");
    }
  };
  app.get("/", asset("text/html; charset=utf-8", (w) => w.html));
  app.get("/app.js", asset("text/javascript; charset=utf-8", (w) => w.js));
  app.get("/app.css", asset("text/css; charset=utf-8", (w) => w.css));
}
