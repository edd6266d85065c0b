/**
 * The whole charging loop as real processes (infra/network.ts): a Registry over TLS, Central,
 * CPs started with `deno task cp` (engine + monitor each) and drivers in file mode, over a real
 * Kafka broker. Failures are real too: SIGUSR1 flips an engine's fault, SIGKILL takes a
 * monitor, Central or a driver down mid-session.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type CpPlan, type LocalNetwork, waitUntil } from "../infra/network.ts";
import { createKafka, ensureTopics, TOPICS } from "../shared/kafka.ts";
import { runConsumer } from "../shared/kafka_consumer.ts";
import { testBrokers, uniqueName } from "./kafka_env.ts";
import { assertSealed } from "./kafka_wire.ts";
import { driverEvents, fastCp, integrationTest, startTestNetwork } from "./network_test_support.ts";

/** A CP of these tests: fast simulated time, so a session lasts a few seconds. */
/** Runs `test` against a fresh network in a temp folder; keeps the logs if it fails. */
async function withNetwork(
  setup: { cps: CpPlan[]; centralArgs?: string[]; centralDenoFlags?: string[] },
  test: (net: LocalNetwork, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "network_test_" });
  const net = await startTestNetwork(dir, {
    cps: setup.cps,
    centralArgs: setup.centralArgs,
    centralDenoFlags: setup.centralDenoFlags,
  });
  let failed = true;
  try {
    await test(net, dir);
    failed = false;
  } finally {
    await net.stop();
    if (failed) console.error(`network_test: logs kept in ${join(dir, "logs")}`);
    else await Deno.remove(dir, { recursive: true });
  }
}

/** The pid `cp/main.ts` printed for its `engine` or `monitor` child. */
async function childPid(net: LocalNetwork, cpId: string, child: "engine" | "monitor") {
  const service = net.cps.get(cpId)!;
  const line = await service.waitForLine(
    `${child} pid`,
    (l) => l.includes(`${child} started (pid `),
  );
  return Number(line.match(/pid (\d+)/)![1]);
}

interface SessionView {
  id: string;
  cp_id: string;
  driver_id: string;
  kwh: number;
  eur: number;
  end_reason: string | null;
}

integrationTest(
  "network: a driver's file of an unknown, a stopped and a free CP gives two denials and " +
    "one ticket billed from the stored telemetry; Kafka carries only envelopes",
  async () => {
    const free = uniqueName("CP-FREE");
    const stopped = uniqueName("CP-STOP");
    const driverId = uniqueName("D");

    // An independent reader of both CP topics, from before the first CP logs in.
    const kafka = createKafka({ brokers: testBrokers(), clientId: "network-test-spy" });
    await ensureTopics(kafka);
    const seen: { topic: string; value: unknown }[] = [];
    const spy = await runConsumer({
      kafka,
      groupId: uniqueName("network-test-spy"),
      topics: [TOPICS.cpTelemetry, TOPICS.cpCommands],
      fromBeginning: false,
      handle: (m) => {
        if (m.key === free || m.key === stopped) {
          seen.push({ topic: m.topic, value: m.value });
        }
      },
    });

    try {
      await withNetwork(
        { cps: [fastCp(free, ["--target-kwh", "1.5"], 0.45), fastCp(stopped, [], 0.3)] },
        async (net, dir) => {
          await net.api.post(`/cps/${stopped}/stop`);
          await net.waitForCp(stopped, (c) => c.state === "STOPPED" && c.stop_reason === "admin");

          const file = join(dir, "plan.txt");
          await Deno.writeTextFile(file, `CP-NOPE-404\n${stopped}\n${free}\n`);
          const driver = await net.startDriver({ id: driverId, file, args: ["--pause", "4s"] });
          const status = await driver.waitForExit();
          assert.equal(status.code, 0, `driver exit code (log: ${driver.logFile})`);

          const denied = driverEvents(driver.records, "denied");
          assert.deepEqual(denied.map((d) => [d.cpId, d.reason]), [
            ["CP-NOPE-404", "unknown_cp"],
            [stopped, "stopped"],
          ]);
          const tickets = driverEvents(driver.records, "ticket");
          assert.equal(tickets.length, 1);
          const ticket = tickets[0];
          assert.equal(ticket.cpId, free);
          assert.equal(ticket.endReason, "target_reached");

          // The 4 s pause after each denial is kept: three requests span at least 8 s.
          const asked = driver.records.filter((r) =>
            (r.properties as { kind?: string }).kind === "requested"
          ).map((r) => Date.parse(String(r["@timestamp"])));
          assert.equal(asked.length, 3);
          assert.ok(asked[2] - asked[0] >= 8000, `requests ${asked[2] - asked[0]} ms apart`);

          const sessions = await net.api.get<SessionView[]>("/sessions?status=completed");
          const session = sessions.find((s) => s.driver_id === driverId);
          assert.ok(session, "Central stored the session");
          assert.equal(ticket.sessionId, session.id);
          assert.deepEqual([ticket.kwh, ticket.eur], [session.kwh, session.eur]);
          assert.ok(session.kwh >= 1.5, `target reached: ${session.kwh} kWh`);
          assert.ok(Math.abs(session.eur - session.kwh * 0.45) < 1e-9, "€ = kWh × price");
          const summary = driverEvents(driver.records, "finished")[0];
          assert.deepEqual([summary.tickets, summary.denials], [1, 2]);
        },
      );

      // What crossed Kafka for these two CPs: commands and telemetry, all sealed.
      assert.ok(seen.some((m) => m.topic === TOPICS.cpCommands), "the AUTHORIZE was seen");
      assert.ok(seen.filter((m) => m.topic === TOPICS.cpTelemetry).length >= 3, "telemetry seen");
      for (const m of seen) {
        assertSealed(m.value, ["SUPPLY", "AUTHORIZE", "kwh", "sessionId", driverId, "STATUS"]);
      }
    } finally {
      await spy.stop();
    }
  },
);

