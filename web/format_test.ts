import assert from "node:assert/strict";
import { formats } from "../shared/i18n.ts";
import { display, fromLocalInput, toLocalInput } from "./format.ts";

const en = display(formats("en"));
const es = display(formats("es"));

Deno.test("format: a time is shown with its date, in local time and the page's language", () => {
  const local = new Date(2026, 11, 5, 9, 3, 7);
  assert.equal(en.dateTime(local.toISOString()), "05/12/2026, 09:03:07");
  assert.equal(en.dateTime(local.getTime()), "05/12/2026, 09:03:07");
  assert.equal(es.dateTime(local.getTime()), "05/12/2026, 09:03:07");
  assert.equal(en.dateTime(null), "–");
  assert.equal(en.dateTime("not a time"), "–");
  assert.equal(en.clock(local.getTime()), "09:03");
});

Deno.test("format: datetime-local values go to ISO and back in local time", () => {
  const local = new Date(2026, 0, 31, 23, 59);
  assert.equal(toLocalInput(local.getTime()), "2026-01-31T23:59");
  assert.equal(fromLocalInput("2026-01-31T23:59"), local.toISOString());
  assert.equal(fromLocalInput(""), "");
  assert.throws(() => fromLocalInput("yesterday"), RangeError);
  assert.throws(() => fromLocalInput("2026-13-45T99:99"), RangeError);
});

Deno.test("format: figures have their unit in the language's format, and a dash for nothing", () => {
  assert.equal(en.kw(22), "22.0 kW");
  assert.equal(en.kwh(1.234), "1.23 kWh");
  assert.equal(en.eur(0.5), "€0.50");
  assert.equal(en.pct(98.756), "98.76 %");
  assert.equal(es.kwh(1.234), "1,23 kWh");
  assert.equal(es.eur(0.5), "0,50\u00a0€");
  assert.equal(es.pct(98.756), "98,76 %");
  for (const show of [en.kw, en.kwh, en.eur, en.pct]) assert.equal(show(null), "–");
});
