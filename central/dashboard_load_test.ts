import assert from "node:assert/strict";
import type { CommandPayload, DriverUpdate, TelemetryPayload } from "../shared/messages.ts";
import {
  DEFAULT_CORE_CONFIG,
  type Effect,
  EMPTY_MODEL,
  type Input,
  type Model,
  stepAll,
} from "./core.ts";
import { ADVANCE_MS, BENCH_LIKE, LoadFleet, type LoadSettings } from "./dashboard_load.ts";

const T0 = Date.parse("2026-12-01T10:00:00.000Z");

/** A draw that walks through [0, 1) the same way every run. */
function seeded(): () => number {
  let x = 0.137;
  return () => (x = (x * 9301 + 0.49297) % 1);
}

const payloads = (inputs: readonly Input[]) =>
  inputs.flatMap((i) => i.type === "telemetry" ? [i.payload] : []);
const types = (ps: readonly TelemetryPayload[]) => ps.map((p) => p.type);

Deno.test("dashboard load: CPs log in at the ramp's rate, and each engine announces itself", () => {
  const fleet = new LoadFleet(
    { ...BENCH_LIKE, cps: 10, drivers: 0, rampPerSecond: 4 },
    seeded(),
    T0,
  );
  assert.deepEqual(fleet.advance(T0).logins, []);
  const first = fleet.advance(T0 + 1000).logins;
  assert.deepEqual(first.map((l) => l.cpId), [
    "LOAD-CP-00001",
    "LOAD-CP-00002",
    "LOAD-CP-00003",
    "LOAD-CP-00004",
  ]);
  for (const { cpId } of first) fleet.loggedInAs(cpId, fleet.nextConnection(), T0 + 1000);
  const step = fleet.advance(T0 + 1100);
  assert.deepEqual(step.logins, []);
  assert.deepEqual(payloads(step.telemetry).map((p) => [p.type, "state" in p && p.state]), [
    ["STATUS", "ACTIVATED"],
    ["STATUS", "ACTIVATED"],
    ["STATUS", "ACTIVATED"],
    ["STATUS", "ACTIVATED"],
  ]);
  assert.equal(fleet.advance(T0 + 3000).logins.length, 6);
});

Deno.test("dashboard load: a session goes as the engine core's: status, plug, a SUPPLY a second, end", () => {
  const settings: LoadSettings = { ...BENCH_LIKE, cps: 1, drivers: 1, durationMs: 5 * 60_000 };
  const fleet = new LoadFleet(settings, seeded(), T0);
  const [{ cpId }] = fleet.advance(T0 + 1000).logins;
  fleet.loggedInAs(cpId, 1, T0 + 1000);
  // The first pick comes within a session's cycle (plug, 5 s of supply, pause).
  let t = T0 + 1000;
  let request: Input | undefined;
  while (request === undefined && t < fleet.phasedAt + 1000) {
    t += 100;
    request = fleet.advance(t).inputs.find((i) => i.type === "charge_request");
  }
  assert.ok(request?.type === "charge_request");
  assert.equal(request.cpId, cpId);
  // Nothing more is asked while the driver waits for its answer.
  assert.equal(fleet.advance(t + 2000).inputs.length, 0);

  const authorize: CommandPayload = {
    v: 1,
    type: "AUTHORIZE",
    sessionId: request.sessionId,
    driverId: request.driverId,
    priceEurKwh: 0.5,
    powerKw: 22,
    ts: new Date(t + 3000).toISOString(),
  };
  fleet.command(cpId, authorize, t + 3000);
  assert.equal(fleet.charging, 1);
  assert.deepEqual(types(payloads(fleet.advance(t + 3400).telemetry)), ["STATUS"]);
  assert.deepEqual(types(payloads(fleet.advance(t + 3500).telemetry)), ["PLUGGED"]);
  const supply = payloads(fleet.advance(t + 4500).telemetry);
  assert.deepEqual(types(supply), ["SUPPLY"]);
  // A simulated minute at 22 kW: 22/60 kWh.
  assert.ok(supply[0].type === "SUPPLY" && Math.abs(supply[0].kwh - 22 / 60) < 1e-9);
  // Late by 2.5 s: one report, for the latest second due.
  const late = payloads(fleet.advance(t + 7000).telemetry);
  assert.deepEqual(types(late), ["SUPPLY"]);
  assert.ok(late[0].type === "SUPPLY" && Math.abs(late[0].kwh - 22 * 3 / 60) < 1e-9);
  const end = payloads(fleet.advance(t + 3500 + 5000).telemetry);
  assert.deepEqual(types(end), ["SUPPLY_END", "STATUS"]);
  assert.ok(end[0].type === "SUPPLY_END" && end[0].endReason === "unplugged");
  assert.ok(Math.abs(end[0].kwh - 22 * 5 / 60) < 1e-9);

  const ticket = { type: "TICKET", driverId: request.driverId, cpId } as DriverUpdate;
  fleet.driverUpdate(ticket, t + 9000);
  assert.equal(fleet.advance(t + 9500).inputs.length, 0, "a pause after the ticket");
  assert.equal(fleet.advance(t + 10_000).inputs[0]?.type, "charge_request");
});

