/**
 * Helpers for tests that need a real Kafka broker.
 *
 * @module
 */
import { brokersFromEnv, createKafka, ensureTopics, TOPICS } from "../shared/kafka.ts";

/**
 * The brokers named by `KAFKA_BROKERS`. Throws, rather than skipping, so that
 * a Kafka test never passes without having run.
 */
export function testBrokers(): string[] {
  const brokers = brokersFromEnv();
  if (!brokers) {
    throw new Error(
      "Kafka tests need a broker: run them with `deno task test`, which starts one, or set KAFKA_BROKERS",
    );
  }
  return brokers;
}

/**
 * A topic or group name no other test (or earlier run against the same
 * broker) uses: `<prefix>-<time>-<random>`, valid as a Kafka topic name.
 */
export function uniqueName(prefix: string): string {
  const random = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  return `${prefix}-${Date.now().toString(36)}-${random}`;
}

/**
 * A new Central consumer group prefix (`--group`) whose two groups (`-requests`, `-telemetry`)
 * start at the end of their topics, as on a broker nothing was sent to before. A fresh group
 * otherwise reads from the beginning, and on the broker tests share that is every request and
 * envelope of every earlier run: minutes of backlog before the test's own messages.
 */
export async function centralGroupAtEnd(prefix: string): Promise<string> {
  const group = uniqueName(prefix);
  await groupAtEnd(`${group}-requests`, [TOPICS.driverRequests]);
  await groupAtEnd(`${group}-telemetry`, [TOPICS.cpTelemetry]);
  return group;
}

/**
 * Commits `groupId`'s offsets at the present end of each of `topics` (made if missing), so a
 * consumer of that new group reads what is sent from now on, and nothing earlier.
 */
export async function groupAtEnd(groupId: string, topics: readonly string[]): Promise<void> {
  const kafka = createKafka({ brokers: testBrokers(), clientId: "test-offsets" });
  await ensureTopics(kafka);
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      await admin.setOffsets({
        groupId,
        topic,
        partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })),
      });
    }
  } finally {
    await admin.disconnect();
  }
}
