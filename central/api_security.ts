/**
 * Central's security and audit REST routes (ARCHITECTURE §Revocation and status, §Audit), added to the app of
 * central/api.ts: key rotation and revocation, the CP security status, and the audit log.
 *
 * - `POST /cps/{id}/keys/rotate`, `POST /cps/{id}/keys/revoke`, `POST /cps/{id}/security`
 *   change things, so they need the admin token (checked by api.ts for every POST). They answer
 *   with the CP's security view, 404 for an unknown CP, 409 when REVOKED forbids the action
 *   (only `POST /cps/{id}/restore`, central/api_restore.ts, leaves REVOKED).
 * - `GET /security`, `GET /security/{id}` and `GET /audit` are open reads, like every status
 *   read of the public dashboard (§5.7): the audit log is public by design (it is also the
 *   `audit.events` topic) and neither ever holds a credential, token or key.
 *
 * The rules live in the core (central/core/security.ts `securityRefusalNotice`, `revoke_keys`,
 * `set_security`); this module only maps HTTP to inputs and answers.
 *
 * @module
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import {
  errorContent as err,
  getJsonRoute,
  jsonBody,
  jsonContent as json,
  problemResponder,
} from "../shared/http_api.ts";
import { ENTITY_ID_PATTERN } from "../shared/encoding.ts";
import { notice } from "../shared/notices.ts";
import {
  cpStateSchema,
  MAX_DETAIL_CHARS,
  stopReasonSchema,
  textSchema,
} from "../shared/messages.ts";
import { AUDIT_PAGE_MAX } from "./audit.ts";
import { type Cp, securityRefusalNotice, type SecurityStatus } from "./core.ts";
import type { CentralRuntime } from "./runtime.ts";
import { adminReasonRequest, originOf, reasonParams } from "./wire.ts";

/** What the routes need from api.ts. */
export interface SecurityRoutesDeps {
  /** The running model, its dispatcher and its audit log. */
  readonly runtime: CentralRuntime;
  /** The clock. */
  readonly now: () => Date;
}

/** Where `POST /cps/{id}/security` is routed, in hono's syntax (api.ts reads its body). */
export const SECURITY_BODY_PATH = "/cps/:id/security";

const SECURITY_STATUSES = [
  "ACTIVE",
  "OUT_OF_SERVICE",
  "REVOKED",
] as const satisfies readonly SecurityStatus[];

/** A CP's security view: status, key version, logins and revocation, never a key. */
export const SecurityBody = z.object({
  cp_id: z.string(),
  status: z.enum(SECURITY_STATUSES),
  reason: z.string().nullable().openapi({ description: "why an admin last set the status" }),
  changed_at: z.string().nullable().openapi({ description: "when the status was last set" }),
  key_version: z.number().int().nullable().openapi({ description: "live key version, if any" }),
  last_login: z.string().nullable(),
  failed_logins: z.number().int(),
  revoked_at: z.string().nullable().openapi({ description: "when its keys were last revoked" }),
  deregistered_at: z.string().nullable().openapi({
    description: "when the Registry deregistered it (logged out, keys revoked), or null",
  }),
  state: cpStateSchema,
  stop_reason: stopReasonSchema.nullable(),
}).openapi("Security");

const SecurityChange = z.object({
  status: z.enum(SECURITY_STATUSES).openapi({
    description: "OUT_OF_SERVICE: may log in, may not charge; REVOKED: refused at every " +
      "login until POST /cps/{id}/restore",
  }),
  reason: textSchema(MAX_DETAIL_CHARS).openapi({ example: "meter seal broken" }),
}).openapi("SecurityChange");

const AuditRecordBody = z.object({
  seq: z.number().int(),
  ts: z.string(),
  origin_ip: z.string().optional(),
  actor: z.string(),
  action: z.string(),
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
  outcome: z.enum(["ok", "denied", "failed", "rejected"]),
  prev_hash: z.string(),
  hash: z.string(),
}).openapi("AuditRecord");

const AuditPageBody = z.object({
  items: z.array(AuditRecordBody).openapi({ description: "newest first" }),
  total: z.number().int().openapi({ description: "records matching the filters" }),
  limit: z.number().int(),
  offset: z.number().int(),
}).openapi("AuditPage");

/** The `{id}` path parameter of a CP route. */
export const IdParams = z.object({
  id: z.string().regex(ENTITY_ID_PATTERN, "must be 3–64 characters of A–Z, a–z, 0–9, _ or -")
    .openapi({ param: { name: "id", in: "path" }, example: "CP-001" }),
});

const AuditQuery = z.object({
  since: z.iso.datetime({ offset: true }).optional().openapi({
    description: "only records at or after this ISO 8601 time",
  }),
  actor: z.string().max(128).optional().openapi({ example: "admin" }),
  action: z.string().max(64).optional().openapi({ example: "key.rotate" }),
  limit: z.coerce.number().int().min(1).max(AUDIT_PAGE_MAX).default(100),
  offset: z.coerce.number().int().min(0).default(0),
});

const admin = [{ adminToken: [] }];
const adminAnswers = {
  200: json(SecurityBody, "the CP's security view"),
  400: err("bad id or body"),
  401: err("missing or wrong admin token"),
  404: err("no such CP"),
  409: err("the CP is REVOKED (only POST /cps/{id}/restore changes that)"),
  413: err("body over 64 KiB"),
};

