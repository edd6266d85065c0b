import assert from "node:assert/strict";
import { compareStates, quantile } from "./dashboard_probe.ts";

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
