/**
 * ARCHITECTURE §Failures with real processes: the Registry dying takes only logins down, and a Kafka broker
 * restart mid-session loses nothing and bills nothing twice. The Kafka test runs its own broker
 * (infra/local_kafka.ts), so it can stop and start it without touching other tests.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startLocalKafka } from "../infra/local_kafka.ts";
import { type LocalNetwork, waitUntil } from "../infra/network.ts";
import { freePort } from "../shared/ports.ts";
import { uniqueName } from "./kafka_env.ts";
import {
  driverEvents,
  fastCp,
  integrationTest,
  inTempDir,
  startTestNetwork,
} from "./network_test_support.ts";

interface SessionView {
  id: string;
  driver_id: string;
  kwh: number;
  eur: number;
  end_reason: string | null;
}

/** Starts a driver charging once at `cpId` and waits for it to finish. */
async function chargeOnce(net: LocalNetwork, dir: string, cpId: string) {
  const file = join(dir, `${cpId}.plan`);
  await Deno.writeTextFile(file, `${cpId}\n`);
  return await net.startDriver({ id: uniqueName("D"), file });
}

integrationTest(
  "failures: with the Registry down a running CP still charges, a restarted one cannot " +
    "log in and says why, and logs in once the Registry is back",
  () =>
    inTempDir("network_failures_", async (dir) => {
      const id = uniqueName("CP-REG");
      const net = await startTestNetwork(dir, {
        cps: [fastCp(id, ["--target-kwh", "1"])],
      });
      try {
        await net.registry.stop();
        const driver = await chargeOnce(net, dir, id);
        assert.equal((await driver.waitForExit()).code, 0);
        assert.equal(driverEvents(driver.records, "ticket").length, 1, "charging goes on");

        const service = net.cps.get(id)!;
        await service.stop();
        await service.start();
        await service.waitForRecord(
          "the monitor saying the Registry is unavailable",
          (r) => r.source === "monitor" && /Registry unavailable/.test(String(r.message)),
        );
        assert.equal((await net.api.get<{ state: string }>(`/cps/${id}`)).state, "DISCONNECTED");

        await net.registry.start();
        await net.waitForCp(id, (c) => c.state === "ACTIVATED", 60_000);
      } finally {
        await net.stop();
      }
    }),
);

integrationTest(
  "failures: a Kafka restart mid-session loses no telemetry and bills the session once",
  () =>
    inTempDir("network_failures_", async (dir) => {
      const kafkaDir = join(dir, "kafka");
      // The same ports after the restart, as a real broker keeps its address.
      const ports = { port: freePort(), controllerPort: freePort() };
      const broker = { ...ports, dataDir: kafkaDir, kafkaBrokers: "", log: () => {} };
      let kafka = await startLocalKafka(broker);
      const id = uniqueName("CP-KAFKA");
      // 22 kW at speed 60: 0.37 kWh a second, so 6 kWh is about 16 s of supply.
      const net = await startTestNetwork(dir, {
        brokers: kafka.brokers,
        cps: [fastCp(id, ["--target-kwh", "6"])],
      });
      try {
        const driver = await chargeOnce(net, dir, id);
        await net.waitForCp(id, (c) => c.state === "SUPPLYING" && (c.kwh ?? 0) > 0.5, 30_000);

        await kafka.stop();
        // The outage lasts until Central has found the broker gone, not a set time.
        await net.central.waitForRecord(
          "a refused connection to the stopped broker",
          (r) => r.logger === "evcharging.kafka" && /ECONNREFUSED/.test(String(r.message)),
        );
        kafka = await startLocalKafka(broker);

        assert.equal((await driver.waitForExit()).code, 0, `driver log: ${driver.logFile}`);
        const tickets = driverEvents(driver.records, "ticket");
        assert.equal(tickets.length, 1, "one ticket");
        assert.equal(tickets[0].endReason, "target_reached");
        const sessions = await waitUntil("the stored session", async () => {
          const done = await net.api.get<SessionView[]>("/sessions?status=completed");
          return done.length > 0 ? done : undefined;
        });
        assert.equal(sessions.length, 1, "billed once");
        assert.equal(sessions[0].kwh, 6);
        assert.ok(Math.abs(sessions[0].eur - 6 * 0.4) < 1e-9);
        assert.deepEqual([tickets[0].kwh, tickets[0].eur], [sessions[0].kwh, sessions[0].eur]);
      } finally {
        await net.stop();
        await kafka.stop();
      }
    }),
);
