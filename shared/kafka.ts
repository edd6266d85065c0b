/**
 * kafkajs wired for this project under Deno: logs go to LogTape, topics
 * (ARCHITECTURE §Kafka topics) are created explicitly, producers are idempotent, and consumers
 * commit an offset only after the handler for that message succeeded.
 *
 * @module
 */
import {
  type Admin,
  Kafka,
  type LogEntry,
  logLevel,
  Partitioners,
  type Producer,
  type RecordMetadata,
} from "kafkajs";
// Internal module, patched below; kafkajs 2.2.4 is pinned so its layout is fixed.
import RequestQueue from "kafkajs/src/network/requestQueue/index.js";
import { getLogger, type Logger } from "@logtape/logtape";
import { sleep } from "./sleep.ts";

// kafkajs 2.2.4 re-arms a timer with `throttledUntil - Date.now()` after every
// response, even when no request is queued. `throttledUntil` starts at -1, so
// the delay is hugely negative: runtimes clamp it to 1 ms, which makes a 1 kHz
// timer loop per broker connection for the client's whole life, and Node 24+
// and Deno print a `TimeoutNegativeWarning` for it (tulios/kafkajs#1751, not
// fixed upstream). The check is only needed while requests wait in `pending`
// (for in-flight slots or a broker throttle), so arm the timer only then.
interface RequestQueueInternals {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: ReturnType<typeof setTimeout> | null;
  checkPendingRequests(): void;
}
(RequestQueue as { prototype: { scheduleCheckPendingRequests(): void } }).prototype
  .scheduleCheckPendingRequests = function (this: RequestQueueInternals) {
    if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
    const throttled = this.throttledUntil - Date.now();
    // 10 ms is kafkajs' own CHECK_PENDING_REQUESTS_INTERVAL.
    this.throttleCheckTimeoutId = setTimeout(() => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    }, throttled > 0 ? throttled : 10);
  };

const log = getLogger(["evcharging", "kafka"]);

/** Kafka topics (ARCHITECTURE §Kafka topics). Every key is the entity id; every value is JSON with `v`. */
export const TOPICS = {
  /** Driver → Central, keyed by driver id. */
  driverRequests: "driver.requests",
  /** Central → Driver, keyed by driver id. */
  driverUpdates: "driver.updates",
  /** Engine → Central, keyed by CP id (encrypted envelopes). */
  cpTelemetry: "cp.telemetry",
  /** Central → Engine, keyed by CP id (encrypted envelopes). */
  cpCommands: "cp.commands",
  /** Central → anyone, keyed by actor id (public audit stream). */
  auditEvents: "audit.events",
} as const;

/** One of the topic names (ARCHITECTURE §Kafka topics). */
export type Topic = typeof TOPICS[keyof typeof TOPICS];

/** All topics (ARCHITECTURE §Kafka topics). */
export const ALL_TOPICS: readonly Topic[] = Object.values(TOPICS);

/**
 * Parses a `KAFKA_BROKERS` value (`host:port[,host:port…]`); `undefined` when
 * it is unset or blank.
 */
export function brokersFromEnv(value = Deno.env.get("KAFKA_BROKERS")): string[] | undefined {
  const brokers = (value ?? "").split(",").map((b) => b.trim()).filter((b) => b !== "");
  return brokers.length > 0 ? brokers : undefined;
}

const LEVELS = {
  [logLevel.ERROR]: "error",
  [logLevel.WARN]: "warning",
  [logLevel.INFO]: "info",
  [logLevel.DEBUG]: "debug",
} as const;

/** Sends kafkajs log entries to LogTape, keeping kafkajs' fields as structured properties. */
function logCreator(logger: Logger) {
  return () => ({ namespace, level, log: entry }: LogEntry) => {
    const lvl = LEVELS[level as keyof typeof LEVELS];
    if (!lvl) return;
    // kafkajs' own timestamp and `logger: "kafkajs"` add nothing to a LogTape record.
    const { message, timestamp: _ts, logger: _name, ...props } = entry;
    // LogTape reads `{…}` in a message as a placeholder; kafkajs text is literal.
    const text = message.replaceAll("{", "{{").replaceAll("}", "}}");
    logger[lvl](text, { namespace, ...props });
  };
}

/** Options of {@linkcode createKafka}. */
export interface KafkaOptions {
  /** Bootstrap brokers, `host:port`. */
  brokers: string[];
  /** Shows in broker logs and metrics; name the process (`central`, `driver-D1`…). */
  clientId: string;
}

