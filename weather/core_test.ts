import assert from "node:assert/strict";
import {
  applyCentralProbe,
  applyDeliveries,
  applyReadings,
  backoffDelay,
  centralDue,
  type CentralProbe,
  type CoreSettings,
  type DeliveryOutcome,
  describe,
  dismissedAfter,
  dueCities,
  initialState,
  type OfficeState,
  planNotifications,
  type Reading,
  statusFor,
  step,
  toAdopt,
  type WeatherAlertBody,
} from "./core.ts";

const SETTINGS: CoreSettings = {
  thresholdC: 0,
  backoffBaseMs: 4000,
  maxProviderBackoffMs: 60_000,
  maxCentralBackoffMs: 30_000,
};
const T0 = Date.parse("2026-01-15T06:00:00.000Z");
const ok = (temperature: number): Reading => ({ ok: true, temperature });
const fail = (
  kind: "timeout" | "rate_limited" | "server_error",
  retryAfterMs?: number,
): Reading => ({
  ok: false,
  kind,
  detail: `${kind} detail`,
  ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
});
const DELIVERED: DeliveryOutcome = { kind: "delivered" };
const DOWN: DeliveryOutcome = { kind: "unavailable", detail: "Connection refused" };

const LOCATIONS = new Map([["CP-001", "Madrid"], ["CP-002", "Madrid"], ["CP-003", "Oslo"]]);

/** Central's list of `cpIds`, none of them in a city. */
const listed = (...cpIds: string[]): CentralProbe => ({
  kind: "listed",
  cpIds: new Set(cpIds),
  locations: new Map(),
});

/** One full round as the office runs it, with Central answering every notification `outcome`. */
function round(
  state: OfficeState,
  readings: Record<string, Reading>,
  at: number,
  outcome: DeliveryOutcome = DELIVERED,
  locations: ReadonlyMap<string, string> = LOCATIONS,
): { state: OfficeState; sent: WeatherAlertBody[] } {
  let next = applyReadings(state, locations, new Map(Object.entries(readings)), at, SETTINGS);
  const plan = planNotifications(next, locations, SETTINGS.thresholdC);
  const answers = plan.map((body) => ({ body, outcome }));
  next = applyDeliveries(next, locations, answers, at, SETTINGS);
  return { state: next, sent: plan };
}

Deno.test("the threshold is inclusive: below is alert, exactly at it or above is clear", () => {
  assert.equal(statusFor(-0.1, 0), "alert");
  assert.equal(statusFor(0, 0), "clear");
  assert.equal(statusFor(0.1, 0), "clear");
  assert.equal(statusFor(2.9, 3), "alert");
  assert.equal(statusFor(3, 3), "clear");
});

Deno.test("the first reading of every CP is sent, whatever it is", () => {
  const { sent } = round(initialState(), { Madrid: ok(5), Oslo: ok(-4) }, T0);
  assert.deepEqual(sent, [
    { cp_id: "CP-001", city: "Madrid", temperature: 5, status: "clear" },
    { cp_id: "CP-002", city: "Madrid", temperature: 5, status: "clear" },
    { cp_id: "CP-003", city: "Oslo", temperature: -4, status: "alert" },
  ]);
});

Deno.test("an alert is sent only on change: once per CP of the city that drops below", () => {
  let { state } = round(initialState(), { Madrid: ok(5), Oslo: ok(-4) }, T0);
  let sent: WeatherAlertBody[];
  ({ state, sent } = round(state, { Madrid: ok(3), Oslo: ok(-6) }, T0 + 4000));
  assert.deepEqual(sent, [], "no status changed");
  ({ state, sent } = round(state, { Madrid: ok(-0.5), Oslo: ok(-6) }, T0 + 8000));
  assert.deepEqual(sent, [
    { cp_id: "CP-001", city: "Madrid", temperature: -0.5, status: "alert" },
    { cp_id: "CP-002", city: "Madrid", temperature: -0.5, status: "alert" },
  ]);
  ({ state, sent } = round(state, { Madrid: ok(-3), Oslo: ok(-6) }, T0 + 12_000));
  assert.deepEqual(sent, [], "still below: nothing new");
});

