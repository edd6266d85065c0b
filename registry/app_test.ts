/**
 * The Registry's REST app in-process: its open endpoints, registration, the admin key, reads,
 * updates and deregistration, the answers' shape and headers, and secrets kept out of its
 * database and logs. Authentication is in `app_authenticate_test.ts`, bad input in
 * `app_input_test.ts`.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { configure, reset } from "@logtape/logtape";
import { memorySink } from "../shared/log.ts";
import { REGISTRY_VERSION } from "./app.ts";
import { ADMIN, ECDH, expectError, T0, withHarness } from "./test_support.ts";
import { withTempDir } from "../shared/temp_dir.ts";

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
      "detail_code",
      "detail_params",
      "error",
      "timestamp",
    ]);
    assert.deepEqual(doc.components.schemas.Error.required.sort(), [
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

// ------------------------------------------------------------------------------ answers

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
  await withTempDir(async (dir) => {
    const dbPath = join(dir, "registry.db");
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
  });
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
