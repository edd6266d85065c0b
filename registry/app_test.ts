import assert from "node:assert/strict";
import { join } from "node:path";
import { configure, reset } from "@logtape/logtape";
import { createLocalJWKSet, decodeJwt } from "jose";
import { exportEcdhPublicKey, generateEcdhKeyPair } from "../shared/cp_key.ts";
import { memorySink } from "../shared/log.ts";
import { ecdhJwk, ecdhThumbprint } from "../shared/login_proof.ts";
import { createRegistryApp, MAX_BODY_BYTES, REGISTRY_VERSION } from "./app.ts";
import { createHashQueue, type ScryptParams } from "./credentials.ts";
import { AuthGuard } from "./rate_limit.ts";
import { ConcurrencyLimiter } from "../shared/limiter.ts";
import { RegistryStore } from "./store.ts";
import { VerifiedCredentials } from "./verified_cache.ts";
import { generateSigningKey, type SigningKey, verifyCpToken } from "./tokens.ts";

const ADMIN = "test-admin-key-0123456789";
/** The public ECDH key a monitor would send; its tokens are bound to it. */
const ECDH = ecdhJwk(await exportEcdhPublicKey((await generateEcdhKeyPair()).publicKey));
const FAST: ScryptParams = { N: 1024, r: 8, p: 1 };
const T0 = Date.parse("2026-03-01T09:00:00.000Z");
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

interface Harness {
  readonly store: RegistryStore;
  readonly key: SigningKey;
  readonly advance: (ms: number) => void;
  readonly now: () => Date;
  readonly call: (method: string, path: string, init?: CallInit) => Promise<Response>;
  readonly register: (cpId: string, extra?: Record<string, unknown>) => Promise<string>;
  readonly close: () => void;
}

