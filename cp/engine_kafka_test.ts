import assert from "node:assert/strict";
import { createKafka, createProducer, TOPICS } from "../shared/kafka.ts";
import { testBrokers, uniqueName } from "../tests/kafka_env.ts";
import { ownEngineKafka } from "./engine_kafka.ts";

Deno.test({
  name: "engine kafka: the own link delivers this CP's commands only, once it is ready",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const cpId = uniqueName("CP-EK");
    const link = ownEngineKafka(testBrokers(), cpId);
    const seen: unknown[] = [];
    try {
      await link.connect();
      const { ready } = await link.subscribeCommands(cpId, (record) => {
        seen.push(record.value);
        return Promise.resolve();
      });
      await ready;
      const producer = await createProducer(
        createKafka({ brokers: testBrokers(), clientId: "engine-kafka-test" }),
      );
      try {
        await producer.send(TOPICS.cpCommands, uniqueName("CP-OTHER"), { n: 1 });
        await producer.send(TOPICS.cpCommands, cpId, { n: 2 });
      } finally {
        await producer.disconnect();
      }
      const deadline = Date.now() + 20_000;
      while (seen.length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(seen, [{ n: 2 }]);
      await link.sendTelemetry(cpId, { v: 1, probe: true });
    } finally {
      await link.close();
    }
  },
});
