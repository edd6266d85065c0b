/**
 * kafkajs wired for this project under Deno: logs go to LogTape, topics
 * (ARCHITECTURE §Kafka topics) are created explicitly, producers are idempotent, and consumers
 * commit an offset only after the handler for that message succeeded.
 *
 * @module
 */
import {
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type IHeaders,
  Kafka,
  type KafkaMessage,
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

/** A message whose value parsed as JSON. */
export interface ConsumedMessage<T = unknown> {
  /** Topic it was read from. */
  topic: string;
  /** Partition it was read from. */
  partition: number;
  /** Kafka offset (a decimal string: offsets are 64-bit). */
  offset: string;
  /** The entity id it was sent with (ARCHITECTURE §Kafka topics); `null` if it had none. */
  key: string | null;
  /** The parsed JSON value, unchecked: validate it before trusting its shape. */
  value: T;
  /** Kafka record headers, as kafkajs gives them. */
  headers: IHeaders | undefined;
  /** Producer timestamp, ms since the epoch as a string (kafkajs' form). */
  timestamp: string;
}

/** A message whose value is missing or not valid UTF-8 JSON. */
export interface InvalidMessage {
  /** Topic it was read from. */
  topic: string;
  /** Partition it was read from. */
  partition: number;
  /** Its offset (decimal string); it is committed past once `onInvalid` returns. */
  offset: string;
  /** Its key as text, `null` if it had none. */
  key: string | null;
  /** The raw value as text (lossy for invalid UTF-8), `null` for a tombstone. */
  raw: string | null;
  /** Why it was rejected. */
  error: string;
}

/** Options of {@linkcode runConsumer}. */
export interface RunConsumerOptions<T = unknown> {
  /** Client from {@linkcode createKafka}. */
  kafka: Kafka;
  /** Consumer group: members share the partitions, and the group owns the committed offsets. */
  groupId: string;
  /** Topics to read; they must exist (see {@linkcode ensureTopics}). */
  topics: string[];
  /** Where a group with no committed offset starts (default false: only new messages). */
  fromBeginning?: boolean;
  /**
   * Handles one message. Its offset is committed only after this resolves; if
   * it throws, the message is delivered again (see {@linkcode runConsumer}).
   * Messages of one partition are handled one at a time, in order.
   * Give either this or {@linkcode handleBatch}.
   */
  handle?(message: ConsumedMessage<T>): void | Promise<void>;
  /**
   * Handles up to {@linkcode maxBatch} consecutive messages of one partition at once (one
   * store transaction for all, say). Their offsets are committed only after it resolves; if it
   * throws, all of them are delivered again. Non-JSON messages go to `onInvalid` instead and
   * split nothing: the valid ones around them still come together.
   */
  handleBatch?(messages: readonly ConsumedMessage<T>[]): void | Promise<void>;
  /**
   * Whether a message with this key is for this consumer (default: all are). The others are
   * neither parsed nor handled, only committed past: a reader that shares a topic with other
   * processes' keys then pays nothing for theirs.
   */
  accept?(key: string | null): boolean;
  /** Most messages one `handleBatch` call gets (default 500). */
  maxBatch?: number;
  /**
   * Receives a message that is not valid JSON; it is then skipped (committed)
   * so that it cannot block its partition. Errors it throws are logged and
   * ignored. Default: log a warning.
   */
  onInvalid?(message: InvalidMessage): void | Promise<void>;
  /** First redelivery delay after a handler failure (default 500 ms), doubling per failure. */
  retryDelayMs?: number;
  /** Cap of the redelivery delay (default 30 s). */
  maxRetryDelayMs?: number;
  /**
   * How long a fetch may wait on the broker for new data (default 1000 ms).
   * It also bounds how late a paused partition is fetched again after resuming.
   */
  maxWaitTimeInMs?: number;
  /**
   * How many bytes the broker gathers before it answers a fetch early (default 1: at once).
   * A busy topic read with a larger value costs far fewer fetches, each up to
   * `maxWaitTimeInMs` later.
   */
  minBytes?: number;
  /** How many partitions are handled in parallel (default 1). */
  partitionsConsumedConcurrently?: number;
  /**
   * How long the broker waits for a silent member before giving its partitions to the others
   * (default 10 s; kafkajs's own is 30 s). A process that was killed rejoins only once its
   * old membership has expired, so this bounds how long a restarted Central or driver waits.
   */
  sessionTimeoutMs?: number;
}

/** A running consumer. */
export interface ConsumerHandle {
  /**
   * Lets the message being handled finish, commits it, leaves the group and
   * disconnects. Idempotent. May be called from `handle`, but not awaited
   * there: it waits for that very handler.
   */
  stop(): Promise<void>;
  /** The underlying kafkajs consumer. */
  consumer: Consumer;
}

/** What {@link batchHandler} needs from {@link runConsumer}. */
interface BatchHandling<T> {
  readonly accept?: (key: string | null) => boolean;
  readonly handleMany: (messages: readonly ConsumedMessage<T>[]) => void | Promise<void>;
  /** Messages handed over at once (1 unless the caller handles batches). */
  readonly chunkSize: number;
  readonly onInvalid: (message: InvalidMessage) => void | Promise<void>;
  readonly clog: Logger;
  readonly retryDelayMs: number;
  readonly maxRetryDelayMs: number;
  /** The timers that resume paused partitions; `stop()` clears them. */
  readonly resumeTimers: Set<ReturnType<typeof setTimeout>>;
  readonly stopping: () => boolean;
}

/**
 * kafkajs' `eachBatch`: hands the batch over a chunk at a time, skips (and reports) what is not
 * JSON, pauses the partition with a growing delay when the handler fails (the chunk is then
 * redelivered), and commits the offset after the last message done with.
 */
function batchHandler<T>(h: BatchHandling<T>): (p: EachBatchPayload) => Promise<void> {
  /** Consecutive handler failures per partition, for the backoff. */
  const failures = new Map<string, number>();
  return async (p) => {
    const { topic, partition } = p.batch;
    const where = `${topic}/${partition}`;
    let handled: string | undefined; // offset of the last message done with
    const messages = p.batch.messages;
    let i = 0;
    while (i < messages.length) {
      if (h.stopping() || !p.isRunning() || p.isStale()) break;
      const { chunk, skipped, next } = await readChunk(h, p.batch, i);
      i = next;
      if (chunk.length > 0) {
        try {
          await h.handleMany(chunk);
          failures.delete(where);
        } catch (e) {
          const n = (failures.get(where) ?? 0) + 1;
          failures.set(where, n);
          const delay = Math.min(h.retryDelayMs * 2 ** (n - 1), h.maxRetryDelayMs);
          const offset = chunk[0].offset;
          h.clog.error(
            `Handler failed at ${where}@${offset} (attempt ${n}); redelivering in ${delay} ms`,
            { topic, partition, offset, attempt: n, delay, error: e },
          );
          const resume = p.pause();
          const timer = setTimeout(() => {
            h.resumeTimers.delete(timer);
            resume();
          }, delay);
          h.resumeTimers.add(timer);
          break;
        }
      }
      // The invalid message came after the chunk: done with both.
      handled = (skipped ?? messages[i - 1]).offset;
      p.resolveOffset(handled);
      await p.heartbeat();
    }
    if (handled !== undefined) {
      // The committed offset is the next one to read. Passing offsets makes
      // kafkajs commit now instead of on its auto-commit schedule.
      const next = (BigInt(handled) + 1n).toString();
      await p.commitOffsetsIfNecessary({
        topics: [{ topic, partitions: [{ partition, offset: next }] }],
      });
    }
  };
}

/**
 * The next chunk from message `from` on: consecutive valid messages (those `accept` skips left
 * out); a non-JSON one ends it and is reported. Returns where the next chunk starts.
 */
async function readChunk<T>(
  h: BatchHandling<T>,
  batch: EachBatchPayload["batch"],
  from: number,
): Promise<{ chunk: ConsumedMessage<T>[]; skipped?: KafkaMessage; next: number }> {
  const { topic, partition, messages } = batch;
  const chunk: ConsumedMessage<T>[] = [];
  let i = from;
  for (; i < messages.length && chunk.length < h.chunkSize; i++) {
    const m = messages[i];
    const key = m.key?.toString() ?? null;
    if (h.accept !== undefined && !h.accept(key)) continue;
    const parsed = parseValue(m);
    if ("error" in parsed) {
      try {
        await h.onInvalid({
          topic,
          partition,
          offset: m.offset,
          key,
          raw: m.value?.toString() ?? null,
          error: parsed.error,
        });
      } catch (e) {
        // Topic names are [A-Za-z0-9._-]: no LogTape placeholder braces to escape.
        h.clog.error(
          `onInvalid failed at ${topic}/${partition}@${m.offset}; skipping the message anyway`,
          { topic, partition, offset: m.offset, error: e },
        );
      }
      return { chunk, skipped: m, next: i + 1 };
    }
    chunk.push({
      topic,
      partition,
      offset: m.offset,
      key,
      value: parsed.value as T,
      headers: m.headers,
      timestamp: m.timestamp,
    });
  }
  return { chunk, next: i };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function parseValue(m: KafkaMessage): { value: unknown } | { error: string } {
  if (m.value === null) return { error: "no value (tombstone)" };
  try {
    return { value: JSON.parse(utf8.decode(m.value)) };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * Joins `groupId`, subscribes to `topics` and calls `handle` for every message,
 * committing offsets only for messages whose handler succeeded (at-least-once:
 * handlers must be idempotent, ARCHITECTURE §Kafka topics). Resolves once the group is joined.
 *
 * How it works: kafkajs `eachBatch` with `autoCommit: false` and
 * `eachBatchAutoResolve: false`. Messages of a batch are handled in order;
 * after each success its offset is resolved, and at the end of the batch the
 * offset after the last success is committed explicitly.
 *
 * When a handler throws: the messages before it stay committed; the failed one
 * and the rest of its batch are neither resolved nor committed; the partition
 * is paused for `retryDelayMs` (doubling per consecutive failure up to
 * `maxRetryDelayMs`) and then resumed, and since kafkajs fetches from the
 * last resolved offset, the next fetch starts at the failed message, which is
 * delivered again. Other partitions go on meanwhile. If the process stops or
 * the partition moves to another member, delivery resumes from the last
 * commit, i.e. again at the failed message. A message that always fails is
 * retried forever at the capped delay: the partition keeps its order rather
 * than skip a message. Errors are never thrown into kafkajs, so its own
 * crash/restart path is only taken for Kafka errors.
 */
export async function runConsumer<T = unknown>(
  opts: RunConsumerOptions<T>,
): Promise<ConsumerHandle> {
  const {
    kafka,
    groupId,
    topics,
    fromBeginning = false,
    retryDelayMs = 500,
    maxRetryDelayMs = 30_000,
  } = opts;
  const clog = log.getChild("consumer").with({ groupId });
  const onInvalid = opts.onInvalid ??
    ((m: InvalidMessage) => {
      clog.warning("Skipped a message that is not JSON: {error}", { ...m });
    });
  const sessionTimeout = opts.sessionTimeoutMs ?? 10_000;
  const consumer = kafka.consumer({
    groupId,
    sessionTimeout,
    heartbeatInterval: Math.max(500, Math.floor(sessionTimeout / 10)),
    maxWaitTimeInMs: opts.maxWaitTimeInMs ?? 1000,
    minBytes: opts.minBytes ?? 1,
    allowAutoTopicCreation: false,
  });
  let stopping = false;
  const resumeTimers = new Set<ReturnType<typeof setTimeout>>();

  const handleOne = opts.handle;
  const handleMany = opts.handleBatch ??
    (handleOne && (async (ms: readonly ConsumedMessage<T>[]) => {
      for (const m of ms) await handleOne(m);
    }));
  if (handleMany === undefined) throw new TypeError("runConsumer needs handle or handleBatch");
  // One at a time unless the caller handles batches: a failure then redelivers just that one.
  const chunkSize = opts.handleBatch ? Math.max(1, opts.maxBatch ?? 500) : 1;

  const eachBatch = batchHandler<T>({
    accept: opts.accept,
    handleMany,
    chunkSize,
    onInvalid,
    clog,
    retryDelayMs,
    maxRetryDelayMs,
    resumeTimers,
    stopping: () => stopping,
  });

  const run = () =>
    consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 1,
      eachBatch,
    });
  const restarts = restartAfterCrashes(consumer, run, {
    clog,
    retryDelayMs,
    maxRetryDelayMs,
    stopping: () => stopping,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics, fromBeginning });
    await run();
  } catch (e) {
    restarts.cancel();
    await consumer.disconnect().catch(() => {});
    throw e;
  }

  let stopped: Promise<void> | undefined;
  return {
    consumer,
    stop: () =>
      stopped ??= (async () => {
        stopping = true; // synchronously, so the batch loop stops before its next message
        restarts.cancel();
        for (const t of resumeTimers) clearTimeout(t);
        resumeTimers.clear();
        await consumer.disconnect();
      })(),
  };
}

/** What {@link restartAfterCrashes} needs besides the consumer. */
interface CrashRestarts {
  readonly clog: Logger;
  /** First wait before a restart, doubled per crash until the group is joined again. */
  readonly retryDelayMs: number;
  readonly maxRetryDelayMs: number;
  readonly stopping: () => boolean;
}

/**
 * Runs a crashed consumer again. kafkajs restarts it by itself only after a retriable error; after
 * any other it disconnects and stays stopped for good, and its process would read nothing more
 * while looking alive. Seen while a broker restarts: "Failed to find group coordinator" as the
 * coordinator shuts down. Returns `cancel`, which drops a pending restart (for `stop()`).
 */
function restartAfterCrashes(
  consumer: Consumer,
  run: () => Promise<void>,
  { clog, retryDelayMs, maxRetryDelayMs, stopping }: CrashRestarts,
): { cancel(): void } {
  let crashes = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  consumer.on(consumer.events.GROUP_JOIN, () => crashes = 0);
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    // kafkajs emits CRASH once it has disconnected; with `restart` it runs again by itself.
    if (payload.restart || stopping()) return;
    crashes++;
    const delay = Math.min(retryDelayMs * 2 ** (crashes - 1), maxRetryDelayMs);
    clog.warning("The consumer stopped on {error}; running it again in {delay} ms", {
      error: payload.error.message,
      delay,
      crashes,
    });
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (stopping()) return;
      // A failed start crashes again, which lands back here.
      run().catch((e) => clog.error("Running the consumer again failed: {error}", { error: e }));
    }, delay);
  });
  return {
    cancel: () => {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
