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
  const kafka = createKafka({ brokers: testBrokers(), clientId: `${prefix}-offsets` });
  await ensureTopics(kafka);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const groups = { requests: TOPICS.driverRequests, telemetry: TOPICS.cpTelemetry };
    for (const [suffix, topic] of Object.entries(groups)) {
      const ends = await admin.fetchTopicOffsets(topic);
      await admin.setOffsets({
        groupId: `${group}-${suffix}`,
        topic,
        partitions: ends.map((p) => ({ partition: p.partition, offset: p.high })),
      });
    }
  } finally {
    await admin.disconnect();
  }
  return group;
}
