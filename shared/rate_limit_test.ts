import assert from "node:assert/strict";
import { retryAfterSeconds, SlidingWindowLimiter, WrongSecretThrottle } from "./rate_limit.ts";

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => t += ms };
}

Deno.test("limiter allows up to the limit of failures, then refuses with the wait", () => {
  const c = clock();
  const limiter = new SlidingWindowLimiter({ limit: 3, windowMs: 60_000, now: c.now });
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(limiter.check("cp"), { allowed: true });
    limiter.fail("cp");
    c.advance(1000);
  }
  // Failures at t0, t0+1s, t0+2s; now t0+3s: the first leaves the window at t0+60s.
  assert.deepEqual(limiter.check("cp"), { allowed: false, retryAfterMs: 57_000 });
  assert.deepEqual(limiter.check("other"), { allowed: true });
});

Deno.test("limiter window slides: old failures stop counting", () => {
  const c = clock();
  const limiter = new SlidingWindowLimiter({ limit: 2, windowMs: 10_000, now: c.now });
  limiter.fail("k");
  c.advance(6000);
  limiter.fail("k");
  assert.equal(limiter.check("k").allowed, false);
  c.advance(4001); // first failure is now older than the window
  assert.equal(limiter.check("k").allowed, true);
  limiter.fail("k");
  const verdict = limiter.check("k");
  assert.equal(verdict.allowed, false);
  assert.equal(!verdict.allowed && verdict.retryAfterMs, 6000 - 1);
});

Deno.test("limiter reset forgets a key and empty keys are pruned", () => {
  const c = clock();
  const limiter = new SlidingWindowLimiter({ limit: 1, windowMs: 1000, now: c.now });
  limiter.fail("a");
  assert.equal(limiter.check("a").allowed, false);
  limiter.reset("a");
  assert.equal(limiter.check("a").allowed, true);
  limiter.fail("b");
  c.advance(2000);
  limiter.check("b");
  assert.equal(limiter.size, 0);
});

Deno.test("limiter memory is bounded by maxKeys (oldest keys dropped)", () => {
  const c = clock();
  const limiter = new SlidingWindowLimiter({
    limit: 1,
    windowMs: 60_000,
    maxKeys: 100,
    now: c.now,
  });
  for (let i = 0; i < 1000; i++) limiter.fail(`random-${i}`);
  assert.ok(limiter.size <= 100);
  assert.equal(limiter.check("random-999").allowed, false, "newest keys are kept");
});

Deno.test("limiter rejects nonsense settings", () => {
  assert.throws(() => new SlidingWindowLimiter({ limit: 0, windowMs: 1 }), RangeError);
  assert.throws(() => new SlidingWindowLimiter({ limit: 1, windowMs: 0 }), RangeError);
});

Deno.test("limiter counts attempts still running as failures until they end", () => {
  const c = clock();
  const limiter = new SlidingWindowLimiter({ limit: 3, windowMs: 60_000, now: c.now });
  limiter.fail("k");
  limiter.begin("k");
  limiter.begin("k");
  assert.equal(limiter.pending("k"), 2);
  // One failure and two running: the third place is taken; wait for a running one to end.
  assert.deepEqual(limiter.check("k"), { allowed: false, retryAfterMs: 1000 });
  limiter.end("k", false);
  assert.equal(limiter.check("k").allowed, true, "an attempt that ended well frees its place");
  limiter.end("k", true);
  assert.equal(limiter.pending("k"), 0);
  limiter.begin("k");
  // Two failures and one running.
  assert.equal(limiter.check("k").allowed, false);
  limiter.end("k", true);
  assert.deepEqual(limiter.check("k"), { allowed: false, retryAfterMs: 60_000 });
});

Deno.test("wrong-secret throttle: the limit's worth of wrong secrets, then refused, per address", () => {
  const c = clock();
  const throttle = new WrongSecretThrottle({ limit: 3, windowMs: 60_000, now: c.now });
  for (let i = 0; i < 3; i++) assert.equal(throttle.wrong("10.0.0.1").allowed, true);
  assert.deepEqual(throttle.wrong("10.0.0.1"), { allowed: false, retryAfterMs: 60_000 });
  assert.equal(throttle.wrong("10.0.0.2").allowed, true, "other addresses are not affected");
  // The refused ones count too: a flood that goes on (one every 10 s) stays throttled.
  for (let i = 0; i < 12; i++) {
    c.advance(10_000);
    assert.equal(throttle.wrong("10.0.0.1").allowed, false, `after ${i + 1} × 10 s`);
  }
  c.advance(60_001);
  assert.equal(throttle.wrong("10.0.0.1").allowed, true, "once it stops, the window empties");
});

Deno.test("retryAfterSeconds rounds up to whole seconds, at least 1", () => {
  assert.equal(retryAfterSeconds(0), 1);
  assert.equal(retryAfterSeconds(1), 1);
  assert.equal(retryAfterSeconds(57_000), 57);
  assert.equal(retryAfterSeconds(57_001), 58);
});
