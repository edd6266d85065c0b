/**
 * The local supervisor's control API: `deno task start` runs the simulated CPs as child
 * processes (infra/network.ts), and this small Hono app lets Central's dashboard start and stop
 * them, and start new ones. Central forwards the dashboard's admin calls here
 * (central/api_dashboard.ts, `--supervisor-url`); Central itself never spawns a process.
 *
 * - `GET /cps`: the locally run CPs `{id, location, price_eur_kwh, power_kw, running, pid}`;
 * - `POST /cps {id, location, price_eur_kwh, power_kw}`: start a new headless CP (it registers
 *   itself in the Registry on its first start);
 * - `POST /cps/{id}/start`, `POST /cps/{id}/stop`: start or stop one of them;
 * - `POST /cps/{id}/fault|repair|kill-engine|kill-monitor|restart-engine|restart-monitor`: the
 *   demo actions on a running CP's engine and monitor (infra/local_cp_control.ts), answered once
 *   the CP's output shows them done.
 * - `POST /cps/{id}/credentials {credentials, registered_at}`: Central's restore of a REVOKED CP
 *   hands over the new credentials the Registry issued; they replace the CP's 0600 credentials
 *   file, and a monitor that gave up (revoked) is started again to log in with them. Never
 *   logged, never answered back.
 *
 * Every call needs `Authorization: Bearer <Central's admin token>` (compared in constant time);
 * it listens on 127.0.0.1 only ({@link serveSupervisor}). Errors are `{error, detail,
 * timestamp}`. Tests drive {@link createSupervisorApp} with `app.request()` and no socket.
 *
 * @module
 */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import {
  errorContent as err,
  jsonBody,
  jsonContent as json,
  MAX_BODY_BYTES,
  problemResponder,
  requireBearer,
  validationHook,
} from "../shared/http_api.ts";
import { bufferBody } from "../shared/http_body.ts";
import {
  LOCAL_CP_ACTIONS,
  type LocalCpAction,
  localCpSchema as LocalCpBody,
  type LocalCpView,
  newLocalCpSchema,
} from "../shared/local_cps.ts";
import { cpIdSchema } from "../shared/messages.ts";
import { bearerThrottle, type WrongSecretThrottle } from "../shared/rate_limit.ts";
import { replaceCredentials } from "../shared/cp_credentials.ts";
import { type CpPlan, waitUntil } from "./network.ts";
import { ActionRefused, type CpChildren, planAction } from "./local_cp_control.ts";

/** How long a demo action may take to show in the CP's output (a restart loads Deno). */
const ACTION_TIMEOUT_MS = 20_000;

/** The port `deno task start` serves the API on. */
export const SUPERVISOR_PORT = 8099;

/** One CP process as the API drives it (an infra/network.ts `Service`). */
export interface LocalCpProcess {
  /** Whether its child runs. */
  readonly running: boolean;
  /** The child's pid (only while it runs). */
  readonly pid: number;
  /** Starts the child again. */
  start(): Promise<void>;
  /** Stops the child; resolves once it is gone. */
  stop(): Promise<void>;
  /** Types keys into its input (`deno task cp`'s keys, cp/cp_control.ts). */
  type(keys: string): Promise<void>;
}

/** What the API controls: the CPs of a running local network (infra/network.ts). */
export interface LocalCpHost {
  /** CP processes by id. */
  readonly cps: ReadonlyMap<string, LocalCpProcess>;
  /** How each was started, by id. */
  readonly cpPlans: ReadonlyMap<string, CpPlan>;
  /** Starts one more CP. */
  startCp(plan: CpPlan): Promise<LocalCpProcess>;
  /** What a CP's engine and monitor are doing, as its output shows. */
  cpChildren(id: string): CpChildren | undefined;
  /** Where CP `id`'s monitor keeps its Registry credentials (shared/cp_credentials.ts). */
  credentialsFile(id: string): string;
  /** The Registry the CPs authenticate at (recorded in a credentials file). */
  readonly registryUrl: string;
}

