import assert from "node:assert/strict";
import { memoryRuntime, testApp } from "./api_test_support.ts";
import { notice } from "../shared/notices.ts";
import { type HealthFacts, systemStatus } from "./system_health.ts";

const NOW = Date.parse("2026-01-01T10:00:00Z");

function setup() {
  const { store, runtime } = memoryRuntime();
  let facts: Omit<HealthFacts, "model"> = {
    producerConnected: true,
    lastFetchMs: { requests: NOW, telemetry: NOW },
    outboxPending: 0,
    registryOkMs: NOW,
    registryErrorMs: null,
    registryError: null,
    registryFeed: { status: "ok", ...notice("feed_ok"), appliedSeq: 0, lastOkMs: NOW },
  };
  const app = testApp(runtime, {
    now: () => new Date(NOW),
    status: () => systemStatus({ ...facts, model: runtime.model }, NOW),
  });
  return {
    app,
    store,
    set: (over: Partial<typeof facts>) => facts = { ...facts, ...over },
  };
}

Deno.test("api health: ready, live and /health answer 200 when every part is ok", async () => {
  const { app, store } = setup();
  try {
    for (const path of ["/health", "/health/ready", "/health/live"]) {
      const res = await app.request(path);
      assert.equal(res.status, 200, path);
      const body = await res.json();
      assert.equal(body.status, "ok", path);
      assert.equal(body.service, "central");
    }
    const health = await (await app.request("/health")).json();
    assert.deepEqual(health.failing, []);
    assert.equal(health.checks.database.status, "ok");
    assert.equal(health.cps, 0, "the counters /health always had are still there");
    assert.equal(health.outbox_pending, 0);
  } finally {
    store.close();
  }
});

Deno.test("api health: a Registry that stopped answering makes ready and /health 503, live stays 200", async () => {
  const { app, set, store } = setup();
  try {
    set({ registryErrorMs: NOW + 1, registryError: "connection refused" });
    for (const path of ["/health", "/health/ready"]) {
      const res = await app.request(path);
      assert.equal(res.status, 503, path);
      const body = await res.json();
      assert.equal(body.status, "unavailable");
      assert.deepEqual(body.failing, ["registry"]);
      assert.deepEqual(body.checks.registry, {
        status: "down",
        detail: "status call failed: connection refused",
        detail_code: "registry_error",
        detail_params: { error: "connection refused" },
      });
    }
    assert.equal((await app.request("/health/live")).status, 200);
    set({ producerConnected: false });
    assert.deepEqual((await (await app.request("/health/ready")).json()).failing, [
      "kafka",
      "registry",
    ]);
  } finally {
    store.close();
  }
});

Deno.test("api health: a change feed Central cannot read is named registry_feed, with why", async () => {
  const { app, set, store } = setup();
  try {
    set({
      registryFeed: {
        status: "down",
        ...notice("feed_refused"),
        appliedSeq: 7,
        lastOkMs: null,
      },
    });
    const res = await app.request("/health/ready");
    assert.equal(res.status, 503);
    const body = await res.json();
    assert.deepEqual(body.failing, ["registry_feed"]);
    assert.equal(body.checks.registry_feed.status, "down");
    assert.match(body.checks.registry_feed.detail, /refused the change feed key/);
    assert.equal(body.checks.registry_feed.detail_code, "feed_refused");
    assert.equal(body.checks.registry.status, "ok", "the Registry itself still answers");
  } finally {
    store.close();
  }
});

Deno.test("api health: a database that cannot answer is named", async () => {
  const { app, store } = setup();
  store.close();
  const res = await app.request("/health/ready");
  assert.equal(res.status, 503);
  const body = await res.json();
  assert.deepEqual(body.failing, ["database"]);
  assert.equal(body.checks.database.status, "down");
  assert.equal((await app.request("/health/live")).status, 200);
  const health = await app.request("/health");
  assert.equal(health.status, 503);
  assert.equal((await health.json()).outbox_pending, -1);
});