interface CallInit {
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

async function harness(
  options: {
    dbPath?: string;
    scrypt?: ScryptParams;
    perCpLimit?: number;
    perIpLimit?: number;
    wrongKeyLimit?: number;
    verified?: VerifiedCredentials;
    hashQueue?: ConcurrencyLimiter;
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

async function withHarness(
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
async function expectError(res: Response, status: number, code?: string) {
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

const CP_FIELDS = [
  "certificate_sha256",
  "cp_id",
  "deregistered_at",
  "location",
  "metadata",
  "power_kw",
  "price_eur_kwh",
  "registered_at",
  "status",
  "updated_at",
];

// ------------------------------------------------------------------------- open endpoints

Deno.test("GET / reports health and version", async () => {
  await withHarness(async (h) => {
    const res = await h.call("GET", "/");
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), {
      service: "registry",
      status: "ok",
      version: REGISTRY_VERSION,
      time: new Date(T0).toISOString(),
    });
  });
});

Deno.test("GET /.well-known/jwks.json publishes only the public signing key", async () => {
  await withHarness(async (h) => {
    const res = await h.call("GET", "/.well-known/jwks.json");
    assert.equal(res.status, 200);
    const jwks = await res.json();
    assert.equal(jwks.keys.length, 1);
    const [jwk] = jwks.keys;
    assert.deepEqual(Object.keys(jwk).sort(), ["alg", "crv", "kid", "kty", "use", "x", "y"]);
    assert.equal(jwk.kid, h.key.kid);
    assert.equal(jwk.alg, "ES256");
  });
});

Deno.test("GET /openapi.json documents every route, the admin key and the error shape", async () => {
  await withHarness(async (h) => {
    const res = await h.call("GET", "/openapi.json");
    assert.equal(res.status, 200);
    const doc = await res.json();
    assert.equal(doc.info.version, REGISTRY_VERSION);
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      "/",
      "/.well-known/jwks.json",
      "/changes",
      "/cp",
      "/cp/authenticate",
      "/cp/register",
      "/cp/{id}",
      "/cp/{id}/credentials",
      "/metrics",
    ]);
    assert.deepEqual(Object.keys(doc.paths["/cp/{id}"]).sort(), ["delete", "get", "put"]);
    assert.deepEqual(doc.components.securitySchemes.adminKey, {
      type: "apiKey",
      in: "header",
      name: "X-Admin-Key",
    });
    assert.deepEqual(doc.paths["/cp/register"].post.security, [{ adminKey: [] }]);
    assert.deepEqual(doc.paths["/cp/{id}/credentials"].post.security, [{ adminKey: [] }]);
    assert.equal(doc.paths["/cp/authenticate"].post.security, undefined);
    assert.deepEqual(Object.keys(doc.components.schemas.Error.properties).sort(), [
      "detail",
      "error",
      "timestamp",
    ]);
    assert.equal(doc.components.schemas.RegisterRequest.additionalProperties, false);
    assert.ok(doc.paths["/cp/authenticate"].post.responses["429"]);
    assert.deepEqual(doc.paths["/changes"].get.security, [{ feedKey: [] }, { adminKey: [] }]);
  });
});

Deno.test("GET /docs renders the API as self-contained HTML (no CDN, no script)", async () => {
  await withHarness(async (h) => {
    const res = await h.call("GET", "/docs");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/html/);
    const html = await res.text();
    for (
      const text of [
        "/cp/register",
        "/cp/authenticate",
        "/cp/{id}",
        "DELETE",
        "X-Admin-Key",
        "RegisterRequest",
      ]
    ) {
      assert.ok(html.includes(text), text);
    }
    assert.ok(!/<script|<link|src=/i.test(html), "no external resources");
    assert.ok(!/https?:\/\//.test(html), "no absolute URLs");
  });
});

// ------------------------------------------------------------------------------- register

Deno.test("POST /cp/register returns credentials once, with defaults and no-store", async () => {
  await withHarness(async (h) => {
    const res = await h.call("POST", "/cp/register", {
      body: { cp_id: "CP-001", location: "Calle Mayor 1", metadata: { connector: "CCS2" } },
      admin: ADMIN,
    });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get("location"), "/cp/CP-001");
    assert.equal(res.headers.get("cache-control"), "no-store");
    const body = await res.json();
    assert.match(body.credentials, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual({ ...body, credentials: "…" }, {
      cp_id: "CP-001",
      location: "Calle Mayor 1",
      price_eur_kwh: 0.35,
      power_kw: 22,
      metadata: { connector: "CCS2" },
      status: "REGISTERED",
      registered_at: new Date(T0).toISOString(),
      updated_at: new Date(T0).toISOString(),
      deregistered_at: null,
      certificate_sha256: null,
      credentials: "…",
    });
    const again = await h.call("GET", "/cp/CP-001");
    assert.ok(!(await again.text()).includes(body.credentials), "shown only once");
  });
});

Deno.test("POST /cp/register takes price, power and metadata", async () => {
  await withHarness(async (h) => {
    await h.register("CP-002", {
      price_eur_kwh: 0.5,
      power_kw: 150,
      metadata: { a: 1, b: null, c: true },
    });
    const cp = await (await h.call("GET", "/cp/CP-002")).json();
    assert.deepEqual([cp.price_eur_kwh, cp.power_kw, cp.metadata], [0.5, 150, {
      a: 1,
      b: null,
      c: true,
    }]);
  });
});

Deno.test("POST /cp/register refuses an id that is registered (409)", async () => {
  await withHarness(async (h) => {
    await h.register("CP-001");
    const res = await h.call("POST", "/cp/register", {
      body: { cp_id: "CP-001", location: "Elsewhere" },
      admin: ADMIN,
    });
    await expectError(res, 409, "already_registered");
    assert.equal(h.store.get("CP-001")?.location, "Plaza Mayor 1");
  });
});

Deno.test("a deregistered id registers again with new credentials; old ones stop working", async () => {
  await withHarness(async (h) => {
    const first = await h.register("CP-001");
    assert.equal((await h.call("DELETE", "/cp/CP-001", { admin: ADMIN })).status, 200);
    h.advance(1000);
    const second = await h.register("CP-001", { location: "New place" });
    assert.notEqual(second, first);
    const cp = await (await h.call("GET", "/cp/CP-001")).json();
    assert.equal(cp.status, "REGISTERED");
    assert.equal(cp.deregistered_at, null);
    assert.equal(cp.registered_at, new Date(T0 + 1000).toISOString());
    const old = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-001", credentials: first, ecdh_public_key: ECDH },
    });
    await expectError(old, 401, "invalid_credentials");
    const fresh = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-001", credentials: second, ecdh_public_key: ECDH },
    });
    assert.equal(fresh.status, 200);
    await fresh.body?.cancel();
    assert.deepEqual(h.store.history("CP-001").map((e) => e.action), [
      "registered",
      "deregistered",
      "registered",
    ]);
  });
});

// ------------------------------------------------------------------------------ admin key

Deno.test("management calls need the right admin key, checked before the body", async () => {
  await withHarness(async (h) => {
    await h.register("CP-001");
    const calls: [string, string, unknown][] = [
      ["POST", "/cp/register", { cp_id: "CP-009", location: "x" }],
      ["PUT", "/cp/CP-001", { location: "x" }],
      ["DELETE", "/cp/CP-001", undefined],
    ];
    for (const [method, path, body] of calls) {
      await expectError(await h.call(method, path, { body }), 401, "admin_key_required");
      await expectError(
        await h.call(method, path, { body, admin: "wrong-key-0123456789" }),
        401,
        "invalid_admin_key",
      );
      await expectError(
        await h.call(method, path, { body, admin: ADMIN.slice(0, -1) }),
        401,
        "invalid_admin_key",
      );
      // An invalid body without the key is still a 401: strangers learn nothing of the schema.
      await expectError(
        await h.call(method, path, { raw: "{not json" }),
        401,
        "admin_key_required",
      );
    }
    assert.equal(h.store.get("CP-009"), undefined);
    assert.equal(h.store.get("CP-001")?.status, "REGISTERED");
    assert.equal(h.store.get("CP-001")?.location, "Plaza Mayor 1");
  });
});

