/**
 * `GET /metrics` of the three real services, read as Prometheus would read them: a real Kafka
 * broker, the Registry over TLS, Central with a monitor logged in over the framed protocol and a
 * forged telemetry record on Kafka, and the weather office (simulated provider) reporting to
 * Central. Every answer goes through the strict text parser of shared/prom_text.ts.
 */
// First: registry/schemas.ts needs @hono/zod-openapi loaded before shared/messages.ts.
import {
  MonitorStub,
  startTestCentral,
  startTestRegistry,
  waitFor,
} from "../central/test_support.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { exportEcdhPublicKey, generateEcdhKeyPair } from "../shared/cp_key.ts";
import { ecdhJwk } from "../shared/login_proof.ts";
import { parseConfig } from "../shared/config.ts";
import { createKafka, createProducer, ensureTopics, TOPICS } from "../shared/kafka.ts";
import { parsePromText, type PromFamily, sampleValue } from "../shared/prom_text.ts";
import { weatherConfig } from "../weather/config.ts";
import { startWeatherOffice } from "../weather/office.ts";
import { testBrokers, uniqueName } from "./kafka_env.ts";
import { runScenario } from "./scenario.ts";

async function scrape(url: string, client?: Deno.HttpClient): Promise<Map<string, PromFamily>> {
  const res = await fetch(`${url}/metrics`, client === undefined ? {} : { client });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parsePromText(await res.text());
}

/** What the scenario shares: the three services, the clients that act on them, the CP. */
interface Rig {
  readonly dir: string;
  readonly registry: Awaited<ReturnType<typeof startTestRegistry>>;
  readonly central: Awaited<ReturnType<typeof startTestCentral>>;
  readonly https: Deno.HttpClient;
  readonly kafka: ReturnType<typeof createKafka>;
  readonly producer: Awaited<ReturnType<typeof createProducer>>;
  readonly monitor: MonitorStub;
  readonly stranger: MonitorStub;
  readonly cpId: string;
  office?: Awaited<ReturnType<typeof startWeatherOffice>>;
}

async function startRig(): Promise<Rig> {
  const dir = await Deno.makeTempDir({ prefix: "metrics_" });
  const registry = await startTestRegistry(dir);
  const central = await startTestCentral(dir, registry, testBrokers(), {
    group: uniqueName("metrics"),
  });
  const https = Deno.createHttpClient({ caCerts: [registry.caCert] });
  const kafka = createKafka({ brokers: testBrokers(), clientId: "metrics-test" });
  const producer = await createProducer(kafka);
  const monitor = await MonitorStub.connect(central.tcpAddr, registry.caCert);
  const stranger = await MonitorStub.connect(central.tcpAddr, registry.caCert);
  return {
    dir,
    registry,
    central,
    https,
    kafka,
    producer,
    monitor,
    stranger,
    cpId: uniqueName("CP-M"),
  };
}

async function stopRig(rig: Rig): Promise<void> {
  await rig.office?.stop();
  await rig.stranger.close().catch(() => {});
  await rig.monitor.close().catch(() => {});
  await rig.producer.disconnect();
  rig.https.close();
  await rig.central.stop();
  await rig.registry.close();
  await Deno.remove(rig.dir, { recursive: true });
}

/**
 * What the counters count: a login, a refused one, a refused authentication at the Registry, a
 * forged telemetry record and one REST read.
 */
async function actOnCentral({ registry, central, monitor, stranger, kafka, producer, cpId }: Rig) {
  const token = await registry.registerCp(cpId);
  assert.equal((await monitor.login(cpId, token)).answer?.type, "AUTH_OK");
  monitor.keepAlive(300);
  assert.equal(
    (await stranger.login(cpId, { ...token, token: `${token.token}x` })).answer?.type,
    "AUTH_FAIL",
  );
  await assert.rejects(
    registry.client.authenticate(
      cpId,
      "x".repeat(43),
      ecdhJwk(await exportEcdhPublicKey((await generateEcdhKeyPair()).publicKey)),
    ),
  );
  await ensureTopics(kafka);
  await producer.send(TOPICS.cpTelemetry, cpId, { not: "an envelope" });
  await fetch(`${central.httpUrl}/cps/${cpId}`).then((r) => r.body?.cancel());
}

/** The weather office (simulated provider) watching the CP and reporting to Central. */
async function startOffice(rig: Rig) {
  const locations = join(rig.dir, "weather_locations.json");
  // Valencia: its simulated temperature never drops below 11 °C, so the CP is never held by a
  // cold night (Madrid's dips below 0 °C around 03:00 UTC and stopped the CP then).
  await Deno.writeTextFile(locations, JSON.stringify({ [rig.cpId]: "Valencia" }));
  rig.office = await startWeatherOffice(
    parseConfig(weatherConfig, [
      "--port=0",
      "--host=127.0.0.1",
      "--interval=100ms",
      `--central=${rig.central.httpUrl}`,
      `--locations=${locations}`,
      `--service-key-file=${join(rig.dir, "central", "weather_service.key")}`,
    ], {}),
    { debounceMs: 30 },
  );
}