/**
 * How the admin and consumer calls of {@linkcode createKafka}'s clients and
 * {@linkcode retryRetriable} retry: 300 ms doubling, capped at 30 s, about a minute in all before
 * an error surfaces.
 */
const RETRY: RetryOptions = { retries: 8, initialDelayMs: 300, maxDelayMs: 30_000 };

/**
 * Creates a kafkajs client that logs through LogTape (category
 * `evcharging.kafka`, kafkajs fields as properties) and whose admin and
 * consumer calls retry for about a minute, long enough to ride out a broker
 * restart (ARCHITECTURE §Failures). Producers from {@linkcode createProducer} retry for good.
 */
export function createKafka({ brokers, clientId }: KafkaOptions): Kafka {
  return new Kafka({
    brokers,
    clientId,
    // kafkajs builds its debug records only when asked to: ask only if LogTape would keep them.
    logLevel: log.isEnabledFor("debug") ? logLevel.DEBUG : logLevel.INFO,
    logCreator: logCreator(log),
    connectionTimeout: 3_000,
    requestTimeout: 30_000,
    retry: {
      initialRetryTime: RETRY.initialDelayMs,
      retries: RETRY.retries,
      maxRetryTime: RETRY.maxDelayMs,
    },
  });
}

/** Options of {@linkcode ensureTopics}. */
export interface EnsureTopicsOptions {
  /** Partitions of each topic created (default 3). Existing topics are left as they are. */
  partitions?: number;
  /** Replication factor (default 1: a single local broker). */
  replicationFactor?: number;
}

/**
 * Creates the topics that do not exist yet (auto-creation is off, ARCHITECTURE §Local Kafka)
 * and waits for their partition leaders. Idempotent: existing topics are kept.
 */
export async function ensureTopics(
  kafka: Kafka,
  topics: readonly string[] = ALL_TOPICS,
  { partitions = 3, replicationFactor = 1 }: EnsureTopicsOptions = {},
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length === 0) return;
    // Another process may create the same topics at the same time; kafkajs then
    // answers `false` (TOPIC_ALREADY_EXISTS), which is just as good.
    await admin.createTopics({
      topics: missing.map((topic) => ({
        topic,
        numPartitions: partitions,
        replicationFactor,
      })),
      waitForLeaders: false,
    });
    await waitForLeaders(admin, missing);
    log.info("Created topics {topics} with {partitions} partitions", {
      topics: missing,
      partitions,
    });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Waits until every partition of `topics` has a leader, at most `timeoutMs`. kafkajs's own
 * `waitForLeaders` retries only LEADER_NOT_AVAILABLE, but a KRaft broker may first answer a new
 * topic's metadata with UNKNOWN_TOPIC_OR_PARTITION (retriable too), which then failed a start.
 */
async function waitForLeaders(admin: Admin, topics: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50;; delay = Math.min(delay * 2, 1000)) {
    const led = await admin.fetchTopicMetadata({ topics }).then(
      (m) =>
        m.topics.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0)),
      (e) => {
        if ((e as { retriable?: unknown }).retriable !== true) throw e;
        return false;
      },
    );
    if (led) return;
    if (Date.now() > deadline) {
      throw new Error(
        `no leader for every partition of ${topics.join(", ")} after ${timeoutMs} ms`,
      );
    }
    await sleep(delay);
  }
}

/** Retries of {@linkcode retryRetriable} (each defaults to the clients' own, `RETRY`). */
export interface RetryOptions {
  /** Calls after the first. */
  readonly retries: number;
  /** Wait before the first retry, doubled each time. */
  readonly initialDelayMs: number;
  /** The longest wait. */
  readonly maxDelayMs: number;
}

/**
 * Calls `call` until it succeeds, again after a doubling wait while it fails with an error kafkajs
 * marks `retriable` (a partition whose leader is not ready, say); any other error, or the last
 * retriable one, rejects.
 */
export async function retryRetriable<T>(
  call: () => Promise<T>,
  {
    retries = RETRY.retries,
    initialDelayMs = RETRY.initialDelayMs,
    maxDelayMs = RETRY.maxDelayMs,
  }: Partial<RetryOptions> = {},
): Promise<T> {
  for (
    let attempt = 0, delay = initialDelayMs;;
    attempt++, delay = Math.min(delay * 2, maxDelayMs)
  ) {
    try {
      return await call();
    } catch (error) {
      if (attempt >= retries || (error as { retriable?: unknown }).retriable !== true) throw error;
      await sleep(delay);
    }
  }
}