Deno.test("wrong admin keys are throttled per client address; the right key never is", async () => {
  await withHarness(async (h) => {
    for (let i = 0; i < 3; i++) {
      await expectError(
        await h.call("DELETE", "/cp/CP-001", { admin: `guess-${i}-0123456789` }),
        401,
      );
    }
    const res = await h.call("DELETE", "/cp/CP-001", { admin: "guess-3-0123456789" });
    await expectError(res, 429, "too_many_attempts");
    assert.ok(Number(res.headers.get("retry-after")) > 0);
    await expectError(await h.call("DELETE", "/cp/CP-001"), 429, "too_many_attempts");
    // The right key goes through from that address too, and from another.
    await expectError(await h.call("DELETE", "/cp/CP-001", { admin: ADMIN }), 404);
    await expectError(await h.call("DELETE", "/cp/CP-001", { admin: ADMIN, ip: "10.9.9.9" }), 404);
    // Another address's wrong keys are its own.
    await expectError(await h.call("DELETE", "/cp/CP-001", { admin: "x", ip: "10.9.9.9" }), 401);
  }, { wrongKeyLimit: 3 });
});

Deno.test("management calls are not throttled by strangers' failed authentications", async () => {
  await withHarness(async (h) => {
    for (let i = 0; i < 4; i++) {
      await expectError(
        await h.call("POST", "/cp/authenticate", {
          body: { cp_id: `CP-9${i}`, credentials: "x", ecdh_public_key: ECDH },
        }),
        401,
      );
    }
    await expectError(
      await h.call("POST", "/cp/authenticate", {
        body: { cp_id: "CP-95", credentials: "x", ecdh_public_key: ECDH },
      }),
      429,
      "too_many_attempts",
    );
    await h.register("CP-001"); // same address, the admin key: 201
    await expectError(await h.call("DELETE", "/cp/CP-404", { admin: ADMIN }), 404);
  }, { perIpLimit: 4 });
});

// --------------------------------------------------------------------------- authenticate

Deno.test("POST /cp/authenticate returns a token that verifies against the JWKS", async () => {
  await withHarness(async (h) => {
    const credentials = await h.register("CP-001", { location: "Calle Mayor 1" });
    const res = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-001", credentials, ecdh_public_key: ECDH },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "no-store");
    const body = await res.json();
    assert.deepEqual(Object.keys(body).sort(), ["expires_at", "token"]);
    assert.equal(body.expires_at, new Date(T0 + 10 * 60_000).toISOString());
    const jwks = await (await h.call("GET", "/.well-known/jwks.json")).json();
    const verified = await verifyCpToken(body.token, createLocalJWKSet(jwks), { now: h.now() });
    assert.equal(verified.cpId, "CP-001");
    assert.equal(verified.location, "Calle Mayor 1");
    assert.equal(verified.jkt, await ecdhThumbprint(ECDH), "bound to the monitor's ECDH key");
    const claims = decodeJwt(body.token);
    assert.equal(claims.iss, "evcharging-registry");
    assert.equal(claims.aud, "evcharging-central");
    assert.equal((claims.exp as number) - (claims.iat as number), 600);
    assert.equal(claims.nbf, claims.iat);
    assert.equal(typeof claims.jti, "string");
  });
});

Deno.test("authenticate: unknown id and wrong credentials get the same 401", async () => {
  await withHarness(async (h) => {
    const credentials = await h.register("CP-001");
    const wrong = await expectError(
      await h.call("POST", "/cp/authenticate", {
        // Another last character: one in 16 credentials already ends in "A".
        body: {
          cp_id: "CP-001",
          credentials: credentials.slice(0, -1) + (credentials.endsWith("A") ? "B" : "A"),
          ecdh_public_key: ECDH,
        },
      }),
      401,
      "invalid_credentials",
    );
    const unknown = await expectError(
      await h.call("POST", "/cp/authenticate", {
        body: { cp_id: "CP-404", credentials, ecdh_public_key: ECDH },
      }),
      401,
      "invalid_credentials",
    );
    assert.equal(wrong.detail, unknown.detail);
    await expectError(
      await h.call("POST", "/cp/authenticate", {
        body: { cp_id: "CP-001", credentials: "x", ecdh_public_key: ECDH },
      }),
      401,
      "invalid_credentials",
    );
  });
});

Deno.test("authenticate: a deregistered CP gets 403 only with the right credentials", async () => {
  await withHarness(async (h) => {
    const credentials = await h.register("CP-001");
    await (await h.call("DELETE", "/cp/CP-001", { admin: ADMIN })).body?.cancel();
    await expectError(
      await h.call("POST", "/cp/authenticate", {
        body: { cp_id: "CP-001", credentials, ecdh_public_key: ECDH },
      }),
      403,
      "cp_deregistered",
    );
    await expectError(
      await h.call("POST", "/cp/authenticate", {
        body: { cp_id: "CP-001", credentials: "wrong", ecdh_public_key: ECDH },
      }),
      401,
      "invalid_credentials",
    );
  });
});

