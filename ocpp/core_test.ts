import assert from "node:assert/strict";
import { build, commandPayloadSchema } from "../shared/messages.ts";
import {
  type ChargerEffect,
  type ChargerInput,
  type ChargerModel,
  engineStateOf,
  healthOf,
  initialCharger,
  MAX_QUEUED_CALLS,
  step,
  transactionIdOf,
} from "./core.ts";

const T0 = Date.parse("2026-01-01T10:00:00Z");

/** Runs inputs in order; returns the last model and every effect. */
function run(
  inputs: readonly ChargerInput[],
  model: ChargerModel = initialCharger("CP-OC1"),
): { model: ChargerModel; effects: ChargerEffect[] } {
  const effects: ChargerEffect[] = [];
  let i = 0;
  for (const input of inputs) {
    i++;
    const r = step(model, input, {
      now: T0 + i * 1000,
      heartbeatIntervalS: 30,
      freshId: `id-${i}`,
    });
    model = r.model;
    effects.push(...r.effects);
  }
  return { model, effects };
}

const call = (callId: string, action: string, payload: object): ChargerInput => ({
  type: "call",
  callId,
  action,
  payload,
});
const authorize = (sessionId: string, driverId: string): ChargerInput => ({
  type: "command",
  command: build(commandPayloadSchema, "AUTHORIZE", { sessionId, driverId, priceEurKwh: 0.5 }),
});
const stop = (reason: "admin" | "weather"): ChargerInput => ({
  type: "command",
  command: build(commandPayloadSchema, "STOP", { reason }),
});
const resume: ChargerInput = {
  type: "command",
  command: build(commandPayloadSchema, "RESUME", {}),
};
/** The charger starting its transaction for `idTag` at T0, the meter at `meterStart` Wh. */
const start = (callId: string, idTag: string, meterStart = 0): ChargerInput =>
  call(callId, "StartTransaction", {
    connectorId: 1,
    idTag,
    meterStart,
    timestamp: new Date(T0).toISOString(),
  });
const meter = (callId: string, transactionId: number, wh: number, at: number): ChargerInput =>
  call(callId, "MeterValues", {
    connectorId: 1,
    transactionId,
    meterValue: [{
      timestamp: new Date(at).toISOString(),
      sampledValue: [{ value: String(wh), measurand: "Energy.Active.Import.Register", unit: "Wh" }],
    }],
  });

function replies(effects: readonly ChargerEffect[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const e of effects) if (e.type === "reply") out[e.callId] = e.result;
  return out;
}
function telemetry(effects: readonly ChargerEffect[]) {
  return effects.flatMap((e) => e.type === "telemetry" ? [e.payload] : []);
}
function calls(effects: readonly ChargerEffect[]) {
  return effects.flatMap((e) => e.type === "call" ? [e.call] : []);
}

Deno.test("ocpp core: BootNotification is accepted with the heartbeat interval", () => {
  const { effects } = run([
    { type: "connected" },
    call("c1", "BootNotification", { chargePointVendor: "V", chargePointModel: "M" }),
  ]);
  const r = replies(effects).c1 as { status: string; interval: number; currentTime: string };
  assert.equal(r.status, "Accepted");
  assert.equal(r.interval, 30);
  assert.ok(Date.parse(r.currentTime) > 0);
});

Deno.test("ocpp core: status notifications map to CP states and health", () => {
  let { model, effects } = run([
    { type: "connected" },
    call("s1", "StatusNotification", { connectorId: 1, errorCode: "NoError", status: "Available" }),
  ]);
  assert.equal(engineStateOf(model), "ACTIVATED");
  assert.equal(healthOf(model), "OK");
  ({ model, effects } = run([
    call("s2", "StatusNotification", {
      connectorId: 1,
      errorCode: "GroundFailure",
      status: "Faulted",
    }),
  ], model));
  assert.equal(healthOf(model), "KO");
  assert.deepEqual(telemetry(effects).map((t) => t.type === "STATUS" && t.engine), ["KO"]);
  ({ model } = run([
    call("s3", "StatusNotification", {
      connectorId: 1,
      errorCode: "NoError",
      status: "Unavailable",
    }),
  ], model));
  assert.equal(healthOf(model), "OK");
  assert.equal(engineStateOf(model), "STOPPED");
});

