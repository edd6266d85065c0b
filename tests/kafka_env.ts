/**
 * Helpers for tests that need a real Kafka broker.
 *
 * @module
 */
import {
  brokersFromEnv,
  commitGroupAtEnd,
  createKafka,
  createProducer,
  ensureTopics,
  type JsonProducer,
  TOPICS,
} from "../shared/kafka.ts";
import { type ConsumedMessage, runConsumer } from "../shared/kafka_consumer.ts";

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
  await Promise.all([
    groupAtEnd(`${group}-requests`, [TOPICS.driverRequests]),
    groupAtEnd(`${group}-telemetry`, [TOPICS.cpTelemetry]),
  ]);
  return group;
}

/**
 * Commits `groupId`'s offsets at the present end of each of `topics` on the test broker
 * ({@linkcode commitGroupAtEnd}).
 */
export function groupAtEnd(groupId: string, topics: readonly string[]): Promise<void> {
  return commitGroupAtEnd(
    createKafka({ brokers: testBrokers(), clientId: "test-offsets" }),
    groupId,
    topics,
  );
}

/** A test's own producer and reader on the test broker (see {@linkcode openTestClient}). */
export interface TestClient {
  readonly producer: JsonProducer;
  /** Stops the reader, then the producer. */
  close(): Promise<void>;
}

/**
 * Opens a producer and a reader that hands each message of `read` to `handle`, in a new group
 * named after `name`, once every topic exists (Central may not have made them yet). The reader
 * starts at the beginning, which on the shared broker holds earlier runs' messages too (`handle`
 * filters them out by key); with `atEnd` it reads from now on ({@linkcode groupAtEnd}).
 */
export async function openTestClient<T = unknown>(
  name: string,
  read: readonly string[],
  handle: (message: ConsumedMessage<T>) => void | Promise<void>,
  options: { readonly atEnd?: boolean } = {},
): Promise<TestClient> {
  const kafka = createKafka({ brokers: testBrokers(), clientId: name });
  await ensureTopics(kafka);
  const groupId = uniqueName(name);
  if (options.atEnd) await groupAtEnd(groupId, read);
  const consumer = await runConsumer<T>({
    kafka,
    groupId,
    topics: [...read],
    fromBeginning: true,
    handle,
  });
  const producer = await createProducer(kafka);
  return {
    producer,
    close: async () => {
      await consumer.stop();
      await producer.disconnect();
    },
  };
}
