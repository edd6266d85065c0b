// These run against a real broker: `deno task test` starts one (see tests/kafka_env.ts).
import assert from "node:assert/strict";
import type { Kafka } from "kafkajs";
import {
  type ConsumerHandle,
  createKafka,
  createProducer,
  ensureTopics,
  type InvalidMessage,
  runConsumer,
} from "./kafka.ts";
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
  const producer = await createProducer(kafka);
  try {
    await producer.sendBatch(keys.map((key) => ({ topic, key, value: { key, seq } })));
  } finally {
    await producer.disconnect();
  }
  await waitFor(() => keys.every(seen), `the end marker (seq ${seq}) of every key`);
}

// kafkajs keeps retry timers and sockets that outlive disconnect() by a tick;
// the tests stop every client they start, so the sanitizers would only add noise.
const kafkaTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });

kafkaTest("ensureTopics creates topics with their partition count, idempotently", async () => {
  const kafka = createKafka({ brokers: testBrokers(), clientId: "test-topics" });
  const topic = uniqueName("topics");
  await ensureTopics(kafka, [topic], { partitions: 4 });
  await ensureTopics(kafka, [topic], { partitions: 4 });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.equal(topics[0].partitions.length, 4);
  } finally {
    await admin.disconnect();
  }
});

kafkaTest("10,000 keyed messages arrive once each, in order per key", async () => {
  const kafka = createKafka({ brokers: testBrokers(), clientId: "test-order" });
  const topic = uniqueName("order");
  await ensureTopics(kafka, [topic], { partitions: 6 });
  const keys = range(1, 50).map((k) => `cp-${k}`);
  const perKey = 200;

  const producer = await createProducer(kafka);
  try {
    // Interleave the keys like real traffic; 1,000 messages per request.
    const all = range(1, perKey).flatMap((seq) =>
      keys.map((key) => ({ topic, key, value: { key, seq } }))
    );
    for (let i = 0; i < all.length; i += 1000) await producer.sendBatch(all.slice(i, i + 1000));
  } finally {
    await producer.disconnect();
  }

  const seen = new Map<string, number[]>();
  const partitionsOfKey = new Map<string, Set<number>>();
  let total = 0;
  const consumer = await runConsumer<Seq>({
    kafka,
    groupId: uniqueName("order-group"),
    topics: [topic],
    fromBeginning: true,
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
  const kafka = createKafka({ brokers: testBrokers(), clientId: "test-resume" });
  const topic = uniqueName("resume");
  const groupId = uniqueName("resume-group");
  await ensureTopics(kafka, [topic], { partitions: 1 });

  // First run: stop from inside the handler of message 60; stop() takes effect
  // at once, so message 61 is never handled, whatever the batch boundaries.
  const first: number[] = [];
  let stopped: Promise<void> | undefined;
  const run1: ConsumerHandle = await runConsumer<Seq>({
    kafka,
    groupId,
    topics: [topic],
    fromBeginning: true,
    handle: ({ value }) => {
      first.push(value.seq);
      if (value.seq === 60) stopped = run1.stop();
    },
  });
  // Produced only now, so run1 is assigned before any message is handled.
  const producer = await createProducer(kafka);
  try {
    await producer.sendBatch(
      range(1, 100).map((seq) => ({ topic, key: "k", value: { key: "k", seq } })),
    );
  } finally {
    await producer.disconnect();
  }
  await waitFor(() => stopped !== undefined, "message 60");
  await stopped;
  assert.deepEqual(first, range(1, 60));
  assert.equal(await committedOffset(kafka, groupId, topic), "60");

  const second: number[] = [];
  const run2 = await runConsumer<Seq>({
    kafka,
    groupId,
    topics: [topic],
    fromBeginning: true,
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
  const kafka = createKafka({ brokers: testBrokers(), clientId: "test-retry" });
  const topic = uniqueName("retry");
  const groupId = uniqueName("retry-group");
  await ensureTopics(kafka, [topic], { partitions: 1 });

  const deliveries: number[] = [];
  let committedAtRedelivery: string | undefined;
  const consumer = await runConsumer<Seq>({
    kafka,
    groupId,
    topics: [topic],
    fromBeginning: true,
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
  const producer = await createProducer(kafka);
  try {
    await producer.sendBatch(
      range(1, 10).map((seq) => ({ topic, key: "k", value: { key: "k", seq } })),
    );
  } finally {
    await producer.disconnect();
  }
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

/** A consumer of `topic` from the beginning that records what it handles and what it skips. */
async function recordingConsumer(
  kafka: Kafka,
  topic: string,
  groupId: string,
  accept?: (key: string | null) => boolean,
): Promise<{ consumer: ConsumerHandle; handled: unknown[]; invalid: InvalidMessage[] }> {
  const handled: unknown[] = [];
  const invalid: InvalidMessage[] = [];
  const consumer = await runConsumer({
    kafka,
    groupId,
    topics: [topic],
    fromBeginning: true,
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
  const kafka = createKafka({ brokers: testBrokers(), clientId: "test-invalid" });
  const topic = uniqueName("invalid");
  const groupId = uniqueName("invalid-group");
  await ensureTopics(kafka, [topic], { partitions: 1 });

  const { consumer, handled, invalid } = await recordingConsumer(kafka, topic, groupId);
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

kafkaTest(
  "messages whose key is not accepted are committed past unparsed and unhandled",
  async () => {
    const kafka = createKafka({ brokers: testBrokers(), clientId: "test-accept" });
    const topic = uniqueName("accept");
    const groupId = uniqueName("accept-group");
    await ensureTopics(kafka, [topic], { partitions: 1 });

    const { consumer, handled, invalid } = await recordingConsumer(
      kafka,
      topic,
      groupId,
      (key) => key === "mine",
    );
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
    const kafka = createKafka({ brokers: testBrokers(), clientId: "test-batch" });
    const topic = uniqueName("batch");
    const groupId = uniqueName("batch-group");
    await ensureTopics(kafka, [topic], { partitions: 1 });
    const producer = await createProducer(kafka);
    try {
      // Produced before the consumer joins: the first fetch holds them all.
      await producer.sendBatch(
        range(1, 10).map((seq) => ({ topic, key: "k", value: { key: "k", seq } })),
      );
    } finally {
      await producer.disconnect();
    }

    const calls: number[][] = [];
    let failed = false;
    const consumer = await runConsumer<Seq>({
      kafka,
      groupId,
      topics: [topic],
      fromBeginning: true,
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
    const kafka = createKafka({ brokers: testBrokers(), clientId: "test-min-bytes" });
    const topic = uniqueName("min-bytes");
    await ensureTopics(kafka, [topic], { partitions: 1 });
    /** Reads the topic while 100 messages trickle in; how many fetches returned data. */
    const fetchesFor = async (fetch: { minBytes?: number; maxWaitTimeInMs?: number }) => {
      const seen: number[] = [];
      const consumer = await runConsumer<Seq>({
        kafka,
        groupId: uniqueName("min-bytes-group"),
        topics: [topic],
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