Deno.test("ocpp core: a connector beyond the supported ones gets PropertyConstraintViolation", () => {
  const { effects } = run([
    call("s1", "StatusNotification", {
      connectorId: 99,
      errorCode: "NoError",
      status: "Available",
    }),
  ]);
  assert.deepEqual(effects.map((e) => e.type === "reply_error" && e.code), [
    "PropertyConstraintViolation",
  ]);
});

Deno.test("ocpp core: an unknown action gets NotImplemented", () => {
  const { effects } = run([call("x", "Reset", {})]);
  assert.equal(effects[0].type, "reply_error");
  assert.equal(effects[0].type === "reply_error" && effects[0].code, "NotImplemented");
});

Deno.test("ocpp core: a driver's request becomes RemoteStartTransaction and a full session", () => {
  const sessionId = "ses-0001";
  const tx = transactionIdOf(sessionId);
  const { model, effects } = run([
    { type: "connected" },
    authorize(sessionId, "DRV1"),
    call("a", "Authorize", { idTag: "DRV1" }),
    start("st", "DRV1", 1000),
    meter("m1", tx, 3000, T0 + 3_600_000),
    call("sp", "StopTransaction", {
      transactionId: tx,
      meterStop: 5000,
      timestamp: new Date(T0 + 7_200_000).toISOString(),
      reason: "EVDisconnected",
    }),
  ]);
  assert.deepEqual(calls(effects), [{
    action: "RemoteStartTransaction",
    payload: { connectorId: 1, idTag: "DRV1" },
  }]);
  const r = replies(effects);
  assert.deepEqual(r.a, { idTagInfo: { status: "Accepted" } });
  assert.deepEqual(r.st, { transactionId: tx, idTagInfo: { status: "Accepted" } });
  const t = telemetry(effects).filter((p) => p.type !== "STATUS");
  assert.deepEqual(t.map((p) => p.type), ["PLUGGED", "SUPPLY", "SUPPLY_END"]);
  const supply = t[1] as { kwh: number; kw: number; eur: number };
  assert.equal(supply.kwh, 2);
  assert.equal(supply.kw, 2); // 2 kWh in one hour
  assert.equal(supply.eur, 1);
  const end = t[2] as { kwh: number; endReason: string };
  assert.equal(end.kwh, 4);
  assert.equal(end.endReason, "unplugged");
  assert.equal(model.session, undefined);
  assert.equal(engineStateOf(model), "ACTIVATED");
});

Deno.test("ocpp core: a replayed StopTransaction is answered but ends nothing twice", () => {
  const tx = transactionIdOf("ses-2");
  const stopCall = (id: string) =>
    call(id, "StopTransaction", {
      transactionId: tx,
      meterStop: 2000,
      timestamp: new Date(T0).toISOString(),
    });
  const { effects } = run([
    { type: "connected" },
    authorize("ses-2", "DRV2"),
    start("st", "DRV2"),
    { type: "disconnected" },
    { type: "connected" },
    stopCall("p1"),
    stopCall("p2"),
  ]);
  assert.equal(telemetry(effects).filter((p) => p.type === "SUPPLY_END").length, 1);
  assert.deepEqual(replies(effects).p2, { idTagInfo: { status: "Accepted" } });
});

Deno.test("ocpp core: a repeated StartTransaction keeps the same transaction id", () => {
  const { effects } = run([
    { type: "connected" },
    authorize("ses-3", "DRV3"),
    start("a", "DRV3"),
    start("b", "DRV3"),
  ]);
  const r = replies(effects) as Record<string, { transactionId: number }>;
  assert.equal(r.a.transactionId, r.b.transactionId);
  assert.equal(telemetry(effects).filter((p) => p.type === "PLUGGED").length, 1);
});

Deno.test("ocpp core: an older meter reading never takes the figures back", () => {
  const tx = transactionIdOf("ses-4");
  const { effects } = run([
    { type: "connected" },
    authorize("ses-4", "DRV4"),
    start("st", "DRV4"),
    meter("m2", tx, 2000, T0 + 60_000),
    meter("m1", tx, 1000, T0 + 30_000),
  ]);
  const supplies = telemetry(effects).filter((p) => p.type === "SUPPLY");
  assert.deepEqual(supplies.map((s) => s.type === "SUPPLY" && s.kwh), [2]);
});