Deno.test("authenticate: failures are limited per CP id and address (429 + Retry-After), then the window slides", async () => {
  await withHarness(async (h) => {
    const credentials = await h.register("CP-001");
    for (let i = 0; i < 3; i++) {
      await expectError(
        await h.call("POST", "/cp/authenticate", {
          body: { cp_id: "CP-001", credentials: `bad-${i}`, ecdh_public_key: ECDH },
          ip: "10.0.1.1",
        }),
        401,
      );
      h.advance(1000);
    }
    // The guessing address waits now, even with the right credentials…
    const blocked = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-001", credentials, ecdh_public_key: ECDH },
      ip: "10.0.1.1",
    });
    const body = await expectError(blocked, 429, "too_many_attempts");
    assert.equal(blocked.headers.get("retry-after"), "57");
    assert.match(body.detail, /57 s/);
    // …but no lockout: the CP from its own address goes on (CP ids are public).
    const fromElsewhere = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-001", credentials, ecdh_public_key: ECDH },
      ip: "10.0.2.1",
    });
    assert.equal(fromElsewhere.status, 200);
    await fromElsewhere.body?.cancel();
    // Other CPs are not affected.
    const other = await h.register("CP-002");
    const ok = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-002", credentials: other, ecdh_public_key: ECDH },
    });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    h.advance(57_001);
    const later = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-001", credentials, ecdh_public_key: ECDH },
      ip: "10.0.1.1",
    });
    assert.equal(later.status, 200);
    await later.body?.cancel();
  }, { perCpLimit: 3 });
});

Deno.test("authenticate: failures are limited per client IP across ids", async () => {
  await withHarness(async (h) => {
    const credentials = await h.register("CP-001");
    for (let i = 0; i < 4; i++) {
      await expectError(
        await h.call("POST", "/cp/authenticate", {
          body: { cp_id: `CP-10${i}`, credentials: "guess", ecdh_public_key: ECDH },
          ip: "192.0.2.7",
        }),
        401,
      );
    }
    const blocked = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-001", credentials, ecdh_public_key: ECDH },
      ip: "192.0.2.7",
    });
    await expectError(blocked, 429, "too_many_attempts");
    const elsewhere = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-001", credentials, ecdh_public_key: ECDH },
      ip: "192.0.2.8",
    });
    assert.equal(elsewhere.status, 200);
    await elsewhere.body?.cancel();
  }, { perIpLimit: 4 });
});

Deno.test("authenticate: attempts still being hashed count, so a parallel burst gets 429s", async () => {
  const queue = createHashQueue(32);
  await withHarness(async (h) => {
    await h.register("CP-001");
    const gate = Promise.withResolvers<void>();
    const busy = queue.run(() => gate.promise); // the hasher is busy: every check waits
    const burst = Array.from({ length: 10 }, (_, i) =>
      h.call("POST", "/cp/authenticate", {
        body: { cp_id: "CP-001", credentials: `guess-${i}`, ecdh_public_key: ECDH },
        ip: "10.0.1.1",
      }));
    while (queue.waiting < 3) await new Promise((r) => setTimeout(r, 1));
    gate.resolve();
    await busy;
    const statuses = await Promise.all(burst.map(async (res) => {
      const r = await res;
      await r.body?.cancel();
      return r.status;
    }));
    assert.deepEqual(statuses.toSorted(), [401, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
    const after = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-001", credentials: "guess", ecdh_public_key: ECDH },
      ip: "10.0.1.1",
    });
    await expectError(after, 429, "too_many_attempts");
  }, { perCpLimit: 3, hashQueue: queue });
});

Deno.test("a full hashing queue answers 503 with Retry-After, and counts no failure", async () => {
  const queue = createHashQueue(1);
  await withHarness(async (h) => {
    const credentials = await h.register("CP-001");
    await (await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-404", credentials: "warm", ecdh_public_key: ECDH }, // the unknown ids' hash is made
      ip: "10.0.9.9",
    })).body?.cancel();
    const gate = Promise.withResolvers<void>();
    const hashing = queue.run(() => gate.promise);
    const waiting = h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-001", credentials: "wrong", ecdh_public_key: ECDH },
      ip: "10.0.1.1",
    });
    while (queue.waiting < 1) await new Promise((r) => setTimeout(r, 1));
    for (let i = 0; i < 3; i++) {
      const full = await h.call("POST", "/cp/authenticate", {
        body: { cp_id: "CP-001", credentials: `wrong-${i}`, ecdh_public_key: ECDH },
        ip: "10.0.1.2",
      });
      const body = await expectError(full, 503, "busy");
      assert.equal(full.headers.get("retry-after"), "2");
      assert.match(body.detail, /retry in 2 s/);
    }
    const register = await h.call("POST", "/cp/register", {
      body: { cp_id: "CP-002", location: "x" },
      admin: ADMIN,
    });
    await expectError(register, 503, "busy");
    assert.equal(register.headers.get("retry-after"), "2");
    gate.resolve();
    await hashing;
    await expectError(await waiting, 401, "invalid_credentials");
    // The three refused attempts were no failures: the limit of 2 is not reached.
    const right = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-001", credentials, ecdh_public_key: ECDH },
      ip: "10.0.1.2",
    });
    assert.equal(right.status, 200);
    await right.body?.cancel();
  }, { perCpLimit: 2, hashQueue: queue });
});

