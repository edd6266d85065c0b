import assert from "node:assert/strict";
import { memoryRuntime } from "./api_test_support.ts";
import { chargeInput, cpLogin, dispatch, telemetryInput } from "./core_test_support.ts";
import { PowerSeries } from "./power_series.ts";

const T0 = Date.parse("2026-12-05T10:00:00.000Z"); // a bucket boundary

function setup(bucketMs = 10_000, buckets = 6) {
  const { store, runtime } = memoryRuntime();
  const series = new PowerSeries(runtime.model, bucketMs, buckets);
  runtime.subscribe((c) => series.observe(c));
  dispatch(runtime, cpLogin("CP-1", 1, T0));
  dispatch(runtime, cpLogin("CP-2", 2, T0));
  const charge = (cpId: string, sessionId: string, now: number) =>
    dispatch(
      runtime,
      chargeInput(`r-${sessionId}`, { driverId: `D-${sessionId}`, cpId, sessionId }, now),
    );
  const supply = (cpId: string, sessionId: string, kw: number, kwh: number, now: number) =>
    dispatch(
      runtime,
      telemetryInput({ type: "SUPPLY", sessionId, kw, kwh, eur: kwh / 2 }, now, cpId),
    );
  const tick = (now: number) => runtime.dispatch({ type: "tick" }, now);
  return { store, series, charge, supply, tick };
}

Deno.test("power_series: kW is the mean reported power per bucket, kWh the energy added in it", () => {
  const { store, series, charge, supply, tick } = setup();
  try {
    charge("CP-1", "S1", T0 + 100);
    charge("CP-2", "S2", T0 + 100);
    supply("CP-1", "S1", 22, 1, T0 + 1000);
    tick(T0 + 2000);
    supply("CP-2", "S2", 11, 0.5, T0 + 3000);
    tick(T0 + 4000); // CP-1 22 kW + CP-2 11 kW
    supply("CP-1", "S1", 22, 3, T0 + 12_000); // next bucket: 2 kWh more
    tick(T0 + 13_000);
    const net = series.series(undefined, 1, T0 + 15_000);
    assert.equal(net.length, 6, "a minute of 10 s buckets");
    const [b0, b1] = net.slice(-2);
    assert.deepEqual(b0, { t: T0, kw: 27.5, kwh: 1.5 }, "(22 + 33) / 2 ticks");
    assert.deepEqual(b1, { t: T0 + 10_000, kw: 33, kwh: 2 });
    assert.deepEqual(series.series("CP-1", 1, T0 + 15_000).slice(-2), [
      { t: T0, kw: 22, kwh: 1 },
      { t: T0 + 10_000, kw: 22, kwh: 2 },
    ]);
    assert.deepEqual(series.series("CP-2", 1, T0 + 15_000).slice(-2).map((p) => p.kwh), [0.5, 0]);
    assert.ok(series.series("CP-9", 1, T0 + 15_000).every((p) => p.kw === 0 && p.kwh === 0));
  } finally {
    store.close();
  }
});

Deno.test("power_series: bounded: old buckets are overwritten, idle CPs forgotten", () => {
  const { store, series, charge, supply, tick } = setup(10_000, 6);
  try {
    charge("CP-1", "S1", T0);
    supply("CP-1", "S1", 22, 5, T0 + 1000);
    tick(T0 + 2000);
    assert.equal(series.trackedCps, 1);
    // A whole window later, with no more reports from CP-1 (its session ended meanwhile).
    supply("CP-1", "S1", 0, 5, T0 + 3000);
    for (let t = T0 + 10_000; t <= T0 + 200_000; t += 10_000) tick(t);
    const net = series.series(undefined, 60, T0 + 200_000);
    assert.equal(net.length, 6, "never more than the ring holds");
    assert.ok(net.every((p) => p.kwh === 0), "the old energy is gone");
    assert.equal(series.trackedCps, 0);
  } finally {
    store.close();
  }
});

Deno.test("power_series: a recovered open session's energy is a baseline, not new energy", () => {
  const { store, series: _, charge, supply } = setup();
  try {
    charge("CP-1", "S1", T0);
    supply("CP-1", "S1", 22, 7, T0 + 1000);
  } finally {
    store.close();
  }
  const restarted = new PowerSeries({
    cps: new Map(),
    sessions: new Map([["S1", { id: "S1", kwh: 7 } as never]]),
    weather: new Map(),
  });
  restarted.observe({
    input: { type: "tick" },
    now: T0 + 5000,
    effects: [{
      type: "save_session",
      session: { id: "S1", cpId: "CP-1", kwh: 7.5, endedAt: null } as never,
    }],
    model: { cps: new Map(), sessions: new Map(), weather: new Map() },
  });
  assert.equal(restarted.series(undefined, 1, T0 + 5000).at(-1)?.kwh, 0.5);
});

Deno.test("power_series: refuses buckets under a second or no buckets", () => {
  const empty = { cps: new Map(), sessions: new Map(), weather: new Map() };
  assert.throws(() => new PowerSeries(empty, 10, 6), RangeError);
  assert.throws(() => new PowerSeries(empty, 10_000, 0), RangeError);
});
