import assert from "node:assert/strict";
import { parsePromText, sampleValue } from "../shared/prom_text.ts";
import { memoryRuntime, testApp } from "./api_test_support.ts";
import { ConsumerLag } from "./consumer_lag.ts";
import { DEFAULT_CORE_CONFIG, EMPTY_MODEL } from "./core.ts";
import {
  CHARGE_S1,
  chargeInput,
  cpLogin,
  dispatch,
  T0,
  telemetryInput,
} from "./core_test_support.ts";
import { CentralMetrics } from "./metrics.ts";
import { CentralRuntime } from "./runtime.ts";
import { CentralStore } from "./store.ts";

const iso = (ms: number) => new Date(ms).toISOString();

/** A Central app with metrics, CP-1 charged once (4 kWh, 2 €) and CP-2 logged in then lost. */
function setup() {
  const { runtime } = memoryRuntime();
  const lag = new ConsumerLag();
  let streams = 0;
  const metrics = new CentralMetrics({ runtime, lag, sseClients: () => streams });
  runtime.subscribe((committed) => metrics.observe(committed));
  dispatch(runtime, cpLogin("CP-1", 1));
  dispatch(runtime, cpLogin("CP-2", 2));
  runtime.dispatch({ type: "login_failed", cpId: "CP-3", reason: "bad_token" }, T0);
  runtime.dispatch({ type: "disconnect", cpId: "CP-2", connection: 2 }, T0 + 10);
  dispatch(runtime, CHARGE_S1);
  dispatch(runtime, chargeInput("r2", { driverId: "D-2", cpId: "CP-2", sessionId: "S2" }));
  const reports: [string, Record<string, unknown>][] = [
    ["SUPPLY", { kw: 22 }],
    ["SUPPLY_END", { endReason: "unplugged" }],
  ];
  for (const [type, extra] of reports) {
    dispatch(
      runtime,
      telemetryInput({ type, sessionId: "S1", kwh: 4, eur: 2, ...extra }, T0 + 2000),
    );
  }
  runtime.dispatch({ type: "tick", lagMs: 250 }, T0 + 3000);
  runtime.drops.rejectedTelemetry += 3;
  runtime.drops.rejectedTelemetryByReason.bad_tag = 2;
  runtime.drops.rejectedTelemetryByReason.malformed = 1;
  lag.note("cp.telemetry", 0, 7);
  const app = testApp(runtime, { metrics });
  return { app, runtime, setStreams: (n: number) => streams = n };
}

Deno.test("metrics: GET /metrics shows the network's figures in strict Prometheus text", async () => {
  const { app, runtime, setStreams } = setup();
  setStreams(2);
  const res = await app.request("/metrics");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const m = parsePromText(await res.text());
  const v = (name: string, labels?: Record<string, string>) => sampleValue(m, name, labels);
  assert.equal(v("evcharging_cps", { state: "ACTIVATED" }), 1);
  assert.equal(v("evcharging_cps", { state: "DISCONNECTED" }), 1);
  assert.equal(v("evcharging_cps", { state: "BROKEN" }), 0);
  assert.equal(v("evcharging_cps_connected"), 1);
  assert.equal(v("evcharging_sessions_active"), 0);
  assert.equal(v("evcharging_sessions_completed_total"), 1);
  assert.equal(v("evcharging_energy_kwh_total"), 4);
  assert.equal(v("evcharging_revenue_eur_total"), 2);
  assert.equal(v("evcharging_telemetry_handled_total"), 2);
  assert.equal(v("evcharging_telemetry_rejected_total", { reason: "bad_tag" }), 2);
  assert.equal(v("evcharging_telemetry_rejected_total", { reason: "malformed" }), 1);
  assert.equal(v("evcharging_kafka_consumer_lag_messages", { topic: "cp.telemetry" }), 7);
  const pending = runtime.store.pendingCount();
  assert.ok(pending >= 3, "AUTHORIZED, DENIED and the TICKET wait at least");
  assert.equal(v("evcharging_outbox_pending"), pending);
  assert.equal(v("evcharging_logins_total", { outcome: "ok" }), 2);
  assert.equal(v("evcharging_logins_total", { outcome: "failed" }), 1);
  assert.equal(v("evcharging_login_failures_total", { reason: "bad_token" }), 1);
  assert.equal(v("evcharging_charge_requests_total", { outcome: "authorized" }), 1);
  assert.equal(v("evcharging_charge_requests_total", { outcome: "denied" }), 1);
  assert.equal(v("evcharging_sse_clients"), 2);
  assert.equal(v("evcharging_event_loop_lag_seconds"), 0.25);
});

Deno.test("metrics: requests are timed by route pattern, never by raw URL", async () => {
  const { app } = setup();
  await app.request("/cps/CP-1");
  await app.request("/cps/CP-2");
  await app.request("/cps/NOPE-9");
  await app.request("/no/such/path/1");
  await app.request("/no/such/path/2");
  await app.request("/cps/CP-1/stop", { method: "POST" }); // refused before its handler: 401
  const m = parsePromText(await (await app.request("/metrics")).text());
  const count = (labels: Record<string, string>) =>
    sampleValue(m, "evcharging_http_request_duration_seconds_count", labels);
  assert.equal(count({ method: "GET", route: "/cps/:id", status: "200" }), 2);
  assert.equal(count({ method: "GET", route: "/cps/:id", status: "404" }), 1);
  assert.equal(count({ method: "GET", route: "unmatched", status: "404" }), 2);
  assert.equal(count({ method: "POST", route: "/cps/:id/stop", status: "401" }), 1);
  assert.equal(
    sampleValue(m, "evcharging_http_requests_total", {
      method: "GET",
      route: "/cps/:id",
      status: "200",
    }),
    2,
  );
  const routes = new Set(
    m.get("evcharging_http_request_duration_seconds")!.samples.map((s) => s.labels.route),
  );
  assert.ok(
    ![...routes].some((r) => r.includes("CP-") || r.includes("/path/")),
    [...routes].join(),
  );
});

Deno.test("metrics: ticketed totals start from the database and count each ticket once", async () => {
  const store = CentralStore.open(":memory:");
  try {
    const ended = (id: string, kwh: number) => ({
      type: "save_session" as const,
      session: {
        id,
        cpId: "CP-1",
        driverId: "D-1",
        requestId: `r-${id}`,
        priceEurKwh: 0.5,
        powerKw: 22,
        startedAt: iso(T0),
        pluggedAt: null,
        endedAt: iso(T0 + 1000),
        kw: 0,
        kwh,
        eur: kwh / 2,
        endReason: "unplugged" as const,
        pendingEnd: null,
      },
    });
    store.commit([ended("S-old-1", 3), ended("S-old-2", 5)]);
    const runtime = new CentralRuntime(store, EMPTY_MODEL, DEFAULT_CORE_CONFIG);
    const metrics = new CentralMetrics({ runtime });
    const step = { input: { type: "tick" } as const, now: T0, model: EMPTY_MODEL };
    metrics.observe({ ...step, effects: [ended("S-new", 2)] });
    metrics.observe({ ...step, effects: [ended("S-new", 2)] }); // stored again: counted once
    const m = parsePromText(await metrics.registry.metrics());
    assert.equal(sampleValue(m, "evcharging_sessions_completed_total"), 3);
    assert.equal(sampleValue(m, "evcharging_energy_kwh_total"), 10);
    assert.equal(sampleValue(m, "evcharging_revenue_eur_total"), 5);
  } finally {
    store.close();
  }
});
