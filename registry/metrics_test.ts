import assert from "node:assert/strict";
import { exportEcdhPublicKey, generateEcdhKeyPair } from "../shared/cp_key.ts";
import { ecdhJwk } from "../shared/login_proof.ts";
import { parsePromText, sampleValue } from "../shared/prom_text.ts";
import { createRegistryApp } from "./app.ts";
import { authOutcome, RegistryMetrics } from "./metrics.ts";
import { AuthGuard } from "./rate_limit.ts";
import { RegistryStore } from "./store.ts";
import { generateSigningKey } from "./tokens.ts";

const ADMIN = "test-admin-key-0123456789";
/** The public ECDH key a monitor would send; its tokens are bound to it. */
const ECDH = ecdhJwk(await exportEcdhPublicKey((await generateEcdhKeyPair()).publicKey));

Deno.test("registry metrics: authentications by outcome, requests by route, hashing queue", async () => {
  const store = RegistryStore.open(":memory:");
  try {
    const { key } = await generateSigningKey();
    const metrics = new RegistryMetrics(
      () => ({ running: 1, waiting: 4 }),
      () => ({ running: 3, waiting: 7 }),
    );
    const app = createRegistryApp({
      store,
      signingKey: key,
      adminKey: ADMIN,
      scrypt: { N: 1024, r: 8, p: 1 },
      guard: new AuthGuard({ perCpLimit: 2, perIpLimit: 50, windowMs: 60_000 }),
      metrics,
    });
    const env = { remoteAddr: { transport: "tcp" as const, hostname: "10.0.0.1", port: 1 } };
    const post = (path: string, body: unknown, admin = false) =>
      app.request(path, {
        method: "POST",
        headers: { "content-type": "application/json", ...(admin ? { "x-admin-key": ADMIN } : {}) },
        body: JSON.stringify(body),
      }, env);
    const registered = await post("/cp/register", { cp_id: "CP-001", location: "Madrid" }, true);
    assert.equal(registered.status, 201);
    const { credentials } = await registered.json();
    assert.equal(
      (await post("/cp/authenticate", { cp_id: "CP-001", credentials, ecdh_public_key: ECDH }))
        .status,
      200,
    );
    for (const expected of [401, 401, 429]) {
      const res = await post("/cp/authenticate", {
        cp_id: "CP-001",
        credentials: "x".repeat(43),
        ecdh_public_key: ECDH,
      });
      assert.equal(res.status, expected);
    }
    await app.request("/cp/CP-001", {}, env);
    await app.request("/cp/CP-404", {}, env);

    const res = await app.request("/metrics", {}, env);
    assert.equal(res.status, 200);
    const m = parsePromText(await res.text());
    const v = (name: string, labels?: Record<string, string>) => sampleValue(m, name, labels);
    assert.equal(v("registry_authentications_total", { outcome: "ok" }), 1);
    assert.equal(v("registry_authentications_total", { outcome: "failed" }), 2);
    assert.equal(v("registry_authentications_total", { outcome: "throttled" }), 1);
    assert.equal(v("registry_hashing_queue_depth"), 4);
    assert.equal(v("registry_hashing_running"), 1);
    assert.equal(v("registry_authentications_running"), 3);
    assert.equal(v("registry_authentications_waiting"), 7);
    const req = (route: string, status: string, method = "GET") =>
      v("registry_http_requests_total", { method, route, status });
    assert.equal(req("/cp/:id", "200"), 1);
    assert.equal(req("/cp/:id", "404"), 1);
    assert.equal(req("/cp/authenticate", "401", "POST"), 2);
    assert.equal(req("/cp/register", "201", "POST"), 1);
  } finally {
    store.close();
  }
});

Deno.test("registry metrics: an authentication's outcome comes from its status", () => {
  assert.deepEqual(
    [200, 401, 429, 403, 503, 400, 413, 500].map(authOutcome),
    ["ok", "failed", "throttled", "refused", "unavailable", "invalid", "invalid", "error"],
  );
});
