/**
 * The Kafka client trial (issue 20, item 3): the raw produce and consume of `bench_raw.ts`, once
 * through kafkajs as the project uses it (shared/kafka.ts) and once through `@platformatic/kafka`,
 * configured alike: an idempotent producer with acks -1 sending batches of 500 JSON messages keyed
 * by CP id (murmur2 partitioning, as the Java client), and one consumer in a new group reading the
 * topic from its start, handling one message at a time and committing only what it handled.
 * Each run also checks what a switch would need: every message read once, the group's committed
 * offsets at the end of the topic, and the partition each key went to.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import {
  Admin,
  compatibilityPartitioner,
  Consumer,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  ProduceAcks,
  Producer,
  stringDeserializer,
  stringSerializer,
} from "@platformatic/kafka";
import {
  createKafka,
  createProducer,
  ensureTopics,
  type OutgoingMessage,
} from "../shared/kafka.ts";
import { runConsumer } from "../shared/kafka_consumer.ts";
import { cpuMsFromStat } from "./proc_figures.ts";

/** The clients on trial. */
export const CLIENTS = ["kafkajs", "platformatic"] as const;

/** One of {@link CLIENTS}. */
export type ClientName = typeof CLIENTS[number];

/** Messages per produce request, as the fleet's batcher and Central's outbox send them. */
export const BATCH = 500;

/** Partitions of each trial topic, as the project's topics have. */
const PARTITIONS = 3;

/** What one client is asked to do. */
export interface TrialOptions {
  /** Bootstrap brokers, `host:port`. */
  readonly brokers: readonly string[];
  /** Messages produced, then consumed (at least 2 × {@link BATCH}: the first batch is not timed). */
  readonly messages: number;
  /** Size of each JSON value, bytes (a telemetry envelope's: 303). */
  readonly bytes: number;
  /** The broker's process, when it runs on this machine: its CPU is counted too. */
  readonly brokerPid?: number;
  /** Longest either phase may take before the run counts as failed (default 120 s). */
  readonly phaseTimeoutMs?: number;
}

/** One client's figures from one run. */
export interface TrialFigures {
  /** Messages per second acknowledged, from the first batch's ack to the last's. */
  readonly producePerS: number;
  /** Messages per second handled, from the first message handled to the last. */
  readonly consumePerS: number;
  /** From creating the consumer to its first message (connect, group join, first fetch), ms. */
  readonly firstMessageMs: number;
  /** This process' CPU time per message while producing, µs (all its threads). */
  readonly produceCpuUs: number;
  /** This process' CPU time per message while consuming, µs. */
  readonly consumeCpuUs: number;
  /** The broker's CPU time per message produced / consumed, µs (when it runs here). */
  readonly brokerProduceCpuUs?: number;
  /** See {@link TrialFigures.brokerProduceCpuUs}. */
  readonly brokerConsumeCpuUs?: number;
  /** Messages the consumer handled (all of them, once each, or the run failed). */
  readonly read: number;
  /** Sum of the group's committed offsets afterwards: the topic was new, so `messages`. */
  readonly committed: number;
  /** The partition each key was read from. */
  readonly partitionOfKey: ReadonlyMap<string, number>;
}

/** CPU time of this process and of the broker, now, ms. */
function cpuNow(brokerPid?: number): { own: number; broker?: number } {
  const own = cpuMsFromStat(Deno.readTextFileSync("/proc/self/stat"));
  if (brokerPid === undefined) return { own };
  return { own, broker: cpuMsFromStat(Deno.readTextFileSync(`/proc/${brokerPid}/stat`)) };
}

/** A timing point of a phase: wall clock and CPU. */
interface Mark {
  readonly at: number;
  readonly cpu: { own: number; broker?: number };
}

function mark(brokerPid?: number): Mark {
  return { at: performance.now(), cpu: cpuNow(brokerPid) };
}

/** Rate and CPU per message between two marks that `count` messages lie between. */
function between(from: Mark, to: Mark, count: number) {
  const perUs = (a: number, b: number) => (b - a) * 1000 / count;
  return {
    perS: count / ((to.at - from.at) / 1000),
    cpuUs: perUs(from.cpu.own, to.cpu.own),
    brokerUs: from.cpu.broker === undefined || to.cpu.broker === undefined
      ? undefined
      : perUs(from.cpu.broker, to.cpu.broker),
  };
}

/** The value sent: `{v: 1, pad}`, `bytes` long as JSON. */
function valueOf(bytes: number): { v: number; pad: string } {
  const skeleton = JSON.stringify({ v: 1, pad: "" }).length;
  return { v: 1, pad: "x".repeat(Math.max(0, bytes - skeleton)) };
}

/** Message `i`'s key: 1000 CPs, as bench_raw.ts keys them. */
const keyOf = (i: number) => `CP-${i % 1000}`;

