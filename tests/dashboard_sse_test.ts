/**
 * The dashboard's event stream on a real Central over a real Kafka broker and Registry: a
 * client that disconnects and reconnects with `Last-Event-ID` gets the session start and the
 * ticket it missed; after a restart of Central its old id gets a `reset` instead.
 */
// First: registry/schemas.ts needs @hono/zod-openapi loaded before shared/messages.ts.
import {
  logInMonitor,
  SseClient,
  startTestCentral,
  startTestRegistry,
  waitFor,
} from "../central/test_support.ts";
import assert from "node:assert/strict";
import { sealEnvelope, SeqCounter } from "../shared/envelope.ts";
import { createKafka, createProducer, ensureTopics, TOPICS } from "../shared/kafka.ts";
import { testBrokers, uniqueName } from "./kafka_env.ts";
import { integrationTest, inTempDir } from "./network_test_support.ts";

integrationTest(
  "dashboard SSE: a client that reconnects with Last-Event-ID misses no ticket; after a " +
    "restart of Central it is told to reset",
  async () => {
    await inTempDir("dashboard_sse_", async (dir) => {
      const registry = await startTestRegistry(dir);
      const kafka = createKafka({ brokers: testBrokers(), clientId: "dashboard-sse-test" });
      await ensureTopics(kafka);
      const producer = await createProducer(kafka);
      const group = uniqueName("dashboard-sse");
      const cpId = uniqueName("CP");
      const driverId = uniqueName("D");
      let central = await startTestCentral(dir, registry, testBrokers(), { group });
      try {
        const token = await registry.registerCp(cpId, { price_eur_kwh: 0.5, power_kw: 22 });
        const { monitor, key, kv } = await logInMonitor(central, registry, cpId, token);
        const seq = new SeqCounter();
        const telemetry = async (payload: Record<string, unknown>) =>
          producer.send(
            TOPICS.cpTelemetry,
            cpId,
            await sealEnvelope(key, {
              cp: cpId,
              kv,
              seq: seq.next(cpId, kv),
              channel: TOPICS.cpTelemetry,
            }, { v: 1, ts: new Date().toISOString(), ...payload }),
          );
        /** One whole session: request, plug, supply, end; returns its id once ticketed. */
        const session = async (requestId: string, kwh: number) => {
          await producer.send(TOPICS.driverRequests, driverId, {
            v: 1,
            ts: new Date().toISOString(),
            type: "CHARGE_REQUEST",
            requestId,
            driverId,
            cpId,
          });
          let sessionId = "";
          await waitFor("AUTHORIZED", () => {
            sessionId = central.runtime.model.cps.get(cpId)?.status.sessionId ?? "";
            return sessionId !== "";
          }, 20_000);
          await telemetry({ type: "PLUGGED", sessionId });
          await telemetry({ type: "SUPPLY", sessionId, kw: 22, kwh: kwh / 2, eur: kwh / 4 });
          await telemetry({
            type: "SUPPLY_END",
            sessionId,
            kwh,
            eur: kwh / 2,
            endReason: "unplugged",
          });
          await waitFor(
            "the ticket",
            () => (central.runtime.store.session(sessionId)?.endedAt ?? null) !== null,
            20_000,
          );
          return sessionId;
        };

        const first = new SseClient(central.httpUrl);
        await waitFor("the reset", () => first.frames.length > 0);
        assert.equal(first.frames[0].event, "reset", "a new client loads the snapshot first");
        const s1 = await session("r1", 2);
        await waitFor("ticket 1 live", () => first.frames.some((f) => f.event === "ticket"));
        const seen = first.lastId!;
        await first.close();

        // While the client is away: a whole session, with its ticket.
        const s2 = await session("r2", 3);
        // The session's figures are held for the next flush of the feed: the ticket is the last
        // input that holds any, so nothing held once the ticket is stored means they went out.
        await waitFor("the coalesced figures flushed", () => central.feed.pendingCount === 0);

        const back = new SseClient(central.httpUrl, seen);
        await waitFor(
          "the missed ticket",
          () => back.frames.some((f) => f.event === "ticket" && f.data.id === s2),
        );
        assert.ok(!back.frames.some((f) => f.event === "reset"), "resumed, not reset");
        assert.ok(back.frames.some((f) => f.event === "session" && f.data.id === s2));
        const ticket = back.frames.find((f) => f.event === "ticket" && f.data.id === s2)!;
        assert.deepEqual([ticket.data.kwh, ticket.data.eur, ticket.data.end_reason], [
          3,
          1.5,
          "unplugged",
        ]);
        assert.ok(!back.frames.some((f) => f.data.id === s1), "nothing seen before is sent again");
        const ids = back.frames.filter((f) => f.id).map((f) => Number(f.id!.split("-")[1]));
        assert.deepEqual(ids, [...ids].sort((a, b) => a - b), "in id order");
        const lastBeforeRestart = back.lastId!;
        await back.close();
        await monitor.close();

        await central.stop();
        central = await startTestCentral(dir, registry, testBrokers(), { group });
        const after = new SseClient(central.httpUrl, lastBeforeRestart);
        await waitFor("the reset after a restart", () => after.frames.length > 0);
        assert.equal(after.frames[0].event, "reset");
        assert.equal(after.frames[0].data.reason, "unknown_boot");
        await after.close();
      } finally {
        await central.stop();
        await producer.disconnect();
        await registry.close();
      }
    });
  },
);