/** A POST on a CP's keys: an optional reason in, the CP's security view out. */
const keysRoute = <P extends string>(path: P, summary: string, description: string) =>
  createRoute({
    method: "post",
    path,
    summary,
    description,
    security: admin,
    request: { params: IdParams, ...adminReasonRequest },
    responses: adminAnswers,
  });
const rotateRoute = keysRoute(
  "/cps/{id}/keys/rotate",
  "Rotate a CP's key: its keys are revoked and the monitor logs in again at once",
  "An open session ends with a ticket (key_lost). 409 for a REVOKED CP.",
);
const revokeRoute = keysRoute(
  "/cps/{id}/keys/revoke",
  "Revoke a CP's keys: the monitor is logged out, DISCONNECTED until it re-authenticates",
  "Messages under any of its key versions are rejected from now on; an open " +
    "session ends with a ticket (key_lost).",
);
const setSecurityRoute = createRoute({
  method: "post",
  path: "/cps/{id}/security",
  summary: "Set a CP's security status",
  description: "OUT_OF_SERVICE stops the CP (reason out_of_service); ACTIVE lifts that; " +
    "REVOKED logs it out, revokes its keys and refuses every later login. An open session ends " +
    "with a ticket (status_lost). 409 for a change away from REVOKED: only a restore does it.",
  security: admin,
  request: {
    params: IdParams,
    body: jsonBody(SecurityChange),
  },
  responses: adminAnswers,
});
const listSecurityRoute = getJsonRoute(
  "/security",
  "Every CP's security status, key version, logins and revocation",
  z.array(SecurityBody),
  "by CP id",
);
const getSecurityRoute = createRoute({
  method: "get",
  path: "/security/{id}",
  summary: "One CP's security view",
  request: { params: IdParams },
  responses: { 200: json(SecurityBody, "the CP"), 400: err("bad id"), 404: err("no such CP") },
});
const auditRoute = createRoute({
  method: "get",
  path: "/audit",
  summary: "The audit log, newest first, filtered and paged",
  request: { query: AuditQuery },
  responses: { 200: json(AuditPageBody, "a page of records"), 400: err("bad query") },
});

/** A CP's security view (never a key). */
export function securityJson(cp: Cp): z.infer<typeof SecurityBody> {
  const info = cp.securityInfo;
  return {
    cp_id: cp.id,
    status: cp.security,
    reason: info.reason,
    changed_at: info.changedAt,
    key_version: cp.keyVersion,
    last_login: info.lastLoginAt,
    failed_logins: info.failedLogins,
    revoked_at: info.revokedAt,
    deregistered_at: info.deregisteredAt,
    state: cp.status.state,
    stop_reason: cp.status.stopReason,
  };
}

/** Adds the security and audit routes to `app`. */
export function addSecurityRoutes(app: OpenAPIHono, deps: SecurityRoutesDeps): void {
  const { runtime, now } = deps;
  const problem = problemResponder(now);
  const view = (id: string) => {
    const cp = runtime.model.cps.get(id);
    return cp === undefined ? undefined : securityJson(cp);
  };
  const notFound = (c: Context, id: string) =>
    problem(c, 404, "not_found", notice("no_cp", { id }));

  /** Dispatches an admin action the core audits itself (ok, or denied with 409 here). */
  const act = (
    c: Context,
    id: string,
    action:
      | { readonly type: "revoke_keys"; readonly rotate: boolean; readonly reason?: string }
      | { readonly type: "set_security"; readonly status: SecurityStatus; readonly reason: string },
  ) => {
    const cp = runtime.model.cps.get(id);
    if (cp === undefined) return notFound(c, id);
    const refused = securityRefusalNotice(cp, action);
    runtime.dispatch({ ...action, cpId: id, ...originOf(c) }, now().getTime());
    if (refused !== null) return problem(c, 409, "conflict", refused);
    const after = view(id);
    return after ? c.json(after, 200) : notFound(c, id);
  };

  // Both end in revoke_keys; a rotation also lets the monitor log in again at once.
  for (const [route, rotate] of [[rotateRoute, true], [revokeRoute, false]] as const) {
    app.openapi(route, (c) =>
      act(c, c.req.valid("param").id, {
        type: "revoke_keys",
        rotate,
        ...reasonParams(c.req.valid("json")),
      }));
  }
  app.openapi(setSecurityRoute, (c) => {
    const { status, reason } = c.req.valid("json");
    return act(c, c.req.valid("param").id, { type: "set_security", status, reason });
  });

  app.openapi(listSecurityRoute, (c) => {
    const cps = [...runtime.model.cps.values()].sort((a, b) => a.id < b.id ? -1 : 1);
    return c.json(cps.map(securityJson), 200);
  });
  app.openapi(getSecurityRoute, (c) => {
    const { id } = c.req.valid("param");
    const found = view(id);
    return (found ? c.json(found, 200) : notFound(c, id));
  });

  app.openapi(auditRoute, (c) => {
    const { since, actor, action, limit, offset } = c.req.valid("query");
    const page = runtime.auditPage({
      // Stored times are UTC with a Z, compared as text: an offset given is normalized first.
      since: since === undefined ? undefined : new Date(since).toISOString(),
      actor,
      action,
      limit,
      offset,
    });
    return c.json({ ...page, limit, offset }, 200);
  });
}
