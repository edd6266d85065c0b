import assert from "node:assert/strict";
import { testApp } from "./api_test_support.ts";
import { at, chargeInput, telemetryInput } from "./core_test_support.ts";
import { LiveFeed } from "./live_feed.ts";
import { operatorRuntime, T0 } from "./operator_test_support.ts";
import { ALARM_EVENT, trackOperator } from "./operator_trackers.ts";

function setup() {
  const t = operatorRuntime();
  const feed = new LiveFeed();
  const events: { type: string; data: unknown }[] = [];
  feed.subscribe((e) => events.push(e));
  const operator = trackOperator(t.runtime, feed, T0);
  let clock = T0;
  const app = testApp(t.runtime, { now: () => new Date(clock), operator });
  return Object.assign(t, {
    app,
    events,
    setClock: (ms: number) => clock = ms,
    get: async (path: string) => {
      const res = await app.request(path);
      return { status: res.status, body: await res.json() };
    },
  });
}

function charge(t: ReturnType<typeof setup>, kw: number, kwh: number, at: number) {
  t.send(telemetryInput({ type: "SUPPLY", sessionId: "S1", kw, kwh, eur: kwh / 2 }, at));
}

Deno.test("api console: /series for the network and one CP, 404 for an unknown CP", async () => {
  using t = setup();
  t.login("CP-1", T0);
  t.send(chargeInput("r1", { sessionId: "S1" }, T0));
  charge(t, 22, 2, T0 + 1000);
  t.send(at(T0 + 2000, { type: "tick" }));
  t.setClock(T0 + 5000);
  const net = await t.get("/series?minutes=1");
  assert.equal(net.status, 200);
  assert.equal(net.body.cp, null);
  assert.equal(net.body.bucket_seconds, 10);
  assert.equal(net.body.points.length, 6);
  assert.deepEqual(net.body.points.at(-1), { t: T0, kw: 22, kwh: 2 });
  const one = await t.get("/series?cp=CP-1");
  assert.equal(one.body.points.length, 360, "an hour by default");
  assert.equal(one.body.cp, "CP-1");
  assert.equal((await t.get("/series?cp=CP-404")).status, 404);
  assert.equal((await t.get("/series?minutes=61")).status, 400);
});

Deno.test("api console: /summary gives kW now, today's figures and availability", async () => {
  using t = setup();
  t.login("CP-1", T0);
  t.login("CP-2", T0);
  t.send(chargeInput("r1", { sessionId: "S1" }, T0));
  charge(t, 11, 4, T0 + 1000);
  t.engine("CP-2", "KO", T0 + 30_000);
  t.setClock(T0 + 60_000);
  const { status, body } = await t.get("/summary");
  assert.equal(status, 200);
  assert.equal(body.kw_now, 11);
  assert.equal(body.sessions_active, 1);
  assert.equal(body.sessions_today, 1);
  assert.equal(body.kwh_today, 4);
  assert.equal(body.eur_today, 2);
  assert.equal(body.availability_pct, 75, "CP-2 broken half of its minute");
  assert.equal(body.day_start, "2026-12-05T00:00:00.000Z");
  assert.equal(body.cps.total, 2);
  assert.equal(body.cps.by_state.BROKEN, 1);
  assert.equal(body.cps.by_state.SUPPLYING, 1);
  assert.equal(body.alarms_open, 1);
});

Deno.test("api console: /alarms lists open ones, then cleared; each change is an alarm event", async () => {
  using t = setup();
  t.login("CP-1", T0);
  t.engine("CP-1", "KO", T0 + 1000);
  t.engine("CP-1", "OK", T0 + 2000);
  t.disconnect("CP-1", T0 + 3000);
  const open = await t.get("/alarms?open=1");
  assert.equal(open.status, 200);
  assert.equal(open.body.open, 1);
  assert.deepEqual(open.body.items.map((a: { kind: string }) => a.kind), ["cp_disconnected"]);
  const all = await t.get("/alarms");
  assert.deepEqual(
    all.body.items.map((
      a: { kind: string; cleared_at: string | null },
    ) => [a.kind, a.cleared_at !== null]),
    [
      ["cp_disconnected", false],
      ["cp_broken", true],
    ],
  );
  const alarmEvents = t.events.filter((e) => e.type === ALARM_EVENT);
  assert.equal(alarmEvents.length, 3, "broken opened, broken cleared, disconnected opened");
  assert.deepEqual(alarmEvents[1].data, all.body.items[1]);
  assert.equal((await t.get("/alarms?open=maybe")).status, 400);
});
