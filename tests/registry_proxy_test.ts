/**
 * Central's CP manager (`POST /registry/cps`, `POST /registry/cps/{id}/deregister`) in front
 * of a real Registry over HTTPS with a development CA and a real SQLite file:
 *
 * - strangers' failed authentications make the Registry throttle 127.0.0.1, the address Central
 *   shares with them: Central's management calls (admin key) still go through;
 * - the Registry's full hashing queue (503) and its throttle of a wrong admin key (429) come back
 *   as 503 and 429 with `Retry-After`, an unreachable Registry as 503 with `Retry-After`;
 * - the register answer, which carries credentials, is `Cache-Control: no-store`.
 */
import assert from "node:assert/strict";
import { EventStreams } from "../central/api_dashboard.ts";
import { ADMIN_TOKEN, freshFacts, memoryRuntime, testApp } from "../central/api_test_support.ts";
import { LiveFeed } from "../central/live_feed.ts";
import { systemStatus } from "../central/system_health.ts";
import { TEST_REGISTRY_ADMIN_KEY, waitFor, withTestRegistry } from "../central/test_support.ts";
import { createRegistryClient } from "../registry/client.ts";
import { createHashQueue } from "../registry/credentials.ts";
import { AuthGuard } from "../registry/rate_limit.ts";

/**
 * Runs `test` against Central's app (in process, over an in-memory store) in front of a real
 * Registry whose brute-force guard and one-place hashing queue are the test's; Central calls the
 * Registry with `centralRegistryKey` (default: the right admin key).
 */
function withCentralAndRegistry(
  test: (t: {
    post: (path: string, body?: unknown) => Promise<Response>;
    registryUrl: string;
    queue: ReturnType<typeof createHashQueue>;
    stopRegistry: () => Promise<void>;
    ca: string;
  }) => Promise<void>,
  options: { centralRegistryKey?: string } = {},
): Promise<void> {
  const queue = createHashQueue(1);
  const guard = new AuthGuard({ perIpLimit: 20, wrongKeyLimit: 3 });
  return withTestRegistry("registry_proxy_", async (_dir, registry) => {
    // The Registry hashes a dummy credential at start; the tests count on an idle queue.
    await waitFor("the Registry's first hash", () => queue.running === 0);
    const client = await createRegistryClient({
      url: registry.server.url,
      caCert: registry.caCert,
      adminKey: options.centralRegistryKey ?? TEST_REGISTRY_ADMIN_KEY,
    });
    const { store, runtime } = memoryRuntime();
    const streams = new EventStreams();
    const app = testApp(runtime, {
      dashboard: {
        feed: new LiveFeed({ boot: "b" }),
        streams,
        status: () => systemStatus(freshFacts(runtime.model), Date.now()),
        web: () => Promise.resolve({ html: "", js: "", css: "" }),
        registry: client,
        registryAdmin: true,
      },
    });
    const post = (path: string, body?: unknown) =>
      Promise.resolve(app.request(path, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      }, { remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 50000 } }));
    try {
      await test({
        post,
        registryUrl: registry.server.url,
        queue,
        ca: registry.caCert,
        stopRegistry: () => registry.close(),
      });
    } finally {
      streams.closeAll();
      store.close();
      client.close();
    }
  }, { guard, hashQueue: queue });
}

/** A public ECDH key for the authenticate body (the token is bound to it). */
const KEY = await crypto.subtle.exportKey(
  "jwk",
  (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]))
    .publicKey,
).then(({ kty, crv, x, y }) => ({ kty, crv, x, y }));

Deno.test("CP manager: strangers throttled on Central's address do not throttle Central; the register answer is no-store", async () => {
  await withCentralAndRegistry(async ({ post, registryUrl, ca }) => {
    // A fuzzer on Central's machine: bad authentications until the Registry throttles 127.0.0.1.
    using http = Deno.createHttpClient({ caCerts: [ca] });
    let status = 0;
    for (let i = 0; i < 30 && status !== 429; i++) {
      const res = await fetch(`${registryUrl}/cp/authenticate`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ cp_id: `CP-FUZZ-${i}`, credentials: "x", ecdh_public_key: KEY }),
        client: http,
      });
      status = res.status;
      await res.body?.cancel();
    }
    assert.equal(status, 429, "the Registry throttles 127.0.0.1 now");

    const registered = await post("/registry/cps", { cp_id: "CP-PROXY-1", location: "Lab" });
    assert.equal(registered.status, 201, await registered.clone().text());
    assert.equal(registered.headers.get("cache-control"), "no-store");
    assert.match((await registered.json()).credentials, /^[A-Za-z0-9_-]{43}$/);
    const deregistered = await post("/registry/cps/CP-PROXY-1/deregister");
    assert.equal(deregistered.status, 200, await deregistered.clone().text());
    assert.equal((await deregistered.json()).status, "DEREGISTERED");
  });
});

Deno.test("CP manager: the Registry's full hashing queue is a 503 with Retry-After, not a 502", async () => {
  await withCentralAndRegistry(async ({ post, queue }) => {
    const gate = Promise.withResolvers<void>();
    const running = queue.run(() => gate.promise);
    const queued = queue.run(() => Promise.resolve()); // the one waiting place is taken
    await waitFor("the queue to fill", () => queue.waiting === 1);
    const busy = await post("/registry/cps", { cp_id: "CP-PROXY-2", location: "Lab" });
    assert.equal(busy.status, 503);
    assert.equal(busy.headers.get("retry-after"), "2", "the Registry's Retry-After, passed on");
    const body = await busy.json();
    assert.deepEqual(Object.keys(body).sort(), [
      "detail",
      "detail_code",
      "detail_params",
      "error",
      "timestamp",
    ]);
    assert.equal(body.error, "registry_busy");
    assert.equal(body.detail_code, "registry_busy", "a code the dashboard translates");
    gate.resolve();
    await Promise.all([running, queued]);
    const later = await post("/registry/cps", { cp_id: "CP-PROXY-2", location: "Lab" });
    assert.equal(later.status, 201, "and once there is room, it registers");
    await later.body?.cancel();
  });
});

Deno.test("CP manager: the Registry throttling a wrong admin key is a 429 with Retry-After; an unreachable Registry a 503", async () => {
  await withCentralAndRegistry(async ({ post, stopRegistry }) => {
    const statuses: number[] = [];
    let throttled: Response | undefined;
    for (let i = 0; i < 4; i++) {
      const res = await post("/registry/cps/CP-X/deregister");
      statuses.push(res.status);
      if (res.status === 429) throttled = res;
      else await res.body?.cancel();
    }
    assert.deepEqual(statuses, [502, 502, 502, 429]);
    assert.ok(Number(throttled!.headers.get("retry-after")) >= 1);
    assert.equal((await throttled!.json()).error, "registry_rate_limited");

    await stopRegistry();
    const down = await post("/registry/cps", { cp_id: "CP-PROXY-3", location: "Lab" });
    assert.equal(down.status, 503);
    assert.equal(down.headers.get("retry-after"), "5");
    assert.equal((await down.json()).error, "registry_unavailable");
  }, { centralRegistryKey: "not-the-registry-admin-key-0123456789" });
});
