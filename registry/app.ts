/**
 * The Registry's HTTP API (ARCHITECTURE §Registration) as a Hono app, built from its parts so tests drive it
 * with `app.request()` and no socket; `registry/server.ts` puts it behind HTTPS.
 *
 * Order of checks on every request: body size (64 KiB, before anything reads the body), then
 * for management routes the admin key, then JSON parsing and the strict schemas, then the
 * handler. Every failure is `{error, detail, timestamp}`.
 *
 * @module
 */
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";
import {
  answerErrors,
  capBodies,
  errorContent as err,
  getJsonRoute,
  jsonBody as body,
  jsonContent as json,
  MAX_BODY_BYTES,
  problemResponder,
  remoteAddress,
  requestLog,
  secretsEqual,
  validationHook,
} from "../shared/http_api.ts";
import { getLogger } from "../shared/log.ts";
import { type EcdhJwk, ecdhRawFromJwk, ecdhThumbprint } from "../shared/login_proof.ts";
import { generateCredential } from "../shared/secret_file.ts";
import {
  DEFAULT_SCRYPT,
  HASH_QUEUE,
  hashCredential,
  QueueFullError,
  type ScryptParams,
} from "./credentials.ts";
import { certificateFingerprint } from "./certificate.ts";
import { checkCredentials, type CredentialCheckDeps } from "./credential_check.ts";
import { addCredentialsResetRoute, CREDENTIALS_RESET_PATH } from "./credentials_reset.ts";
import { ConcurrencyLimiter } from "../shared/limiter.ts";
import { retryAfterSeconds } from "../shared/rate_limit.ts";
import { addDocsRoutes } from "../shared/openapi_docs.ts";
import { addMetricsRoute } from "../shared/http_metrics.ts";
import { RegistryMetrics } from "./metrics.ts";
import { AuthGuard } from "./rate_limit.ts";
import { addChangeFeedRoute, ChangeWaiters } from "./changes.ts";
import { VerifiedCredentials } from "./verified_cache.ts";
import {
  ADMIN_KEY_HEADER,
  AuthenticateRequest,
  Cp,
  CpIdParams,
  type CpJson,
  CpList,
  DEFAULT_POWER_KW,
  DEFAULT_PRICE_EUR_KWH,
  Health,
  JwksBody,
  ListQuery,
  Registered,
  RegisterRequest,
  TokenResponse,
  UpdateRequest,
} from "./schemas.ts";
import type { CpRecord, RegistryStore } from "./store.ts";
import {
  DEFAULT_ISSUER,
  DEFAULT_TOKEN_TTL_MS,
  issueToken,
  jwksOf,
  type SigningKey,
} from "./tokens.ts";

/** Version reported by `GET /` and the OpenAPI document. */
export const REGISTRY_VERSION = "0.1.0";
/** Seconds a client is asked to wait when the hashing queue is full (503). */
export const BUSY_RETRY_S = 2;
/** Authentications served at once by default (see `RegistryDeps.authenticating`). */
export const AUTHENTICATING_AT_ONCE = 16;
/**
 * Authentications that may wait for a turn by default. A cached check and a token take a few ms
 * of CPU, so 80 in all answer within a second on a quiet machine and within the clients' 5 s
 * even with a tenth of a core.
 */
export const AUTHENTICATING_WAITING = 64;
/** Largest request body accepted (larger is 413 before parsing). */
export { MAX_BODY_BYTES };

