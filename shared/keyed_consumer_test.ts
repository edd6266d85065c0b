import assert from "node:assert/strict";
import type { ConsumedMessage } from "./kafka_consumer.ts";
import { KeyedRouter } from "./keyed_consumer.ts";

function record(key: string | null, n: number): ConsumedMessage {
  return {
    topic: "t",
    partition: 0,
    offset: String(n),
    key,
    value: { n },
    headers: undefined,
    timestamp: "0",
  };
}

Deno.test("keyed router: each owner gets its own records in order, one at a time", async () => {
  const router = new KeyedRouter();
  const seen: string[] = [];
  const lastOfA = Promise.withResolvers<void>();
  let busy = 0;
  router.route("A", {
    async message(r) {
      busy++;
      assert.equal(busy, 1, "never two of one key at once");
      await new Promise((res) => setTimeout(res, 5)); // a slow owner
      const n = (r.value as { n: number }).n;
      seen.push(`A${n}`);
      busy--;
      if (n === 3) lastOfA.resolve();
    },
  });
  router.route("B", { message: (r) => void seen.push(`B${(r.value as { n: number }).n}`) });
  [record("A", 1), record("B", 2), record("A", 3), record("C", 4), record(null, 5)]
    .forEach((r) => router.dispatch(r));
  await lastOfA.promise;
  assert.deepEqual(seen, ["B2", "A1", "A3"], "B is not held up behind A's slow handling");
  assert.equal(router.delivered, 3);
  assert.equal(router.skipped, 2);
});

Deno.test("keyed router: a failing owner keeps receiving, and a removed one receives nothing", async () => {
  const router = new KeyedRouter();
  const seen: number[] = [];
  const second = Promise.withResolvers<void>();
  const unroute = router.route("A", {
    message(r) {
      const n = (r.value as { n: number }).n;
      if (n === 1) throw new Error("boom");
      seen.push(n);
      if (n === 2) second.resolve();
    },
  });
  router.dispatch(record("A", 1));
  router.dispatch(record("A", 2));
  await second.promise;
  unroute();
  router.dispatch(record("A", 3));
  // The router decides at dispatch: with no owner left, record 3 is skipped, never queued.
  assert.equal(router.skipped, 1);
  const marker = Promise.withResolvers<void>();
  router.route("B", { message: () => marker.resolve() });
  router.dispatch(record("B", 4));
  await marker.promise;
  assert.deepEqual(seen, [2], "nothing after the owner was removed");
});

Deno.test("keyed router: accepts only keys it has an owner for, counting the rest as skipped", () => {
  const router = new KeyedRouter();
  const unroute = router.route("A", { message: () => {} });
  assert.equal(router.accepts("A"), true);
  assert.equal(router.accepts("B"), false);
  assert.equal(router.accepts(null), false);
  unroute();
  assert.equal(router.accepts("A"), false);
  assert.equal(router.skipped, 3);
});
