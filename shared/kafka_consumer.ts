/**
 * The project's Kafka consumer: {@linkcode runConsumer} reads topics in a group, hands JSON
 * messages over in order, commits only what its handler finished (at-least-once), redelivers after
 * a handler failure, and runs a consumer again that kafkajs stopped for good. Clients come from
 * `createKafka` (shared/kafka.ts).
 *
 * @module
 */
import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage } from "kafkajs";
import { getLogger, type Logger } from "@logtape/logtape";
import { doublingDelay } from "./sleep.ts";

const log = getLogger(["evcharging", "kafka"]);

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
  /**
   * Hands each value over as its bytes, not parsed (`T` is then `Uint8Array`), for a handler
   * that parses them elsewhere (Central's telemetry, on other threads). Only a tombstone goes to
   * `onInvalid` then. Default false: values are parsed as JSON here.
   */
  raw?: boolean;
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
  readonly raw: boolean;
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
          const delay = doublingDelay(n, h.retryDelayMs, h.maxRetryDelayMs);
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
    const parsed = h.raw ? rawValue(m) : parseValue(m);
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

function rawValue(m: KafkaMessage): { value: Uint8Array } | { error: string } {
  return m.value === null ? { error: "no value (tombstone)" } : { value: m.value };
}

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
    raw: opts.raw ?? false,
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
    const delay = doublingDelay(crashes, retryDelayMs, maxRetryDelayMs);
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
