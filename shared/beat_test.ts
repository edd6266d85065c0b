import assert from "node:assert/strict";
import { Beat } from "./beat.ts";

/** A send whose rounds the test answers one by one. */
function heldSends(): {
  beat: Beat;
  rounds: number;
  ticks: number[];
  answer(): Promise<void>;
  fail(): Promise<void>;
} {
  const pending: PromiseWithResolvers<void>[] = [];
  const sends = {
    rounds: 0,
    ticks: [] as number[],
    beat: new Beat((tick) => {
      sends.rounds++;
      sends.ticks.push(tick);
      const round = Promise.withResolvers<void>();
      pending.push(round);
      return round.promise;
    }),
    async answer() {
      pending.shift()!.resolve();
      await settle();
    },
    async fail() {
      pending.shift()!.reject(new Error("connection dropped"));
      await settle();
    },
  };
  return sends;
}

/** Lets the promise callbacks run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.test("beat: each tick sends when the last round was answered", async () => {
  const s = heldSends();
  s.beat.tick();
  await s.answer();
  s.beat.tick();
  await s.answer();
  assert.equal(s.rounds, 2);
});

Deno.test("beat: ticks during an unanswered round are owed as one round, sent on the answer", async () => {
  const s = heldSends();
  s.beat.tick();
  s.beat.tick();
  s.beat.tick();
  s.beat.tick();
  assert.equal(s.rounds, 1, "nothing queued behind the round under way");
  await s.answer();
  assert.equal(s.rounds, 2, "the owed ticks, paid once");
  await s.answer();
  assert.equal(s.rounds, 2, "and nothing more until the next tick");
  assert.deepEqual(s.ticks, [1, 4], "the owed round carries the latest tick's number");
});

Deno.test("beat: a failed round or a send that throws frees the next tick", async () => {
  const s = heldSends();
  s.beat.tick();
  s.beat.tick();
  await s.fail();
  assert.equal(s.rounds, 2, "the owed round follows a failure");

  let calls = 0;
  const throwing = new Beat(() => {
    calls++;
    throw new Error("not connected");
  });
  throwing.tick();
  await settle();
  throwing.tick();
  await settle();
  assert.equal(calls, 2);
});

Deno.test("beat: after stop, no tick sends and an owed round is dropped", async () => {
  const s = heldSends();
  s.beat.tick();
  s.beat.tick();
  s.beat.stop();
  await s.answer();
  s.beat.tick();
  await settle();
  assert.equal(s.rounds, 1);
});

Deno.test("beat: start ticks on a timer until stop", async () => {
  const sends: number[] = [];
  const fifth = Promise.withResolvers<void>();
  const beat = new Beat((tick) => {
    sends.push(tick);
    if (tick === 5) fifth.resolve();
    return Promise.resolve();
  });
  beat.start(1);
  await fifth.promise;
  beat.stop();
  await settle();
  await settle();
  assert.deepEqual(sends, [1, 2, 3, 4, 5], "numbered ticks, and none after stop");
});

Deno.test("beat: start rejects an interval that is not above 0", () => {
  const beat = new Beat(() => Promise.resolve());
  assert.throws(() => beat.start(0), /intervalMs must be above 0, got 0/);
  assert.throws(() => beat.start(Number.NaN), /intervalMs must be above 0, got NaN/);
});
