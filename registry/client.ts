/**
 * Typed client of the Registry for the CP Monitor and Central: HTTPS only, trusting the
 * project CA (`certs/ca.pem` or `EV_CA_FILE`), never skipping certificate checks.
 *
 * ```ts
 * const registry = await createRegistryClient({ url: "https://localhost:8443" });
 * try {
 *   const { token } = await registry.authenticate("CP-001", credentials); // Monitor
 *   const claims = await registry.verifyToken(token);                     // Central
 *   const cp = await registry.getCp(claims.cpId);                         // Central: status
 * } finally {
 *   registry.close();
 * }
 * ```
 *
 * Failures are typed: {@link RegistryError} carries the HTTP status and the server's `error`
 * code; {@link RegistryUnavailableError} (a subclass, status 0 or 502–504) means the Registry
 * could not be reached — refused connection, TLS failure, timeout — so callers can say
 * "Registry down" rather than "bad credentials"; {@link InvalidTokenError} means the token
 * itself is bad.
 *
 * @module
 */
import type { z } from "@hono/zod-openapi";
import { createRemoteJWKSet, customFetch, type FetchImplementation } from "jose";
import { awakeTimeout } from "../shared/awake_timeout.ts";
import type { EcdhJwk } from "../shared/login_proof.ts";
import { caFilePath, httpsClientFromPem, readPem } from "../shared/tls.ts";
import {
  ADMIN_KEY_HEADER,
  type ChangeJson,
  ChangesPage,
  type ChangesPageJson,
  Cp,
  type CpJson,
  CpList,
  type CpListJson,
  Health,
  Registered,
  type RegisteredJson,
  type RegisterInput,
  type TokenJson,
  TokenResponse,
  type UpdateInput,
} from "./schemas.ts";
import type { CpStatus } from "./store.ts";
import { DEFAULT_ISSUER, InvalidTokenError, type VerifiedToken, verifyCpToken } from "./tokens.ts";

export { InvalidTokenError };
export type {
  ChangeJson,
  ChangesPageJson,
  CpJson,
  CpListJson,
  CpStatus,
  RegisteredJson,
  RegisterInput,
  TokenJson,
  UpdateInput,
  VerifiedToken,
};

/** The Registry answered with an error (`status` and its `error` code), or could not be used. */
export class RegistryError extends Error {
  /** Always `"RegistryError"`. */
  override name = "RegistryError";
  /** HTTP status (0 when no answer came). */
  readonly status: number;
  /** The server's `error` code, e.g. `invalid_credentials`, `cp_deregistered`, `not_found`. */
  readonly code: string;
  /** The server's `detail`. */
  readonly detail: string;
  /** Seconds to wait before retrying, from `Retry-After` (429, 503). */
  readonly retryAfterSeconds?: number;