/** What the app is built from. */
export interface SupervisorDeps {
  /** The CPs. */
  readonly host: LocalCpHost;
  /** Central's admin token, the one bearer accepted. */
  readonly adminToken: string;
  /** Further `cp/main.ts` flags for a CP started by `POST /cps` (e.g. `--speed 60`). */
  readonly newCpArgs?: readonly string[];
  /** Clock (tests). Default `new Date()`. */
  readonly now?: () => Date;
  /**
   * Counts missing and wrong bearers per address, as Central's admin API does (default
   * {@link bearerThrottle}: 10 a minute, then 429 with `Retry-After`); the right token always
   * goes through, so a local stranger guessing cannot lock Central's dashboard out.
   */
  readonly bearerThrottle?: WrongSecretThrottle;
}

const IdParams = z.object({ id: cpIdSchema });

/** The children's fields of a CP's view (all false while its process is not running). */
function childrenView(children: CpChildren | undefined) {
  return {
    engine_running: children?.engine.running ?? false,
    monitor_running: children?.monitor.running ?? false,
    faulty: children?.faulty ?? false,
  };
}

const common = {
  401: err("missing or wrong admin token"),
  429: err("too many missing or wrong tokens from this address (Retry-After)"),
};

const listRoute = createRoute({
  method: "get",
  path: "/cps",
  responses: { 200: json(z.array(LocalCpBody), "the local CPs by id"), ...common },
});
const addRoute = createRoute({
  method: "post",
  path: "/cps",
  request: { body: jsonBody(newLocalCpSchema) },
  responses: {
    201: json(LocalCpBody, "the CP, started"),
    400: err("bad body"),
    ...common,
    409: err("a CP of that id is run here already"),
    413: err("body over 64 KiB"),
    500: err("the process could not be started"),
  },
});
/** The answers of an action on one local CP: the CP (`answer`), or why not. */
const oneCpAnswers = (answer: string, conflict: string, bad = "bad id") => ({
  200: json(LocalCpBody, answer),
  400: err(bad),
  ...common,
  404: err("no such local CP"),
  409: err(conflict),
});

const actRoute = (action: "start" | "stop") =>
  createRoute({
    method: "post",
    path: `/cps/{id}/${action}`,
    request: { params: IdParams },
    responses: oneCpAnswers(
      "the CP",
      action === "start" ? "running already, or busy" : "not running, or busy",
    ),
  });

const demoRoute = (action: LocalCpAction) =>
  createRoute({
    method: "post",
    path: `/cps/{id}/${action}`,
    request: { params: IdParams },
    responses: {
      ...oneCpAnswers(
        "the CP, once its output shows the action done",
        "the CP is not running, busy, or its engine/monitor is not in a state for it",
      ),
      504: err("the CP did not show the action done in time"),
    },
  });

const NewCredentials = z.object({
  credentials: z.string().min(1).max(256),
  registered_at: z.string().max(64),
});

const credentialsRoute = createRoute({
  method: "post",
  path: "/cps/{id}/credentials",
  request: { params: IdParams, body: jsonBody(NewCredentials) },
  responses: {
    ...oneCpAnswers(
      "written; the monitor started again if it had given up",
      "busy with another action",
      "bad id or body",
    ),
    504: err("the monitor did not show it started in time"),
  },
});

/** Why a demo action was not done: the answer's status, error and detail. */
interface ActionFailure {
  readonly status: 409 | 504;
  readonly error: string;
  readonly detail: string;
}

/**
 * Carries out `action` on the running CP `id`: types its key and waits until the CP's output
 * (`current`) shows it done. Resolves `undefined` when done (or done already), else why not.
 */