Deno.test("ocpp core: the charger's own Authorize asks Central and waits for its answer", () => {
  let { model, effects } = run([{ type: "connected" }, call("a", "Authorize", { idTag: "DRV5" })]);
  const request = effects.find((e) => e.type === "charge_request");
  assert.ok(request?.type === "charge_request");
  assert.equal(request.driverId, "DRV5");
  assert.deepEqual(replies(effects), {});
  ({ model, effects } = run([authorize("ses-5", "DRV5")], model));
  assert.deepEqual(replies(effects).a, { idTagInfo: { status: "Accepted" } });
  assert.deepEqual(calls(effects), [], "no remote start: the charger asked itself");
  assert.equal(model.waiting.length, 0);
});

Deno.test("ocpp core: Central's denial or silence answers Invalid", () => {
  let { model, effects } = run([{ type: "connected" }, call("a", "Authorize", { idTag: "DRV6" })]);
  const request = effects.find((e) => e.type === "charge_request");
  assert.ok(request?.type === "charge_request");
  ({ model, effects } = run([{ type: "denied", requestId: request.requestId }], model));
  assert.deepEqual(replies(effects).a, { idTagInfo: { status: "Invalid" } });
  ({ model, effects } = run([call("b", "Authorize", { idTag: "DRV6" })], model));
  ({ effects } = run([{ type: "call_expired", callId: "b" }], model));
  assert.deepEqual(replies(effects).b, { idTagInfo: { status: "Invalid" } });
});

Deno.test("ocpp core: an idTag that is no driver id is Invalid without asking Central", () => {
  const { effects } = run([call("a", "Authorize", { idTag: "bad tag!" })]);
  assert.deepEqual(replies(effects).a, { idTagInfo: { status: "Invalid" } });
  assert.equal(effects.some((e) => e.type === "charge_request"), false);
});

Deno.test("ocpp core: Central's stop is RemoteStopTransaction then ChangeAvailability Inoperative", () => {
  const tx = transactionIdOf("ses-7");
  const { model, effects } = run([
    { type: "connected" },
    authorize("ses-7", "DRV7"),
    start("st", "DRV7"),
    stop("weather"),
    call("sp", "StopTransaction", {
      transactionId: tx,
      meterStop: 500,
      timestamp: new Date(T0).toISOString(),
      reason: "Remote",
    }),
  ]);
  assert.deepEqual(calls(effects).slice(1), [
    { action: "RemoteStopTransaction", payload: { transactionId: tx } },
    { action: "ChangeAvailability", payload: { connectorId: 0, type: "Inoperative" } },
  ]);
  const end = telemetry(effects).find((p) => p.type === "SUPPLY_END");
  assert.ok(end?.type === "SUPPLY_END");
  assert.equal(end.endReason, "stopped_weather");
  assert.equal(end.kwh, 0.5);
  assert.equal(engineStateOf(model), "STOPPED");
});

Deno.test("ocpp core: resume is ChangeAvailability Operative and the CP is free again", () => {
  const { model, effects } = run([
    { type: "connected" },
    stop("admin"),
    call("u", "StatusNotification", {
      connectorId: 0,
      errorCode: "NoError",
      status: "Unavailable",
    }),
    resume,
  ]);
  assert.deepEqual(calls(effects).at(-1), {
    action: "ChangeAvailability",
    payload: { connectorId: 0, type: "Operative" },
  });
  // The charger still says Unavailable until it applies the change: no STOPPED in between.
  assert.equal(engineStateOf(model), "ACTIVATED");
});

Deno.test("ocpp core: calls for an absent charger wait for it, bounded", () => {
  let { model, effects } = run([stop("admin")]);
  assert.deepEqual(calls(effects), []);
  ({ model, effects } = run([{ type: "connected" }], model));
  assert.deepEqual(calls(effects).map((c) => c.action), ["ChangeAvailability"]);
  let away = { ...model, connected: false };
  for (let i = 0; i < MAX_QUEUED_CALLS + 5; i++) {
    away = run([authorize(`ses-q${i}`, "DRV8")], away).model;
  }
  assert.equal(away.queued.length, MAX_QUEUED_CALLS);
});

