import assert from "node:assert/strict";
import {
  addCounts,
  CITIES,
  cpIdFor,
  cpSpecFor,
  defaultLoginConcurrency,
  driverIdFor,
  emptyCounts,
  type FleetCounts,
  formatDuration,
  percentile,
  POWERS_KW,
  PREFIX_PATTERN,
  progressLine,
  progressLines,
  RandomSet,
  rates,
  splitRange,
} from "./core.ts";
import { isValidCpId } from "../shared/encoding.ts";

/** A fleet of 10 CPs and 5 drivers under way (no errors, nothing sent or lost), `over` on top. */
const counts = (over: Partial<FleetCounts> = {}): FleetCounts => ({
  ...emptyCounts(10, 5),
  registered: 10,
  loggedIn: 9,
  charging: 4,
  requests: 30,
  tickets: 20,
  denials: 3,
  ...over,
});

Deno.test("fleet ids: the longest prefix still gives valid CP and driver ids", () => {
  const prefix = "P".repeat(40);
  assert.ok(PREFIX_PATTERN.test(prefix));
  assert.ok(isValidCpId(cpIdFor(prefix, 99_999)));
  assert.ok(isValidCpId(driverIdFor(prefix, 99_999)));
  assert.equal(cpIdFor("F", 7), "F-CP-00007");
  assert.equal(driverIdFor("F", 12), "F-DRV-00012");
  assert.ok(!PREFIX_PATTERN.test("no spaces"));
});

Deno.test("fleet CP specs: a known city and power, a price to the cent in 0.25–0.60", () => {
  for (const r of [0, 0.5, 0.999999]) {
    const spec = cpSpecFor("F", 1, () => r);
    assert.ok((CITIES as readonly string[]).includes(spec.location));
    assert.ok((POWERS_KW as readonly number[]).includes(spec.powerKw));
    assert.ok(spec.priceEurKwh >= 0.25 && spec.priceEurKwh <= 0.6, String(spec.priceEurKwh));
    assert.equal(Math.round(spec.priceEurKwh * 100) / 100, spec.priceEurKwh);
  }
});

Deno.test("random set: picks only what it holds, and forgets what was deleted", () => {
  const set = new RandomSet<string>();
  assert.equal(set.pick(Math.random), undefined);
  ["a", "b", "c", "b"].forEach((x) => set.add(x));
  assert.equal(set.size, 3);
  set.delete("a");
  set.delete("zz");
  assert.ok(!set.has("a"));
  const picked = new Set([0, 0.4, 0.99].map((r) => set.pick(() => r)));
  assert.deepEqual([...picked].sort(), ["b", "c"]);
  set.delete("c");
  set.delete("b");
  assert.equal(set.size, 0);
  assert.equal(set.pick(() => 0.5), undefined);
});

Deno.test("percentile: nearest rank over unsorted values; none for no values", () => {
  const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  assert.equal(percentile(values, 50), 5);
  assert.equal(percentile(values, 95), 10);
  assert.equal(percentile(values, 0), 1);
  assert.equal(percentile([42], 99), 42);
  assert.equal(percentile([], 50), undefined);
});

Deno.test("rates: messages per second between two samples", () => {
  const r = rates(
    { at: 1000, counts: counts({ sent: 100, received: 10 }) },
    { at: 3000, counts: counts({ sent: 500, received: 30 }) },
  );
  assert.deepEqual(r, { sent: 200, received: 10 });
});

Deno.test("progress: the display and the plain line show every figure", () => {
  const lines = progressLines("F", counts(), { sent: 12.4, received: 3 }, 65_000).join("\n");
  for (const text of ["F", "1m05s", "10/10", "9/10", "charging     4", "tickets      20"]) {
    assert.ok(lines.includes(text), text);
  }
  assert.ok(lines.includes("12 out, 3 in"));
  const lost = { lostLogins: 4, relogins: 3, monitorLinkDrops: 1 };
  assert.ok(
    progressLines("F", counts(lost), { sent: 0, received: 0 }, 0).join("\n")
      .includes("lost logins  4 (3 logged in again), engine links lost 1"),
  );
  const line = progressLine(counts({ errors: 2, ...lost }), { sent: 1, received: 2 }, 3_723_000);
  assert.match(line, /^fleet 1h02m03s: registered 10\/10 logged in 9\/10 charging 4 tickets 20 /);
  assert.match(
    line,
    /denials 3 errors 2 lost logins 4 relogins 3 engine links lost 1 msgs\/s 1 out 2 in$/,
  );
  assert.equal(formatDuration(7_900), "7s");
});

Deno.test("splitRange: consecutive ranges covering the total, sizes differing by one at most", () => {
  assert.deepEqual(splitRange(10, 3), [
    { offset: 0, count: 4 },
    { offset: 4, count: 3 },
    { offset: 7, count: 3 },
  ]);
  assert.deepEqual(splitRange(2, 3), [
    { offset: 0, count: 1 },
    { offset: 1, count: 1 },
    { offset: 2, count: 0 },
  ]);
  assert.deepEqual(splitRange(0, 1), [{ offset: 0, count: 0 }]);
  assert.throws(() => splitRange(10, 0), /parts must be a whole number of at least 1, got 0/);
  assert.throws(() => splitRange(-1, 2), /total must be a whole number of at least 0, got -1/);
});

Deno.test("addCounts: every count of two fleet parts summed; emptyCounts: only the sizes", () => {
  const a = { ...emptyCounts(3, 2), loggedIn: 3, tickets: 5, errors: 1, sent: 100, relogins: 2 };
  const b = { ...emptyCounts(4, 1), loggedIn: 2, denials: 7, received: 9, lostLogins: 3 };
  assert.deepEqual(addCounts(a, b), {
    cps: 7,
    drivers: 3,
    registered: 0,
    loggedIn: 5,
    charging: 0,
    requests: 0,
    tickets: 5,
    denials: 7,
    errors: 1,
    sent: 100,
    received: 9,
    lostLogins: 3,
    relogins: 2,
    monitorLinkDrops: 0,
  });
  assert.equal(Object.values(emptyCounts(0, 0)).every((n) => n === 0), true);
});

Deno.test("fleet core: by default four logins at once a thread, at least eight", () => {
  assert.equal(defaultLoginConcurrency(1), 8);
  assert.equal(defaultLoginConcurrency(2), 8);
  assert.equal(defaultLoginConcurrency(3), 12);
  assert.equal(defaultLoginConcurrency(6), 24);
  assert.throws(() => defaultLoginConcurrency(0), RangeError);
  assert.throws(() => defaultLoginConcurrency(1.5), RangeError);
});
