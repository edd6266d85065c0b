// The ensureTopics test runs against a real broker: `deno task test` starts one (see
// tests/kafka_env.ts). runConsumer's tests are in kafka_consumer_test.ts.
import assert from "node:assert/strict";
import { createKafka, ensureTopics, retryRetriable } from "./kafka.ts";
import { testBrokers, uniqueName } from "../tests/kafka_env.ts";

Deno.test({
  name: "ensureTopics creates topics with their partition count and leaders, idempotently",
  // kafkajs keeps retry timers and sockets that outlive disconnect() by a tick.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const kafka = createKafka({ brokers: testBrokers(), clientId: "test-topics" });
    const topic = uniqueName("topics");
    await ensureTopics(kafka, [topic], { partitions: 4 });
    await ensureTopics(kafka, [topic], { partitions: 4 }); // a second time: nothing changes
    const admin = kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      assert.equal(topics[0].partitions.length, 4);
      assert.ok(topics[0].partitions.every((p) => p.leader >= 0), "every partition has its leader");
    } finally {
      await admin.disconnect();
    }
  },
});

/** A call that fails with each of `errors` in turn, then answers "done"; counts its calls. */
function failingThen(errors: unknown[]): { call: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    call: () => {
      const error = errors[calls++];
      return error === undefined ? Promise.resolve("done") : Promise.reject(error);
    },
    calls: () => calls,
  };
}

const notLeader = Object.assign(new Error("not the leader"), { retriable: true });

Deno.test("retryRetriable: a retriable error is called again until the call succeeds", async () => {
  const f = failingThen([notLeader, notLeader]);
  assert.equal(await retryRetriable(f.call, { initialDelayMs: 1 }), "done");
  assert.equal(f.calls(), 3);
});

Deno.test("retryRetriable: any other error rejects at once", async () => {
  const fatal = Object.assign(new Error("topic authorization failed"), { retriable: false });
  const f = failingThen([fatal]);
  await assert.rejects(retryRetriable(f.call, { initialDelayMs: 1 }), fatal);
  assert.equal(f.calls(), 1);
});

Deno.test("retryRetriable: the last retriable error rejects once the retries are spent", async () => {
  const f = failingThen([notLeader, notLeader, notLeader, notLeader]);
  await assert.rejects(retryRetriable(f.call, { retries: 2, initialDelayMs: 1 }), notLeader);
  assert.equal(f.calls(), 3);
});
