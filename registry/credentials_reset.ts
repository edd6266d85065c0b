/**
 * `POST /cp/{id}/credentials` (admin key): new credentials for a registered CP, shown this once;
 * the old ones stop working at once (their hash is replaced and the verified cache forgets the
 * CP). Central's restore of a CP it had revoked for good asks for them (ARCHITECTURE §Revocation
 * and status), so the CP can authenticate again without being deregistered and registered anew.
 *
 * @module
 */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { errorContent as err, jsonContent as json, remoteAddress } from "../shared/http_api.ts";
import type { ConcurrencyLimiter } from "../shared/limiter.ts";
import { getLogger } from "../shared/log.ts";
import { generateCredential } from "../shared/secret_file.ts";
import { hashCredential, QueueFullError, type ScryptParams } from "./credentials.ts";
import { CpIdParams, type CpJson, Registered } from "./schemas.ts";
import type { CpRecord, RegistryStore } from "./store.ts";
import type { VerifiedCredentials } from "./verified_cache.ts";

const log = getLogger(["evcharging", "registry"]);

/** Where the route is: the app's admin gate must cover it. */
export const CREDENTIALS_RESET_PATH = /^\/cp\/[^/]+\/credentials$/;

const resetRoute = createRoute({
  method: "post",
  path: "/cp/{id}/credentials",
  summary: "Issue new credentials for a registered CP (the old ones stop working)",
  description: "Returns the new credentials once; only their scrypt hash is stored.",
  security: [{ adminKey: [] }],
  request: { params: CpIdParams },
  responses: {
    200: json(Registered, "new credentials, shown this once"),
    400: err("bad id"),
    401: err("missing or wrong admin key"),
    404: err("no such CP"),
    409: err("the CP is deregistered: register it again instead"),
    429: err("too many wrong admin keys from this address"),
    503: err("too many credentials being hashed; retry after Retry-After"),
  },
});

/** What the route needs from the app. */
export interface CredentialsResetDeps {
  readonly store: RegistryStore;
  readonly verified: VerifiedCredentials;
  readonly scryptParams: ScryptParams;
  readonly hashQueue: ConcurrencyLimiter;
  readonly now: () => Date;
  readonly problem: (
    c: Context<Env>,
    status: 404 | 409,
    error: string,
    detail: string,
  ) => Response;
  /** 503 with `Retry-After`: the hashing queue is full. */
  readonly busy: (c: Context<Env>) => Response;
  /** The CP as every read shows it. */
  readonly toJson: (cp: CpRecord) => CpJson;
}

/** The Registry app's environment (app.ts `RegistryEnv`). */
type Env = { Bindings: { remoteAddr?: Deno.Addr } | undefined };

/** Adds `POST /cp/{id}/credentials` to `app` (the admin gate is the app's). */
export function addCredentialsResetRoute(app: OpenAPIHono<Env>, deps: CredentialsResetDeps): void {
  app.openapi(resetRoute, async (c) => {
    const { id } = c.req.valid("param");
    const credentials = generateCredential();
    let hash: string;
    try {
      hash = await hashCredential(credentials, deps.scryptParams, deps.hashQueue);
    } catch (error) {
      if (error instanceof QueueFullError) return deps.busy(c) as never;
      throw error;
    }
    const now = deps.now();
    const result = deps.store.resetCredentials(id, hash, now);
    if (!result.ok) {
      return (result.reason === "not_found"
        ? deps.problem(c, 404, "not_found", `no CP ${id}`)
        : deps.problem(c, 409, "cp_deregistered", `CP ${id} is deregistered`)) as never;
    }
    // The old credentials must not pass from the cache; the new ones are the checked ones.
    deps.verified.forget(id);
    deps.verified.remember(id, hash, credentials, now.getTime());
    log.info("CP {cpId}: new credentials issued", { cpId: id, ip: remoteAddress(c) });
    return c.json({ ...deps.toJson(result.cp), credentials }, 200, {
      "Cache-Control": "no-store",
    });
  });
}
