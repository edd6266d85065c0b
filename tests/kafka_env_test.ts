/**
 * The test helpers' own checks, against the real broker: a group started "at the end" must
 * neither read what came before it (minutes of history on a shared broker) nor miss what comes
 * after.
 */
import assert from "node:assert/strict";
import { createKafka, createProducer, ensureTopics, TOPICS } from "../shared/kafka.ts";
import { runConsumer } from "../shared/kafka_consumer.ts";
import { groupAtEnd, testBrokers, uniqueName } from "./kafka_env.ts";

Deno.test({
  name:
    "groupAtEnd: the group's offsets are the topics' ends; its consumer reads only what follows",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const kafka = createKafka({ brokers: testBrokers(), clientId: "kafka-env-test" });
    // On a fresh broker run alone, no one else has made the topics (the producer would wait for them).
    await ensureTopics(kafka);
    const producer = await createProducer(kafka);
    const key = uniqueName("before");
    const topics = [TOPICS.driverRequests, TOPICS.auditEvents];
    try {
      for (const topic of topics) await producer.send(topic, key, { before: true });
      const admin = kafka.admin();
      await admin.connect();
      try {
        const ends = () => Promise.all(topics.map((topic) => admin.fetchTopicOffsets(topic)));
        const before = await ends();
        const groupId = uniqueName("at-end");
        await groupAtEnd(groupId, topics);
        const after = await ends(); // other tests may be sending to the same topics meanwhile
        for (const [i, topic] of topics.entries()) {
          const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
          for (const { partition, offset } of committed.partitions) {
            const low = Number(before[i].find((p) => p.partition === partition)!.high);
            const high = Number(after[i].find((p) => p.partition === partition)!.high);
            const at = Number(offset);
            assert.ok(
              low <= at && at <= high,
              `${topic}/${partition}: ${at} not in ${low}..${high}`,
            );
          }
        }
        await readsOnlyWhatFollows(groupId);
      } finally {
        await admin.disconnect();
      }
    } finally {
      await producer.disconnect();
    }

    /** The group's consumer gets this test's later messages and none of its earlier ones. */
    async function readsOnlyWhatFollows(groupId: string): Promise<void> {
      const seen: string[] = [];
      const after = Promise.withResolvers<void>();
      const consumer = await runConsumer({
        kafka,
        groupId,
        topics,
        fromBeginning: true,
        handle: (m) => {
          if (m.key !== key) return;
          seen.push(`${m.topic} ${JSON.stringify(m.value)}`);
          if (seen.length === topics.length) after.resolve();
        },
      });
      try {
        for (const topic of topics) await producer.send(topic, key, { after: true });
        await after.promise; // both later messages arrived, so the earlier ones would have too
        assert.deepEqual(seen.sort(), topics.map((t) => `${t} {"after":true}`).sort());
      } finally {
        await consumer.stop();
      }
    }
  },
});