/** What the app is built from. */
export interface RegistryDeps {
  /** The CP database. */
  readonly store: RegistryStore;
  /** Token signing key (its public half is the JWKS). */
  readonly signingKey: SigningKey;
  /** Admin key for register, update and deregister. */
  readonly adminKey: string;
  /** Token lifetime in ms (≤ 15 min). Default 10 min. */
  readonly tokenTtlMs?: number;
  /** Token `iss`. Default `evcharging-registry`. */
  readonly issuer?: string;
  /** scrypt cost for new credentials (tests use a cheap one). */
  readonly scrypt?: ScryptParams;
  /**
   * Brute-force guard for authentication and wrong admin keys. Default: 10 failures per (CP id,
   * address), 100 per address, 16 attempts in flight per address, 10 wrong keys, in 5 min.
   */
  readonly guard?: AuthGuard;
  /** The hashing queue (default the process's, registry/credentials.ts). */
  readonly hashQueue?: ConcurrencyLimiter;
  /**
   * Authentications served at once and waiting for a turn (default
   * {@link AUTHENTICATING_AT_ONCE} and {@link AUTHENTICATING_WAITING}); past that, 503 with
   * `Retry-After`. A login storm (one host's CPs all dropped at once) is then told when to come
   * back, instead of queueing past its clients' timeout on a machine with no CPU to spare.
   */
  readonly authenticating?: ConcurrencyLimiter;
  /** Clock. Default `new Date()`. */
  readonly now?: () => Date;
  /** Credentials checked recently, so a CP authenticating again skips the scrypt. */
  readonly verified?: VerifiedCredentials;
  /** What `GET /metrics` serves. Default: a registry of this app's own. */
  readonly metrics?: RegistryMetrics;
  /** The key Central reads the change feed with (`GET /changes`); unset: only the admin key. */
  readonly feedKey?: string;
  /** Where `GET /changes` requests wait; the server closes it before it stops. */
  readonly changeWaiters?: ChangeWaiters;
}

/** Hono environment: `Deno.serve` passes its handler info, whose `remoteAddr` is the client. */
export type RegistryEnv = { Bindings: { remoteAddr?: Deno.Addr } | undefined };

type Ctx = Context<RegistryEnv>;

const log = getLogger(["evcharging", "registry"]);

// ------------------------------------------------------------------------- route definitions

const admin = [{ adminKey: [] }];
const common = {
  400: err("validation failed (the detail names the field) or invalid JSON"),
  413: err("body over 64 KiB"),
};
const adminErrors = {
  401: err("missing or wrong admin key"),
  429: err("too many wrong admin keys from this address (the right key is never refused)"),
};

const healthRoute = getJsonRoute("/", "Health and version", Health, "the Registry is up");

const jwksRoute = getJsonRoute(
  "/.well-known/jwks.json",
  "Public keys that verify CP tokens",
  JwksBody,
  "JSON Web Key Set",
);

const registerRoute = createRoute({
  method: "post",
  path: "/cp/register",
  summary: "Register a CP (or register a deregistered one again)",
  description: "Returns the CP's credentials once; only their scrypt hash is stored.",
  security: admin,
  request: { body: body(RegisterRequest) },
  responses: {
    201: json(Registered, "registered; credentials shown this once"),
    ...common,
    ...adminErrors,
    409: err("the id is already registered"),
    503: err("too many credentials being hashed; retry after Retry-After"),
  },
});

const authenticateRoute = createRoute({
  method: "post",
  path: "/cp/authenticate",
  summary: "Exchange a CP's credentials for a short-lived token",
  request: { body: body(AuthenticateRequest) },
  responses: {
    200: json(TokenResponse, "an ES256 JWT and its expiry"),
    ...common,
    401: err("unknown CP id or wrong credentials (same answer for both)"),
    403: err("the CP is deregistered"),
    429: err("too many failed attempts for this CP id from this address, or from this address"),
    503: err("too many credentials being checked; retry after Retry-After"),
  },
});

const getRoute = createRoute({
  method: "get",
  path: "/cp/{id}",
  summary: "One CP (never its credentials)",
  request: { params: CpIdParams },
  responses: { 200: json(Cp, "the CP"), 400: common[400], 404: err("no such CP") },
});

const listRoute = createRoute({
  method: "get",
  path: "/cp",
  summary: "CPs by id, paged, optionally filtered by status",
  request: { query: ListQuery },
  responses: { 200: json(CpList, "one page and the total"), 400: common[400] },
});