async function carryOut(
  action: LocalCpAction,
  id: string,
  cp: LocalCpProcess,
  children: CpChildren,
  current: () => CpChildren | undefined,
): Promise<ActionFailure | undefined> {
  let plan;
  try {
    plan = planAction(action, children);
  } catch (error) {
    if (!(error instanceof ActionRefused)) throw error;
    return { status: 409, error: "refused", detail: `${action} on CP ${id}: ${error.message}` };
  }
  const { key, done } = plan;
  if (key === undefined) return undefined;
  try {
    await cp.type(key);
    await waitUntil(
      `${action} on ${id}`,
      () => done(current() ?? children) || undefined,
      ACTION_TIMEOUT_MS,
    );
    return undefined;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { status: 504, error: "not_done", detail: `${action} on CP ${id} did not show: ${why}` };
  }
}

/** What {@link addDemoRoutes} shares with the rest of the app. */
interface DemoRouteDeps {
  readonly host: LocalCpHost;
  readonly view: (id: string) => LocalCpView | undefined;
  readonly problem: ReturnType<typeof problemResponder>;
  readonly busy: ReadonlySet<string>;
  readonly exclusively: <T>(id: string, work: () => Promise<T>) => Promise<T>;
}

/** `POST /cps/{id}/<action>` for each demo action: 200 with the CP once done, or why not. */
function addDemoRoutes(app: OpenAPIHono, deps: DemoRouteDeps): void {
  const { host, view, problem, busy, exclusively } = deps;
  for (const action of LOCAL_CP_ACTIONS) {
    app.openapi(demoRoute(action), async (c) => {
      const { id } = c.req.valid("param");
      const cp = host.cps.get(id);
      const children = host.cpChildren(id);
      if (cp === undefined || view(id) === undefined || children === undefined) {
        return problem(c, 404, "not_found", `no local CP ${id}`);
      }
      if (busy.has(id)) return problem(c, 409, "busy", `CP ${id} is busy with another action`);
      if (!cp.running) return problem(c, 409, "not_running", `CP ${id} is not running`);
      const failure = await exclusively(
        id,
        () => carryOut(action, id, cp, children, () => host.cpChildren(id)),
      );
      if (failure !== undefined) return problem(c, failure.status, failure.error, failure.detail);
      return c.json(view(id)!, 200);
    });
  }
}

/**
 * `POST /cps/{id}/credentials`: the new credentials replace the CP's file (its monitor reads it
 * at each login); a monitor that gave up, as one refused for REVOKED does, is started again.
 */
function addCredentialsRoute(app: OpenAPIHono, deps: DemoRouteDeps): void {
  const { host, view, problem, busy, exclusively } = deps;
  app.openapi(credentialsRoute, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const cp = host.cps.get(id);
    if (cp === undefined || view(id) === undefined) {
      return problem(c, 404, "not_found", `no local CP ${id}`);
    }
    if (busy.has(id)) return problem(c, 409, "busy", `CP ${id} is busy with another action`);
    await replaceCredentials(host.credentialsFile(id), {
      cp_id: id,
      credentials: body.credentials,
      registry_url: host.registryUrl,
      registered_at: body.registered_at,
    });
    const children = host.cpChildren(id);
    if (cp.running && children !== undefined && !children.monitor.running) {
      const failure = await exclusively(
        id,
        () => carryOut("restart-monitor", id, cp, children, () => host.cpChildren(id)),
      );
      if (failure !== undefined) return problem(c, failure.status, failure.error, failure.detail);
    }
    return c.json(view(id)!, 200);
  });
}