Deno.test("dashboard load: beats cover every CP twice a second, a share per call", () => {
  const fleet = new LoadFleet({ ...BENCH_LIKE, cps: 10, drivers: 0 }, seeded(), T0);
  for (const { cpId } of fleet.advance(T0 + 1000).logins) {
    fleet.loggedInAs(cpId, fleet.nextConnection(), T0 + 1000);
  }
  const seen: string[] = [];
  for (let slot = 0; slot < 5; slot++) {
    const input = fleet.heartbeats(T0 + 1000, slot, 0.2);
    assert.ok(input?.type === "heartbeats");
    seen.push(...input.beats.map((b) => b.cpId));
  }
  assert.equal(seen.length, 20);
  assert.equal(new Set(seen).size, 10);
});

Deno.test("dashboard load: a fault is a HEALTH KO for its time, then OK", () => {
  const settings = { ...BENCH_LIKE, cps: 1, drivers: 0, faultsPerCpHour: 3_600_000, faultMs: 2000 };
  const fleet = new LoadFleet(settings, seeded(), T0);
  const [{ cpId }] = fleet.advance(T0 + 1000).logins;
  fleet.loggedInAs(cpId, 7, T0 + 1000);
  const ko = fleet.advance(T0 + 1100).inputs;
  assert.deepEqual(ko, [{ type: "health", cpId, connection: 7, engine: "KO" }]);
  assert.deepEqual(fleet.advance(T0 + 2000).inputs, []);
  assert.deepEqual(fleet.advance(T0 + 3100).inputs, [
    { type: "health", cpId, connection: 7, engine: "OK" },
  ]);
});

/**
 * The fleet against Central's own core on a simulated clock, as the harness wires them: every
 * input it makes is one Central accepts, and the sessions go round (authorized, charged,
 * ticketed) with nothing rejected or refused.
 */
Deno.test("dashboard load: Central's core takes every input, and sessions go round", () => {
  const settings = { ...BENCH_LIKE, cps: 20, drivers: 20, durationMs: 10 * 60_000 };
  const fleet = new LoadFleet(settings, seeded(), T0);
  let model: Model = EMPTY_MODEL;
  const effects: Effect[] = [];
  const apply = (inputs: Input[], now: number) => {
    const next = stepAll(model, inputs, { config: DEFAULT_CORE_CONFIG, now });
    model = next.model;
    for (const e of next.effects) {
      effects.push(...e);
      fleet.hear(e);
    }
  };
  let slot = 0;
  for (let now = T0; now < T0 + 60_000; now += ADVANCE_MS) {
    for (const inputs of fleet.turn(now, () => 1)) apply(inputs, now);
    if ((now - T0) % 200 === 0) {
      const beats = fleet.heartbeats(now, slot++, 0.2);
      if (beats) apply([beats], now);
    }
    apply([{ type: "tick" }], now);
  }
  const tickets = effects.flatMap((e) => e.type === "publish" ? [e.message] : [])
    .filter((m) => m.type === "TICKET");
  const denied = effects.filter((e) => e.type === "publish" && e.message.type === "DENIED");
  const warnings = effects.filter((e) =>
    e.type === "note" && e.level !== "debug" &&
    e.level !== "info"
  );
  assert.equal(model.cps.size, 20);
  assert.deepEqual(denied, []);
  assert.deepEqual(warnings, []);
  assert.ok(tickets.length >= 20, `${tickets.length} tickets`);
  assert.ok(tickets.every((t) => t.type === "TICKET" && t.endReason === "unplugged"));
  const states = [...model.cps.values()].map((cp) => cp.status.state);
  assert.ok(states.every((s) => s === "SUPPLYING" || s === "ACTIVATED"), states.join());
  assert.ok(states.filter((s) => s === "SUPPLYING").length >= 15);
});