const updateRoute = createRoute({
  method: "put",
  path: "/cp/{id}",
  summary: "Change a CP's location, price, power or metadata",
  security: admin,
  request: { params: CpIdParams, body: body(UpdateRequest) },
  responses: {
    200: json(Cp, "the updated CP"),
    ...common,
    ...adminErrors,
    404: err("no such CP"),
    409: err("the CP is deregistered"),
  },
});

const deregisterRoute = createRoute({
  method: "delete",
  path: "/cp/{id}",
  summary: "Deregister a CP (kept with status DEREGISTERED and the date)",
  security: admin,
  request: { params: CpIdParams },
  responses: {
    200: json(Cp, "the deregistered CP"),
    400: common[400],
    ...adminErrors,
    404: err("no such CP"),
    409: err("already deregistered"),
  },
});

// ------------------------------------------------------------------------------- helpers

function toJson(cp: CpRecord): CpJson {
  return {
    cp_id: cp.cpId,
    location: cp.location,
    price_eur_kwh: cp.priceEurKwh,
    power_kw: cp.powerKw,
    metadata: cp.metadata,
    status: cp.status,
    registered_at: cp.registeredAt,
    updated_at: cp.updatedAt,
    deregistered_at: cp.deregisteredAt,
    certificate_sha256: cp.certificateSha256,
  };
}

// ----------------------------------------------------------------------------------- app
/** What the route groups of {@link createRegistryApp} share. */
interface RegistryKit {
  readonly deps: RegistryDeps;
  readonly now: () => Date;
  readonly scryptParams: ScryptParams;
  readonly guard: AuthGuard;
  readonly issuer: string;
  readonly ttlMs: number;
  readonly verified: VerifiedCredentials;
  readonly hashQueue: ConcurrencyLimiter;
  readonly authenticating: ConcurrencyLimiter;
  readonly credentialCheck: CredentialCheckDeps;
  readonly problem: Problem;
  readonly tooMany: ReturnType<typeof tooManyResponder>;
  readonly busy: ReturnType<typeof busyResponder>;
  readonly metrics: RegistryMetrics;
}

type Problem = ReturnType<typeof problemResponder>;

/** 429 with `Retry-After`: too many attempts. */
function tooManyResponder(problem: Problem) {
  return (c: Ctx, retryAfterMs: number, what: string) => {
    const seconds = retryAfterSeconds(retryAfterMs);
    return problem(c, 429, "too_many_attempts", `${what}; retry in ${seconds} s`, {
      "Retry-After": String(seconds),
    });
  };
}

/** 503 with `Retry-After`: the hashing queue is full, nothing was decided. */
function busyResponder(problem: Problem) {
  return (c: Ctx) =>
    problem(c, 503, "busy", `too many credentials being checked; retry in ${BUSY_RETRY_S} s`, {
      "Retry-After": String(BUSY_RETRY_S),
    });
}

/** The defaults of `deps` filled in, and the helpers every route group answers with. */
function registryKit(deps: RegistryDeps): RegistryKit {
  const now = deps.now ?? (() => new Date());
  const scryptParams = deps.scrypt ?? DEFAULT_SCRYPT;
  const guard = deps.guard ?? new AuthGuard();
  const issuer = deps.issuer ?? DEFAULT_ISSUER;
  const ttlMs = deps.tokenTtlMs ?? DEFAULT_TOKEN_TTL_MS;
  const verified = deps.verified ?? new VerifiedCredentials();
  const hashQueue = deps.hashQueue ?? HASH_QUEUE;
  // Unknown ids are checked against this, so they cost one scrypt like known ones (timing);
  // made again if the queue was full the first time.
  let dummy: Promise<string> | undefined;
  const dummyHash = () =>
    dummy ??= hashCredential(generateCredential(), scryptParams, hashQueue).catch((error) => {
      dummy = undefined;
      throw error;
    });
  dummyHash().catch(() => {}); // at once, so the first unknown id does not pay twice
  const credentialCheck = {
    store: deps.store,
    guard,
    verified,
    hashQueue,
    dummyHash,
    now: () => now().getTime(),
  };

  const problem = problemResponder(now);

  const tooMany = tooManyResponder(problem);
  const busy = busyResponder(problem);
  const authenticating = deps.authenticating ??
    new ConcurrencyLimiter(AUTHENTICATING_AT_ONCE, AUTHENTICATING_WAITING);
  return {
    deps,
    now,
    scryptParams,
    guard,
    issuer,
    ttlMs,
    verified,
    hashQueue,
    authenticating,
    credentialCheck,
    problem,
    tooMany,
    busy,
    metrics: deps.metrics ?? new RegistryMetrics(() => hashQueue, () => authenticating),
  };
}