Deno.test("authenticate: a checked credential is remembered, a wrong one still fails", async () => {
  const verified = new VerifiedCredentials();
  await withHarness(async (h) => {
    const credentials = await h.register("CP-001");
    const stored = () => h.store.getAuth("CP-001")!.credentialHash;
    assert.ok(verified.matches("CP-001", stored(), credentials, h.now().getTime()), "registered");
    const wrong = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-001", credentials: `${credentials.slice(1)}x`, ecdh_public_key: ECDH },
    });
    await expectError(wrong, 401, "invalid_credentials");
    for (let i = 0; i < 2; i++) {
      const right = await h.call("POST", "/cp/authenticate", {
        body: { cp_id: "CP-001", credentials, ecdh_public_key: ECDH },
      });
      assert.equal(right.status, 200);
      await right.body?.cancel();
    }
    assert.equal((await h.call("DELETE", "/cp/CP-001", { admin: ADMIN })).status, 200);
    assert.equal(verified.size, 0, "deregistering forgets the CP");
    const refused = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-001", credentials, ecdh_public_key: ECDH },
    });
    await expectError(refused, 403, "cp_deregistered");
    assert.equal(verified.size, 0, "a deregistered CP is not remembered");
  }, { verified });
});

Deno.test("authenticate: an unknown id costs one scrypt like a wrong credential, and the same answer", async () => {
  /** The hashing queue, counting the hashes it runs. */
  class CountingQueue extends ConcurrencyLimiter {
    hashes = 0;
    override run<T>(task: () => Promise<T>): Promise<T> {
      this.hashes++;
      return super.run(task);
    }
  }
  const queue = new CountingQueue(1);
  await withHarness(async (h) => {
    await h.register("CP-001");
    const attempt = async (cpId: string) => {
      const before = queue.hashes;
      const res = await h.call("POST", "/cp/authenticate", {
        body: { cp_id: cpId, credentials: "wrong", ecdh_public_key: ECDH },
      });
      await expectError(res, 401, "invalid_credentials");
      return queue.hashes - before;
    };
    await attempt("CP-404"); // the dummy hash is made once, at start or on first use
    assert.equal(await attempt("CP-001"), 1, "a wrong credential of a known id: one scrypt");
    assert.equal(await attempt("CP-404"), 1, "an unknown id: one scrypt too, against the dummy");
  }, { perCpLimit: 100, perIpLimit: 100, hashQueue: queue });
});

// ---------------------------------------------------------------------------------- reads

Deno.test("GET /cp/{id} returns the CP without secrets; 404 unknown; 400 bad id", async () => {
  await withHarness(async (h) => {
    await h.register("CP-001");
    const res = await h.call("GET", "/cp/CP-001");
    assert.equal(res.status, 200);
    const cp = await res.json();
    assert.deepEqual(Object.keys(cp).sort(), CP_FIELDS);
    await expectError(await h.call("GET", "/cp/CP-404"), 404, "not_found");
    const bad = await expectError(await h.call("GET", "/cp/x"), 400, "validation_failed");
    assert.match(bad.detail, /^id: /);
  });
});

Deno.test("GET /cp pages and filters, with the total", async () => {
  await withHarness(async (h) => {
    for (const id of ["CP-003", "CP-001", "CP-002", "CP-005", "CP-004"]) await h.register(id);
    await (await h.call("DELETE", "/cp/CP-002", { admin: ADMIN })).body?.cancel();
    const page = await (await h.call("GET", "/cp?limit=2&offset=1")).json();
    assert.deepEqual(page.items.map((c: { cp_id: string }) => c.cp_id), ["CP-002", "CP-003"]);
    assert.deepEqual([page.total, page.limit, page.offset], [5, 2, 1]);
    for (const item of page.items) assert.deepEqual(Object.keys(item).sort(), CP_FIELDS);
    const first = await (await h.call("GET", "/cp")).json();
    assert.deepEqual([first.items.length, first.limit, first.offset], [5, 20, 0]);
    const gone = await (await h.call("GET", "/cp?status=DEREGISTERED")).json();
    assert.deepEqual([gone.items.map((c: { cp_id: string }) => c.cp_id), gone.total], [
      ["CP-002"],
      1,
    ]);
    const active = await (await h.call("GET", "/cp?status=REGISTERED&limit=100")).json();
    assert.equal(active.total, 4);
  });
});

Deno.test("GET /cp rejects bad paging and unknown query fields, naming them", async () => {
  await withHarness(async (h) => {
    const cases: [string, RegExp][] = [
      ["/cp?limit=0", /^limit: /],
      ["/cp?limit=101", /^limit: /],
      ["/cp?limit=abc", /^limit: /],
      ["/cp?offset=-1", /^offset: /],
      ["/cp?status=ACTIVE", /^status: /],
      ["/cp?sort=cp_id", /unknown field sort/],
    ];
    for (const [path, detail] of cases) {
      const body = await expectError(await h.call("GET", path), 400, "validation_failed");
      assert.match(body.detail, detail, path);
    }
  });
});

