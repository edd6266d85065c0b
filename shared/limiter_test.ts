import assert from "node:assert/strict";
import { ConcurrencyLimiter, QueueFullError } from "./limiter.ts";

Deno.test("ConcurrencyLimiter: never more than the limit in flight, all run in arrival order", async () => {
  const limiter = new ConcurrencyLimiter(2);
  let inFlight = 0;
  let most = 0;
  const started: number[] = [];
  const gates = Array.from({ length: 5 }, () => Promise.withResolvers<void>());
  const runs = gates.map((gate, i) =>
    limiter.run(async () => {
      started.push(i);
      most = Math.max(most, ++inFlight);
      await gate.promise;
      inFlight--;
      return i * 10;
    })
  );
  await Promise.resolve();
  assert.deepEqual(started, [0, 1]);
  assert.equal(limiter.waiting, 3);
  for (const gate of gates) {
    gate.resolve();
    await new Promise((r) => setTimeout(r, 0));
  }
  assert.deepEqual(await Promise.all(runs), [0, 10, 20, 30, 40]);
  assert.deepEqual(started, [0, 1, 2, 3, 4]);
  assert.equal(most, 2);
  assert.equal(limiter.running, 0);
});

Deno.test("ConcurrencyLimiter: a failing task passes its turn on and rejects its caller", async () => {
  const limiter = new ConcurrencyLimiter(1);
  const failing = limiter.run(() => Promise.reject(new Error("boom")));
  const next = limiter.run(() => Promise.resolve("after"));
  await assert.rejects(failing, /boom/);
  assert.equal(await next, "after");
  assert.equal(limiter.running, 0);
});

Deno.test("ConcurrencyLimiter: a limit that is not a whole number ≥ 1 is refused", () => {
  for (const bad of [0, -1, 1.5, NaN]) {
    assert.throws(
      () => new ConcurrencyLimiter(bad),
      /a concurrency limit is a whole number of at least 1, got/,
    );
  }
});

Deno.test("ConcurrencyLimiter: a full queue refuses the next task at once, then takes one again", async () => {
  const limiter = new ConcurrencyLimiter(1, 2);
  const gate = Promise.withResolvers<void>();
  let ran = 0;
  const runs = [0, 1, 2].map(() => limiter.run(() => (ran++, gate.promise)));
  assert.equal(limiter.waiting, 2);
  await assert.rejects(limiter.run(() => Promise.resolve(ran++)), QueueFullError);
  assert.equal(ran, 1, "the refused task never ran");
  gate.resolve();
  await Promise.all(runs);
  assert.equal(await limiter.run(() => Promise.resolve("again")), "again");
  assert.equal(ran, 3);
});

Deno.test("ConcurrencyLimiter: a queue bound that is not a whole number ≥ 0 is refused", () => {
  for (const bad of [-1, 1.5, NaN]) {
    assert.throws(() => new ConcurrencyLimiter(1, bad), RangeError);
  }
  assert.equal(new ConcurrencyLimiter(1, 0).maxWaiting, 0);
});

Deno.test("ConcurrencyLimiter: a turn acquired is held until given back, and given back once", async () => {
  const limiter = new ConcurrencyLimiter(1);
  const release = await limiter.acquire();
  let second = false;
  const next = limiter.acquire().then((r) => (second = true, r));
  await Promise.resolve();
  assert.equal(second, false);
  assert.equal(limiter.waiting, 1);
  release();
  release(); // a second call must not free a turn it no longer holds
  const releaseNext = await next;
  assert.equal(limiter.running, 1);
  assert.equal(limiter.waiting, 0);
  releaseNext();
  assert.equal(limiter.running, 0);
});

Deno.test("ConcurrencyLimiter: an aborted wait leaves the queue and never takes a turn", async () => {
  const limiter = new ConcurrencyLimiter(1);
  const release = await limiter.acquire();
  const abort = new AbortController();
  let ran = false;
  const abandoned = limiter.run(() => (ran = true, Promise.resolve()), abort.signal);
  const after = limiter.run(() => Promise.resolve("after"));
  assert.equal(limiter.waiting, 2);
  abort.abort(new Error("caller went away"));
  await assert.rejects(abandoned, /caller went away/);
  assert.equal(limiter.waiting, 1);
  release();
  assert.equal(await after, "after");
  assert.equal(ran, false);
  assert.equal(limiter.running, 0);
});

Deno.test("ConcurrencyLimiter: a signal aborted before the call is refused at once", async () => {
  const limiter = new ConcurrencyLimiter(1);
  await assert.rejects(limiter.acquire(AbortSignal.abort(new Error("gone"))), /gone/);
  assert.equal(limiter.running, 0);
});
