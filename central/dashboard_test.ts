import assert from "node:assert/strict";
import { freshFacts, memoryRuntime } from "./api_test_support.ts";
import {
  CHARGE_S1,
  cpLogin,
  dispatch,
  supplyInput,
  T0,
  telemetryInput,
  type Timed,
  weatherInput,
} from "./core_test_support.ts";
import { buildSnapshot, DashboardTracker } from "./dashboard.ts";
import { type FeedEvent, LiveFeed } from "./live_feed.ts";
import { systemStatus } from "./system_health.ts";

const supply = (kwh: number, now: number): Timed => supplyInput(kwh, now, "S1");

/** A runtime whose committed steps feed a tracker, and the events it published. */
function setup() {
  const { store, runtime } = memoryRuntime();
  const feed = new LiveFeed({ boot: "b" });
  const tracker = new DashboardTracker(feed, runtime.model);
  runtime.subscribe((c) => tracker.commit(c));
  const events: FeedEvent[] = [];
  feed.subscribe((e) => events.push(e));
  return { store, runtime, feed, tracker, events, [Symbol.dispose]: () => store.close() };
}

const charge = (t: ReturnType<typeof setup>) => {
  dispatch(t.runtime, cpLogin("CP-1", 1));
  dispatch(t.runtime, CHARGE_S1);
};

Deno.test("dashboard: a login, a session start and a ticket are immediate events", () => {
  using t = setup();
  charge(t);
  assert.deepEqual(t.events.map((e) => e.type), ["cp", "session", "cp"]);
  const supplying = t.events[2].data as { state: string; driver_id: string; session_id: string };
  assert.deepEqual([supplying.state, supplying.driver_id, supplying.session_id], [
    "SUPPLYING",
    "D-1",
    "S1",
  ]);
  dispatch(
    t.runtime,
    telemetryInput(
      { type: "SUPPLY_END", sessionId: "S1", kwh: 3, eur: 1.5, endReason: "unplugged" },
      T0 + 5000,
    ),
  );
  const ticket = t.events.find((e) => e.type === "ticket");
  assert.ok(ticket, "a ticket event");
  assert.deepEqual(
    [(ticket.data as { id: string }).id, (ticket.data as { kwh: number }).kwh],
    ["S1", 3],
  );
  assert.equal((t.events.at(-1)!.data as { state: string }).state, "ACTIVATED");
});

Deno.test("dashboard: figures of a supplying CP are coalesced into one telemetry per flush", () => {
  using t = setup();
  charge(t);
  t.feed.flush(); // the driver seen
  const before = t.events.length;
  for (let i = 1; i <= 5; i++) dispatch(t.runtime, supply(i, T0 + 1000 + i * 1000));
  assert.equal(t.events.length, before, "held until the flush");
  t.feed.flush();
  const sent = t.events.slice(before);
  assert.deepEqual(sent.map((e) => e.type), ["telemetry"]);
  assert.equal((sent[0].data as { kwh: number }).kwh, 5);
  assert.deepEqual(
    Object.keys(sent[0].data as object).sort(),
    ["eur", "id", "kw", "kwh", "last_seen"],
    "the figures alone: the rest went out in the CP's last cp event",
  );
});

Deno.test("dashboard: an admin stop is a cp event that supersedes held figures", () => {
  using t = setup();
  charge(t);
  dispatch(t.runtime, supply(1, T0 + 2000));
  t.runtime.dispatch({ type: "stop", cpId: "CP-1", reason: "admin" }, T0 + 3000);
  const stopped = t.events.at(-1)!;
  assert.equal(stopped.type, "cp");
  assert.deepEqual(
    [
      (stopped.data as { state: string }).state,
      (stopped.data as { stop_reason: string })
        .stop_reason,
    ],
    ["STOPPED", "admin"],
  );
  assert.ok(
    t.feed.flush().every((e) => e.type !== "telemetry"),
    "no stale figures after the stop",
  );
});