Deno.test("a clear is sent once when the temperature is back at exactly the threshold", () => {
  let { state } = round(initialState(), { Madrid: ok(-2), Oslo: ok(-4) }, T0);
  let sent: WeatherAlertBody[];
  ({ state, sent } = round(state, { Madrid: ok(0), Oslo: ok(-4) }, T0 + 4000));
  assert.deepEqual(sent, [
    { cp_id: "CP-001", city: "Madrid", temperature: 0, status: "clear" },
    { cp_id: "CP-002", city: "Madrid", temperature: 0, status: "clear" },
  ]);
  ({ sent } = round(state, { Madrid: ok(0.5), Oslo: ok(-4) }, T0 + 8000));
  assert.deepEqual(sent, []);
});

Deno.test("a provider error never produces an alert or a clear and keeps the last reading", () => {
  let { state } = round(initialState(), { Madrid: ok(-2), Oslo: ok(4) }, T0);
  for (const kind of ["timeout", "rate_limited", "server_error"] as const) {
    let sent: WeatherAlertBody[];
    ({ state, sent } = round(state, { Madrid: fail(kind), Oslo: fail(kind) }, T0 + 3_600_000));
    assert.deepEqual(sent, [], kind);
  }
  const rows = describe(state, LOCATIONS, 0);
  assert.equal(rows[0].temperature, -2);
  assert.equal(rows[0].state, "alert");
  assert.equal(rows[0].centralState, "alert");
  assert.equal(rows[0].lastError?.kind, "server_error");
  assert.equal(rows[2].state, "clear");
});

Deno.test("an error on the very first reading leaves the CP unknown and unsent", () => {
  const { state, sent } = round(initialState(), { Madrid: fail("timeout"), Oslo: ok(1) }, T0);
  assert.deepEqual(sent.map((n) => n.cp_id), ["CP-003"]);
  assert.equal(describe(state, LOCATIONS, 0)[0].state, "unknown");
});

Deno.test("backoff doubles from the base after each error and stops at the cap", () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 100].map((n) => backoffDelay(n, 4000, 60_000)),
    [4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000],
  );
});