/** Builds the Registry app. Needs the store, the signing key and the admin key. */
export function createRegistryApp(deps: RegistryDeps): OpenAPIHono<RegistryEnv> {
  const kit = registryKit(deps);
  const app = new OpenAPIHono<RegistryEnv>({ defaultHook: validationHook(kit.problem) });
  addMiddleware(app, kit);
  addServiceRoutes(app, kit);
  addCredentialRoutes(app, kit);
  addCpRoutes(app, kit);
  addCredentialsResetRoute(app, { ...kit, store: deps.store, toJson });
  addDocsRoutes(app, {
    title: "EVCharging Registry",
    version: REGISTRY_VERSION,
    description:
      "Registers charging points, issues their credentials and their short-lived tokens.",
  });
  addErrorHandlers(app, kit.problem);
  return app;
}

/**
 * The admin key check of management calls. The key first: the right one always goes through,
 * so strangers' failures from the same address (Central shares its machine's) never throttle
 * management calls.
 */
function adminGate(kit: RegistryKit): MiddlewareHandler<RegistryEnv> {
  const { deps, guard, problem, tooMany } = kit;
  return async (c, next) => {
    const given = c.req.header(ADMIN_KEY_HEADER);
    const missing = given === undefined || given === "";
    if (!missing && await secretsEqual(given, deps.adminKey)) return await next();
    const ip = remoteAddress(c);
    const verdict = guard.wrongKey(ip);
    if (!verdict.allowed) return tooMany(c, verdict.retryAfterMs, "too many wrong admin keys");
    if (missing) {
      return problem(
        c,
        401,
        "admin_key_required",
        `this call needs the ${ADMIN_KEY_HEADER} header`,
      );
    }
    log.warning("wrong admin key on {method} {path} from {ip}", {
      method: c.req.method,
      path: c.req.path,
      ip,
    });
    return problem(c, 401, "invalid_admin_key", "the admin key is wrong");
  };
}

/** Metrics, the request log, security headers, the body cap and the admin gate. */
function addMiddleware(app: OpenAPIHono<RegistryEnv>, kit: RegistryKit): void {
  const { problem } = kit;
  const requireAdmin = adminGate(kit);
  // First, so requests refused by any later middleware are timed and counted too.
  app.use("*", kit.metrics.http());
  app.use("*", requestLog(log, { timed: true, ip: remoteAddress }));
  app.use(
    "*",
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        styleSrc: ["'unsafe-inline'"],
        frameAncestors: ["'none'"],
      },
    }),
  );
  // Before any route reads a body.
  capBodies(app, problem);
  app.use("/cp/*", (c, next) => {
    // Management calls only: GET /cp, GET /cp/{id} and POST /cp/authenticate stay open.
    const method = c.req.method;
    const management = method === "PUT" || method === "DELETE" ||
      (method === "POST" &&
        (c.req.path === "/cp/register" || CREDENTIALS_RESET_PATH.test(c.req.path)));
    return management ? requireAdmin(c, next) : next();
  });
}