Deno.test("dashboard: a batch shows each CP it touched once, in the batch's final model", () => {
  using t = setup();
  charge(t);
  t.feed.flush();
  const before = t.events.length;
  // A Kafka batch: figures, then an admin stop, all announced with the model after the stop.
  t.runtime.dispatchAll([
    supply(1, T0 + 2000),
    supply(2, T0 + 2000),
    { input: { type: "stop", cpId: "CP-1", reason: "admin" }, now: T0 + 2000 },
  ], T0 + 2000);
  const sent = t.events.slice(before);
  assert.deepEqual(sent.map((e) => e.type), ["cp"], "the new state, once");
  assert.deepEqual(
    [(sent[0].data as { state: string }).state, (sent[0].data as { kwh: number }).kwh],
    ["STOPPED", 2],
  );
  assert.equal(t.feed.pendingCount, 0, "no copy of the same view held for the next flush");
  dispatch(t.runtime, supply(3, T0 + 3000));
  assert.equal(t.feed.pendingCount, 1, "the next step's model is looked at again");
});

Deno.test("dashboard: a weather status change is immediate, a temperature alone coalesced", () => {
  using t = setup();
  dispatch(t.runtime, cpLogin("CP-1", 1));
  const weather = (temperatureC: number, status: "alert" | "clear", now: number): Timed =>
    weatherInput(status, now, { city: "Oslo", temperatureC });
  dispatch(t.runtime, weather(-3, "alert", T0 + 1000));
  assert.ok(t.events.some((e) => e.type === "weather"));
  const n = t.events.length;
  dispatch(t.runtime, weather(-4, "alert", T0 + 2000));
  assert.ok(t.events.slice(n).every((e) => e.type !== "weather"), "held");
  assert.ok(t.feed.flush().some((e) => e.type === "weather"));
});

Deno.test("dashboard: status events only when the health shown changes", () => {
  using t = setup();
  const facts = {
    producerConnected: true,
    lastFetchMs: { requests: T0 },
    outboxPending: 0,
    registryOkMs: T0,
    registryErrorMs: null,
    registryError: null,
    model: t.runtime.model,
  };
  t.tracker.status(systemStatus(facts, T0));
  t.tracker.status(systemStatus({ ...facts, lastFetchMs: { requests: T0 + 900 } }, T0 + 1000));
  t.tracker.status(systemStatus({ ...facts, producerConnected: false }, T0 + 2000));
  assert.deepEqual(
    t.events.filter((e) => e.type === "status").map((e) =>
      (e.data as { kafka: { status: string } }).kafka.status
    ),
    ["ok", "down"],
  );
});

Deno.test("dashboard: the snapshot maps CPs, drivers with sessions, weather and the feed head", () => {
  using t = setup();
  charge(t);
  dispatch(t.runtime, supply(2, T0 + 2000));
  const status = systemStatus(freshFacts(t.runtime.model), T0);
  const snapshot = buildSnapshot({
    model: t.runtime.model,
    recent: [],
    drivers: t.store.drivers(),
    audit: [],
    status,
    feed: t.feed,
    registryAdmin: false,
    localCps: false,
    now: new Date(T0 + 3000),
  });
  assert.equal(snapshot.boot, "b");
  assert.equal(snapshot.last_event_id, t.feed.lastId);
  assert.deepEqual(snapshot.cps.map((c) => [c.id, c.state, c.kwh, c.session_id, c.security]), [
    ["CP-1", "SUPPLYING", 2, "S1", "ACTIVE"],
  ]);
  assert.deepEqual(snapshot.sessions.active.map((s) => s.id), ["S1"]);
  assert.equal(snapshot.drivers[0].id, "D-1");
  assert.equal(snapshot.drivers[0].current_session?.id, "S1");
  assert.equal(snapshot.drivers[0].last_session, null);
  assert.equal(snapshot.status.registry.status, "unknown");
});
