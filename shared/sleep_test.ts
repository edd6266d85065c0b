import assert from "node:assert/strict";
import { doublingDelay, sleep, whenAborted, within } from "./sleep.ts";

Deno.test("sleep resolves as soon as its signal aborts, long before its time", async () => {
  const controller = new AbortController();
  const waiting = sleep(60_000, controller.signal);
  controller.abort();
  await waiting; // a leaked 60 s timer would also fail the test's leak check
});

Deno.test("sleep on an already aborted signal resolves at once", async () => {
  await sleep(60_000, AbortSignal.abort());
});

Deno.test("whenAborted runs the action on abort, at once if already aborted, and cancels", () => {
  const ran: string[] = [];
  const controller = new AbortController();
  whenAborted(controller.signal, () => ran.push("later"));
  const cancel = whenAborted(controller.signal, () => ran.push("cancelled"));
  cancel();
  whenAborted(AbortSignal.abort(), () => ran.push("now"));
  assert.deepEqual(ran, ["now"]);
  controller.abort();
  assert.deepEqual(ran, ["now", "later"]);
});

Deno.test("within: the promise's value when it settles in time, else the fallback; no timer left", async () => {
  assert.equal(await within(Promise.resolve("done"), 10_000, "late"), "done");
  assert.equal(await within(new Promise<string>(() => {}), 10, "late"), "late");
  await assert.rejects(within(Promise.reject(new Error("boom")), 10_000, "late"), /boom/);
});

Deno.test("doublingDelay: the first wait, doubled per attempt, capped", () => {
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => doublingDelay(n, 500, 3000)), [
    500,
    1000,
    2000,
    3000,
    3000,
  ]);
});
