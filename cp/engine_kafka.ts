/**
 * How a CP engine reaches Kafka (ARCHITECTURE §Kafka topics). A standalone engine owns its client, producer and
 * `engine-<cpId>` consumer ({@link ownEngineKafka}); a process hosting many engines (the
 * fleet) hands each one a view of a single shared client, producer and `cp.commands` consumer
 * that dispatches by key, so the engine code is the same either way.
 *
 * @module
 */

import type { Kafka } from "kafkajs";
import {
  createKafka,
  createProducer,
  ensureTopics,
  type JsonProducer,
  TOPICS,
} from "../shared/kafka.ts";
import {
  type ConsumedMessage,
  type ConsumerHandle,
  runConsumer,
} from "../shared/kafka_consumer.ts";
import { getLogger } from "../shared/log.ts";

const log = getLogger(["evcharging", "cp", "engine"]);

/** One `cp.commands` record, as {@linkcode EngineKafka.subscribeCommands} delivers it. */
export type CommandRecord = ConsumedMessage;

/** An engine's link to Kafka. Every call may reject; the engine retries. */
export interface EngineKafka {
  /** Makes the topics and the telemetry producer ready. */
  connect(): Promise<void>;
  /** Sends one sealed `cp.telemetry` envelope keyed by the CP id; resolves once Kafka has it. */
  sendTelemetry(cpId: string, envelope: object): Promise<unknown>;
  /**
   * Delivers the `cp.commands` records keyed `cpId`, one at a time and in order, to `handle`.
   * Resolves once subscribed; `ready` resolves once a command produced from then on is
   * certain to be seen.
   */
  subscribeCommands(
    cpId: string,
    handle: (record: CommandRecord) => Promise<void>,
  ): Promise<{ readonly ready: Promise<void> }>;
  /** Stops delivering and releases what this engine holds (a shared client stays up). */
  close(): Promise<void>;
}

/**
 * The standalone engine's own Kafka: a client, an idempotent producer and a consumer in group
 * `engine-<cpId>` that reads the whole topic and skips other CPs' records.
 */
export function ownEngineKafka(brokers: readonly string[], clientCpId?: string): EngineKafka {
  const kafka: Kafka = createKafka({
    brokers: [...brokers],
    clientId: `cp-engine-${clientCpId ?? Deno.pid}`,
  });
  let producer: JsonProducer | undefined;
  let consumer: ConsumerHandle | undefined;
  return {
    async connect() {
      await ensureTopics(kafka, [TOPICS.cpCommands, TOPICS.cpTelemetry]);
      producer = await createProducer(kafka);
    },
    sendTelemetry(cpId, envelope) {
      if (producer === undefined) return Promise.reject(new Error("not connected to Kafka"));
      return producer.send(TOPICS.cpTelemetry, cpId, envelope);
    },
    async subscribeCommands(cpId, handle) {
      const handler = await runConsumer({
        kafka,
        groupId: `engine-${cpId}`,
        topics: [TOPICS.cpCommands],
        // Every engine reads the whole topic: another CP's command is skipped here.
        handle: (record) => record.key === cpId ? handle(record) : undefined,
        onInvalid: (m) =>
          log.warning("dropped a cp.commands record that is not JSON", {
            offset: m.offset,
            partition: m.partition,
          }),
      });
      consumer = handler;
      // runConsumer resolves once the group is joined; offsets are positioned by the first
      // fetch after that, so a command produced after this fetch is certain to be seen.
      const ready = new Promise<void>((resolve) => {
        const off = handler.consumer.on(handler.consumer.events.FETCH, () => {
          off();
          resolve();
        });
      });
      return { ready };
    },
    async close() {
      await consumer?.stop().catch(() => {});
      await producer?.disconnect().catch(() => {});
    },
  };
}
