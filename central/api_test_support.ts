/**
 * What the tests of Central's runtime and REST app share (central/api_*_test.ts, the metrics
 * and dashboard ones): a runtime over an in-memory store, the app with the tests' tokens, and
 * the health facts of a Central just up. Not used by Central itself.
 *
 * @module
 */
import { type CentralApiDeps, createCentralApp } from "./api.ts";
import { DEFAULT_CORE_CONFIG, EMPTY_MODEL, type Model } from "./core.ts";
import { CentralRuntime } from "./runtime.ts";
import { CentralStore } from "./store.ts";
import type { HealthFacts } from "./system_health.ts";

/** The admin's bearer token in these tests. */
export const ADMIN_TOKEN = "test-admin-token-0123456789";

/** The weather office's service key in these tests. */
export const WEATHER_KEY = "test-weather-service-key-0123456789";

/** A runtime over an in-memory store, which disposing closes. */
export function memoryRuntime() {
  const store = CentralStore.open(":memory:");
  const runtime = new CentralRuntime(store, EMPTY_MODEL, DEFAULT_CORE_CONFIG);
  return { store, runtime, [Symbol.dispose]: () => store.close() };
}

/** Central's app over `runtime` with the tests' admin token and weather key; `deps` adds more. */
export function testApp(runtime: CentralRuntime, deps: Partial<CentralApiDeps> = {}) {
  return createCentralApp({
    runtime,
    adminToken: ADMIN_TOKEN,
    weatherServiceKey: WEATHER_KEY,
    ...deps,
  });
}

/** The health facts of a Central just up: Kafka connected, nothing fetched, the Registry not yet asked. */
export const freshFacts = (model: Model): HealthFacts => ({
  producerConnected: true,
  lastFetchMs: {},
  outboxPending: 0,
  registryOkMs: null,
  registryErrorMs: null,
  registryError: null,
  model,
});