/**
 * The high and low offsets of each of `topic`'s partitions (`admin.fetchTopicOffsets`), riding
 * out a partition whose leader is not ready yet, as just after the topic was made or the broker
 * restarted: kafkajs 2.2.4 retries an unknown topic there but fails at once on
 * NOT_LEADER_OR_FOLLOWER.
 */
export function fetchTopicEnds(
  admin: Admin,
  topic: string,
): ReturnType<Admin["fetchTopicOffsets"]> {
  return retryRetriable(() => admin.fetchTopicOffsets(topic));
}

/** How long the committing consumer's fetch waits for records (none come: its topics are paused). */
const SEEK_FETCH_WAIT_MS = 50;

/**
 * Commits `groupId`'s offsets at the present end of each of `topics` (made if missing), so a
 * consumer of that new group reads what is sent from now on, and nothing earlier.
 *
 * As kafkajs's `admin.setOffsets` does, a member of the group seeks every partition and stops at
 * its first fetch; but one member for all the topics, and with a short fetch wait: the admin's
 * consumer waits the default 5 s for records its paused topic never gets, once per topic.
 */
export async function commitGroupAtEnd(
  kafka: Kafka,
  groupId: string,
  topics: readonly string[],
): Promise<void> {
  await ensureTopics(kafka);
  const admin = kafka.admin();
  await admin.connect();
  const ends = await Promise.all(topics.map(async (topic) => ({
    topic,
    partitions: await fetchTopicEnds(admin, topic),
  }))).finally(() => admin.disconnect());
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: SEEK_FETCH_WAIT_MS });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.FETCH, () => consumer.stop().then(resolve, reject));
      consumer.run({ eachBatchAutoResolve: false, eachBatch: async () => {} }).catch(reject);
      consumer.pause(topics.map((topic) => ({ topic })));
      for (const { topic, partitions } of ends) {
        for (const p of partitions) {
          consumer.seek({ topic, partition: p.partition, offset: p.high });
        }
      }
    });
  } finally {
    await consumer.disconnect();
  }
}

/** One message for {@linkcode JsonProducer.sendBatch}. */
export interface OutgoingMessage {
  /** Destination topic, normally one of {@linkcode TOPICS}. */
  topic: string;
  /** The entity id (ARCHITECTURE §Kafka topics): it picks the partition, so one entity stays in order. */
  key: string;
  /** Serialized as JSON. */
  value: object;
}

/** An idempotent producer that sends JSON values. */
export interface JsonProducer {
  /** Sends one message and resolves once every in-sync replica has it (acks -1). */
  send(topic: string, key: string, value: object): Promise<RecordMetadata[]>;
  /** Sends many messages (any topics) in as few requests as possible, acks -1. */
  sendBatch(messages: readonly OutgoingMessage[]): Promise<RecordMetadata[]>;
  /** Flushes and closes the connection. */
  disconnect(): Promise<void>;
  /** The underlying kafkajs producer. */
  producer: Producer;
}

/**
 * Creates and connects an idempotent producer: the broker drops retried
 * duplicates, and one request in flight keeps each partition in send order.
 * Keys are partitioned with murmur2 like the Java client (DefaultPartitioner).
 *
 * A send retries until the broker takes the message (backoff capped at 30 s),
 * so a broker restart delays sends instead of failing them (ARCHITECTURE §Failures:
 * nothing is lost). Only non-retriable errors reject; a caller that must give
 * up earlier races the send against its own timeout.
 */
export async function createProducer(kafka: Kafka): Promise<JsonProducer> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    // Giving up and sending again would get new sequence numbers, i.e. a
    // possible duplicate; kafkajs warns about any limit for that reason.
    retry: {
      initialRetryTime: RETRY.initialDelayMs,
      maxRetryTime: RETRY.maxDelayMs,
      retries: Number.MAX_SAFE_INTEGER,
    },
    // Choosing it explicitly also silences kafkajs' "switched default partitioner" warning.
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  const encode = (key: string, value: object) => ({ key, value: JSON.stringify(value) });
  return {
    producer,
    send: (topic, key, value) => producer.send({ topic, acks: -1, messages: [encode(key, value)] }),
    sendBatch: (messages) => {
      const byTopic = Map.groupBy(messages, (m) => m.topic);
      return producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, ms]) => ({
          topic,
          messages: ms.map((m) => encode(m.key, m.value)),
        })),
      });
    },
    disconnect: () => producer.disconnect(),
  };
}
