import assert from "node:assert/strict";
import { DashboardLatency } from "./dashboard_latency.ts";

function timed(max?: number): DashboardLatency {
  const latency = new DashboardLatency(max);
  latency.timing = true;
  return latency;
}

Deno.test("dashboard latency: a send then the event showing it gives their gap", () => {
  const latency = timed();
  latency.sent("CP-1", 1.5, 1_000);
  latency.shown("CP-1", 1.5, 1_240);
  assert.deepEqual(latency.latencies, [240]);
});

Deno.test("dashboard latency: an event read before its send's note still pairs with it", () => {
  const latency = timed();
  latency.shown("CP-1", 1.5, 1_240);
  latency.sent("CP-1", 1.5, 1_000);
  assert.deepEqual(latency.latencies, [240]);
});

Deno.test("dashboard latency: an event stamped before the send belongs to an earlier session", () => {
  const latency = timed();
  latency.shown("CP-1", 1.5, 900); // an earlier session reached 1.5 kWh too
  latency.sent("CP-1", 1.5, 1_000);
  latency.shown("CP-1", 1.5, 1_100);
  assert.deepEqual(latency.latencies, [100]);
});

Deno.test("dashboard latency: other CPs' and other figures' events do not pair", () => {
  const latency = timed();
  latency.sent("CP-1", 1.5, 1_000);
  latency.shown("CP-2", 1.5, 1_100);
  latency.shown("CP-1", 1.6, 1_100);
  latency.shown("CP-1", null, 1_100);
  assert.deepEqual(latency.latencies, []);
});

Deno.test("dashboard latency: each send pairs once", () => {
  const latency = timed();
  latency.sent("CP-1", 1.5, 1_000);
  latency.shown("CP-1", 1.5, 1_100);
  latency.shown("CP-1", 1.5, 1_300); // the same figure shown again: waits for a send
  assert.deepEqual(latency.latencies, [100]);
});

Deno.test("dashboard latency: nothing is matched or kept while timing is off", () => {
  const latency = new DashboardLatency();
  latency.sent("CP-1", 1.5, 1_000);
  latency.timing = true;
  latency.shown("CP-1", 1.5, 1_100);
  latency.timing = false;
  latency.sent("CP-1", 1.5, 1_050);
  assert.deepEqual(latency.latencies, []);
});

Deno.test("dashboard latency: past its bound the oldest unmatched send is forgotten", () => {
  const latency = timed(2);
  latency.sent("CP-1", 1, 1_000);
  latency.sent("CP-2", 1, 1_000);
  latency.sent("CP-3", 1, 1_000); // CP-1's goes
  latency.shown("CP-1", 1, 1_100);
  latency.shown("CP-2", 1, 1_200);
  latency.shown("CP-3", 1, 1_300);
  assert.deepEqual(latency.latencies, [200, 300]);
});

Deno.test("dashboard latency: a bound under 1 is refused", () => {
  assert.throws(() => new DashboardLatency(0), RangeError);
  assert.throws(() => new DashboardLatency(1.5), RangeError);
});
