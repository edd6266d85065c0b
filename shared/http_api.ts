/**
 * What every HTTP API of the network shares (the Registry, Central, the weather office): the
 * error answer `{error, detail, timestamp}` and its OpenAPI schema, helpers for route
 * definitions, one description of failed validations for 400s, the validation hook that uses
 * it, the 64 KiB body cap, bearer parsing, constant-time comparison of secrets, the one
 * middleware that checks a bearer secret, the request log, and the answers to unknown routes
 * and errors.
 *
 * @module
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context, Hono, MiddlewareHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { bufferBody } from "./http_body.ts";
import { timingSafeEqual } from "node:crypto";
import type { Logger } from "./log.ts";
import type { NoticeFields } from "./notices.ts";
import { retryAfterSeconds, type WrongSecretThrottle } from "./rate_limit.ts";

/** Largest request body any API reads. */
export const MAX_BODY_BYTES = 64 * 1024;

/** Every error answer. */
export const ErrorBody = z.object({
  error: z.string().openapi({ example: "validation_failed" }),
  detail: z.string().openapi({
    example: "cp_id: must be 3–64 characters of A–Z, a–z, 0–9, _ or -",
  }),
  detail_code: z.string().optional().openapi({
    description: "when present, `detail` as a stable code (shared/notices.ts) for screens to " +
      "translate with `detail_params`",
    example: "no_cp",
  }),
  detail_params: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
  timestamp: z.string(),
}).openapi("Error");

/** An error answer's JSON. */
export type ErrorJson = z.infer<typeof ErrorBody>;

/** A JSON response of a route definition. */
export function jsonContent<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { "application/json": { schema } } };
}

/** An error response of a route definition. */
export function errorContent(description: string) {
  return jsonContent(ErrorBody, description);
}

/** A required JSON request body of a route definition. */
export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { "application/json": { schema } } };
}

/** A `GET path` that answers 200 with one JSON body of `schema` (`answer` describes it). */
export function getJsonRoute<P extends string, T extends z.ZodType>(
  path: P,
  summary: string,
  schema: T,
  answer: string,
) {
  return createRoute({
    method: "get",
    path,
    summary,
    responses: { 200: jsonContent(schema, answer) },
  });
}

/**
 * The error answer of an app whose clock is `now`: `{error, detail, timestamp}` with `status`
 * and extra headers, typed as Hono's JSON responses so routes keep their typed answers. A detail
 * given as a notice (shared/notices.ts) adds its `detail_code` and `detail_params`.
 */
export function problemResponder(now: () => Date) {
  return <S extends ContentfulStatusCode>(
    // deno-lint-ignore no-explicit-any
    c: Context<any>,
    status: S,
    error: string,
    detail: string | NoticeFields,
    headers?: Record<string, string>,
  ) =>
    c.json(
      {
        error,
        ...(typeof detail === "string" ? { detail } : detail),
        timestamp: now().toISOString(),
      },
      status,
      headers,
    );
}

/** What {@link problemResponder} makes. */
export type Problem = ReturnType<typeof problemResponder>;

const TARGETS: Record<string, string> = { json: "body", query: "query", param: "path" };

/**
 * One line naming each failing field (at most five) of a zod error; `target` names the part
 * of the request (`json`, `query`, `param`) when the issue is about the whole of it, and
 * `input`, what was validated, tells a missing field from a wrong one.
 */