/** Builds the supervisor's control app. */
export function createSupervisorApp(deps: SupervisorDeps): OpenAPIHono {
  const { host } = deps;
  const now = deps.now ?? (() => new Date());
  const problem = problemResponder(now);

  const view = (id: string): LocalCpView | undefined => {
    const plan = host.cpPlans.get(id);
    const cp = host.cps.get(id);
    if (plan === undefined || cp === undefined) return undefined;
    return {
      id,
      location: plan.location,
      price_eur_kwh: plan.priceEurKwh,
      power_kw: plan.powerKw,
      running: cp.running,
      pid: cp.running ? cp.pid : null,
      ...childrenView(cp.running ? host.cpChildren(id) : undefined),
    };
  };
  // Ids being started or stopped: a second call meanwhile would spawn a second child.
  const busy = new Set<string>();
  const exclusively = async <T>(id: string, work: () => Promise<T>): Promise<T> => {
    busy.add(id);
    try {
      return await work();
    } finally {
      busy.delete(id);
    }
  };

  const app = new OpenAPIHono({ defaultHook: validationHook(problem) });

  const requireAdmin = requireBearer({
    secret: deps.adminToken,
    realm: "supervisor",
    problem,
    missing: {
      error: "unauthorized",
      detail: "this call needs Authorization: Bearer <Central's admin token>",
    },
    wrong: { error: "unauthorized", detail: "the admin token is wrong" },
    throttle: deps.bearerThrottle ?? bearerThrottle(() => now().getTime()),
  });
  app.use("*", secureHeaders());
  app.use("*", requireAdmin);
  const readBody = bufferBody(
    MAX_BODY_BYTES,
    (c) => problem(c, 413, "payload_too_large", `request body over ${MAX_BODY_BYTES} bytes`),
  );
  app.on("POST", "/cps", readBody);
  app.on("POST", "/cps/:id/credentials", readBody);

  app.openapi(listRoute, (c) => {
    const ids = [...host.cps.keys()].sort();
    return c.json(ids.map(view).filter((cp) => cp !== undefined), 200);
  });

  app.openapi(addRoute, async (c) => {
    const body = c.req.valid("json");
    if (host.cps.has(body.id) || busy.has(body.id)) {
      return problem(
        c,
        409,
        "already_exists",
        `CP ${body.id} is run here already: start it with POST /cps/${body.id}/start`,
      );
    }
    try {
      await exclusively(body.id, () =>
        host.startCp({
          id: body.id,
          location: body.location,
          priceEurKwh: body.price_eur_kwh,
          powerKw: body.power_kw,
          args: deps.newCpArgs,
        }));
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      return problem(c, 500, "start_failed", `CP ${body.id} did not start: ${why}`);
    }
    return c.json(view(body.id)!, 201);
  });

  for (const action of ["start", "stop"] as const) {
    app.openapi(actRoute(action), async (c) => {
      const { id } = c.req.valid("param");
      const cp = host.cps.get(id);
      if (cp === undefined || view(id) === undefined) {
        return problem(c, 404, "not_found", `no local CP ${id}`);
      }
      if (busy.has(id)) return problem(c, 409, "busy", `CP ${id} is being started or stopped`);
      if (action === "start" && cp.running) {
        return problem(c, 409, "already_running", `CP ${id} runs already`);
      }
      if (action === "stop" && !cp.running) {
        return problem(c, 409, "not_running", `CP ${id} is not running`);
      }
      await exclusively(id, () => action === "start" ? cp.start() : cp.stop());
      return c.json(view(id)!, 200);
    });
  }

  addDemoRoutes(app, { host, view, problem, busy, exclusively });
  addCredentialsRoute(app, { host, view, problem, busy, exclusively });

  app.notFound((c) => problem(c, 404, "not_found", `no route ${c.req.method} ${c.req.path}`));
  app.onError((error, c) => {
    if (error instanceof HTTPException) {
      return problem(c, error.status as ContentfulStatusCode, "http_error", error.message);
    }
    return problem(c, 500, "internal_error", error.message);
  });
  return app;
}

/** A served supervisor API. */
export interface RunningSupervisor {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Stops serving. */
  shutdown(): Promise<void>;
}

/** Serves {@link createSupervisorApp} on 127.0.0.1 only: it starts processes on this machine. */
export function serveSupervisor(port: number, deps: SupervisorDeps): RunningSupervisor {
  const app = createSupervisorApp(deps);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, onListen: () => {} },
    (request, info) => app.fetch(request, info),
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    shutdown: () => server.shutdown(),
  };
}