Deno.test("ocpp core: a rejected remote start ends the session without energy", () => {
  const { model, effects } = run([
    { type: "connected" },
    authorize("ses-9", "DRV9"),
    { type: "call_answer", action: "RemoteStartTransaction", status: "Rejected" },
  ]);
  const end = telemetry(effects).find((p) => p.type === "SUPPLY_END");
  assert.ok(end?.type === "SUPPLY_END");
  assert.equal(end.endReason, "plug_timeout");
  assert.equal(model.session, undefined);
});

Deno.test("ocpp core: announce reports the current state with the session", () => {
  const { effects } = run([{ type: "connected" }, authorize("ses-10", "DRV10"), {
    type: "announce",
  }]);
  const last = telemetry(effects).at(-1);
  assert.ok(last?.type === "STATUS");
  assert.equal(last.state, "SUPPLYING");
  assert.equal(last.sessionId, "ses-10");
});

Deno.test("ocpp core: transaction ids are positive 31-bit integers, stable per session", () => {
  for (const id of ["a", "ses-1", "0199aa-bb"]) {
    const tx = transactionIdOf(id);
    assert.ok(Number.isInteger(tx) && tx > 0 && tx <= 0x7fffffff);
    assert.equal(transactionIdOf(id), tx);
  }
  assert.notEqual(transactionIdOf("ses-1"), transactionIdOf("ses-2"));
});

const status = (callId: string, value: string, connectorId = 0): ChargerInput =>
  call(callId, "StatusNotification", { connectorId, errorCode: "NoError", status: value });
const maintenance = (effects: readonly ChargerEffect[]) =>
  effects.flatMap((e) => e.type === "maintenance" ? [e.on] : []);

Deno.test("ocpp core: the charger's own Unavailable asks for maintenance until it is Available", () => {
  let { model, effects } = run([{ type: "connected" }, status("u1", "Unavailable")]);
  assert.deepEqual(maintenance(effects), [true]);
  assert.equal(engineStateOf(model), "STOPPED");
  // Reconnects, heartbeats, other statuses and Central's hold and resume do not end it.
  ({ model, effects } = run([
    { type: "disconnected" },
    { type: "connected" },
    call("b", "BootNotification", { chargePointVendor: "V", chargePointModel: "M" }),
    status("u2", "Unavailable"),
    status("p", "Preparing", 1),
    { type: "command", command: build(commandPayloadSchema, "STOP", { reason: "maintenance" }) },
    resume,
  ], model));
  assert.deepEqual(maintenance(effects), []);
  assert.deepEqual(calls(effects), [], "maintenance is never made Inoperative nor Operative");
  assert.equal(engineStateOf(model), "STOPPED");
  ({ model, effects } = run([status("a", "Available", 1)], model));
  assert.deepEqual(maintenance(effects), [false]);
  assert.equal(engineStateOf(model), "ACTIVATED");
  assert.deepEqual(telemetry(effects).map((t) => t.type === "STATUS" && t.state), ["ACTIVATED"]);
});

/** Central's stop, the Unavailable it made the charger report, then Central's resume. */
const stopThenResume: ChargerInput[] = [
  { type: "connected" },
  stop("admin"),
  status("u1", "Unavailable"),
  resume,
];

Deno.test("ocpp core: an Unavailable our stop or resume asked for is no maintenance", () => {
  const { model, effects } = run([
    ...stopThenResume,
    status("u2", "Unavailable"), // not applied the Operative yet
    status("a", "Available"),
  ]);
  assert.deepEqual(maintenance(effects), [], "no maintenance asked");
  assert.equal(model.chargerUnavailable, false);
  assert.equal(engineStateOf(model), "ACTIVATED");
});

Deno.test("ocpp core: a charger that rejects a resume's Operative stays out of service by itself", () => {
  const { model, effects } = run([
    ...stopThenResume,
    { type: "call_answer", action: "ChangeAvailability", status: "Rejected" },
  ]);
  assert.deepEqual(maintenance(effects), [true]);
  assert.equal(engineStateOf(model), "STOPPED");
});