// ------------------------------------------------------------------------- update, delete

Deno.test("PUT /cp/{id} updates location, price, power and metadata", async () => {
  await withHarness(async (h) => {
    await h.register("CP-001");
    h.advance(5000);
    const res = await h.call("PUT", "/cp/CP-001", {
      body: { location: "Avenida 2", price_eur_kwh: 0.41, power_kw: 50, metadata: { floor: "-1" } },
      admin: ADMIN,
    });
    assert.equal(res.status, 200);
    const cp = await res.json();
    assert.deepEqual(
      [cp.location, cp.price_eur_kwh, cp.power_kw, cp.metadata, cp.updated_at, cp.registered_at],
      [
        "Avenida 2",
        0.41,
        50,
        { floor: "-1" },
        new Date(T0 + 5000).toISOString(),
        new Date(T0).toISOString(),
      ],
    );
    const partial =
      await (await h.call("PUT", "/cp/CP-001", { body: { price_eur_kwh: 0.2 }, admin: ADMIN }))
        .json();
    assert.deepEqual([partial.price_eur_kwh, partial.location], [0.2, "Avenida 2"]);
  });
});

Deno.test("PUT /cp/{id} error paths: 400 empty/unknown/credentials, 404, 409", async () => {
  await withHarness(async (h) => {
    await h.register("CP-001");
    await expectError(
      await h.call("PUT", "/cp/CP-001", { body: {}, admin: ADMIN }),
      400,
      "validation_failed",
    );
    const unknown = await expectError(
      await h.call("PUT", "/cp/CP-001", { body: { status: "REGISTERED" }, admin: ADMIN }),
      400,
    );
    assert.match(unknown.detail, /unknown field status/);
    const creds = await expectError(
      await h.call("PUT", "/cp/CP-001", { body: { credentials: "mine" }, admin: ADMIN }),
      400,
    );
    assert.match(creds.detail, /unknown field credentials/);
    await expectError(
      await h.call("PUT", "/cp/CP-404", { body: { power_kw: 1 }, admin: ADMIN }),
      404,
      "not_found",
    );
    await expectError(await h.call("PUT", "/cp/!!", { body: { power_kw: 1 }, admin: ADMIN }), 400);
    await (await h.call("DELETE", "/cp/CP-001", { admin: ADMIN })).body?.cancel();
    await expectError(
      await h.call("PUT", "/cp/CP-001", { body: { power_kw: 1 }, admin: ADMIN }),
      409,
      "cp_deregistered",
    );
  });
});

Deno.test("DELETE /cp/{id} deregisters and keeps the record; 404 and 409 paths", async () => {
  await withHarness(async (h) => {
    await h.register("CP-001");
    h.advance(60_000);
    const res = await h.call("DELETE", "/cp/CP-001", { admin: ADMIN });
    assert.equal(res.status, 200);
    const cp = await res.json();
    assert.equal(cp.status, "DEREGISTERED");
    assert.equal(cp.deregistered_at, new Date(T0 + 60_000).toISOString());
    const kept = await (await h.call("GET", "/cp/CP-001")).json();
    assert.deepEqual(kept, cp);
    await expectError(
      await h.call("DELETE", "/cp/CP-001", { admin: ADMIN }),
      409,
      "cp_deregistered",
    );
    await expectError(await h.call("DELETE", "/cp/CP-404", { admin: ADMIN }), 404, "not_found");
  });
});

// ------------------------------------------------------------------------------ bad input

