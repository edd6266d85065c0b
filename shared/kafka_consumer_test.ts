// These run against a real broker: `deno task test` starts one (see tests/kafka_env.ts).
import assert from "node:assert/strict";
import { type Kafka, type PartitionAssigner, PartitionAssigners } from "kafkajs";
import { createKafka, createProducer, ensureTopics, type OutgoingMessage } from "./kafka.ts";
import {
  type ConsumerHandle,
  type InvalidMessage,
  runConsumer,
  type RunConsumerOptions,
} from "./kafka_consumer.ts";
import { testBrokers, uniqueName } from "../tests/kafka_env.ts";

/** Waits until `done()` holds, polling; fails with `what` after `ms`. */
async function waitFor(
  done: () => boolean | Promise<boolean>,
  what: string,
  ms = 30_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Committed offset of a group on partition 0 of `topic` ("-1" when none). */
async function committedOffset(kafka: Kafka, groupId: string, topic: string): Promise<string> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return t.partitions.find((p) => p.partition === 0)!.offset;
  } finally {
    await admin.disconnect();
  }
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

type Seq = { key: string; seq: number };

/** A test's own topic, its client of the test broker, and a consumer group of its own. */
interface FreshTopic {
  kafka: Kafka;
  topic: string;
  groupId: string;
  /** Runs a consumer of the topic in the group from the beginning, unless `options` say else. */
  consume<T = Seq>(options: Partial<RunConsumerOptions<T>>): Promise<ConsumerHandle>;
}

/** Creates a topic named after `name` with `partitions` partitions (see {@linkcode FreshTopic}). */
async function freshTopic(name: string, partitions: number): Promise<FreshTopic> {
  const kafka = createKafka({ brokers: testBrokers(), clientId: `test-${name}` });
  const topic = uniqueName(name);
  const groupId = uniqueName(`${name}-group`);
  await ensureTopics(kafka, [topic], { partitions });
  return {
    kafka,
    topic,
    groupId,
    consume: (options) =>
      runConsumer({ kafka, groupId, topics: [topic], fromBeginning: true, ...options }),
  };
}

/** `{ key, seq }` messages for `topic`: for each seq in turn, one per key (keys interleaved). */
const seqMessages = (topic: string, seqs: readonly number[], keys: readonly string[] = ["k"]) =>
  seqs.flatMap((seq) => keys.map((key) => ({ topic, key, value: { key, seq } })));

/** Sends `messages` through a producer of its own, 1,000 per request. */
async function produce(kafka: Kafka, messages: readonly OutgoingMessage[]): Promise<void> {
  const producer = await createProducer(kafka);
  try {
    for (let i = 0; i < messages.length; i += 1000) {
      await producer.sendBatch(messages.slice(i, i + 1000));
    }
  } finally {
    await producer.disconnect();
  }
}

/**
 * Sends one marker message per key after the data and waits until `seen` reports each: a key's
 * messages stay in order on its partition, so once its marker is handled, every earlier message
 * of that key (and any duplicate of one) has been handled too, and a check that nothing else
 * arrived no longer depends on how long the test waited.
 */
async function sendEndMarkers(
  kafka: Kafka,
  topic: string,
  keys: readonly string[],
  seq: number,
  seen: (key: string) => boolean,
): Promise<void> {
  await produce(kafka, seqMessages(topic, [seq], keys));
  await waitFor(() => keys.every(seen), `the end marker (seq ${seq}) of every key`);
}

// kafkajs keeps retry timers and sockets that outlive disconnect() by a tick;
// the tests stop every client they start, so the sanitizers would only add noise.
const kafkaTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