integrationTest(
  "network: an engine fault mid-session turns the CP BROKEN within 2 s and tickets the " +
    "driver; back OK it is ACTIVATED; a hung monitor is DISCONNECTED after the heartbeat " +
    "timeout, a killed one at once",
  async () => {
    const id = uniqueName("CP-KO");
    const driverId = uniqueName("D");
    await withNetwork({ cps: [fastCp(id, ["--target-kwh", "500"], 0.5)] }, async (net, dir) => {
      const file = join(dir, "plan.txt");
      await Deno.writeTextFile(file, `${id}\n`);
      const driver = await net.startDriver({ id: driverId, file });
      await net.waitForCp(id, (c) => c.state === "SUPPLYING" && (c.kwh ?? 0) > 0);

      const engine = await childPid(net, id, "engine");
      Deno.kill(engine, "SIGUSR1");
      const faultAt = Date.now();
      await net.waitForCp(id, (c) => c.state === "BROKEN", 5000);
      const brokenAfter = Date.now() - faultAt;
      assert.ok(brokenAfter <= 2000, `BROKEN after ${brokenAfter} ms`);

      assert.equal((await driver.waitForExit()).code, 0);
      const tickets = driverEvents(driver.records, "ticket");
      assert.equal(tickets.length, 1, "the driver got its ticket");
      assert.equal(tickets[0].endReason, "fault");
      assert.ok(Number(tickets[0].kwh) > 0);

      Deno.kill(engine, "SIGUSR1");
      await net.waitForCp(id, (c) => c.state === "ACTIVATED", 5000);

      // A hung monitor keeps its socket open: only the heartbeat timeout (3 s) tells.
      const monitor = await childPid(net, id, "monitor");
      Deno.kill(monitor, "SIGSTOP");
      const frozenAt = Date.now();
      await net.waitForCp(id, (c) => c.state === "DISCONNECTED", 10_000);
      const silentFor = Date.now() - frozenAt;
      assert.ok(silentFor >= 2500 && silentFor <= 5000, `DISCONNECTED after ${silentFor} ms`);
      Deno.kill(monitor, "SIGCONT");
      await net.waitForCp(id, (c) => c.state === "ACTIVATED", 20_000);

      // A killed one closes its socket with it: DISCONNECTED at once, not after the timeout.
      Deno.kill(monitor, "SIGKILL");
      const killedAt = Date.now();
      await net.waitForCp(id, (c) => c.state === "DISCONNECTED", 10_000);
      assert.ok(Date.now() - killedAt < 2500, `DISCONNECTED after ${Date.now() - killedAt} ms`);
    });
  },
);

