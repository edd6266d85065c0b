/**
 * `POST /cps/{id}/restore` (admin token; ARCHITECTURE §Revocation and status): brings a CP that
 * was revoked for good (`REVOKED`) back, in one action (central/cp_restore.ts: new credentials
 * from the Registry, security ACTIVE, the credentials handed to a local CP), one at a time per
 * CP (409 `busy` meanwhile).
 *
 * The answer holds the new credentials this once (`Cache-Control: no-store`): for a CP run
 * elsewhere, the operator copies them into its credentials file. 409 for a CP that is not
 * REVOKED; the Registry busy, throttling or unreachable comes back as 503 / 429 with its
 * `Retry-After`, with nothing changed at Central.
 *
 * @module
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { errorContent as err, jsonContent as json, problemResponder } from "../shared/http_api.ts";
import { registryProblem } from "./api_dashboard.ts";
import { IdParams, SecurityBody, securityJson } from "./api_security.ts";
import type { CpRestorer } from "./cp_restore.ts";
import { adminReasonRequest, originOf, reasonParams } from "./wire.ts";

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
  delivery: z.string().openapi({ description: "what happened to them, in English words" }),
  delivery_code: z.string().openapi({
    description: "the same as a stable code (shared/notices.ts) for screens to translate",
  }),
  delivery_params: z.record(z.string(), z.union([z.string(), z.number()])),
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

/** Adds `POST /cps/{id}/restore` to `app`, restoring through `restorer`. */
export function addRestoreRoute(
  app: OpenAPIHono,
  deps: { readonly restorer: CpRestorer; readonly now: () => Date },
): void {
  const problem = problemResponder(deps.now);
  app.openapi(restoreRoute, async (c) => {
    const { id } = c.req.valid("param");
    const done = await deps.restorer.restore(id, {
      ...reasonParams(c.req.valid("json")),
      ...originOf(c),
    });
    if (!done.ok) {
      return ("registryError" in done
        ? registryProblem(problem, c, done.registryError)
        : problem(c, done.status, done.error, done.detail)) as never;
    }
    return c.json(
      {
        ...securityJson(done.cp),
        credentials: done.credentials,
        registered_at: done.registeredAt,
        delivered: done.delivered,
        delivery: done.delivery.detail,
        delivery_code: done.delivery.detail_code,
        delivery_params: done.delivery.detail_params,
      },
      200,
      { "Cache-Control": "no-store" },
    );
  });
}
