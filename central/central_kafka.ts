/**
 * Central's Kafka, as two named steps of its start (central.ts): {@link startKafkaOutput}, what
 * it sends (the topics, the outbox's producer and publisher, the audit and progress streams), and
 * {@link startConsumers}, what it reads (driver requests and CP telemetry, each in a group of its
 * own). Each step hands what it opens to the start's `AsyncDisposableStack`, so they close in
 * reverse.
 *
 * @module
 */
import type { Kafka } from "kafkajs";
import { createKafka, createProducer, ensureTopics, TOPICS } from "../shared/kafka.ts";
import { runConsumer } from "../shared/kafka_consumer.ts";
import { getLogger } from "../shared/log.ts";
import { SendBatcher } from "../shared/send_batcher.ts";
import type { AuditLog } from "./audit.ts";
import { ConsumerLag } from "./consumer_lag.ts";
import { requestHandler, telemetryBatchHandler } from "./kafka_edge.ts";
import type { KeyVault } from "./keys.ts";
import { OutboxPublisher } from "./outbox.ts";
import type { CentralRuntime } from "./runtime.ts";
import type { CentralStore } from "./store.ts";
import type { HealthMonitor } from "./system_health.ts";
import { TelemetryOpener } from "./telemetry_opener.ts";

const log = getLogger(["evcharging", "central"]);

/** Progress updates waiting for Kafka beyond which new ones are dropped. */
const MAX_PROGRESS_WAITING = 10_000;

/** What the Kafka steps take of Central's options (central.ts `CentralOptions`). */
export interface CentralKafkaOptions {
  /** Kafka bootstrap brokers. */
  readonly brokers: readonly string[];
  /** Consumer group prefix (default `central`). */
  readonly group?: string;
  /** OpenSSL's libcrypto to open telemetry with (unset: `node:crypto`). */
  readonly libcrypto?: string;
}

/**
 * Kafka's topics and what Central sends: the outbox's producer and publisher, and a second
 * producer for the audit and progress streams.
 */
export async function startKafkaOutput(
  stack: AsyncDisposableStack,
  options: Pick<CentralKafkaOptions, "brokers">,
  parts: {
    runtime: CentralRuntime;
    audit: AuditLog;
    store: CentralStore;
    vault: KeyVault;
    health: HealthMonitor;
  },
): Promise<Kafka> {
  const { runtime, audit, store, vault, health } = parts;
  const kafka = createKafka({ brokers: [...options.brokers], clientId: "central" });
  await ensureTopics(kafka);
  const producer = await createProducer(kafka);
  stack.defer(() => producer.disconnect());
  health.watchProducer(producer.producer);
  // Two producers, each with one request in flight: the outbox's carries what must arrive
  // (answers, tickets, commands); this one the streams, so their volume never delays an answer.
  const streamProducer = await createProducer(kafka);
  stack.defer(() => streamProducer.disconnect());
  const kafkaStreams = new SendBatcher(streamProducer);
  // The public stream: every record as it is appended (the SQLite table and file are the truth).
  stack.defer(
    audit.subscribe((record) =>
      kafkaStreams.send(TOPICS.auditEvents, record.actor, { v: 1, type: "AUDIT", ...record })
    ),
  );
  // Running figures to drivers: superseded every second, so dropped rather than queued
  // without end while Kafka is away, and a session's figures still waiting are replaced by its
  // newer ones: a backlog drained 3,000 reports a batch would otherwise send each of them
  // (BENCHMARKS.md), while a driver only shows the latest.
  runtime.subscribe(({ effects }) => {
    for (const effect of effects) {
      if (effect.type !== "progress") continue;
      if (kafkaStreams.waiting >= MAX_PROGRESS_WAITING) continue;
      const { message } = effect;
      kafkaStreams.sendLatest(TOPICS.driverUpdates, message.driverId, message, message.sessionId)
        .catch((error) =>
          log.debug("SUPPLY for {driverId} not sent: {error}", {
            driverId: message.driverId,
            error,
          })
        );
    }
  });
  const publisher = new OutboxPublisher(store, producer, vault.keyring);
  publisher.start();
  stack.defer(() => publisher.stop());
  runtime.subscribe(({ effects }) => {
    if (effects.some((e) => e.type === "publish" || e.type === "command")) publisher.wake();
  });
  return kafka;
}

/**
 * The two consumer groups, so a telemetry backlog never delays answers to drivers (and the
 * reverse); from the beginning when a group is new, so a request sent before Central's very
 * first start is answered too. Returns their lag, for the metrics.
 */
export async function startConsumers(
  stack: AsyncDisposableStack,
  options: Omit<CentralKafkaOptions, "brokers">,
  kafka: Kafka,
  parts: { runtime: CentralRuntime; vault: KeyVault; health: HealthMonitor },
): Promise<ConsumerLag> {
  const { runtime, vault, health } = parts;
  const lag = new ConsumerLag();
  const group = options.group ?? "central";
  const requests = await runConsumer({
    kafka,
    groupId: `${group}-requests`,
    topics: [TOPICS.driverRequests],
    fromBeginning: true,
    handle: requestHandler(runtime),
  });
  stack.defer(() => requests.stop());
  health.watchConsumer("requests", requests.consumer);
  lag.watch(requests.consumer);
  // Closed after the consumer has stopped, so no batch is still out on its threads. Two: a
  // drain's batch takes longer to open than to apply (BENCHMARKS.md).
  const opener = TelemetryOpener.start({ threads: 2, libcrypto: options.libcrypto });
  if (options.libcrypto !== undefined) {
    log.info("Telemetry is opened through OpenSSL ({library})", { library: options.libcrypto });
  }
  stack.defer(() => opener.close());
  const telemetry = await runConsumer({
    kafka,
    groupId: `${group}-telemetry`,
    topics: [TOPICS.cpTelemetry],
    fromBeginning: true,
    // A whole fetched batch in one transaction: one commit per batch, not per message. A fetch
    // holds up to 1 MiB a partition, about 3,000 envelopes: handled 500 at a time, a CP's
    // session and replay mark were written once per 500 instead of once per fetch (BENCHMARKS.md).
    handleBatch: telemetryBatchHandler(runtime, vault, opener),
    // Values as Kafka's bytes: the opener's threads parse them, and a batch crosses as one
    // buffer instead of thousands of parsed objects cloned (BENCHMARKS.md).
    raw: true,
    maxBatch: 5000,
    // A fetch's partitions at once, so that the main thread applies one partition's batch while
    // the opener's thread opens the next; one at a time, each waited for its thread, and the
    // drain was no faster (BENCHMARKS.md). Each batch is still applied in one turn, and a CP's
    // records are all in one partition.
    partitionsConsumedConcurrently: 3,
    // Fewer, fuller fetches: a thousand CPs' telemetry fetched as it came cost the broker and
    // Central a fetch per few messages (BENCHMARKS.md); a report now waits at most 100 ms more.
    minBytes: 64 * 1024,
    maxWaitTimeInMs: 100,
  });
  stack.defer(() => telemetry.stop());
  health.watchConsumer("telemetry", telemetry.consumer);
  lag.watch(telemetry.consumer);
  return lag;
}