/** The change feed, health, metrics and the token-verifying keys. */
function addServiceRoutes(app: OpenAPIHono<RegistryEnv>, kit: RegistryKit): void {
  const { deps, guard, problem, now } = kit;
  app.openAPIRegistry.registerComponent("securitySchemes", "adminKey", {
    type: "apiKey",
    in: "header",
    name: ADMIN_KEY_HEADER,
  });
  addChangeFeedRoute(app, {
    store: deps.store,
    waiters: deps.changeWaiters ?? new ChangeWaiters(deps.store),
    adminKey: deps.adminKey,
    feedKey: deps.feedKey,
    guard,
    problem,
  });

  app.openapi(
    healthRoute,
    (c) =>
      c.json({
        service: "registry" as const,
        status: "ok" as const,
        version: REGISTRY_VERSION,
        time: now().toISOString(),
      }, 200),
  );

  addMetricsRoute(app, kit.metrics.registry);

  app.openapi(
    jwksRoute,
    (c) => c.json(jwksOf(deps.signingKey), 200, { "Cache-Control": "public, max-age=300" }),
  );
}

/** Registration (a CP's credentials, once) and authentication (a token for them). */
function addCredentialRoutes(app: OpenAPIHono<RegistryEnv>, kit: RegistryKit): void {
  const {
    deps,
    now,
    scryptParams,
    hashQueue,
    authenticating,
    verified,
    credentialCheck,
    issuer,
    ttlMs,
    problem,
    tooMany,
    busy,
  } = kit;
  app.openapi(registerRoute, async (c) => {
    const input = c.req.valid("json");
    const credentials = generateCredential();
    let hash: string;
    try {
      hash = await hashCredential(credentials, scryptParams, hashQueue);
    } catch (error) {
      if (error instanceof QueueFullError) return busy(c);
      throw error;
    }
    const result = deps.store.register(
      {
        cpId: input.cp_id,
        location: input.location,
        priceEurKwh: input.price_eur_kwh ?? DEFAULT_PRICE_EUR_KWH,
        powerKw: input.power_kw ?? DEFAULT_POWER_KW,
        metadata: input.metadata ?? {},
        ...(input.certificate_pem !== undefined &&
          { certificateSha256: certificateFingerprint(input.certificate_pem) }),
      },
      hash,
      now(),
    );
    if (!result.ok) {
      log.info("register {cpId} refused: already registered", {
        cpId: input.cp_id,
        ip: remoteAddress(c),
      });
      return problem(c, 409, "already_registered", `CP ${input.cp_id} is already registered`);
    }
    // Its first authentication follows at once: it need not hash the same credential again.
    verified.remember(input.cp_id, hash, credentials, now().getTime());
    log.info("CP {cpId} registered", { cpId: input.cp_id, ip: remoteAddress(c) });
    return c.json({ ...toJson(result.cp), credentials }, 201, {
      Location: `/cp/${encodeURIComponent(input.cp_id)}`,
      "Cache-Control": "no-store",
    });
  });

  app.openapi(authenticateRoute, async (c) => {
    const { cp_id: cpId, credentials, ecdh_public_key: ecdhKey } = c.req.valid("json");
    const ip = remoteAddress(c);
    try {
      return await authenticating.run(() => authenticate(c, cpId, credentials, ecdhKey, ip));
    } catch (error) {
      if (!(error instanceof QueueFullError)) throw error;
      log.warning("authentication of {cpId} from {ip} refused: too many at once", { cpId, ip });
      return busy(c);
    }
  });

  /** The authentication itself, once it has its turn. */
  async function authenticate(
    c: Ctx,
    cpId: string,
    credentials: string,
    ecdhKey: EcdhJwk,
    ip: string,
  ) {
    try {
      await ecdhRawFromJwk(ecdhKey); // a point on the curve, before any hashing is spent
    } catch (error) {
      return problem(c, 400, "validation_failed", `ecdh_public_key: ${(error as Error).message}`);
    }
    const checked = await checkCredentials(credentialCheck, cpId, credentials, ip);
    if (checked.kind === "throttled") {
      log.warning("authentication of {cpId} from {ip} refused: too many failures", { cpId, ip });
      return tooMany(c, checked.retryAfterMs, "too many failed authentications");
    }
    if (checked.kind === "busy") {
      log.warning("authentication of {cpId} from {ip} refused: hashing queue full", { cpId, ip });
      return busy(c);
    }
    if (checked.kind === "invalid") {
      const reason = checked.reason;
      log.warning("authentication of {cpId} from {ip} failed: {reason}", { cpId, ip, reason });
      return problem(c, 401, "invalid_credentials", "unknown CP id or wrong credentials");
    }
    const { auth } = checked;
    // Checked only after the credentials, so the status of an id is not told to strangers.
    if (auth.cp.status !== "REGISTERED") {
      log.warning("authentication of {cpId} from {ip} refused: deregistered", { cpId, ip });
      return problem(c, 403, "cp_deregistered", `CP ${cpId} is deregistered`);
    }
    const jkt = await ecdhThumbprint(ecdhKey);
    const issued = await issueToken(deps.signingKey, { cpId, location: auth.cp.location, jkt }, {
      issuer,
      ttlMs,
      now: now(),
    });
    log.info("CP {cpId} authenticated from {ip}", {
      cpId,
      ip,
      jti: issued.jti,
      expiresAt: issued.expiresAt.toISOString(),
    });
    return c.json({ token: issued.token, expires_at: issued.expiresAt.toISOString() }, 200, {
      "Cache-Control": "no-store",
    });
  }
}

