import assert from "node:assert/strict";
import { noticeText } from "../shared/notices.ts";
import { EMPTY_MODEL } from "./core.ts";
import {
  FETCH_STALE_MS,
  type HealthFacts,
  statusSignature,
  systemStatus,
} from "./system_health.ts";

const T0 = Date.parse("2025-03-01T10:00:00.000Z");
const FACTS: HealthFacts = {
  producerConnected: true,
  lastFetchMs: { requests: T0, telemetry: T0 },
  outboxPending: 0,
  registryOkMs: T0,
  registryErrorMs: null,
  registryError: null,
  model: EMPTY_MODEL,
};

Deno.test("system health: Kafka is ok while the producer is connected and consumers fetch", () => {
  assert.equal(systemStatus(FACTS, T0 + 1000).kafka.status, "ok");
  const stale = systemStatus(FACTS, T0 + FETCH_STALE_MS + 1);
  assert.equal(stale.kafka.status, "down");
  assert.match(stale.kafka.detail, /requests, telemetry/);
  assert.equal(systemStatus({ ...FACTS, producerConnected: false }, T0).kafka.status, "down");
});

Deno.test("system health: the Registry is what its latest status call said", () => {
  assert.equal(systemStatus(FACTS, T0).registry.status, "ok");
  const down = systemStatus(
    { ...FACTS, registryErrorMs: T0 + 5, registryError: "cannot reach it" },
    T0 + 10,
  );
  assert.deepEqual([down.registry.status, down.registry.detail], [
    "down",
    "status call failed: cannot reach it",
  ]);
  const none = { ...FACTS, registryOkMs: null };
  assert.equal(systemStatus(none, T0).registry.status, "unknown");
});

Deno.test("system health: the weather office shows its last report and alerts, never stale", () => {
  assert.equal(systemStatus(FACTS, T0).weather.status, "unknown");
  const report = (cpId: string, status: "alert" | "clear", updatedAt: string) => ({
    cpId,
    city: "Oslo",
    temperatureC: -2,
    status,
    since: updatedAt,
    updatedAt,
  });
  const model = {
    ...EMPTY_MODEL,
    weather: new Map([
      ["A", report("A", "alert", "2025-03-01T09:00:00.000Z")],
      ["B", report("B", "clear", "2025-03-01T09:30:00.000Z")],
    ]),
  };
  const weather = systemStatus({ ...FACTS, model }, T0 + 86_400_000).weather;
  assert.deepEqual([weather.status, weather.last_report_at, weather.alerts], [
    "ok",
    "2025-03-01T09:30:00.000Z",
    1,
  ]);
});

Deno.test("system health: the signature ignores fetch times, so they send no event", () => {
  const a = systemStatus(FACTS, T0);
  const b = systemStatus(
    { ...FACTS, lastFetchMs: { requests: T0 + 500, telemetry: T0 + 700 } },
    T0,
  );
  assert.equal(statusSignature(a), statusSignature(b));
  assert.notEqual(
    statusSignature(a),
    statusSignature(systemStatus({ ...FACTS, outboxPending: 3 }, T0)),
  );
});

Deno.test("system health: each part's reason is a code with parameters, English kept as detail", () => {
  const stale = systemStatus(FACTS, T0 + FETCH_STALE_MS + 1).kafka;
  assert.equal(stale.detail_code, "kafka_stalled");
  assert.deepEqual(stale.detail_params, { seconds: 15, consumers: "requests, telemetry" });
  assert.equal(noticeText(stale, "es"), "sin lecturas desde hace 15 s: requests, telemetry");
  const waiting = (n: number) => systemStatus({ ...FACTS, outboxPending: n }, T0).kafka;
  assert.equal(waiting(1).detail, "1 message waiting to be sent");
  assert.equal(waiting(1200).detail, "1200 messages waiting to be sent");
  assert.equal(noticeText(waiting(1), "es"), "1 mensaje esperando su envío");
  assert.equal(noticeText(waiting(1200), "es"), "1200 mensajes esperando su envío");
  const never = systemStatus(FACTS, T0);
  assert.equal(noticeText(never.registry_feed, "es"), "aún sin seguir");
  assert.equal(never.registry_feed.detail, "not followed yet");
  assert.equal(noticeText(never.weather, "es"), "aún sin informe");
});
