import assert from "node:assert/strict";
import { cpuMsFromStat, kibFromStatus, machineTicks } from "./proc_figures.ts";

Deno.test("proc parsing: CPU time past a command name with spaces, and memory lines", () => {
  const stat = "4242 (deno run (x)) S 1 2 3 4 5 6 7 8 9 10 150 50 0 0 20 0 9 0 100";
  assert.equal(cpuMsFromStat(stat), 2000);
  const status = "Name:\tdeno\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n";
  assert.equal(kibFromStatus(status, "VmHWM"), 204800);
  assert.equal(kibFromStatus(status, "VmRSS"), 102400);
  assert.equal(kibFromStatus("", "VmRSS"), 0);
});

Deno.test("machine ticks: busy is all but idle and iowait, over the aggregate line", () => {
  const stat = "cpu  100 10 50 800 40 0 0 0 0 0\ncpu0 50 5 25 400 20 0 0 0 0 0\nintr 1\n";
  assert.deepEqual(machineTicks(stat), { busy: 1600, total: 10_000 });
  assert.throws(() => machineTicks("intr 1\n"), /no aggregate `cpu` line/);
});
