import assert from "node:assert/strict";
import { loadAverage, machine } from "./bench_sample.ts";

Deno.test("bench_sample: the machine's cores, memory and load average, read from /proc", async () => {
  const facts = await machine();
  assert.equal(facts.nproc, navigator.hardwareConcurrency);
  assert.ok(facts.memoryGib > 0, `memory ${facts.memoryGib} GiB`);
  assert.match(await loadAverage(), /^\d+\.\d+ \d+\.\d+ \d+\.\d+$/);
});