Deno.test("bad input gets a 4xx with the error shape, naming the field; the server keeps serving", async () => {
  await withHarness(async (h) => {
    const existing = await h.register("CP-OK");
    const register = (body: unknown) => h.call("POST", "/cp/register", { body, admin: ADMIN });
    const auth = (body: unknown) => h.call("POST", "/cp/authenticate", { body });
    const cases: [string, () => Promise<Response>, number, RegExp][] = [
      ["id too short", () => register({ cp_id: "ab", location: "x" }), 400, /^cp_id: /],
      ["id too long", () => register({ cp_id: "a".repeat(65), location: "x" }), 400, /^cp_id: /],
      ["id with space", () => register({ cp_id: "CP 1", location: "x" }), 400, /^cp_id: /],
      ["id with unicode", () => register({ cp_id: "CP-ñ", location: "x" }), 400, /^cp_id: /],
      ["id path traversal", () => register({ cp_id: "../etc", location: "x" }), 400, /^cp_id: /],
      [
        "SQL in id",
        () => register({ cp_id: "x'; DROP TABLE charging_points;--", location: "x" }),
        400,
        /^cp_id: /,
      ],
      [
        "SQL in auth id",
        () => auth({ cp_id: "' OR '1'='1", credentials: "x", ecdh_public_key: ECDH }),
        400,
        /^cp_id: /,
      ],
      ["id as number", () => register({ cp_id: 12345, location: "x" }), 400, /^cp_id: /],
      [
        "location as array",
        () => register({ cp_id: "CP-1A", location: ["x"] }),
        400,
        /^location: /,
      ],
      ["empty location", () => register({ cp_id: "CP-1A", location: "" }), 400, /^location: /],
      [
        "control chars in location",
        () => register({ cp_id: "CP-1A", location: "a\u0000b" }),
        400,
        /^location: /,
      ],
      [
        "price as string",
        () => register({ cp_id: "CP-1A", location: "x", price_eur_kwh: "0.3" }),
        400,
        /^price_eur_kwh: /,
      ],
      [
        "negative power",
        () => register({ cp_id: "CP-1A", location: "x", power_kw: -1 }),
        400,
        /^power_kw: /,
      ],
      [
        "metadata as array",
        () => register({ cp_id: "CP-1A", location: "x", metadata: [1] }),
        400,
        /^metadata: /,
      ],
      [
        "nested metadata",
        () => register({ cp_id: "CP-1A", location: "x", metadata: { a: { b: 1 } } }),
        400,
        /^metadata\.a: /,
      ],
      ["missing cp_id", () => register({ location: "x" }), 400, /^cp_id: missing/],
      ["missing location", () => register({ cp_id: "CP-1A" }), 400, /^location: missing/],
      [
        "missing credentials",
        () => auth({ cp_id: "CP-OK", ecdh_public_key: ECDH }),
        400,
        /^credentials: missing/,
      ],
      [
        "missing ECDH key",
        () => auth({ cp_id: "CP-OK", credentials: "x" }),
        400,
        /^ecdh_public_key: missing/,
      ],
      [
        "ECDH key off the curve",
        () => auth({ cp_id: "CP-OK", credentials: "x", ecdh_public_key: { ...ECDH, y: ECDH.x } }),
        400,
        /^ecdh_public_key: .*curve/,
      ],
      [
        "ECDH private key sent",
        () => auth({ cp_id: "CP-OK", credentials: "x", ecdh_public_key: { ...ECDH, d: ECDH.x } }),
        400,
        /^ecdh_public_key: /,
      ],
      [
        "unknown field",
        () => register({ cp_id: "CP-1A", location: "x", status: "REGISTERED" }),
        400,
        /unknown field status/,
      ],
      [
        "credentials at register",
        () => register({ cp_id: "CP-1A", location: "x", credentials: "mine" }),
        400,
        /unknown field credentials/,
      ],
      [
        "unknown auth field",
        () => auth({ cp_id: "CP-OK", credentials: existing, ecdh_public_key: ECDH, admin: true }),
        400,
        /unknown field admin/,
      ],
      ["body is an array", () => register([{ cp_id: "CP-1A", location: "x" }]), 400, /^body: /],
      ["body is a string", () => register("CP-1A"), 400, /^body: /],
      ["body is null", () => auth(null), 400, /^body: /],
      [
        "invalid JSON",
        () => h.call("POST", "/cp/register", { raw: '{"cp_id": ', admin: ADMIN }),
        400,
        /not valid JSON/,
      ],
      [
        "invalid JSON on auth",
        () => h.call("POST", "/cp/authenticate", { raw: "cp_id=CP-OK" }),
        400,
        /not valid JSON/,
      ],
      [
        "empty JSON body",
        () => h.call("POST", "/cp/authenticate", { raw: "" }),
        400,
        /not valid JSON/,
      ],
      [
        "form body",
        () =>
          h.call("POST", "/cp/authenticate", {
            raw: "cp_id=x",
            headers: { "content-type": "text/plain" },
          }),
        415,
        /application\/json/,
      ],
      [
        "1 MiB body",
        () => h.call("POST", "/cp/register", { raw: "x".repeat(1024 * 1024), admin: ADMIN }),
        413,
        /bytes/,
      ],
      [
        "1 MiB of valid JSON",
        () => auth({ cp_id: "CP-OK", credentials: "c".repeat(1024 * 1024), ecdh_public_key: ECDH }),
        413,
        /bytes/,
      ],
      [
        "long credentials",
        () => auth({ cp_id: "CP-OK", credentials: "c".repeat(257), ecdh_public_key: ECDH }),
        400,
        /^credentials: /,
      ],
    ];
    for (const [name, send, status, detail] of cases) {
      const body = await expectError(await send(), status);
      assert.match(body.detail, detail, `${name}: ${body.detail}`);
    }
    // Nothing was written, nothing broke.
    assert.equal(h.store.list({ limit: 100, offset: 0 }).total, 1);
    const health = await h.call("GET", "/");
    assert.equal(health.status, 200);
    await health.body?.cancel();
    const ok = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-OK", credentials: existing, ecdh_public_key: ECDH },
    });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  });
});

Deno.test("bodies over 64 KiB are refused with 413 before parsing, even without Content-Length", async () => {
  await withHarness(async (h) => {
    let pulled = 0;
    const chunk = new TextEncoder().encode(" ".repeat(16 * 1024));
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += chunk.length;
        if (pulled > 10 * 1024 * 1024) controller.close();
        else controller.enqueue(chunk);
      },
    });
    const app = createRegistryApp({
      store: h.store,
      signingKey: h.key,
      adminKey: ADMIN,
      scrypt: FAST,
    });
    const res = await app.request(
      new Request("http://registry/cp/authenticate", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: stream,
      }),
    );
    await expectError(res, 413, "payload_too_large");
    assert.ok(pulled <= MAX_BODY_BYTES + 2 * chunk.length, `read ${pulled} bytes`);
    await stream.cancel().catch(() => {});
    const exact = await h.call("POST", "/cp/authenticate", { raw: " ".repeat(MAX_BODY_BYTES) });
    await expectError(exact, 400, "invalid_json"); // at the limit: parsed (and refused as JSON)
  });
});