  /** Creates the error from an answer's parts. */
  constructor(status: number, code: string, detail: string, retryAfterSeconds?: number) {
    super(`registry: ${status === 0 ? "" : `${status} `}${code}: ${detail}`);
    this.status = status;
    this.code = code;
    this.detail = detail;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The Registry could not be reached: connection refused, TLS failure, timeout, 502–504. */
export class RegistryUnavailableError extends RegistryError {
  /** Always `"RegistryUnavailableError"`. */
  override name = "RegistryUnavailableError";

  /** Creates the error; `status` is 0 when no HTTP answer came. */
  constructor(detail: string, status = 0, retryAfterSeconds?: number) {
    super(status, "registry_unavailable", detail, retryAfterSeconds);
  }
}

/** Settings of {@link createRegistryClient}. */
export interface RegistryClientOptions {
  /** Base URL, `https:` only, e.g. `https://localhost:8443`. */
  readonly url: string;
  /** CA certificate (PEM) to trust. Default: the file from {@link caFilePath}`(caFile)`. */
  readonly caCert?: string;
  /** CA file to trust when `caCert` is not given (default `EV_CA_FILE` or `certs/ca.pem`). */
  readonly caFile?: string;
  /** Admin key, for register, update and deregister. */
  readonly adminKey?: string;
  /** Key of the change feed (`GET /changes`); without it the admin key is sent there. */
  readonly feedKey?: string;
  /** Per-request timeout in ms. Default 5000. */
  readonly timeoutMs?: number;
  /** Expected token issuer. Default `evcharging-registry`. */
  readonly issuer?: string;
  /** How long fetched JWKS keys are used before refetching, in ms. Default 10 minutes. */
  readonly jwksCacheMs?: number;
}

/**
 * Makes a client that trusts the project CA. Close it with `close()` (or `using`), which
 * closes its pooled HTTPS connections.
 * @throws {TypeError} for a URL that is not `https:`.
 * @throws {import("../shared/tls.ts").TlsFileError} if the CA file is missing.
 */
export async function createRegistryClient(
  options: RegistryClientOptions,
): Promise<RegistryClient> {
  const url = new URL(options.url);
  if (url.protocol !== "https:") {
    throw new TypeError(`the Registry URL must be https:, got ${options.url}`);
  }
  const ca = options.caCert ?? await readPem(caFilePath(options.caFile), "CERTIFICATE");
  return new RegistryClient(options, httpsClientFromPem(ca));
}

/** Registry calls over one CA-trusting HTTPS client. Made by {@link createRegistryClient}. */
export class RegistryClient implements Disposable {
  readonly #base: string;
  readonly #http: Deno.HttpClient;
  readonly #options: RegistryClientOptions;
  #jwks?: ReturnType<typeof createRemoteJWKSet>;

  /** Uses `http` (closed by {@link close}); prefer {@link createRegistryClient}. */
  constructor(options: RegistryClientOptions, http: Deno.HttpClient) {
    this.#base = options.url.replace(/\/+$/, "");
    this.#http = http;
    this.#options = options;
  }

  /** The Registry's base URL. */
  get url(): string {
    return this.#base;
  }

  /** `GET /`: health and version. */
  health(): Promise<z.infer<typeof Health>> {
    return this.#call("GET", "/", Health);
  }

  /** `POST /cp/register` (admin): returns the CP and its credentials, shown this once. */
  register(input: RegisterInput): Promise<RegisteredJson> {
    return this.#call("POST", "/cp/register", Registered, { body: input, admin: true });
  }

  /**
   * `POST /cp/authenticate`: a token for the CP (401 bad credentials, 403 deregistered, 429),
   * bound to `ecdhPublicKey` (its JWK, shared/login_proof.ts `ecdhJwk`): Central accepts it only
   * from the holder of that key, once.
   */
  authenticate(cpId: string, credentials: string, ecdhPublicKey: EcdhJwk): Promise<TokenJson> {
    return this.#call("POST", "/cp/authenticate", TokenResponse, {
      body: { cp_id: cpId, credentials, ecdh_public_key: ecdhPublicKey },
    });
  }

  /** `GET /cp/{id}`: the CP (404 if unknown). */
  getCp(cpId: string): Promise<CpJson> {
    return this.#call("GET", `/cp/${encodeURIComponent(cpId)}`, Cp);
  }

