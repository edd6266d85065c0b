/**
 * `POST /cps/{id}/restore` (admin token; ARCHITECTURE §Revocation and status): brings a CP that
 * was revoked for good (`REVOKED`) back, in one action:
 *
 * 1. the Registry issues the CP new credentials (through Central's Registry client, with its
 *    admin key): whatever the old ones were, they stop working;
 * 2. the core's `restore` sets its security to ACTIVE and lifts the `revoked` hold (audited as
 *    `security.restore`, with the reason and never the credentials);
 * 3. for a CP the local supervisor runs (`deno task start`), the supervisor writes them to the
 *    CP's 0600 credentials file and starts its monitor again, which logs in with them.
 *
 * The answer holds the new credentials this once (`Cache-Control: no-store`): for a CP run
 * elsewhere, the operator copies them into its credentials file. 409 for a CP that is not
 * REVOKED; the Registry busy, throttling or unreachable comes back as 503 / 429 with its
 * `Retry-After`, with nothing changed at Central.
 *
 * @module
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { RegistryClient } from "../registry/client.ts";
import { errorContent as err, jsonContent as json, problemResponder } from "../shared/http_api.ts";
import { getLogger } from "../shared/log.ts";
import { registryProblem, type SupervisorCall } from "./api_dashboard.ts";
import { IdParams, originIp, SecurityBody, securityJson } from "./api_security.ts";
import { securityRefusal } from "./core.ts";
import type { CentralRuntime } from "./runtime.ts";
import { adminReasonRequest, reasonParams } from "./wire.ts";

const log = getLogger(["evcharging", "central", "api"]);

/** Where the route is (api.ts reads its optional reason body). */
export const RESTORE_PATH = "/cps/:id/restore";

const RestoredBody = SecurityBody.extend({
  credentials: z.string().openapi({
    description: "the CP's new Registry credentials, shown in this answer only",
  }),
  registered_at: z.string().openapi({ description: "the registration they belong to" }),
  delivered: z.boolean().openapi({
    description: "true: a local CP (deno task start) got them in its credentials file and its " +
      "monitor logs in with them; false: copy them into the CP's <credentials-dir>/<id>" +
      ".credentials (field credentials) and restart its monitor",
  }),
  delivery: z.string().openapi({ description: "what happened to them, in words" }),
}).openapi("Restored");

const restoreRoute = createRoute({
  method: "post",
  path: "/cps/{id}/restore",
  summary: "Restore a REVOKED CP: new credentials from the Registry, security ACTIVE again",
  description: "The answer carries the new credentials once (no-store). A CP run by the local " +
    "supervisor gets them in its credentials file and its monitor logs in with them. 409 for a " +
    "CP that is not REVOKED.",
  security: [{ adminToken: [] }],
  request: { params: IdParams, ...adminReasonRequest },
  responses: {
    200: json(RestoredBody, "restored; the credentials are in this answer only"),
    400: err("bad id or body"),
    401: err("missing or wrong admin token"),
    404: err("no such CP (at Central or in the Registry)"),
    409: err("the CP is not REVOKED, is deregistered in the Registry, or a restore of it runs"),
    429: err("the Registry throttles (Retry-After passed on)"),
    502: err("the Registry refused Central's admin key"),
    503: err("no Registry admin key, or the Registry is busy or unreachable (Retry-After)"),
  },
});

/** What the route needs from api.ts. */
export interface RestoreRouteDeps {
  /** The running model, its dispatcher and its audit log. */
  readonly runtime: CentralRuntime;
  /** The clock. */
  readonly now: () => Date;
  /** The Registry client holding Central's Registry admin key, if Central has one. */
  readonly registry?: RegistryClient;
  /** The local supervisor, when Central was started by `deno task start`. */
  readonly supervisor?: SupervisorCall;
}

/** Hands the new credentials to the local supervisor; whether the CP got them, and how. */
async function deliver(
  supervisor: SupervisorCall | undefined,
  id: string,
  issued: { readonly credentials: string; readonly registered_at: string },
): Promise<{ delivered: boolean; delivery: string }> {
  const copy = `copy them into ${id}.credentials in the CP's --credentials-dir and restart ` +
    "its monitor";
  if (supervisor === undefined) return { delivered: false, delivery: `not a local CP: ${copy}` };
  try {
    const res = await supervisor("POST", `/cps/${encodeURIComponent(id)}/credentials`, {
      credentials: issued.credentials,
      registered_at: issued.registered_at,
    });
    await res.body?.cancel();
    if (res.ok) {
      return {
        delivered: true,
        delivery: "written to the local CP's credentials file; its monitor logs in with them",
      };
    }
    if (res.status === 404) return { delivered: false, delivery: `not a local CP: ${copy}` };
    return { delivered: false, delivery: `the local supervisor answered ${res.status}: ${copy}` };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { delivered: false, delivery: `the local supervisor did not answer (${why}): ${copy}` };
  }
}

/** Adds `POST /cps/{id}/restore` to `app`. */
export function addRestoreRoute(app: OpenAPIHono, deps: RestoreRouteDeps): void {
  const { runtime, now, registry } = deps;
  const problem = problemResponder(now);
  // CPs whose restore is under way: a second one meanwhile would issue other credentials and
  // find the CP ACTIVE, leaving the live ones with nobody.
  const underWay = new Set<string>();
  /** One restore, once no other of the same CP is under way. */
  const restoreOne = async (
    c: Context,
    id: string,
    reason: { reason?: string },
  ): Promise<Response> => {
    const ip = originIp(c);
    const origin = ip === undefined ? {} : { originIp: ip };
    const cp = runtime.model.cps.get(id);
    if (cp === undefined) return problem(c, 404, "not_found", `no CP ${id}`);
    const refused = securityRefusal(cp, { type: "restore" });
    if (refused !== null) {
      runtime.dispatch({ type: "restore", cpId: id, ...reason, ...origin, at: now().getTime() });
      return problem(c, 409, "conflict", refused);
    }
    const failed = (detail: string) =>
      runtime.audit({
        actor: "admin",
        action: "security.restore",
        outcome: "failed",
        params: { cpId: id, ...reason, detail },
        ...origin,
      });
    if (registry === undefined) {
      failed("no Registry admin key");
      return problem(
        c,
        503,
        "no_registry_admin_key",
        "Central has no Registry admin key: start it with REGISTRY_ADMIN_KEY set",
      );
    }
    let issued;
    try {
      issued = await registry.resetCredentials(id);
    } catch (error) {
      failed(error instanceof Error ? error.name : "error");
      return registryProblem(problem, c, error);
    }
    // ACTIVE before the monitor gets them, so its first login with them is accepted.
    runtime.dispatch({ type: "restore", cpId: id, ...reason, ...origin, at: now().getTime() });
    const { delivered, delivery } = await deliver(deps.supervisor, id, issued);
    log.info("Admin restored CP {cpId}: new credentials issued ({delivery})", {
      cpId: id,
      delivery,
    });
    const after = runtime.model.cps.get(id) ?? cp;
    return c.json(
      {
        ...securityJson(after),
        credentials: issued.credentials,
        registered_at: issued.registered_at,
        delivered,
        delivery,
      },
      200,
      { "Cache-Control": "no-store" },
    );
  };

  app.openapi(restoreRoute, async (c) => {
    const { id } = c.req.valid("param");
    if (underWay.has(id)) {
      return problem(c, 409, "busy", `a restore of ${id} is under way`) as never;
    }
    underWay.add(id);
    try {
      return await restoreOne(c, id, reasonParams(c.req.valid("json"))) as never;
    } finally {
      underWay.delete(id);
    }
  });
}