kafkaTest("10,000 keyed messages arrive once each, in order per key", async () => {
  const { kafka, topic, consume } = await freshTopic("order", 6);
  const keys = range(1, 50).map((k) => `cp-${k}`);
  const perKey = 200;

  // Interleave the keys like real traffic.
  await produce(kafka, seqMessages(topic, range(1, perKey), keys));

  const seen = new Map<string, number[]>();
  const partitionsOfKey = new Map<string, Set<number>>();
  let total = 0;
  const consumer = await consume({
    partitionsConsumedConcurrently: 3,
    handle: ({ value, partition }) => {
      total++;
      seen.set(value.key, [...seen.get(value.key) ?? [], value.seq]);
      partitionsOfKey.set(value.key, (partitionsOfKey.get(value.key) ?? new Set()).add(partition));
    },
  });
  try {
    await waitFor(() => total >= keys.length * perKey, "10,000 messages", 60_000);
    const end = perKey + 1;
    await sendEndMarkers(kafka, topic, keys, end, (key) => seen.get(key)?.includes(end) ?? false);
  } finally {
    await consumer.stop();
  }

  assert.equal(total, keys.length * (perKey + 1), "nothing lost, nothing duplicated");
  const expected = range(1, perKey + 1);
  for (const key of keys) assert.deepEqual(seen.get(key), expected, `order of ${key}`);
  for (const [key, ps] of partitionsOfKey) {
    assert.equal(ps.size, 1, `${key} stays on one partition`);
  }
  const used = new Set([...partitionsOfKey.values()].flatMap((s) => [...s]));
  assert.ok(used.size > 1, `keys spread over partitions (used ${[...used]})`);
});

kafkaTest("a restarted group resumes right after its last committed message", async () => {
  const { kafka, topic, groupId, consume } = await freshTopic("resume", 1);

  // First run: stop from inside the handler of message 60; stop() takes effect
  // at once, so message 61 is never handled, whatever the batch boundaries.
  const first: number[] = [];
  let stopped: Promise<void> | undefined;
  const run1: ConsumerHandle = await consume({
    handle: ({ value }) => {
      first.push(value.seq);
      if (value.seq === 60) stopped = run1.stop();
    },
  });
  // Produced only now, so run1 is assigned before any message is handled.
  await produce(kafka, seqMessages(topic, range(1, 100)));
  await waitFor(() => stopped !== undefined, "message 60");
  await stopped;
  assert.deepEqual(first, range(1, 60));
  assert.equal(await committedOffset(kafka, groupId, topic), "60");

  const second: number[] = [];
  const run2 = await consume({
    handle: ({ value }) => {
      second.push(value.seq);
    },
  });
  try {
    await waitFor(() => second.length >= 40, "messages 61..100");
    await sendEndMarkers(kafka, topic, ["k"], 101, () => second.includes(101));
  } finally {
    await run2.stop();
  }
  assert.deepEqual(second, range(61, 101), "none of 1..60 again, nothing twice");
  assert.equal(await committedOffset(kafka, groupId, topic), "101");
});

kafkaTest("a handler that throws gets the message again, with no commit past it", async () => {
  const { kafka, topic, groupId, consume } = await freshTopic("retry", 1);

  const deliveries: number[] = [];
  let committedAtRedelivery: string | undefined;
  const consumer = await consume({
    retryDelayMs: 100,
    handle: async ({ value }) => {
      deliveries.push(value.seq);
      const attempts = deliveries.filter((s) => s === 5).length;
      if (value.seq === 5 && attempts === 1) throw new Error("simulated failure");
      if (value.seq === 5 && attempts === 2) {
        committedAtRedelivery = await committedOffset(kafka, groupId, topic);
      }
    },
  });
  await produce(kafka, seqMessages(topic, range(1, 10)));
  try {
    await waitFor(() => deliveries.includes(10), "message 10");
    await sendEndMarkers(kafka, topic, ["k"], 11, () => deliveries.includes(11));
  } finally {
    await consumer.stop();
  }
  assert.deepEqual(deliveries, [1, 2, 3, 4, 5, 5, 6, 7, 8, 9, 10, 11]);
  // Messages 1..4 are offsets 0..3: the commit stopped right before message 5.
  assert.equal(committedAtRedelivery, "4");
  assert.equal(await committedOffset(kafka, groupId, topic), "11");
});

/** A consumer of the topic from the beginning that records what it handles and what it skips. */
async function recordingConsumer(
  { consume }: FreshTopic,
  accept?: (key: string | null) => boolean,
): Promise<{ consumer: ConsumerHandle; handled: unknown[]; invalid: InvalidMessage[] }> {
  const handled: unknown[] = [];
  const invalid: InvalidMessage[] = [];
  const consumer = await consume<unknown>({
    accept,
    handle: ({ value }) => {
      handled.push(value);
    },
    onInvalid: (m) => {
      invalid.push(m);
    },
  });
  return { consumer, handled, invalid };
}

