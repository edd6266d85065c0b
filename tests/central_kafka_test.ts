/**
 * Central's Kafka side with a real broker, a real Registry over TLS and a stand-in CP that
 * speaks the charging loop of docs/charging_loop.md: a driver's request is authorized, the
 * engine gets an encrypted AUTHORIZE, its encrypted telemetry reaches the driver as SUPPLY and
 * TICKET; duplicates, replays and forgeries are dropped; a session open across a restart of
 * Central is ticketed from the backlog.
 */
// First: registry/schemas.ts needs @hono/zod-openapi loaded before shared/messages.ts.
import {
  logInMonitor,
  MonitorStub,
  startTestCentral,
  type TestRegistry,
  waitFor,
  withTestRegistry,
} from "../central/test_support.ts";
import assert from "node:assert/strict";
import { openEnvelope } from "../shared/envelope.ts";
import { TOPICS } from "../shared/kafka.ts";
import { commandPayloadSchema, parseMessage } from "../shared/messages.ts";
import { centralGroupAtEnd, testBrokers, uniqueName } from "./kafka_env.ts";
import { KafkaWire } from "./kafka_wire.ts";

/** Runs `test` with a Registry and a new Central group that starts at the end of its topics. */
const withSetup = (
  test: (s: { dir: string; registry: TestRegistry; group: string }) => Promise<void>,
) =>
  withTestRegistry("central_kafka_", async (dir, registry) => {
    await test({ dir, registry, group: await centralGroupAtEnd("central-kafka") });
  });

Deno.test("central Kafka: request → AUTHORIZE/AUTHORIZED → SUPPLY → TICKET; dupes, replays, forgeries dropped", async () => {
  await withSetup(async ({ dir, registry, group }) => {
    const cpId = uniqueName("CP");
    const driverId = uniqueName("D");
    const wire = await KafkaWire.open(driverId, [cpId], { atEnd: true });
    const central = await startTestCentral(dir, registry, testBrokers(), { group });
    try {
      const token = await registry.registerCp(cpId, { price_eur_kwh: 0.5, power_kw: 22 });
      const { monitor, key, kv } = await logInMonitor(central, registry, cpId, token);

      await wire.request(driverId, { type: "CHARGE_REQUEST", requestId: "r1", driverId, cpId });
      await waitFor("AUTHORIZED", () => wire.of("AUTHORIZED").length === 1);
      const { sessionId } = wire.of("AUTHORIZED")[0];
      await waitFor("AUTHORIZE on cp.commands", () => wire.commands.length === 1);
      const command = parseMessage(
        commandPayloadSchema,
        await openEnvelope(key, wire.commands[0], { channel: TOPICS.cpCommands, expectCp: cpId }),
      );
      assert.ok(command.ok && command.value.type === "AUTHORIZE");
      assert.deepEqual(
        [command.value.sessionId, command.value.driverId, command.value.priceEurKwh],
        [sessionId, driverId, 0.5],
      );

      // The same request again (a driver's resend): no second answer.
      await wire.request(driverId, { type: "CHARGE_REQUEST", requestId: "r1", driverId, cpId });
      await waitFor("duplicate counted", () => central.runtime.drops.duplicateRequests >= 1);

      await wire.telemetry(cpId, kv, key, { type: "PLUGGED", sessionId });
      const supply = await wire.telemetry(cpId, kv, key, {
        type: "SUPPLY",
        sessionId,
        kw: 22,
        kwh: 2,
        eur: 1,
      });
      await waitFor("SUPPLY to the driver", () => wire.of("SUPPLY").length === 1);
      assert.deepEqual([wire.of("SUPPLY")[0].kwh, wire.of("SUPPLY")[0].eur], [2, 1]);

      // A replayed envelope is dropped quietly; a forged one is rejected. (Other tests' old
      // telemetry on the shared broker counts too, hence "at least".)
      const drops = { ...central.runtime.drops };
      await wire.producer.send(TOPICS.cpTelemetry, cpId, supply);
      const stranger = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
        "encrypt",
        "decrypt",
      ]);
      await wire.telemetry(cpId, kv, stranger, {
        type: "SUPPLY",
        sessionId,
        kw: 1,
        kwh: 99,
        eur: 0,
      });
      await wire.telemetry(cpId, kv, key, {
        type: "SUPPLY_END",
        sessionId,
        kwh: 2.5,
        eur: 1.25,
        endReason: "unplugged",
      });
      await waitFor("TICKET", () => wire.of("TICKET").length === 1);
      const ticket = wire.of("TICKET")[0];
      assert.deepEqual([ticket.sessionId, ticket.kwh, ticket.eur, ticket.endReason], [
        sessionId,
        2.5,
        1.25,
        "unplugged",
      ]);
      // Same partition, so the replay and the forgery were handled before the SUPPLY_END.
      assert.ok(central.runtime.drops.duplicateTelemetry > drops.duplicateTelemetry);
      assert.ok(central.runtime.drops.rejectedTelemetry > drops.rejectedTelemetry);
      assert.equal(wire.of("AUTHORIZED").length, 1, "still one answer to r1");
      assert.equal(wire.of("SUPPLY").length, 1, "the forgery reached nobody");
      assert.equal(central.runtime.model.cps.get(cpId)?.status.state, "ACTIVATED");

      await wire.request(driverId, { type: "CP_LIST_REQUEST", requestId: "l1", driverId });
      await waitFor("CP_LIST", () => wire.of("CP_LIST").length === 1);
      assert.ok(wire.of("CP_LIST")[0].cps.some((c) => c.id === cpId && c.state === "ACTIVATED"));
      await monitor.close();
    } finally {
      await central.stop();
      await wire.close();
    }
  });
});

