/**
 * The Registry app's test harness: the app over a store, a signing key and a clock the test
 * moves, called in-process as a client at some address would call it, and the error shape check.
 *
 * @module
 */
import assert from "node:assert/strict";
import { exportEcdhPublicKey, generateEcdhKeyPair } from "../shared/cp_key.ts";
import { ecdhJwk } from "../shared/login_proof.ts";
import type { ConcurrencyLimiter } from "../shared/limiter.ts";
import { createRegistryApp } from "./app.ts";
import type { ScryptParams } from "./credentials.ts";
import { AuthGuard } from "./rate_limit.ts";
import { RegistryStore } from "./store.ts";
import type { VerifiedCredentials } from "./verified_cache.ts";
import { generateSigningKey, type SigningKey } from "./tokens.ts";

/** The admin key of every harness. */
export const ADMIN = "test-admin-key-0123456789";
/** The public ECDH key a monitor would send; its tokens are bound to it. */
export const ECDH = ecdhJwk(await exportEcdhPublicKey((await generateEcdhKeyPair()).publicKey));
/** Cheap scrypt parameters: tests hash many credentials. */
export const FAST: ScryptParams = { N: 1024, r: 8, p: 1 };
/** The harness clock's start. */
export const T0 = Date.parse("2026-03-01T09:00:00.000Z");
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** A Registry app on an in-memory (or given) database, with a clock the test moves. */
export interface Harness {
  readonly store: RegistryStore;
  readonly key: SigningKey;
  readonly advance: (ms: number) => void;
  readonly now: () => Date;
  readonly call: (method: string, path: string, init?: CallInit) => Promise<Response>;
  readonly register: (cpId: string, extra?: Record<string, unknown>) => Promise<string>;
  readonly close: () => void;
}

/** How {@link Harness.call} sends a request. */
export interface CallInit {
  /** JSON body (serialized here). */
  body?: unknown;
  /** Raw body text, sent as application/json. */
  raw?: string;
  /** Admin key to send; `false` for none. Default: none. */
  admin?: string | false;
  /** Extra headers. */
  headers?: Record<string, string>;
  /** Client IP seen by the app. Default 10.0.0.1. */
  ip?: string;
}

/** Builds a {@link Harness}; the options tune the limits, the hashing and the database. */
async function harness(
  options: {
    dbPath?: string;
    scrypt?: ScryptParams;
    perCpLimit?: number;
    perIpLimit?: number;
    wrongKeyLimit?: number;
    verified?: VerifiedCredentials;
    hashQueue?: ConcurrencyLimiter;
    authenticating?: ConcurrencyLimiter;
  } = {},
): Promise<Harness> {
  let t = T0;
  const now = () => new Date(t);
  const store = RegistryStore.open(options.dbPath ?? ":memory:");
  const { key } = await generateSigningKey();
  const app = createRegistryApp({
    store,
    signingKey: key,
    adminKey: ADMIN,
    scrypt: options.scrypt ?? FAST,
    guard: new AuthGuard({
      perCpLimit: options.perCpLimit ?? 5,
      perIpLimit: options.perIpLimit ?? 50,
      wrongKeyLimit: options.wrongKeyLimit ?? 50,
      windowMs: 60_000,
      now: () => t,
    }),
    now,
    verified: options.verified,
    hashQueue: options.hashQueue,
    authenticating: options.authenticating,
  });
  const call = (method: string, path: string, init: CallInit = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    let body: string | undefined;
    if (init.body !== undefined || init.raw !== undefined) {
      headers["content-type"] ??= "application/json";
      body = init.raw ?? JSON.stringify(init.body);
    }
    if (init.admin) headers["x-admin-key"] = init.admin;
    const remoteAddr = { transport: "tcp" as const, hostname: init.ip ?? "10.0.0.1", port: 50000 };
    return Promise.resolve(app.request(path, { method, headers, body }, { remoteAddr }));
  };
  const register = async (cpId: string, extra: Record<string, unknown> = {}) => {
    const res = await call("POST", "/cp/register", {
      body: { cp_id: cpId, location: "Plaza Mayor 1", ...extra },
      admin: ADMIN,
    });
    assert.equal(res.status, 201, await res.clone().text());
    return (await res.json()).credentials as string;
  };
  return {
    store,
    key,
    now,
    advance: (ms) => t += ms,
    call,
    register,
    close: () => store.close(),
  };
}

/** Runs `test` with a fresh {@link Harness}, closed afterwards. */
export async function withHarness(
  test: (h: Harness) => Promise<void>,
  options?: Parameters<typeof harness>[0],
): Promise<void> {
  const h = await harness(options);
  try {
    await test(h);
  } finally {
    h.close();
  }
}

/** Asserts the status and the exact error shape; returns the body. */
export async function expectError(res: Response, status: number, code?: string) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  const body = JSON.parse(text);
  assert.deepEqual(Object.keys(body).sort(), ["detail", "error", "timestamp"], text);
  assert.equal(typeof body.error, "string");
  assert.equal(typeof body.detail, "string");
  assert.ok(body.detail.length > 0);
  assert.match(body.timestamp, ISO);
  if (code !== undefined) assert.equal(body.error, code, text);
  return body as { error: string; detail: string; timestamp: string };
}
