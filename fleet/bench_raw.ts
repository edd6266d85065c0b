/**
 * The benchmark's raw kafkajs measure: produce → consume on the broker under test with messages
 * the size of a telemetry envelope, the yardstick Central's rate is divided by (`÷raw`).
 *
 * @module
 */
import { sealSampleTelemetry } from "../shared/sample_envelope.ts";
import {
  createKafka,
  createProducer,
  ensureTopics,
  type OutgoingMessage,
} from "../shared/kafka.ts";
import { runConsumer } from "../shared/kafka_consumer.ts";

/** The size of a real `cp.telemetry` value: a SUPPLY sealed in an envelope, as JSON. */
export async function telemetryValueBytes(): Promise<number> {
  return JSON.stringify((await sealSampleTelemetry()).envelope).length;
}

/**
 * Raw kafkajs on the same broker: one idempotent producer sending batches of 500 (as the
 * fleet's batcher and Central's outbox do) to a new 3-partition topic, one consumer reading
 * them; messages per second from the first send to the last message read.
 */
export async function rawThroughput(brokers: readonly string[], count: number, bytes: number) {
  const kafka = createKafka({ brokers: [...brokers], clientId: "bench-raw" });
  const topic = `bench.raw-${Date.now().toString(36)}`;
  await ensureTopics(kafka, [topic]);
  let read = 0;
  const all = Promise.withResolvers<number>();
  const consumer = await runConsumer({
    kafka,
    groupId: `${topic}-reader`,
    topics: [topic],
    fromBeginning: true,
    partitionsConsumedConcurrently: 3,
    handle: () => {
      if (++read === count) all.resolve(Date.now());
    },
  });
  const producer = await createProducer(kafka);
  const skeleton = JSON.stringify({ v: 1, pad: "" }).length;
  const value = { v: 1, pad: "x".repeat(Math.max(0, bytes - skeleton)) };
  const startedAt = Date.now();
  for (let i = 0; i < count; i += 500) {
    const batch: OutgoingMessage[] = [];
    for (let j = i; j < Math.min(count, i + 500); j++) {
      batch.push({ topic, key: `CP-${j % 1000}`, value });
    }
    await producer.sendBatch(batch);
  }
  const endedAt = await all.promise;
  await consumer.stop();
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
  return {
    messages: count,
    messageBytes: bytes,
    perSecond: count / ((endedAt - startedAt) / 1000),
  };
}