Deno.test("unknown routes and methods are 404 with the error shape", async () => {
  await withHarness(async (h) => {
    await expectError(await h.call("GET", "/nope"), 404, "not_found");
    await expectError(await h.call("PATCH", "/cp/CP-001", { body: {} }), 404, "not_found");
    await expectError(await h.call("GET", "/cp/CP-001/extra"), 404, "not_found");
  });
});

Deno.test("responses carry security headers", async () => {
  await withHarness(async (h) => {
    const res = await h.call("GET", "/");
    await res.body?.cancel();
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.match(res.headers.get("strict-transport-security") ?? "", /max-age=/);
    assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'none'/);
  });
});

// ------------------------------------------------------------------------ secrets at rest

function includesBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

/** Reads the database and its -wal/-shm files (those that exist). */
async function databaseBytes(path: string): Promise<Uint8Array[]> {
  const files = [];
  for (const suffix of ["", "-wal", "-shm"]) {
    try {
      files.push(await Deno.readFile(path + suffix));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
  return files;
}

Deno.test("the database file and its WAL never hold a credential in clear", async () => {
  const dir = await Deno.makeTempDir();
  const dbPath = join(dir, "registry.db");
  try {
    const issued: string[] = [];
    await withHarness(async (h) => {
      for (const id of ["CP-001", "CP-002", "CP-003"]) issued.push(await h.register(id));
      const ok = await h.call("POST", "/cp/authenticate", {
        body: { cp_id: "CP-001", credentials: issued[0], ecdh_public_key: ECDH },
      });
      assert.equal(ok.status, 200);
      await ok.body?.cancel();
      const files = await databaseBytes(dbPath);
      assert.ok(files.length >= 2, "the -wal file exists while open");
      assert.ok(
        files.some((f) => includesBytes(f, new TextEncoder().encode("CP-002"))),
        "the scan sees data",
      );
      for (const credential of issued) {
        const raw = Uint8Array.from(
          atob(credential.replace(/-/g, "+").replace(/_/g, "/") + "="),
          (c) => c.charCodeAt(0),
        );
        for (const bytes of files) {
          assert.ok(
            !includesBytes(bytes, new TextEncoder().encode(credential)),
            "credential text found",
          );
          assert.ok(!includesBytes(bytes, raw), "credential bytes found");
        }
      }
    }, { dbPath });
    for (const bytes of await databaseBytes(dbPath)) {
      for (const credential of issued) {
        assert.ok(!includesBytes(bytes, new TextEncoder().encode(credential)));
      }
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("logs of register and authenticate hold no credential, token or admin key", async () => {
  const sink = memorySink();
  // The raw sink, without shared/log.ts redaction: the Registry must not even try to log them.
  await configure({
    reset: true,
    sinks: { memory: sink },
    loggers: [
      { category: ["evcharging"], lowestLevel: "trace", sinks: ["memory"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["memory"] },
    ],
  });
  const secrets: string[] = [ADMIN];
  try {
    await withHarness(async (h) => {
      const credentials = await h.register("CP-001");
      secrets.push(credentials);
      const res = await h.call("POST", "/cp/authenticate", {
        body: { cp_id: "CP-001", credentials, ecdh_public_key: ECDH },
      });
      const { token } = await res.json();
      secrets.push(token, token.split(".")[2]);
      await (await h.call("POST", "/cp/authenticate", {
        body: { cp_id: "CP-001", credentials: "wrong-guess", ecdh_public_key: ECDH },
      })).body
        ?.cancel();
      await (await h.call("DELETE", "/cp/CP-001", { admin: "wrong-admin-key-123" })).body?.cancel();
      await (await h.call("PUT", "/cp/CP-001", { body: { power_kw: 7 }, admin: ADMIN })).body
        ?.cancel();
      await (await h.call("DELETE", "/cp/CP-001", { admin: ADMIN })).body?.cancel();
      secrets.push("wrong-admin-key-123", "wrong-guess");
    });
  } finally {
    await reset();
  }
  const text = sink.records.map((r) =>
    `${r.message.map(String).join("")} ${JSON.stringify(r.properties)}`
  )
    .join("\n");
  for (
    const action of [
      "registered",
      "authenticated",
      "failed",
      "wrong admin key",
      "updated",
      "deregistered",
    ]
  ) {
    assert.ok(text.includes(action), `no log line for "${action}":\n${text}`);
  }
  for (const secret of secrets) {
    assert.ok(!text.includes(secret), `secret in logs: ${secret.slice(0, 8)}…`);
  }
  assert.ok(!text.includes("scrypt$"), "a hash in the logs");
});