/** Reading, listing, updating and deregistering CPs. */
function addCpRoutes(app: OpenAPIHono<RegistryEnv>, kit: RegistryKit): void {
  const { deps, now, verified, problem } = kit;
  app.openapi(getRoute, (c) => {
    const { id } = c.req.valid("param");
    const cp = deps.store.get(id);
    if (cp === undefined) return problem(c, 404, "not_found", `no CP ${id}`);
    return c.json(toJson(cp), 200);
  });

  app.openapi(listRoute, (c) => {
    const { status, limit, offset } = c.req.valid("query");
    const page = deps.store.list({ status, limit, offset });
    return c.json({ items: page.items.map(toJson), total: page.total, limit, offset }, 200);
  });

  app.openapi(updateRoute, (c) => {
    const { id } = c.req.valid("param");
    const input = c.req.valid("json");
    const result = deps.store.update(id, {
      ...(input.location !== undefined && { location: input.location }),
      ...(input.price_eur_kwh !== undefined && { priceEurKwh: input.price_eur_kwh }),
      ...(input.power_kw !== undefined && { powerKw: input.power_kw }),
      ...(input.metadata !== undefined && { metadata: input.metadata }),
    }, now());
    if (!result.ok) {
      return result.reason === "not_found"
        ? problem(c, 404, "not_found", `no CP ${id}`)
        : problem(c, 409, "cp_deregistered", `CP ${id} is deregistered`);
    }
    log.info("CP {cpId} updated: {fields}", {
      cpId: id,
      fields: Object.keys(input),
      ip: remoteAddress(c),
    });
    return c.json(toJson(result.cp), 200);
  });

  app.openapi(deregisterRoute, (c) => {
    const { id } = c.req.valid("param");
    const result = deps.store.deregister(id, now());
    if (!result.ok) {
      return result.reason === "not_found"
        ? problem(c, 404, "not_found", `no CP ${id}`)
        : problem(c, 409, "cp_deregistered", `CP ${id} is already deregistered`);
    }
    verified.forget(id);
    log.info("CP {cpId} deregistered", { cpId: id, ip: remoteAddress(c) });
    return c.json(toJson(result.cp), 200);
  });
}

/** Unknown routes and errors, answered in the error shape. */
function addErrorHandlers(app: OpenAPIHono<RegistryEnv>, problem: Problem): void {
  answerErrors(app, problem, log, "the Registry's", (error, c) => {
    if (error.status === 400 && /json/i.test(error.message)) {
      return problem(c, 400, "invalid_json", "the request body is not valid JSON");
    }
    if (error.status === 413) {
      return problem(c, 413, "payload_too_large", `request body over ${MAX_BODY_BYTES} bytes`);
    }
    if (error.status === 415) {
      return problem(
        c,
        415,
        "unsupported_media_type",
        "send the body as Content-Type: application/json",
      );
    }
    return undefined;
  });
}