export function describeIssues(error: z.ZodError, target: string, input?: unknown): string {
  const lines = error.issues.slice(0, 5).map((issue) => {
    const where = issue.path.length > 0 ? issue.path.join(".") : (TARGETS[target] ?? target);
    if (issue.code === "unrecognized_keys") {
      const fields = issue.keys.join(", ");
      const unknown = `unknown field${issue.keys.length > 1 ? "s" : ""} ${fields}`;
      return issue.path.length > 0 ? `${where}: ${unknown}` : unknown;
    }
    const missing = issue.code === "invalid_type" && issue.path.length > 0 &&
      valueAt(input, issue.path) === undefined;
    return `${where}: ${missing ? "missing; " : ""}${issue.message}`;
  });
  return lines.join("; ").slice(0, 500);
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/** The result `@hono/zod-openapi` hands its `defaultHook`. */
type HookResult =
  | { success: true }
  | { success: false; error: z.ZodError; target: string };

/**
 * The `defaultHook` of an `OpenAPIHono` app: a failed validation becomes a 400
 * `validation_failed` whose detail names the fields; a valid input reaches the handler.
 */
export function validationHook(problem: Problem) {
  // deno-lint-ignore no-explicit-any
  return (result: HookResult, c: Context<any>): Response | undefined => {
    if (result.success) return undefined;
    // @hono/zod-validator passes the validated input as `data` on failure too (untyped).
    const input = (result as { data?: unknown }).data;
    return problem(c, 400, "validation_failed", describeIssues(result.error, result.target, input));
  };
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? "")?.[1];
}

/**
 * Constant-time equality of two secrets of any length (an admin key, a service key): both are
 * hashed with SHA-256 first, so `timingSafeEqual` sees equal lengths and the length does not leak.
 */
export async function secretsEqual(a: string, b: string): Promise<boolean> {
  const digest = (s: string) => crypto.subtle.digest("SHA-256", new TextEncoder().encode(s));
  const [da, db] = await Promise.all([digest(a), digest(b)]);
  return timingSafeEqual(new Uint8Array(da), new Uint8Array(db));
}

/** An error code and the detail that explains it to the caller. */
export interface Refusal {
  /** The `error` of the answer. */
  readonly error: string;
  /** The `detail` of the answer. */
  readonly detail: string;
}

/** What {@link requireBearer} checks and how it answers a refusal. */
export interface BearerCheck {
  /** The secret the bearer must equal (compared in constant time). */
  readonly secret: string;
  /** The realm its `WWW-Authenticate` challenge names. */
  readonly realm: string;
  /** The app's error answer. */
  readonly problem: Problem;
  /** The 401 when no bearer is sent. */
  readonly missing: Refusal;
  /** The 401 when the bearer is not the secret. */
  readonly wrong: Refusal;
  /** Called on each refusal before the answer (a log line, an audit record); never told the secret. */
  readonly onRefused?: (c: Context, reason: BearerRefusal) => void;
  /**
   * Counts missing and wrong bearers per client address: past its limit an address gets 429
   * `too_many_attempts` with `Retry-After` instead of 401. The right bearer always goes through.
   */
  readonly throttle?: WrongSecretThrottle;
}

/** Why a bearer was refused: none sent, not the secret, or too many of those from the address. */
export type BearerRefusal = "missing_bearer" | "wrong_bearer" | "throttled";

/**
 * The client's IP address as seen on the socket (`Deno.serve` passes its handler info, whose
 * `remoteAddr` is the peer, as the app's env; proxies' `X-Forwarded-For` is not trusted), or
 * undefined when there is none (a request made in-process).
 */
export function socketIp(c: Context): string | undefined {
  const addr = (c.env as { remoteAddr?: Deno.Addr } | undefined)?.remoteAddr;
  return addr && "hostname" in addr ? addr.hostname : undefined;
}

/** {@link socketIp} for logs and throttles: `unknown` when there is none. */
export function remoteAddress(c: Context): string {
  return socketIp(c) ?? "unknown";
}

/**
 * A middleware that lets a request through only with `Authorization: Bearer <secret>`, and
 * answers 401 with a `WWW-Authenticate: Bearer realm="…"` challenge otherwise (429 with
 * `Retry-After` once the address is over the `throttle`'s limit).
 */
