import assert from "node:assert/strict";
import { compareStates, longTaskFigures, mainThreadShare, quantile } from "./dashboard_probe.ts";

Deno.test("dashboard probe: only CPs stable across both /cps reads are compared", () => {
  const before = [
    { id: "A", state: "ACTIVATED" },
    { id: "B", state: "SUPPLYING" },
    { id: "C", state: "BROKEN" },
    { id: "D", state: "ACTIVATED" },
  ];
  const after = [
    { id: "A", state: "ACTIVATED" },
    { id: "B", state: "ACTIVATED" }, // changed meanwhile: not compared
    { id: "C", state: "BROKEN" },
    { id: "D", state: "ACTIVATED" },
  ];
  const page = [{ id: "A", state: "ACTIVATED" }, { id: "B", state: "SUPPLYING" }, {
    id: "C",
    state: "STOPPED",
  }];
  const result = compareStates(before, page, after);
  assert.equal(result.shown, 3);
  assert.equal(result.central, 4);
  assert.equal(result.stable, 3);
  assert.deepEqual(result.mismatches, [
    { id: "C", central: "BROKEN", page: "STOPPED" },
    { id: "D", central: "ACTIVATED", page: null },
  ]);
});

Deno.test("dashboard probe: quantiles by nearest rank, 0 for no values", () => {
  const values = Array.from({ length: 100 }, (_, i) => 100 - i);
  assert.equal(quantile(values, 0.95), 95);
  assert.equal(quantile(values, 0.5), 50);
  assert.equal(quantile(values, 1), 100);
  assert.equal(quantile([7], 0.95), 7);
  assert.equal(quantile([], 0.95), 0);
});

Deno.test("dashboard probe: main thread share is busy seconds per wall second", () => {
  const before = new Map([["TaskDuration", 1], ["ScriptDuration", 0.5], ["LayoutDuration", 0.1]]);
  const after = new Map([
    ["TaskDuration", 3],
    ["ScriptDuration", 1.5],
    ["LayoutDuration", 0.3],
    ["RecalcStyleDuration", 0.2],
  ]);
  assert.deepEqual(mainThreadShare(before, after, 10), {
    task: 0.2,
    script: 0.1,
    style: 0.02,
    layout: 0.02,
  });
});

Deno.test("dashboard probe: long tasks summed up by their durations, whatever their start", () => {
  const tasks = Array.from({ length: 20 }, (_, i) => [1000 + i, 51 + i] as const);
  assert.deepEqual(longTaskFigures(tasks), {
    count: 20,
    p95_ms: 69,
    max_ms: 70,
    total_ms: 1210,
  });
  assert.deepEqual(longTaskFigures([]), { count: 0, p95_ms: 0, max_ms: 0, total_ms: 0 });
});
