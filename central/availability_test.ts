import assert from "node:assert/strict";
import { AvailabilityTracker, isAvailable, utcDayStart } from "./availability.ts";
import { operatorRuntime, T0 } from "./operator_test_support.ts";
import { at } from "./core_test_support.ts";

Deno.test("availability: the share of CP-time neither BROKEN nor DISCONNECTED", () => {
  using t = operatorRuntime();
  const tracker = new AvailabilityTracker(t.runtime.model, T0);
  t.runtime.subscribe((c) => tracker.observe(c));
  t.login("CP-1", T0);
  t.login("CP-2", T0);
  t.engine("CP-2", "KO", T0 + 60_000); // CP-2 broken for a minute
  t.engine("CP-2", "OK", T0 + 120_000);
  t.disconnect("CP-1", T0 + 180_000); // CP-1 away from 3 min on
  const figure = tracker.at(T0 + 240_000);
  // 8 CP-minutes in all; CP-2 down 1, CP-1 down 1 (3 → 4 min).
  assert.equal(figure.percent, 75);
  assert.equal(figure.sinceMs, T0);
});

Deno.test("availability: a new UTC day starts a new window; STOPPED counts as available", () => {
  using t = operatorRuntime();
  const tracker = new AvailabilityTracker(t.runtime.model, T0);
  t.runtime.subscribe((c) => tracker.observe(c));
  t.login("CP-1", T0);
  t.engine("CP-1", "KO", T0 + 1000);
  const midnight = utcDayStart(T0) + 86_400_000;
  t.engine("CP-1", "OK", midnight + 60_000);
  t.send(at(midnight + 60_000, { type: "stop", cpId: "CP-1", reason: "admin" }));
  const figure = tracker.at(midnight + 120_000);
  assert.equal(figure.sinceMs, midnight);
  assert.equal(figure.percent, 50, "broken the first minute of the day, stopped the second");
  assert.equal(new AvailabilityTracker(t.runtime.model, T0).at(T0).percent, null);
  assert.deepEqual(
    (["ACTIVATED", "SUPPLYING", "STOPPED", "BROKEN", "DISCONNECTED"] as const).map(isAvailable),
    [true, true, true, false, false],
  );
});