/** Produces raw (possibly non-JSON) values with a plain kafkajs send. */
async function sendRaw(
  kafka: Kafka,
  topic: string,
  messages: { key?: string; value: string }[],
): Promise<void> {
  const producer = await createProducer(kafka);
  try {
    await producer.producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

kafkaTest("a message that is not JSON goes to onInvalid and the consumer goes on", async () => {
  const fresh = await freshTopic("invalid", 1);
  const { kafka, topic, groupId } = fresh;

  const { consumer, handled, invalid } = await recordingConsumer(fresh);
  await sendRaw(kafka, topic, [
    { key: "k", value: '{"seq":1}' },
    { key: "k", value: "not json {" },
    { key: "k", value: '{"seq":3}' },
  ]);
  try {
    await waitFor(() => handled.length >= 2, "the two valid messages");
  } finally {
    await consumer.stop();
  }
  assert.deepEqual(handled, [{ seq: 1 }, { seq: 3 }]);
  assert.equal(invalid.length, 1);
  assert.equal(invalid[0].offset, "1");
  assert.equal(invalid[0].key, "k");
  assert.equal(invalid[0].raw, "not json {");
  assert.match(invalid[0].error, /JSON/);
  assert.equal(await committedOffset(kafka, groupId, topic), "3");
});

kafkaTest("raw: values come as their bytes, JSON or not; only a tombstone is invalid", async () => {
  const { kafka, topic, groupId, consume } = await freshTopic("raw", 1);
  const handled: string[] = [];
  const invalid: InvalidMessage[] = [];
  const consumer = await consume<Uint8Array>({
    raw: true,
    handle: ({ value }) => {
      handled.push(new TextDecoder().decode(value));
    },
    onInvalid: (m) => {
      invalid.push(m);
    },
  });
  const producer = await createProducer(kafka);
  try {
    await producer.producer.send({
      topic,
      acks: -1,
      messages: [
        { key: "k", value: '{"seq":1}' },
        { key: "k", value: "not json {" },
        { key: "k", value: null },
        { key: "k", value: '{"seq":4}' },
      ],
    });
    await waitFor(async () => await committedOffset(kafka, groupId, topic) === "4", "commit");
  } finally {
    await producer.disconnect();
    await consumer.stop();
  }
  assert.deepEqual(handled, ['{"seq":1}', "not json {", '{"seq":4}']);
  assert.deepEqual(invalid.map((m) => [m.offset, m.raw]), [["2", null]]);
});

kafkaTest(
  "messages whose key is not accepted are committed past unparsed and unhandled",
  async () => {
    const fresh = await freshTopic("accept", 1);
    const { kafka, topic, groupId } = fresh;

    const { consumer, handled, invalid } = await recordingConsumer(fresh, (key) => key === "mine");
    await sendRaw(kafka, topic, [
      { key: "other", value: '{"seq":1}' },
      { key: "mine", value: '{"seq":2}' },
      { key: "other", value: "not json {" },
      { value: '{"seq":4}' },
      { key: "mine", value: '{"seq":5}' },
      { key: "other", value: '{"seq":6}' },
    ]);
    try {
      await waitFor(async () => await committedOffset(kafka, groupId, topic) === "6", "commit");
    } finally {
      await consumer.stop();
    }
    assert.deepEqual(handled, [{ seq: 2 }, { seq: 5 }]);
    assert.deepEqual(invalid, [], "another key's bad value is not even parsed");
  },
);

kafkaTest(
  "handleBatch gets consecutive messages together; a failure redelivers them all",
  async () => {
    const { kafka, topic, groupId, consume } = await freshTopic("batch", 1);
    // Produced before the consumer joins: the first fetch holds them all.
    await produce(kafka, seqMessages(topic, range(1, 10)));

    const calls: number[][] = [];
    let failed = false;
    const consumer = await consume({
      retryDelayMs: 100,
      maxBatch: 4,
      handleBatch: (messages) => {
        calls.push(messages.map((m) => m.value.seq));
        if (messages.some((m) => m.value.seq === 6) && !failed) {
          failed = true;
          throw new Error("simulated failure");
        }
      },
    });
    try {
      await waitFor(() => calls.flat().includes(10), "message 10");
      await sendEndMarkers(kafka, topic, ["k"], 11, () => calls.flat().includes(11));
    } finally {
      await consumer.stop();
    }
    assert.ok(
      calls.every((c) => c.length <= 4),
      `at most maxBatch a call: ${JSON.stringify(calls)}`,
    );
    assert.ok(calls.some((c) => c.length > 1), "messages come together");
    const failedCall = calls.findIndex((c) => c.includes(6));
    assert.deepEqual(calls[failedCall + 1].slice(0, calls[failedCall].length), calls[failedCall]);
    assert.deepEqual([...new Set(calls.flat())], range(1, 11), "in order, none lost");
    assert.equal(await committedOffset(kafka, groupId, topic), "11");
  },
);

kafkaTest(
  "with minBytes a trickle of messages arrives in a few fuller fetches, none lost",
  async () => {
    const { kafka, topic, consume } = await freshTopic("min-bytes", 1);
    /** Reads the topic while 100 messages trickle in; how many fetches returned data. */
    const fetchesFor = async (fetch: { minBytes?: number; maxWaitTimeInMs?: number }) => {
      const seen: number[] = [];
      const consumer = await consume({
        groupId: uniqueName("min-bytes-group"),
        fromBeginning: false,
        handle: ({ value }) => void seen.push(value.seq),
        ...fetch,
      });
      let fetches = 0;
      consumer.consumer.on(consumer.consumer.events.FETCH, ({ payload }) => {
        if (payload.numberOfBatches > 0) fetches++;
      });
      const producer = await createProducer(kafka);
      try {
        // Probes until the latest one sent is handled: then the consumer is assigned and
        // positioned, and no probe is still on its way (earlier ones precede it on the partition).
        for (let probe = -1;; probe--) {
          await producer.send(topic, "k", { key: "k", seq: probe });
          const handled = await waitFor(() => seen.includes(probe), `probe ${probe}`, 1000)
            .then(() => true, () => false);
          if (handled) break;
        }
        seen.length = 0;
        fetches = 0;
        for (const seq of range(1, 100)) {
          await producer.send(topic, "k", { key: "k", seq });
          await new Promise((r) => setTimeout(r, 10));
        }
        await waitFor(() => seen.length >= 100, "100 messages");
      } finally {
        await producer.disconnect();
        await consumer.stop();
      }
      assert.deepEqual(seen, range(1, 100));
      return fetches;
    };
    const eager = await fetchesFor({});
    const patient = await fetchesFor({ minBytes: 1024 * 1024, maxWaitTimeInMs: 400 });
    assert.ok(patient * 4 <= eager, `${patient} fetches with minBytes, ${eager} without`);
  },
);

/**
 * kafkajs's round-robin assigner under another protocol name. A group member using it makes the
 * broker refuse a runConsumer join with INCONSISTENT_GROUP_PROTOCOL, an error kafkajs does not
 * retry: the same kind of crash as "Failed to find group coordinator" during a broker restart, but
 * on demand.
 */
const otherProtocol: PartitionAssigner = (config) => {
  const assigner = PartitionAssigners.roundRobin(config);
  const name = "OtherProtocol";
  return { ...assigner, name, protocol: (s) => ({ ...assigner.protocol(s), name }) };
};

kafkaTest(
  "a consumer stopped by an error kafkajs does not retry runs again and reads on",
  async () => {
    const fresh = await freshTopic("crash", 1);
    const { kafka, topic, groupId } = fresh;
    const other = kafka.consumer({ groupId, partitionAssigners: [otherProtocol] });
    const otherJoined = new Promise((r) => other.on(other.events.GROUP_JOIN, r));
    await other.connect();
    await other.subscribe({ topics: [topic] });
    await other.run({ eachMessage: async () => {} });
    await otherJoined;

    const { consumer, handled } = await recordingConsumer(fresh);
    try {
      // While the other member holds the group, every start of ours is refused for good.
      const crashes: { error: Error; restart: boolean }[] = [];
      consumer.consumer.on(consumer.consumer.events.CRASH, ({ payload }) => crashes.push(payload));
      await waitFor(() => crashes.length > 0, "another start refused");
      assert.equal(crashes[0].restart, false, `kafkajs restarts after ${crashes[0].error.message}`);
      await other.disconnect();
      await produce(kafka, seqMessages(topic, [1]));
      await waitFor(() => handled.length === 1, "the message after the group was free again");
      assert.deepEqual(handled, [{ key: "k", seq: 1 }]);
    } finally {
      await consumer.stop();
      await other.disconnect();
    }
  },
);
