import assert from "node:assert/strict";
import { gridPage, gridSummary, GROUP_ABOVE, matches, NO_FILTER } from "./grid.ts";
import { type CpView, sortIds } from "./state.ts";
import { idleCp } from "./test_support.ts";

const cp = (id: string, location: string, state: CpView["state"] = "ACTIVATED"): CpView =>
  idleCp({ id, location, price_eur_kwh: 0.4, state });

const fleet = (n: number) => {
  const cities = ["Madrid", "Bilbao", "Sevilla"];
  const list = Array.from(
    { length: n },
    (_, i) =>
      cp(`CP-${String(i).padStart(4, "0")}`, cities[i % 3], i % 5 === 0 ? "BROKEN" : "SUPPLYING"),
  );
  const cps = Object.fromEntries(list.map((c) => [c.id, c]));
  return { cps, order: sortIds(Object.keys(cps)) };
};

Deno.test("grid: a small network is one group in id order", () => {
  const { cps, order } = fleet(5);
  const page = gridPage(cps, order, NO_FILTER, 0);
  assert.deepEqual(page.groups.map((g) => g.city), [""]);
  assert.deepEqual(page.groups[0].cps.map((c) => c.id), order);
  assert.equal(page.pages, 1);
});

Deno.test("grid: many CPs are grouped by city in city order and paged", () => {
  const { cps, order } = fleet(1000);
  assert.ok(order.length > GROUP_ABOVE);
  const first = gridPage(cps, order, NO_FILTER, 0, 100);
  assert.equal(first.matching, 1000);
  assert.equal(first.pages, 10);
  assert.deepEqual(first.groups.map((g) => g.city), ["Bilbao"]);
  assert.equal(first.groups[0].cps.length, 100);
  // Bilbao holds 333 CPs: page 3 (300–399) spans Bilbao's last 33 and Madrid's first 67.
  const fourth = gridPage(cps, order, NO_FILTER, 3, 100);
  assert.deepEqual(fourth.groups.map((g) => [g.city, g.cps.length]), [["Bilbao", 33], [
    "Madrid",
    67,
  ]]);
  const all = Array.from({ length: 10 }, (_, p) => gridPage(cps, order, NO_FILTER, p, 100))
    .flatMap((pg) => pg.groups.flatMap((g) => g.cps.map((c) => c.id)));
  assert.equal(new Set(all).size, 1000, "every CP on exactly one page");
  assert.equal(gridPage(cps, order, NO_FILTER, 99, 100).page, 9, "a page past the end: the last");
});

Deno.test("grid: search by id or city, filter by city and by state", () => {
  const { cps, order } = fleet(60);
  const ids = (f: Partial<typeof NO_FILTER>) =>
    gridPage(cps, order, { ...NO_FILTER, ...f }, 0, 1000).groups.flatMap((g) =>
      g.cps.map((c) => c.id)
    );
  assert.deepEqual(ids({ text: "cp-0012" }), ["CP-0012"]);
  assert.equal(ids({ text: "sevi" }).length, 20);
  assert.equal(ids({ city: "Madrid" }).length, 20);
  assert.equal(ids({ state: "BROKEN" }).length, 12);
  assert.deepEqual(ids({ city: "Madrid", state: "BROKEN" }), [
    "CP-0000",
    "CP-0015",
    "CP-0030",
    "CP-0045",
  ]);
  assert.deepEqual(ids({ text: "nowhere" }), []);
  assert.equal(matches(cps["CP-0001"], { text: "  BILBAO ", city: "", state: "" }), true);
});

Deno.test("grid: the summary counts CPs per state and lists the cities", () => {
  const { cps } = fleet(10);
  const summary = gridSummary(cps);
  assert.equal(summary.byState.BROKEN, 2);
  assert.equal(summary.byState.SUPPLYING, 8);
  assert.equal(summary.byState.ACTIVATED, 0);
  assert.deepEqual(summary.cities, ["Bilbao", "Madrid", "Sevilla"]);
});