/** Central: waits for the forged record's batch to be done, then reads everything in one scrape. */
async function centralCounts({ central, cpId }: Rig) {
  // The topic is shared with other tests: wait for the audit of this record, then its batch.
  await waitFor("the forged record rejected", async () => {
    const page = await (await fetch(`${central.httpUrl}/audit?action=telemetry.reject`)).json();
    return page.items.some((r: { params: { cpId?: string } }) => r.params.cpId === cpId);
  }, 30_000);
  await waitFor("the forged record's batch handled", async () => {
    const m = await scrape(central.httpUrl);
    return sampleValue(m, "evcharging_kafka_consumer_lag_messages", {
      topic: TOPICS.cpTelemetry,
    }) !== undefined;
  }, 30_000);
  const c = await scrape(central.httpUrl);
  const cv = (name: string, labels?: Record<string, string>) => sampleValue(c, name, labels);
  assert.equal(cv("evcharging_cps", { state: "ACTIVATED" }), 1);
  assert.equal(cv("evcharging_cps", { state: "BROKEN" }), 0);
  assert.equal(cv("evcharging_sessions_active"), 0);
  assert.equal(cv("evcharging_sessions_completed_total"), 0);
  assert.equal(cv("evcharging_energy_kwh_total"), 0);
  assert.equal(cv("evcharging_revenue_eur_total"), 0);
  assert.equal(cv("evcharging_logins_total", { outcome: "ok" }), 1);
  assert.equal(cv("evcharging_logins_total", { outcome: "failed" }), 1);
  assert.equal(cv("evcharging_login_failures_total", { reason: "bad_token" }), 1);
  // The topic is shared with other tests on this broker, and Central reads it from the start.
  assert.ok((cv("evcharging_telemetry_rejected_total", { reason: "malformed" }) ?? 0) >= 1);
  assert.ok(
    (cv("evcharging_kafka_consumer_lag_messages", { topic: TOPICS.cpTelemetry }) ?? -1) >= 0,
  );
  assert.ok((cv("evcharging_outbox_pending") ?? -1) >= 0);
  assert.equal(cv("evcharging_sse_clients"), 0);
  const loopLag = cv("evcharging_event_loop_lag_seconds") ?? -1;
  assert.ok(loopLag >= 0 && loopLag < 60, `loop lag ${loopLag}`);
  assert.equal(
    cv("evcharging_http_request_duration_seconds_count", {
      method: "GET",
      route: "/cps/:id",
      status: "200",
    }),
    1,
  );
}

/** The Registry: the CP's authentication, the wrong one, and the hashing queue. */
async function registryCounts({ registry, https }: Rig) {
  const r = await scrape(registry.server.url, https);
  const rv = (name: string, labels?: Record<string, string>) => sampleValue(r, name, labels);
  assert.equal(rv("registry_authentications_total", { outcome: "ok" }), 1);
  assert.equal(rv("registry_authentications_total", { outcome: "failed" }), 1);
  assert.equal(rv("registry_authentications_total", { outcome: "throttled" }), 0);
  assert.equal(rv("registry_hashing_queue_depth"), 0);
  assert.equal(
    rv("registry_http_requests_total", { method: "POST", route: "/cp/register", status: "201" }),
    1,
  );
}

/** The weather office: a report read, the CP watched, its clear delivered to Central. */
async function officeCounts({ office }: Rig) {
  assert.ok(office !== undefined, "the office runs");
  const officeUrl = office.url;
  await waitFor("the office's clear delivered", async () => {
    const m = await scrape(officeUrl);
    return (sampleValue(m, "weather_alerts_sent_total", {
          status: "clear",
          outcome: "delivered",
        }) ?? 0) >= 1 || (sampleValue(m, "weather_alerts_sent_total", {
            status: "alert",
            outcome: "delivered",
          }) ?? 0) >= 1;
  }, 15_000);
  const w = await scrape(officeUrl);
  assert.ok((sampleValue(w, "weather_reports_total") ?? 0) >= 1);
  assert.equal(sampleValue(w, "weather_cps_watched"), 1);
  assert.ok(w.has("weather_provider_errors_total"));
}

Deno.test("metrics: Central, the Registry and the weather office serve strict Prometheus text", async (t) => {
  const rig = await startRig();
  try {
    await runScenario(t, rig, [
      ["a login, a refused login and authentication, a forged record, a read", actOnCentral],
      ["the weather office watches the CP", startOffice],
      ["Central counts logins, the forged record, its CPs and its requests", centralCounts],
      ["the Registry counts authentications and its hashing queue", registryCounts],
      ["the weather office counts its reports and deliveries", officeCounts],
    ]);
  } finally {
    await stopRig(rig);
  }
});