Deno.test("central Kafka: a session open when Central stops is ticketed from the backlog after a restart", async () => {
  await withSetup(async ({ dir, registry, group }) => {
    const cpId = uniqueName("CP");
    const driverId = uniqueName("D");
    const wire = await KafkaWire.open(driverId, [cpId], { atEnd: true });
    try {
      let central = await startTestCentral(dir, registry, testBrokers(), { group });
      const token = await registry.registerCp(cpId, { price_eur_kwh: 0.3 });
      const { monitor, key, kv } = await logInMonitor(central, registry, cpId, token);
      await wire.request(driverId, { type: "CHARGE_REQUEST", requestId: "r1", driverId, cpId });
      await waitFor("AUTHORIZED", () => wire.of("AUTHORIZED").length === 1);
      const { sessionId } = wire.of("AUTHORIZED")[0];
      await wire.telemetry(cpId, kv, key, {
        type: "SUPPLY",
        sessionId,
        kw: 22,
        kwh: 1,
        eur: 0.3,
      });
      await waitFor("SUPPLY", () => wire.of("SUPPLY").length === 1);

      await central.stop();
      const logout = await monitor.next();
      assert.ok(logout?.type === "LOGOUT" && logout.reason === "shutdown" && logout.retryable);

      // While Central is down the engine finishes (its key still works) and a driver asks.
      await wire.telemetry(cpId, kv, key, {
        type: "SUPPLY_END",
        sessionId,
        kwh: 3,
        eur: 0.9,
        endReason: "unplugged",
      });
      await wire.request(driverId, { type: "CHARGE_REQUEST", requestId: "r2", driverId, cpId });

      central = await startTestCentral(dir, registry, testBrokers(), { group });
      try {
        await waitFor("TICKET from the backlog", () => wire.of("TICKET").length === 1);
        const ticket = wire.of("TICKET")[0];
        assert.deepEqual([ticket.sessionId, ticket.kwh, ticket.eur], [sessionId, 3, 0.3 * 3]);
        await waitFor("answer to r2", () => wire.of("DENIED").length === 1);
        assert.equal(wire.of("DENIED")[0].reason, "disconnected", "no monitor since the restart");
        assert.equal(wire.of("AUTHORIZED").length, 1, "r1 is not answered again");

        // The monitor logs in again with a new key version.
        const again = await MonitorStub.connect(central.tcpAddr, registry.caCert);
        const second = await again.login(cpId, await registry.freshToken(cpId));
        assert.ok(second.answer?.type === "AUTH_OK" && second.answer.keyVersion === 2);
        await again.close();
      } finally {
        await central.stop();
      }
    } finally {
      await wire.close();
    }
  });
});
