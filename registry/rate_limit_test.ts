import assert from "node:assert/strict";
import { AuthGuard, SlidingWindowLimiter } from "./rate_limit.ts";

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

Deno.test("guard refuses when either the CP id or the IP is over its limit", () => {
  const c = clock();
  const guard = new AuthGuard({ perCpLimit: 2, perIpLimit: 3, windowMs: 60_000, now: c.now });
  guard.fail("CP-1", "10.0.0.1");
  guard.fail("CP-1", "10.0.0.2");
  assert.equal(guard.check("CP-1", "10.0.0.9").allowed, false, "per CP, whatever the IP");
  assert.equal(guard.check("CP-2", "10.0.0.1").allowed, true);
  guard.fail("CP-3", "10.0.0.1");
  guard.fail("CP-4", "10.0.0.1");
  assert.equal(guard.check("CP-5", "10.0.0.1").allowed, false, "per IP, whatever the id");
  assert.equal(guard.checkIp("10.0.0.1").allowed, false);
  assert.equal(guard.checkIp("10.0.0.2").allowed, true);
});

Deno.test("guard success clears the CP id but not the IP", () => {
  const c = clock();
  const guard = new AuthGuard({ perCpLimit: 2, perIpLimit: 2, windowMs: 60_000, now: c.now });
  guard.fail("CP-1", "10.0.0.1");
  guard.succeed("CP-1");
  guard.fail("CP-1", "10.0.0.2");
  assert.equal(guard.check("CP-1", "10.0.0.3").allowed, true);
  guard.failIp("10.0.0.1");
  const verdict = guard.check("CP-9", "10.0.0.1");
  assert.equal(verdict.allowed, false);
  c.advance(60_001);
  assert.equal(guard.check("CP-9", "10.0.0.1").allowed, true);
});

Deno.test("guard reports the longer of the two waits", () => {
  const c = clock();
  const guard = new AuthGuard({ perCpLimit: 1, perIpLimit: 1, windowMs: 10_000, now: c.now });
  guard.fail("CP-1", "10.0.0.5");
  c.advance(3000);
  guard.fail("CP-2", "10.0.0.1");
  // CP-1 waits 7 s (its failure at t0); IP 10.0.0.1 waits 10 s (its failure now).
  assert.deepEqual(guard.check("CP-1", "10.0.0.1"), { allowed: false, retryAfterMs: 10_000 });
});
