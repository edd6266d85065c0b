import assert from "node:assert/strict";
import { type Kafka, Partitioners } from "kafkajs";
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
      const kafka = createKafka({ brokers: testBrokers(), clientId: "engine-kafka-test" });
      const other = await otherCpOnTheSamePartition(kafka, cpId);
      const producer = await createProducer(kafka);
      try {
        const [sentOther] = await producer.send(TOPICS.cpCommands, other, { n: 1 });
        const [sentOwn] = await producer.send(TOPICS.cpCommands, cpId, { n: 2 });
        // One partition is read in order: seeing { n: 2 } proves the link read past { n: 1 }.
        assert.equal(sentOther.partition, sentOwn.partition);
      } finally {
        await producer.disconnect();
      }
      const deadline = Date.now() + 20_000;
      while (seen.length === 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(seen, [{ n: 2 }]);
      await link.sendTelemetry(cpId, { v: 1, probe: true });
    } finally {
      await link.close();
    }
  },
});

/** Another CP id whose commands the producer's partitioner puts on `cpId`'s partition. */
async function otherCpOnTheSamePartition(kafka: Kafka, cpId: string): Promise<string> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [{ partitions }] = (await admin.fetchTopicMetadata({ topics: [TOPICS.cpCommands] }))
      .topics;
    const partitionOf = Partitioners.DefaultPartitioner();
    const place = (key: string) =>
      partitionOf({
        topic: TOPICS.cpCommands,
        partitionMetadata: partitions,
        message: { key, value: null },
      });
    for (;;) {
      const other = uniqueName("CP-OTHER");
      if (place(other) === place(cpId)) return other;
    }
  } finally {
    await admin.disconnect();
  }
}
