import assert from "node:assert/strict";
import { sleep, whenAborted } from "./sleep.ts";

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