integrationTest(
  "network: Central killed with SIGKILL mid-session and restarted sends exactly one " +
    "ticket; a driver killed mid-session gets its ticket when it comes back",
  async () => {
    const id = uniqueName("CP-CRASH");
    // 22 kW at speed 60: 0.37 kWh per second, so 3 kWh takes about 8 s.
    await withNetwork({ cps: [fastCp(id, ["--target-kwh", "3"])] }, async (net, dir) => {
      const file = join(dir, "plan.txt");
      await Deno.writeTextFile(file, `${id}\n`);

      // Central dies while the CP supplies; the session ends while it is down.
      const first = uniqueName("D");
      const driver = await net.startDriver({ id: first, file });
      await net.waitForCp(id, (c) => c.state === "SUPPLYING" && (c.kwh ?? 0) > 0);
      net.central.kill("SIGKILL");
      await net.central.waitForExit();
      await net.cps.get(id)!.waitForRecord(
        "the engine's SUPPLY_END",
        (r) => r.source === "engine" && String(r.message).includes("target energy reached"),
        20_000,
      );
      await net.restartCentral();
      assert.equal((await driver.waitForExit()).code, 0, `driver log: ${driver.logFile}`);
      const tickets = driverEvents(driver.records, "ticket");
      assert.equal(tickets.length, 1, "exactly one ticket");
      assert.equal(tickets[0].endReason, "target_reached");
      assert.ok(Number(tickets[0].kwh) >= 3);
      const sessions = await net.api.get<SessionView[]>("/sessions?status=completed");
      assert.equal(sessions.filter((s) => s.driver_id === first).length, 1);

      // The monitor logs in again by itself; then a second driver is killed mid-session.
      await net.waitForCp(id, (c) => c.state === "ACTIVATED", 30_000);
      const second = uniqueName("D");
      const gone = await net.startDriver({ id: second, file });
      const session = await waitUntil("the second session", async () => {
        const active = await net.api.get<SessionView[]>("/sessions?status=active");
        return active.find((s) => s.driver_id === second);
      });
      gone.kill("SIGKILL");
      await gone.waitForExit();
      await waitUntil("the second session to end", async () => {
        const done = await net.api.get<SessionView[]>("/sessions?status=completed");
        return done.find((s) => s.id === session.id);
      }, 30_000);

      const back = await net.startDriver({ id: second, file });
      const late = await back.waitForRecord("the late ticket", (r) => {
        const p = r.properties as Record<string, unknown> | undefined;
        return p?.kind === "ticket" && p.sessionId === session.id;
      }, 30_000);
      assert.equal((late.properties as { late?: boolean }).late, true);
      await back.stop();
    });
  },
);

integrationTest(
  "network: a Central started with --libcrypto opens telemetry through OpenSSL and bills from it",
  async () => {
    const id = uniqueName("CP-SSL");
    const setup = {
      cps: [fastCp(id, ["--target-kwh", "1"])],
      centralArgs: ["--libcrypto", "libcrypto.so.3"],
      centralDenoFlags: ["--allow-ffi"],
    };
    await withNetwork(setup, async (net, dir) => {
      await net.central.waitForRecord(
        "Central's word that OpenSSL opens telemetry",
        (r) => String(r.message).includes("opened through OpenSSL"),
      );
      const file = join(dir, "plan.txt");
      await Deno.writeTextFile(file, `${id}\n`);
      const driverId = uniqueName("D");
      const driver = await net.startDriver({ id: driverId, file });
      assert.equal((await driver.waitForExit()).code, 0, `driver log: ${driver.logFile}`);
      const [ticket] = driverEvents(driver.records, "ticket");
      assert.equal(ticket?.endReason, "target_reached");
      // The session's figures are the telemetry Central opened: none of it was refused.
      const sessions = await net.api.get<SessionView[]>("/sessions?status=completed");
      const session = sessions.find((s) => s.driver_id === driverId);
      assert.ok(session && session.kwh >= 1, `billed from telemetry: ${session?.kwh} kWh`);
      const health = await net.api.get<{ dropped: { rejected_telemetry: number } }>("/health");
      assert.equal(health.dropped.rejected_telemetry, 0, "no telemetry refused");
    });
  },
);