/** Rejects with `what` if `promise` has not settled after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what()} after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Counts what a consumer handled: each key's partition, and the first and last marks. */
class ReadLog {
  read = 0;
  first: Mark | undefined;
  last: Mark | undefined;
  readonly partitionOfKey = new Map<string, number>();
  readonly all = Promise.withResolvers<void>();

  constructor(readonly expected: number, readonly brokerPid?: number) {}

  /** Notes one handled message; a value that is not the one sent fails the run. */
  note(key: string | null, partition: number, value: unknown): void {
    if (key === null || (value as { v?: unknown } | null)?.v !== 1) {
      this.all.reject(new Error(`message ${this.read + 1} came back changed (key ${key})`));
      return;
    }
    this.partitionOfKey.set(key, partition);
    this.read++;
    if (this.read === 1) this.first = mark(this.brokerPid);
    if (this.read === this.expected) {
      this.last = mark(this.brokerPid);
      this.all.resolve();
    }
  }
}

/** Produce, then consume `opts.messages` on a new topic with one client. */
export function runTrial(client: ClientName, opts: TrialOptions): Promise<TrialFigures> {
  if (!Number.isInteger(opts.messages) || opts.messages < 2 * BATCH) {
    throw new RangeError(`a trial needs at least ${2 * BATCH} messages, got ${opts.messages}`);
  }
  return client === "kafkajs" ? kafkajsTrial(opts) : platformaticTrial(opts);
}

/** A topic name no other run uses. */
function newTopic(client: ClientName): string {
  const random = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  return `bench.clients-${client}-${Date.now().toString(36)}-${random}`;
}

/** Sends every batch, awaiting each; the marks are taken after the first batch and the last. */
async function produceAll(
  send: (batch: OutgoingMessage[]) => Promise<unknown>,
  topic: string,
  opts: TrialOptions,
) {
  const value = valueOf(opts.bytes);
  let from: Mark | undefined;
  for (let i = 0; i < opts.messages; i += BATCH) {
    const batch: OutgoingMessage[] = [];
    for (let j = i; j < Math.min(opts.messages, i + BATCH); j++) {
      batch.push({ topic, key: keyOf(j), value });
    }
    await send(batch);
    // The first batch also connects and fetches metadata: it is left out of the rate.
    from ??= mark(opts.brokerPid);
  }
  return between(from!, mark(opts.brokerPid), opts.messages - BATCH);
}

/** The figures of a run from its produce phase and its read log. */
function figures(
  produced: ReturnType<typeof between>,
  log: ReadLog,
  consumerStart: number,
  committed: number,
): TrialFigures {
  const consumed = between(log.first!, log.last!, log.expected - 1);
  return {
    producePerS: produced.perS,
    consumePerS: consumed.perS,
    firstMessageMs: log.first!.at - consumerStart,
    produceCpuUs: produced.cpuUs,
    consumeCpuUs: consumed.cpuUs,
    brokerProduceCpuUs: produced.brokerUs,
    brokerConsumeCpuUs: consumed.brokerUs,
    read: log.read,
    committed,
    partitionOfKey: log.partitionOfKey,
  };
}

/** Runs one phase of a trial; its error, if any, says which phase it was. */
async function phase<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw new Error(`${what} failed`, { cause: error });
  }
}

