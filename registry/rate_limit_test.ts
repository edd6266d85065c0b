import assert from "node:assert/strict";
import { type Admission, type Attempt, AuthGuard } from "./rate_limit.ts";

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => t += ms };
}

function attempt(admission: Admission): Attempt {
  assert.ok(admission.allowed, "the attempt is allowed");
  return admission.attempt;
}

Deno.test("guard: failures of a CP id from one address never refuse it from another", () => {
  const c = clock();
  const guard = new AuthGuard({ perCpLimit: 2, perIpLimit: 50, windowMs: 60_000, now: c.now });
  for (let i = 0; i < 2; i++) attempt(guard.begin("CP-1", "10.0.0.1")).fail();
  assert.equal(guard.check("CP-1", "10.0.0.1").allowed, false, "the guessing pair is refused");
  assert.equal(guard.check("CP-1", "10.0.0.2").allowed, true, "the CP from elsewhere is not");
  assert.equal(guard.check("CP-2", "10.0.0.1").allowed, true, "nor another CP from there");
});

Deno.test("guard: failures per address across CP ids refuse that address only", () => {
  const c = clock();
  const guard = new AuthGuard({ perCpLimit: 5, perIpLimit: 3, windowMs: 60_000, now: c.now });
  for (const cp of ["CP-1", "CP-2", "CP-3"]) attempt(guard.begin(cp, "10.0.0.1")).fail();
  assert.equal(guard.begin("CP-4", "10.0.0.1").allowed, false);
  assert.equal(guard.check("CP-4", "10.0.0.2").allowed, true);
  c.advance(60_001);
  assert.equal(guard.check("CP-4", "10.0.0.1").allowed, true, "the window slides");
});

Deno.test("guard: attempts still running count, so a parallel burst cannot pass the limit", () => {
  const c = clock();
  const guard = new AuthGuard({ perCpLimit: 3, perIpLimit: 50, windowMs: 60_000, now: c.now });
  const running = [0, 1, 2].map(() => attempt(guard.begin("CP-1", "10.0.0.1")));
  const refused = guard.begin("CP-1", "10.0.0.1");
  assert.deepEqual(refused, { allowed: false, retryAfterMs: 1000 });
  for (const a of running) a.fail();
  const after = guard.begin("CP-1", "10.0.0.1");
  assert.deepEqual(after, { allowed: false, retryAfterMs: 60_000 });
});

Deno.test("guard: an address has a bounded number of attempts in flight", () => {
  const c = clock();
  const guard = new AuthGuard({ perIpLimit: 100, perIpInFlight: 2, now: c.now });
  const a = attempt(guard.begin("CP-1", "10.0.0.1"));
  attempt(guard.begin("CP-2", "10.0.0.1"));
  assert.equal(guard.begin("CP-3", "10.0.0.1").allowed, false);
  assert.equal(guard.begin("CP-3", "10.0.0.2").allowed, true);
  a.succeed();
  assert.equal(guard.begin("CP-3", "10.0.0.1").allowed, true);
});

Deno.test("guard: success clears the pair, not the address; abandon counts nothing", () => {
  const c = clock();
  const guard = new AuthGuard({ perCpLimit: 2, perIpLimit: 3, windowMs: 60_000, now: c.now });
  attempt(guard.begin("CP-1", "10.0.0.1")).fail();
  attempt(guard.begin("CP-1", "10.0.0.1")).succeed();
  attempt(guard.begin("CP-1", "10.0.0.1")).fail();
  assert.equal(guard.check("CP-1", "10.0.0.1").allowed, true, "one failure since the success");
  const abandoned = attempt(guard.begin("CP-9", "10.0.0.1"));
  abandoned.abandon();
  abandoned.fail(); // an attempt ends once
  assert.equal(guard.check("CP-9", "10.0.0.1").allowed, true);
  attempt(guard.begin("CP-9", "10.0.0.1")).fail();
  assert.equal(guard.check("CP-7", "10.0.0.1").allowed, false, "the address had 3 failures");
});

Deno.test("guard reports the longest of the waits", () => {
  const c = clock();
  const guard = new AuthGuard({
    perCpLimit: 1,
    perIpLimit: 2,
    perIpInFlight: 1,
    windowMs: 10_000,
    now: c.now,
  });
  attempt(guard.begin("CP-1", "10.0.0.1")).fail();
  c.advance(3000);
  attempt(guard.begin("CP-2", "10.0.0.1"));
  // The pair (CP-1, 10.0.0.1) waits 7 s, the address's attempt in flight 1 s.
  assert.deepEqual(guard.check("CP-1", "10.0.0.1"), { allowed: false, retryAfterMs: 7000 });
  assert.deepEqual(guard.check("CP-3", "10.0.0.1"), { allowed: false, retryAfterMs: 1000 });
});