  /** `GET /cp`: one page of CPs and the total. */
  listCps(query: { status?: CpStatus; limit?: number; offset?: number } = {}): Promise<CpListJson> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const qs = params.size > 0 ? `?${params}` : "";
    return this.#call("GET", `/cp${qs}`, CpList);
  }

  /** `PUT /cp/{id}` (admin): changes location, price, power or metadata. */
  updateCp(cpId: string, patch: UpdateInput): Promise<CpJson> {
    return this.#call("PUT", `/cp/${encodeURIComponent(cpId)}`, Cp, { body: patch, admin: true });
  }

  /**
   * `POST /cp/{id}/credentials` (admin): new credentials for a registered CP, shown this once;
   * the old ones stop working (404 unknown, 409 deregistered, 503 busy).
   */
  resetCredentials(cpId: string): Promise<RegisteredJson> {
    return this.#call("POST", `/cp/${encodeURIComponent(cpId)}/credentials`, Registered, {
      admin: true,
    });
  }

  /** `DELETE /cp/{id}` (admin): deregisters; the CP stays with status `DEREGISTERED`. */
  deregister(cpId: string): Promise<CpJson> {
    return this.#call("DELETE", `/cp/${encodeURIComponent(cpId)}`, Cp, { admin: true });
  }

  /**
   * `GET /changes`: the registry actions after `after`, in order. With `waitSeconds` the
   * Registry holds the request until a change comes or the wait ends (then `changes` is empty);
   * the request's own timeout is that wait plus the usual one. Sends the feed key and the admin
   * key, those the client has (the Registry accepts either). `signal` aborts a held request.
   */
  changes(
    after: number,
    options: { waitSeconds?: number; limit?: number; signal?: AbortSignal } = {},
  ): Promise<ChangesPageJson> {
    const params = new URLSearchParams({ after: String(after) });
    if (options.waitSeconds !== undefined) params.set("wait", String(options.waitSeconds));
    if (options.limit !== undefined) params.set("limit", String(options.limit));
    const feedKey = this.#options.feedKey;
    return this.#call("GET", `/changes?${params}`, ChangesPage, {
      admin: true,
      headers: feedKey === undefined ? {} : { authorization: `Bearer ${feedKey}` },
      extraTimeoutMs: (options.waitSeconds ?? 0) * 1000,
      signal: options.signal,
    });
  }

  /**
   * Verifies a CP token against the Registry's JWKS (fetched over the same HTTPS client and
   * cached; an unknown `kid` triggers a refetch at most every 30 s): ES256 only, issuer,
   * audience (Central), `exp`/`nbf` (30 s skew), every claim present (`cnf.jkt` among them). Does not ask whether the CP is still
   * registered: call {@link getCp} for that.
   * @throws {InvalidTokenError} for a bad token.
   * @throws {RegistryUnavailableError} when the JWKS cannot be fetched.
   */
  verifyToken(token: string, options: { now?: Date } = {}): Promise<VerifiedToken> {
    this.#jwks ??= createRemoteJWKSet(new URL(`${this.#base}/.well-known/jwks.json`), {
      timeoutDuration: this.#options.timeoutMs ?? 5000,
      cacheMaxAge: this.#options.jwksCacheMs ?? 10 * 60_000,
      cooldownDuration: 30_000,
      [customFetch]: this.#fetchJwks,
    });
    return verifyCpToken(token, this.#jwks, {
      issuer: this.#options.issuer ?? DEFAULT_ISSUER,
      now: options.now,
    });
  }

  /** Closes the HTTPS client and its pooled connections. */
  close(): void {
    this.#http.close();
  }

  /** Same as {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  // jose calls this for the JWKS; connection failures become RegistryUnavailableError, which
  // jose passes through untouched.
  #fetchJwks: FetchImplementation = async (url, init) => {
    let response: Response;
    try {
      response = await fetch(url, { ...init, client: this.#http });
    } catch (error) {
      throw unavailable(this.#base, error);
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new RegistryUnavailableError(`JWKS answered ${response.status}`, response.status);
    }
    return response;
  };

  async #call<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    options: {
      body?: unknown;
      admin?: boolean;
      headers?: Record<string, string>;
      extraTimeoutMs?: number;
      signal?: AbortSignal;
    } = {},
  ): Promise<z.infer<S>> {
    const headers = new Headers({ accept: "application/json", ...options.headers });
    if (options.body !== undefined) headers.set("content-type", "application/json");
    if (options.admin && this.#options.adminKey !== undefined) {
      headers.set(ADMIN_KEY_HEADER, this.#options.adminKey);
    }
    let response: Response;
    let text: string;
    // Counted only while this thread could read the answer (shared/awake_timeout.ts): a busy
    // host (the fleet, hundreds of CPs a thread) must not call a prompt Registry silent.
    const timeout = new AbortController();
    const cancelTimeout = awakeTimeout(
      () => timeout.abort(new DOMException("timed out", "TimeoutError")),
      (this.#options.timeoutMs ?? 5000) + (options.extraTimeoutMs ?? 0),
    );
    try {
      response = await fetch(`${this.#base}${path}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        client: this.#http,
        signal: anySignal(timeout.signal, options.signal),
      });
      text = await response.text();
    } catch (error) {
      throw unavailable(this.#base, error);
    } finally {
      cancelTimeout();
    }
    const json = parseJson(text);
    if (!response.ok) {
      const retryHeader = Number(response.headers.get("retry-after"));
      const retry = Number.isFinite(retryHeader) && retryHeader > 0 ? retryHeader : undefined;
      if ([502, 503, 504].includes(response.status)) {
        const detail = typeof json?.detail === "string" ? `: ${json.detail}` : "";
        throw new RegistryUnavailableError(
          `answered ${response.status}${detail}`,
          response.status,
          retry,
        );
      }
      throw new RegistryError(
        response.status,
        typeof json?.error === "string" ? json.error : `http_${response.status}`,
        typeof json?.detail === "string" ? json.detail : text.slice(0, 200),
        retry,
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new RegistryError(
        response.status,
        "bad_response",
        `unexpected answer to ${method} ${path}`,
      );
    }
    return parsed.data;
  }
}

function anySignal(timeout: AbortSignal, other: AbortSignal | undefined): AbortSignal {
  return other === undefined ? timeout : AbortSignal.any([timeout, other]);
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text);
    return value !== null && typeof value === "object" ? value : undefined;
  } catch {
    return undefined;
  }
}

/** A fetch failure as RegistryUnavailableError, keeping the useful part of Deno's message. */
function unavailable(base: string, error: unknown): RegistryUnavailableError {
  if (error instanceof RegistryUnavailableError) return error;
  const e = error as Error & { cause?: unknown };
  const reason = e?.name === "TimeoutError"
    ? "timed out"
    : e?.cause instanceof Error
    ? e.cause.message
    : String(e?.message ?? error);
  return new RegistryUnavailableError(`cannot reach ${base}: ${reason}`);
}
