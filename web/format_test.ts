import assert from "node:assert/strict";
import { dateTime, eur, fromLocalInput, kw, kwh, pct, toLocalInput } from "./format.ts";

Deno.test("format: a time is shown with its date, in local time", () => {
  const local = new Date(2026, 11, 5, 9, 3, 7);
  assert.equal(dateTime(local.toISOString()), "2026-12-05 09:03:07");
  assert.equal(dateTime(local.getTime()), "2026-12-05 09:03:07");
  assert.equal(dateTime(null), "–");
  assert.equal(dateTime("not a time"), "–");
});

Deno.test("format: datetime-local values go to ISO and back in local time", () => {
  const local = new Date(2026, 0, 31, 23, 59);
  assert.equal(toLocalInput(local.getTime()), "2026-01-31T23:59");
  assert.equal(fromLocalInput("2026-01-31T23:59"), local.toISOString());
  assert.equal(fromLocalInput(""), "");
  assert.throws(() => fromLocalInput("yesterday"), RangeError);
  assert.throws(() => fromLocalInput("2026-13-45T99:99"), RangeError);
});

Deno.test("format: figures have their unit and a dash for nothing", () => {
  assert.equal(kw(22), "22.0 kW");
  assert.equal(kwh(1.234), "1.23 kWh");
  assert.equal(eur(0.5), "0.50 €");
  assert.equal(pct(98.756), "98.76 %");
  assert.equal(kw(null), "–");
  assert.equal(kwh(null), "–");
  assert.equal(eur(null), "–");
  assert.equal(pct(null), "–");
});