/** kafkajs through shared/kafka.ts, as bench_raw.ts and the whole project use it. */
async function kafkajsTrial(opts: TrialOptions): Promise<TrialFigures> {
  const timeout = opts.phaseTimeoutMs ?? 120_000;
  const kafka = createKafka({ brokers: [...opts.brokers], clientId: "bench-clients-kafkajs" });
  const topic = newTopic("kafkajs");
  const groupId = `${topic}-reader`;
  const admin = kafka.admin();
  await phase("kafkajs: creating the topic", async () => {
    await ensureTopics(kafka, [topic], { partitions: PARTITIONS });
    await admin.connect();
  });
  try {
    const produced = await phase("kafkajs: producing", async () => {
      const producer = await createProducer(kafka);
      try {
        return await within(
          produceAll((batch) => producer.sendBatch(batch), topic, opts),
          timeout,
          () => "kafkajs: producing did not finish",
        );
      } finally {
        await producer.disconnect();
      }
    });
    const log = new ReadLog(opts.messages, opts.brokerPid);
    const consumerStart = performance.now();
    await phase("kafkajs: consuming", async () => {
      const consumer = await runConsumer({
        kafka,
        groupId,
        topics: [topic],
        fromBeginning: true,
        partitionsConsumedConcurrently: PARTITIONS,
        handle: (m) => log.note(m.key, m.partition, m.value),
      });
      try {
        await within(log.all.promise, timeout, () => `read ${log.read} of ${opts.messages}`);
      } finally {
        await consumer.stop(); // lets the last batch commit
      }
    });
    const [offsets] = await phase(
      "kafkajs: reading the committed offsets",
      () => admin.fetchOffsets({ groupId, topics: [topic] }),
    );
    const committed = offsets.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    return figures(produced, log, consumerStart, committed);
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** JSON from UTF-8, as shared/kafka.ts parses every value. */
function jsonValue(data?: Buffer): unknown {
  return data === undefined ? undefined : JSON.parse(utf8.decode(data));
}

/** `@platformatic/kafka`'s common options, with kafkajs's timeouts from shared/kafka.ts. */
function platformaticBase(opts: TrialOptions, role: string) {
  return {
    clientId: `bench-clients-platformatic-${role}`,
    bootstrapBrokers: [...opts.brokers],
    connectTimeout: 3_000,
    requestTimeout: 30_000,
  };
}

/** `@platformatic/kafka`: its Admin, Producer and Consumer, no kafkajs involved. */
async function platformaticTrial(opts: TrialOptions): Promise<TrialFigures> {
  const timeout = opts.phaseTimeoutMs ?? 120_000;
  const topic = newTopic("platformatic");
  const admin = new Admin(platformaticBase(opts, "admin"));
  try {
    await phase(
      "platformatic: creating the topic",
      () => admin.createTopics({ topics: [topic], partitions: PARTITIONS, replicas: 1 }),
    );
    const producer = new Producer({
      ...platformaticBase(opts, "producer"),
      idempotent: true,
      acks: ProduceAcks.ALL,
      // Java's murmur2 (as kafkajs's DefaultPartitioner): a key keeps its partition on a switch.
      partitioner: compatibilityPartitioner,
      serializers: {
        key: stringSerializer,
        value: (v?: object) => v === undefined ? undefined : Buffer.from(JSON.stringify(v)),
      },
    });
    const produced = await phase("platformatic: producing", async () => {
      try {
        return await within(
          produceAll((messages) => producer.send({ messages }), topic, opts),
          timeout,
          () => "platformatic: producing did not finish",
        );
      } finally {
        await producer.close();
      }
    });
    const { log, committed, consumerStart } = await phase(
      "platformatic: consuming",
      () => platformaticConsume(opts, topic, timeout),
    );
    return figures(produced, log, consumerStart, committed);
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.close();
  }
}

/**
 * One consumer in a new group, from the topic's start (COMMITTED, falling back to EARLIEST: what
 * kafkajs's `fromBeginning` does), without autocommit: `@platformatic/kafka`'s autocommit commits
 * what it fetched, before the handler ran, and shared/kafka.ts commits only what was handled. So
 * the handled offsets are committed here, every {@link BATCH} messages and at the end.
 */
async function platformaticConsume(opts: TrialOptions, topic: string, timeout: number) {
  const log = new ReadLog(opts.messages, opts.brokerPid);
  const consumerStart = performance.now();
  const consumer = new Consumer({
    ...platformaticBase(opts, "consumer"),
    groupId: `${topic}-reader`,
    // shared/kafka.ts's consumer settings, and kafkajs's fetch sizes.
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    maxWaitTime: 1_000,
    minBytes: 1,
    maxBytes: 10 * 1024 * 1024,
    maxBytesPerPartition: 1024 * 1024,
    deserializers: { key: stringDeserializer, value: jsonValue },
  });
  const handled = new Map<number, { offset: bigint; leaderEpoch: number }>();
  let committing: Promise<void> = Promise.resolve();
  const commit = () => {
    const offsets = [...handled].map(([partition, h]) => ({
      topic,
      partition,
      offset: h.offset + 1n, // the next one to read
      leaderEpoch: h.leaderEpoch,
    }));
    committing = committing.then(() => consumer.commit({ offsets }));
    committing.catch((e) => log.all.reject(e));
    return committing;
  };
  try {
    const stream = await consumer.consume({
      topics: [topic],
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: MessagesStreamFallbackModes.EARLIEST,
      autocommit: false,
    });
    stream.on("error", (e: Error) => log.all.reject(e));
    stream.on("data", (m) => {
      log.note(m.key ?? null, m.partition, m.value);
      handled.set(m.partition, { offset: m.offset, leaderEpoch: m.leaderEpoch });
      if (log.read % BATCH === 0) commit();
    });
    try {
      await within(log.all.promise, timeout, () => `read ${log.read} of ${opts.messages}`);
      await commit();
    } finally {
      await stream.close();
    }
    const offsets = await consumer.listCommittedOffsets({
      topics: [{ topic, partitions: [...Array(PARTITIONS).keys()] }],
    });
    let committed = 0;
    for (const values of offsets.values()) {
      for (const offset of values) committed += Math.max(0, Number(offset));
    }
    return { log, committed, consumerStart };
  } finally {
    await consumer.close(true);
  }
}