export function requireBearer(check: BearerCheck): MiddlewareHandler {
  if (check.secret.length === 0) throw new RangeError("requireBearer: the secret is empty");
  const challenge = { "WWW-Authenticate": `Bearer realm="${check.realm}"` };
  return async (c, next) => {
    const given = bearerToken(c.req.header("authorization"));
    // The secret first: the right one always goes through, whatever its address sent before.
    if (given !== undefined && await secretsEqual(given, check.secret)) return await next();
    const verdict = check.throttle?.wrong(remoteAddress(c));
    if (verdict !== undefined && !verdict.allowed) {
      check.onRefused?.(c, "throttled");
      const seconds = retryAfterSeconds(verdict.retryAfterMs);
      return check.problem(
        c,
        429,
        "too_many_attempts",
        `too many missing or wrong bearers from this address; retry in ${seconds} s`,
        { ...challenge, "Retry-After": String(seconds) },
      );
    }
    const refusal = given === undefined ? check.missing : check.wrong;
    check.onRefused?.(c, given === undefined ? "missing_bearer" : "wrong_bearer");
    return check.problem(c, 401, refusal.error, refusal.detail, challenge);
  };
}

/** What {@link requestLog} records besides the method, the path and the status. */
export interface RequestLogOptions {
  /** How long the answer took, in the text too (`… in {ms} ms`). */
  readonly timed?: boolean;
  /** The client's address, recorded as `ip`. */
  // deno-lint-ignore no-explicit-any -- any app's context
  readonly ip?: (c: Context<any>) => string;
}

/**
 * Logs every request once it is answered: refused ones (4xx/5xx) at info, worth an operator's
 * eye; the rest at debug, where they are only noise.
 */
export function requestLog(log: Logger, options: RequestLogOptions = {}): MiddlewareHandler {
  const { timed = false, ip } = options;
  return async (c, next) => {
    const started = performance.now();
    await next();
    const level = c.res.status >= 400 ? "info" : "debug";
    log[level](timed ? "{method} {path} {status} in {ms} ms" : "{method} {path} {status}", {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ...(timed ? { ms: Math.round(performance.now() - started) } : {}),
      ...(ip === undefined ? {} : { ip: ip(c) }),
    });
  };
}

/**
 * Caps request bodies at {@link MAX_BODY_BYTES} on the methods whose bodies are parsed (a
 * DELETE/GET body is never read): a declared Content-Length over it is refused unread, a
 * chunked body is counted as it streams; both get a 413 in the error shape.
 */
// deno-lint-ignore no-explicit-any -- any app, whatever its env
export function capBodies(app: Hono<any>, problem: Problem): void {
  app.on(
    ["POST", "PUT", "PATCH"],
    "*",
    bufferBody(
      MAX_BODY_BYTES,
      (c) => problem(c, 413, "payload_too_large", `request body over ${MAX_BODY_BYTES} bytes`),
    ),
  );
}

/**
 * Answers unknown routes (404) and errors in the error shape: an HTTP error as `special` answers
 * it, else `http_error` with its status; anything else is logged and answered 500, pointing to
 * `whose` log.
 */
export function answerErrors(
  // deno-lint-ignore no-explicit-any -- any app, whatever its env
  app: Hono<any>,
  problem: Problem,
  log: Logger,
  whose: string,
  special: (error: HTTPException, c: Context) => Response | undefined,
): void {
  app.notFound((c) => problem(c, 404, "not_found", `no route ${c.req.method} ${c.req.path}`));
  app.onError((error, c) => {
    if (error instanceof HTTPException) {
      return special(error, c) ?? problem(
        c,
        error.status as ContentfulStatusCode,
        "http_error",
        error.message || "request refused",
      );
    }
    log.error("{method} {path} failed: {message}", {
      method: c.req.method,
      path: c.req.path,
      message: error instanceof Error ? error.message : String(error),
    });
    return problem(c, 500, "internal_error", `internal error; see ${whose} log`);
  });
}
