import assert from "node:assert/strict";
import { meanPowerKw, readMeter } from "./meter.ts";

Deno.test("meter: the energy register defaults to Wh and takes kWh", () => {
  assert.deepEqual(
    readMeter([{ timestamp: "2026-01-01T00:00:00Z", sampledValue: [{ value: "1500" }] }]).energyWh,
    1500,
  );
  assert.equal(
    readMeter([{
      timestamp: "2026-01-01T00:00:00Z",
      sampledValue: [{ value: "1.5", unit: "kWh", measurand: "Energy.Active.Import.Register" }],
    }]).energyWh,
    1500,
  );
});

Deno.test("meter: the newest reading wins and power is read in kW", () => {
  const r = readMeter([
    {
      timestamp: "2026-01-01T00:01:00Z",
      sampledValue: [{ value: "200" }, { value: "7400", measurand: "Power.Active.Import" }],
    },
    { timestamp: "2026-01-01T00:00:00Z", sampledValue: [{ value: "100" }] },
  ]);
  assert.equal(r.energyWh, 200);
  assert.equal(r.powerKw, 7.4);
  assert.equal(r.energyAt, Date.parse("2026-01-01T00:01:00Z"));
});

Deno.test("meter: signed data, bad numbers and bad times are skipped", () => {
  const r = readMeter([
    { timestamp: "not a time", sampledValue: [{ value: "5" }] },
    {
      timestamp: "2026-01-01T00:00:00Z",
      sampledValue: [{ value: "abc" }, { value: "", unit: "Wh" }, {
        value: "9",
        format: "SignedData",
      }],
    },
  ]);
  assert.equal(r.energyWh, undefined);
});

Deno.test("meter: mean power between readings; none when time or energy goes back", () => {
  assert.equal(meanPowerKw(0, 0, 11_000, 3_600_000), 11);
  assert.equal(meanPowerKw(0, 10, 5, 10), undefined);
  assert.equal(meanPowerKw(10, 0, 5, 1000), undefined);
});
