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

Deno.test("send batcher: sendLatest replaces its slot's waiting message in place, not one in flight", async () => {
  const sink = heldSink();
  const batcher = new SendBatcher(sink);
  const inFlight = batcher.sendLatest("t", "d1", { s: "A", n: 1 }, "A");
  await tick();
  assert.deepEqual(sink.batches[0].map((m) => m.value), [{ s: "A", n: 1 }]);
  // While that batch is in flight: A waits, then an audit, then B, then newer figures of A.
  const a2 = batcher.sendLatest("t", "d1", { s: "A", n: 2 }, "A");
  const audit = batcher.send("audit", "x", { n: 0 });
  const b1 = batcher.sendLatest("t", "d2", { s: "B", n: 1 }, "B");
  const a3 = batcher.sendLatest("t", "d1", { s: "A", n: 3 }, "A");
  assert.equal(batcher.waiting, 3, "A's second figures were replaced, not queued again");
  sink.release(0);
  await inFlight;
  await tick();
  assert.deepEqual(
    sink.batches[1].map((m) => [m.topic, m.key, m.value]),
    [["t", "d1", { s: "A", n: 3 }], ["audit", "x", { n: 0 }], ["t", "d2", { s: "B", n: 1 }]],
    "the latest of A where A waited first",
  );
  let settled = false;
  Promise.all([a2, a3]).then(() => settled = true);
  await tick();
  assert.equal(settled, false, "the superseded send resolves with the one that replaced it");
  sink.release(1);
  await Promise.all([a2, a3, audit, b1]);
  assert.equal(batcher.sent, 4);
  // Sent: the slot is free again, so the next figures queue anew.
  const a4 = batcher.sendLatest("t", "d1", { s: "A", n: 4 }, "A");
  await tick();
  assert.deepEqual(sink.batches[2].map((m) => m.value), [{ s: "A", n: 4 }]);
  sink.release(2);
  await a4;
});

Deno.test("send batcher: a failed batch rejects a superseded send with the one that replaced it", async () => {
  const sink = heldSink();
  const batcher = new SendBatcher(sink);
  const first = batcher.sendLatest("t", "d1", { n: 1 }, "A");
  const second = batcher.sendLatest("t", "d1", { n: 2 }, "A");
  await tick();
  assert.deepEqual(sink.batches[0].map((m) => m.value), [{ n: 2 }]);
  sink.release(0, new Error("broker says no"));
  await assert.rejects(first, /broker says no/);
  await assert.rejects(second, /broker says no/);
});