Deno.test("a failing city is not read again until its growing, capped backoff has passed", () => {
  const locations = new Map([["CP-001", "Atlantis"]]);
  let state = initialState();
  let now = T0;
  const waits: number[] = [];
  for (let i = 0; i < 7; i++) {
    assert.deepEqual(dueCities(state, locations, now), ["Atlantis"]);
    state = applyReadings(
      state,
      locations,
      new Map([["Atlantis", fail("timeout")]]),
      now,
      SETTINGS,
    );
    const retryAt = state.cities.get("atlantis")!.retryAt;
    assert.deepEqual(dueCities(state, locations, retryAt - 1), [], "not before the backoff");
    waits.push(retryAt - now);
    now = retryAt;
  }
  assert.deepEqual(waits, [4000, 8000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  state = applyReadings(state, locations, new Map([["Atlantis", ok(12)]]), now, SETTINGS);
  assert.deepEqual(dueCities(state, locations, now), ["Atlantis"], "a good reading ends it");
  assert.equal(state.cities.get("atlantis")!.failures, 0);
});

Deno.test("a 429's Retry-After lengthens the backoff when it is longer", () => {
  const locations = new Map([["CP-001", "Madrid"]]);
  const state = applyReadings(
    initialState(),
    locations,
    new Map([["Madrid", fail("rate_limited", 120_000)]]),
    T0,
    SETTINGS,
  );
  assert.equal(state.cities.get("madrid")!.retryAt, T0 + 120_000);
});

Deno.test("one request per distinct city, spellings folded together", () => {
  const locations = new Map([["CP-001", "Madrid"], ["CP-002", "madrid "], ["CP-003", "Oslo"]]);
  assert.deepEqual(dueCities(initialState(), locations, T0), ["Madrid", "Oslo"]);
});

Deno.test("Central down then up: the current state of every CP is re-sent, not a stale queue", () => {
  let { state } = round(initialState(), { Madrid: ok(-1), Oslo: ok(5) }, T0);
  let sent: WeatherAlertBody[];
  // Madrid warms up while Central is down: the clear fails and Central backs off.
  ({ state, sent } = round(state, { Madrid: ok(2), Oslo: ok(5) }, T0 + 4000, DOWN));
  assert.equal(sent.length, 2);
  assert.equal(state.central.reachable, false);
  assert.equal(centralDue(state, T0 + 4000 + 3999), false);
  assert.equal(centralDue(state, T0 + 8000), true);
  assert.ok(describe(state, LOCATIONS, 0).every((r) => r.centralState === undefined));
  // Madrid freezes again before Central is back: the failed clear is not what Central gets.
  state = applyReadings(state, LOCATIONS, new Map([["Madrid", ok(-3)]]), T0 + 6000, SETTINGS);
  ({ state, sent } = round(state, {}, T0 + 8000));
  assert.deepEqual(sent, [
    { cp_id: "CP-001", city: "Madrid", temperature: -3, status: "alert" },
    { cp_id: "CP-002", city: "Madrid", temperature: -3, status: "alert" },
    { cp_id: "CP-003", city: "Oslo", temperature: 5, status: "clear" },
  ]);
  assert.equal(state.central.reachable, true);
  assert.equal(state.central.failures, 0);
  ({ sent } = round(state, {}, T0 + 12_000));
  assert.deepEqual(sent, [], "once re-sent, back to changes only");
});

Deno.test("Central's backoff grows while it stays down and resets when it answers", () => {
  let { state } = round(initialState(), { Madrid: ok(1), Oslo: ok(1) }, T0);
  state = applyReadings(state, LOCATIONS, new Map([["Madrid", ok(-1)]]), T0, SETTINGS);
  let now = T0;
  const waits: number[] = [];
  for (let i = 0; i < 5; i++) {
    const probe = { kind: "unreachable" as const, detail: "Connection refused" };
    state = applyCentralProbe(state, probe, now, SETTINGS);
    waits.push(state.central.retryAt - now);
    now = state.central.retryAt;
  }
  assert.deepEqual(waits, [4000, 8000, 16_000, 30_000, 30_000]);
  ({ state } = round(state, {}, now));
  assert.deepEqual([state.central.failures, state.central.retryAt], [0, 0]);
});

Deno.test("a refused service key backs Central off like an outage", () => {
  const refused: DeliveryOutcome = { kind: "unauthorized", detail: "Central answered 401" };
  const { state } = round(initialState(), { Madrid: ok(-1), Oslo: ok(1) }, T0, refused);
  assert.equal(state.central.reachable, false);
  assert.equal(state.sent.size, 0);
  assert.deepEqual(planNotifications(state, LOCATIONS, 0).length, 3, "all still to send");
});

Deno.test("CPs Central does not list are flagged and get nothing until it lists them", () => {
  let state = applyCentralProbe(
    initialState(),
    listed("CP-001", "CP-003"),
    T0,
    SETTINGS,
  );
  let sent: WeatherAlertBody[];
  ({ state, sent } = round(state, { Madrid: ok(-1), Oslo: ok(3) }, T0));
  assert.deepEqual(sent.map((n) => n.cp_id), ["CP-001", "CP-003"]);
  assert.deepEqual(describe(state, LOCATIONS, 0).map((r) => r.knownToCentral), [true, false, true]);
  state = applyCentralProbe(
    state,
    listed("CP-001", "CP-002", "CP-003"),
    T0 + 4000,
    SETTINGS,
  );
  ({ sent } = round(state, {}, T0 + 4000));
  assert.deepEqual(sent, [{ cp_id: "CP-002", city: "Madrid", temperature: -1, status: "alert" }]);
});

Deno.test("without a list, a 404 flags the CP; a later list is Central's word", () => {
  const unknown: DeliveryOutcome = { kind: "unknown_cp", detail: "Central answered 404" };
  let { state } = round(initialState(), { Madrid: ok(-1), Oslo: ok(3) }, T0, unknown);
  assert.deepEqual(describe(state, LOCATIONS, 0).map((r) => r.knownToCentral), [
    false,
    false,
    false,
  ]);
  assert.deepEqual(planNotifications(state, LOCATIONS, 0), [], "not retried every round");
  state = applyCentralProbe(state, listed("CP-003"), T0, SETTINGS);
  assert.deepEqual(planNotifications(state, LOCATIONS, 0).map((n) => n.cp_id), ["CP-003"]);
});

Deno.test("a CP that leaves Central's list and comes back gets its status again", () => {
  let { state } = round(initialState(), { Madrid: ok(-1), Oslo: ok(3) }, T0);
  state = applyCentralProbe(state, listed("CP-002", "CP-003"), T0, SETTINGS);
  state = applyCentralProbe(state, listed("CP-001", "CP-002", "CP-003"), T0 + 4000, SETTINGS);
  assert.deepEqual(planNotifications(state, LOCATIONS, 0), [
    { cp_id: "CP-001", city: "Madrid", temperature: -1, status: "alert" },
  ]);
});

Deno.test("a CP removed while under an alert is cleared once, then forgotten", () => {
  let { state } = round(initialState(), { Madrid: ok(-1), Oslo: ok(3) }, T0);
  const fewer = new Map([["CP-002", "Madrid"]]);
  let sent: WeatherAlertBody[];
  ({ state, sent } = round(state, { Madrid: ok(-2) }, T0 + 4000, DELIVERED, fewer));
  assert.deepEqual(sent, [{ cp_id: "CP-001", city: "Madrid", temperature: -2, status: "clear" }]);
  assert.equal(state.sent.has("CP-001"), false);
  assert.equal(state.sent.has("CP-003"), false, "a cleared CP is forgotten without a message");
  ({ sent } = round(state, { Madrid: ok(-2) }, T0 + 8000, DELIVERED, fewer));
  assert.deepEqual(sent, []);
});

Deno.test("a body Central refuses (400) is not resent every round, and is not shown as held", () => {
  const rejected: DeliveryOutcome = { kind: "rejected", detail: "Central answered 400" };
  const { state } = round(initialState(), { Madrid: ok(-1), Oslo: ok(3) }, T0, rejected);
  assert.deepEqual(planNotifications(state, LOCATIONS, 0), []);
  assert.equal(state.central.reachable, true);
  assert.equal(describe(state, LOCATIONS, 0)[0].centralState, undefined);
});

Deno.test("a CP moved to another city takes that city's status", () => {
  let { state } = round(initialState(), { Madrid: ok(5), Oslo: ok(-4) }, T0);
  const moved = new Map([...LOCATIONS, ["CP-001", "Oslo"]]);
  const { sent } = round(state, {}, T0 + 4000, DELIVERED, moved);
  assert.deepEqual(sent, [{ cp_id: "CP-001", city: "Oslo", temperature: -4, status: "alert" }]);
  state = applyReadings(state, moved, new Map(), T0 + 4000, SETTINGS);
  assert.equal(state.cities.has("madrid"), true, "CP-002 is still in Madrid");
});

Deno.test("Central's CPs in a city the office lacks are adopted; the file's city wins", () => {
  const central = new Map([
    ["CP-009", "Murcia"],
    ["CP-001", "Alicante"], // the file has it, spelled its own way: kept
    ["CP-006", "Bilbao"],
  ]);
  assert.deepEqual(
    [...toAdopt(LOCATIONS, central, new Set())],
    [["CP-006", "Bilbao"], ["CP-009", "Murcia"]],
    "missing ones only, by id",
  );
  assert.deepEqual([...toAdopt(LOCATIONS, central, new Set(["CP-009"]))], [["CP-006", "Bilbao"]]);
  assert.equal(toAdopt(central, central, new Set()).size, 0);
});

Deno.test("a CP removed from the locations is dismissed until it is watched again", () => {
  const fewer = new Map([["CP-002", "Madrid"]]);
  let dismissed = dismissedAfter(new Set(), LOCATIONS, fewer);
  assert.deepEqual([...dismissed].sort(), ["CP-001", "CP-003"]);
  dismissed = dismissedAfter(dismissed, fewer, new Map([...fewer, ["CP-004", "Oslo"]]));
  assert.deepEqual([...dismissed].sort(), ["CP-001", "CP-003"], "an addition dismisses nothing");
  dismissed = dismissedAfter(dismissed, fewer, new Map([...fewer, ["CP-003", "Oslo"]]));
  assert.deepEqual([...dismissed], ["CP-001"], "watched again: Central may place it later");
  assert.deepEqual([...dismissedAfter(new Set(), LOCATIONS, LOCATIONS)], []);
});

Deno.test("step: a round reads the due cities and probes Central, then delivers, then adopts", () => {
  const context = { settings: SETTINGS, adoptCentralCps: true, now: T0 };
  const start = step(initialState(), { type: "round", locations: LOCATIONS }, context);
  assert.deepEqual(start.effects, [{
    type: "read",
    cities: ["Madrid", "Oslo"],
    probeCentral: true,
  }]);

  const probe: CentralProbe = {
    kind: "listed",
    cpIds: new Set(["CP-001", "CP-002", "CP-003", "CP-009"]),
    locations: new Map([["CP-009", "Bilbao"], ["CP-008", "Lugo"]]),
  };
  const readings = new Map([["Madrid", ok(5)], ["Oslo", ok(-4)]]);
  const read = step(start.model, { type: "readings", locations: LOCATIONS, readings, probe }, {
    ...context,
    now: T0 + 100,
  });
  assert.equal(read.effects.length, 1);
  const [deliverEffect] = read.effects;
  assert.ok(deliverEffect.type === "deliver");
  assert.deepEqual(deliverEffect.plan.map((b) => [b.cp_id, b.status]), [
    ["CP-001", "clear"],
    ["CP-002", "clear"],
    ["CP-003", "alert"],
  ]);

  const delivered = (adoptCentralCps: boolean, dismissed: ReadonlySet<string>) =>
    step(read.model, {
      type: "delivered",
      locations: LOCATIONS,
      answers: deliverEffect.plan.map((body) => ({ body, outcome: DELIVERED })),
      centralLocations: probe.locations,
      watched: LOCATIONS,
      dismissed,
    }, { ...context, adoptCentralCps, now: T0 + 200 });
  const done = delivered(true, new Set(["CP-008"]));
  assert.equal(done.model.central.reachable, true);
  assert.equal(done.model.sent.get("CP-003")?.status, "alert");
  assert.deepEqual(done.effects, [{ type: "adopt", locations: new Map([["CP-009", "Bilbao"]]) }]);
  assert.deepEqual(delivered(false, new Set()).effects, [], "--file-only adopts nothing");
});

Deno.test("step: an unreachable Central ends the round after its readings, and is not probed while backing off", () => {
  const context = { settings: SETTINGS, adoptCentralCps: true, now: T0 };
  const read = step(initialState(), {
    type: "readings",
    locations: LOCATIONS,
    readings: new Map([["Madrid", ok(5)], ["Oslo", ok(-4)]]),
    probe: { kind: "unreachable", detail: "Connection refused" },
  }, context);
  assert.deepEqual(read.effects, []);
  assert.equal(read.model.central.reachable, false);
  const next = step(read.model, { type: "round", locations: LOCATIONS }, {
    ...context,
    now: T0 + 1,
  });
  // Good readings are due again every round; Central only once its back-off is over.
  assert.deepEqual(next.effects, [{
    type: "read",
    cities: ["Madrid", "Oslo"],
    probeCentral: false,
  }]);
});
