import assert from "node:assert/strict";
import { ConsumerLag } from "./consumer_lag.ts";

Deno.test("consumer_lag: sums each topic's partitions, keeping each partition's last figure", () => {
  const lag = new ConsumerLag();
  lag.note("cp.telemetry", 0, 10);
  lag.note("cp.telemetry", 1, 5);
  lag.note("cp.telemetry", 0, 2);
  lag.note("driver.requests", 0, 0);
  assert.deepEqual(lag.byTopic(), { "cp.telemetry": 7, "driver.requests": 0 });
});

Deno.test("consumer_lag: a negative or unreadable lag counts as none", () => {
  const lag = new ConsumerLag();
  lag.note("t", 0, -1);
  lag.note("t", 1, Number("x"));
  assert.deepEqual(lag.byTopic(), { t: 0 });
});
