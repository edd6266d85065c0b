/**
 * Central's readiness against real failures: the Registry runs as its own process
 * (`registry/main.ts` over TLS with a development CA), Central beside it on a real Kafka broker.
 * Killing the Registry process makes `GET /health/ready` and `GET /health` answer 503 naming
 * the Registry and its change feed (deregistrations no longer reach Central) while
 * `GET /health/live` stays 200; starting it again on the same port makes Central ready again.
 * Stopping Central's own Kafka broker makes readiness name Kafka, until the broker is back.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startCentral } from "../central/central.ts";
import { waitFor } from "../central/test_support.ts";
import { createDevCertificates } from "../infra/dev_ca.ts";
import { startLocalKafka } from "../infra/local_kafka.ts";
import { freePort } from "../shared/ports.ts";
import { testBrokers, uniqueName } from "./kafka_env.ts";

const ADMIN_KEY = "health-test-registry-admin-key-0123456789";
const FEED_KEY = "health-test-registry-feed-key-0123456789";

/** `registry/main.ts` as a child process on `port`. */
function spawnRegistry(dir: string, port: number): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(import.meta.dirname!, "..", "registry", "main.ts"),
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
      "--db",
      join(dir, "registry.db"),
      "--cert",
      join(dir, "server.pem"),
      "--key",
      join(dir, "server.key"),
    ],
    env: { REGISTRY_ADMIN_KEY: ADMIN_KEY, REGISTRY_FEED_KEY: FEED_KEY },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

type Certificates = Awaited<ReturnType<typeof createDevCertificates>>;

/** A temporary folder with the Registry's certificate and key, and a free port for it. */
async function prepare(
  prefix: string,
): Promise<{ dir: string; certs: Certificates; port: number }> {
  const dir = await Deno.makeTempDir({ prefix });
  const certs = await createDevCertificates();
  await Deno.writeTextFile(join(dir, "server.pem"), certs.server.cert);
  await Deno.writeTextFile(join(dir, "server.key"), certs.server.key, { mode: 0o600 });
  return { dir, certs, port: freePort() };
}

/** Central in this process on `brokers`, probing the Registry on `port` every 200 ms. */
async function centralOn(dir: string, certs: Certificates, port: number, brokers: string[]) {
  const central = await startCentral({
    dbPath: join(dir, "central", "central.db"),
    brokers,
    registryUrl: `https://127.0.0.1:${port}`,
    caCert: certs.ca.cert,
    tls: certs.server,
    hostname: "127.0.0.1",
    tcpPort: 0,
    httpPort: 0,
    masterKey: "",
    adminToken: "test-central-admin-token-0123456789",
    group: uniqueName("health"),
    registryFeedKey: FEED_KEY,
    registryProbeMs: 200,
  });
  const get = async (path: string) => {
    const res = await fetch(`${central.httpUrl}${path}`);
    return { status: res.status, body: await res.json() };
  };
  return { central, get };
}

Deno.test("health: Central's readiness names the Registry while its process is down, and recovers", async () => {
  const { dir, certs, port } = await prepare("health_");
  let registry = spawnRegistry(dir, port);
  const { central, get } = await centralOn(dir, certs, port, testBrokers());
  try {
    await waitFor("Central ready", async () => (await get("/health/ready")).status === 200, 30_000);
    const ready = await get("/health");
    assert.equal(ready.status, 200);
    assert.equal(ready.body.status, "ok");
    assert.deepEqual(ready.body.failing, []);
    assert.equal(ready.body.checks.registry.status, "ok");
    assert.equal(ready.body.checks.registry_feed.status, "ok");

    registry.kill("SIGTERM");
    await registry.status;
    await waitFor(
      "readiness to name the Registry and its change feed",
      async () => (await get("/health/ready")).body.failing.length === 2,
      30_000,
    );
    const down = await get("/health/ready");
    assert.equal(down.status, 503);
    assert.equal(down.body.status, "unavailable");
    assert.deepEqual(down.body.failing, ["registry", "registry_feed"]);
    assert.equal(down.body.checks.registry.status, "down");
    assert.match(down.body.checks.registry_feed.detail, /change feed cannot be read/);
    assert.equal(down.body.checks.kafka.status, "ok");
    assert.equal(down.body.checks.database.status, "ok");
    const health = await get("/health");
    assert.equal(health.status, 503);
    assert.deepEqual(health.body.failing, ["registry", "registry_feed"]);
    assert.equal(typeof health.body.outbox_pending, "number");
    const live = await get("/health/live");
    assert.equal(live.status, 200);
    assert.equal(live.body.status, "ok");

    registry = spawnRegistry(dir, port);
    await waitFor(
      "Central ready again",
      async () => (await get("/health/ready")).status === 200,
      30_000,
    );
    assert.deepEqual((await get("/health")).body.failing, []);
  } finally {
    await central.stop();
    try {
      registry.kill("SIGTERM");
    } catch {
      // already gone
    }
    await registry.status;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("health: Central's readiness names Kafka while its broker is stopped, and recovers", async () => {
  const { dir, certs, port } = await prepare("health_kafka_");
  const registry = spawnRegistry(dir, port);
  // Its own broker, on the same ports after the restart as a real broker keeps its address.
  const broker = {
    port: freePort(),
    controllerPort: freePort(),
    dataDir: join(dir, "kafka"),
    kafkaBrokers: "",
    log: () => {},
  };
  let kafka = await startLocalKafka(broker);
  const { central, get } = await centralOn(dir, certs, port, kafka.brokers);
  try {
    await waitFor("Central ready", async () => (await get("/health/ready")).status === 200, 60_000);

    await kafka.stop();
    // Consumers count as stalled after 15 s without a fetch; the producer may notice sooner.
    await waitFor(
      "readiness to name Kafka",
      async () => (await get("/health/ready")).body.failing.includes("kafka"),
      60_000,
    );
    const down = await get("/health/ready");
    assert.equal(down.status, 503);
    assert.equal(down.body.status, "unavailable");
    assert.deepEqual(down.body.failing, ["kafka"]);
    assert.equal(down.body.checks.kafka.status, "down");
    assert.equal(down.body.checks.database.status, "ok");
    assert.equal((await get("/health")).status, 503);
    assert.equal((await get("/health/live")).status, 200);

    kafka = await startLocalKafka(broker);
    await waitFor(
      "Central ready again",
      async () => (await get("/health/ready")).status === 200,
      90_000,
    );
    assert.deepEqual((await get("/health")).body.failing, []);
  } finally {
    await central.stop();
    await kafka.stop();
    try {
      registry.kill("SIGTERM");
    } catch {
      // already gone
    }
    await registry.status;
    await Deno.remove(dir, { recursive: true });
  }
});
