import assert from "node:assert/strict";
import type { OutgoingMessage } from "./kafka.ts";
import { SendBatcher } from "./send_batcher.ts";

/** A sink that records each batch and lets the test finish it. */
function heldSink() {
  const batches: OutgoingMessage[][] = [];
  const releases: PromiseWithResolvers<void>[] = [];
  return {
    batches,
    release: (i: number, error?: Error) =>
      error ? releases[i].reject(error) : releases[i].resolve(),
    sendBatch(messages: readonly OutgoingMessage[]) {
      batches.push([...messages]);
      const r = Promise.withResolvers<void>();
      releases.push(r);
      return r.promise;
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("send batcher: sends of one turn share a batch, later ones wait for the next", async () => {
  const sink = heldSink();
  const batcher = new SendBatcher(sink);
  const first = [batcher.send("t", "a", { n: 1 }), batcher.send("t", "b", { n: 2 })];
  await tick();
  const second = [batcher.send("t", "a", { n: 3 })];
  await tick();
  assert.equal(sink.batches.length, 1, "nothing more is sent while a batch is in flight");
  assert.deepEqual(sink.batches[0].map((m) => m.value), [{ n: 1 }, { n: 2 }]);
  sink.release(0);
  await Promise.all(first);
  await tick();
  assert.deepEqual(sink.batches[1].map((m) => m.value), [{ n: 3 }]);
  sink.release(1);
  await Promise.all(second);
  assert.equal(batcher.sent, 3);
});

Deno.test("send batcher: a failed batch rejects its own sends only, in order", async () => {
  const sink = heldSink();
  const batcher = new SendBatcher(sink, { maxBatch: 2 });
  const sends = [1, 2, 3].map((n) => batcher.send("t", "k", { n }));
  await tick();
  assert.deepEqual(sink.batches[0].map((m) => m.value), [{ n: 1 }, { n: 2 }], "at most maxBatch");
  sink.release(0, new Error("broker says no"));
  await assert.rejects(sends[0], /broker says no/);
  await assert.rejects(sends[1], /broker says no/);
  await tick();
  sink.release(1);
  await sends[2];
  assert.equal(batcher.waiting, 0);
});

Deno.test("send batcher: with a linger, sends of the next few milliseconds share the batch", async () => {
  const sink = heldSink();
  const batcher = new SendBatcher(sink, { lingerMs: 30 });
  const sends = [batcher.send("t", "a", { n: 1 })];
  await tick();
  assert.equal(sink.batches.length, 0, "the first message waits for company");
  sends.push(batcher.send("t", "b", { n: 2 }));
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(sink.batches.map((b) => b.map((m) => m.value)), [[{ n: 1 }, { n: 2 }]]);
  sink.release(0);
  await Promise.all(sends);
  assert.equal(batcher.sent, 2);
});

Deno.test("send batcher: a bad maxBatch or lingerMs is refused with its name", () => {
  const sink = heldSink();
  for (const maxBatch of [0, 1.5, -1]) {
    assert.throws(() => new SendBatcher(sink, { maxBatch }), /maxBatch must be a whole number/);
  }
  for (const lingerMs of [-1, Number.NaN, 61_000]) {
    assert.throws(() => new SendBatcher(sink, { lingerMs }), /lingerMs must be 0–60000 ms/);
  }
});
