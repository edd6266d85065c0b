import assert from "node:assert/strict";
import {
  type EngineInput,
  type EngineModel,
  type EngineSettings,
  type EngineStep,
  figuresAt,
  healthOf,
  initialModel,
  nextWakeAt,
  REMEMBERED_SESSIONS,
  step,
} from "./engine_core.ts";
import {
  type CommandPayload,
  parseMessage,
  type StopReason,
  type TelemetryPayload,
  telemetryPayloadSchema,
} from "../shared/messages.ts";

// 36 kW at speed 100: one wall second is 100 simulated seconds, i.e. exactly 1 kWh.
const SETTINGS: EngineSettings = {
  powerKw: 36,
  speed: 100,
  plugTimeoutMs: 10_000,
  reportIntervalMs: 1000,
};
const T0 = Date.UTC(2025, 0, 31, 12, 0, 0);
const PRICE = 0.5;

const authorize = (sessionId = "S1", extra: { powerKw?: number } = {}): EngineInput => ({
  type: "command",
  command: {
    v: 1,
    type: "AUTHORIZE",
    sessionId,
    driverId: "D1",
    priceEurKwh: PRICE,
    ts: new Date(T0).toISOString(),
    ...extra,
  },
});
const command = (c: Record<string, unknown>): EngineInput => ({
  type: "command",
  command: { v: 1, ts: new Date(T0).toISOString(), ...c } as CommandPayload,
});
const stop = (reason: StopReason) => command({ type: "STOP", reason });
const resume = () => command({ type: "RESUME" });
const endSupply = (reason: string, sessionId?: string) =>
  command({ type: "END_SUPPLY", reason, ...(sessionId ? { sessionId } : {}) });
const input = (
  type: "tick" | "announce" | "plug" | "unplug" | "toggle_fault" | "key_lost" | "shutdown",
) => ({ type }) as EngineInput;

/** A step with its effects also split by kind, as most checks read them. */
interface Stepped extends EngineStep {
  /** The telemetry effects' payloads, in order. */
  readonly telemetry: TelemetryPayload[];
  /** The notes, in order. */
  readonly notes: string[];
}

/** One step of the core at wall time `now`. */
function stepAt(
  settings: EngineSettings,
  model: EngineModel,
  input: EngineInput,
  now: number,
): Stepped {
  const result = step(model, input, { settings, now });
  return {
    ...result,
    telemetry: result.effects.flatMap((e) => e.type === "telemetry" ? [e.payload] : []),
    notes: result.effects.flatMap((e) => e.type === "note" ? [e.text] : []),
  };
}

/** Runs inputs at the given times; returns the last model and everything emitted. */
function run(
  steps: [number, EngineInput][],
  settings = SETTINGS,
  model: EngineModel = initialModel(),
): { model: EngineModel; telemetry: TelemetryPayload[]; notes: string[]; last: Stepped } {
  const telemetry: TelemetryPayload[] = [];
  const notes: string[] = [];
  let last: Stepped | undefined;
  for (const [at, i] of steps) {
    last = stepAt(settings, model, i, at);
    model = last.model;
    telemetry.push(...last.telemetry);
    notes.push(...last.notes);
  }
  return { model, telemetry, notes, last: last! };
}

/** The types of the payloads, in order, for compact assertions. */
const types = (t: readonly TelemetryPayload[]) => t.map((p) => p.type);
/**
 * The types without `SUPPLY` reports: an input at a time past a due report first catches up
 * with it (see "a command is judged after the timed events…"), which is not what these test.
 */
const changes = (t: readonly TelemetryPayload[]) => types(t).filter((type) => type !== "SUPPLY");
const only = <T extends TelemetryPayload["type"]>(t: readonly TelemetryPayload[], type: T) =>
  t.filter((p): p is Extract<TelemetryPayload, { type: T }> => p.type === type);

/** A model supplying session S1, plugged in at T0 + 1000. */
function supplying(settings = SETTINGS): EngineModel {
  return run([[T0, authorize()], [T0 + 1000, input("plug")]], settings).model;
}

Deno.test("a fresh engine is free and healthy, with nothing scheduled", () => {
  const model = initialModel();
  assert.equal(model.state, "ACTIVATED");
  assert.equal(healthOf(model), "OK");
  assert.equal(nextWakeAt(SETTINGS, model), undefined);
  assert.deepEqual(stepAt(SETTINGS, model, input("tick"), T0).telemetry, []);
});

Deno.test("announce sends STATUS with health, state, session and stop reason", () => {
  const free = run([[T0, input("announce")]]).telemetry;
  assert.deepEqual(free, [{
    v: 1,
    type: "STATUS",
    engine: "OK",
    state: "ACTIVATED",
    ts: new Date(T0).toISOString(),
  }]);
  const busy = stepAt(SETTINGS, supplying(), input("announce"), T0 + 1500).telemetry[0];
  assert.equal(busy.type === "STATUS" && busy.sessionId, "S1");
  const stopped = run([[T0, stop("weather")], [T0, input("toggle_fault")], [
    T0,
    input("announce"),
  ]]);
  assert.deepEqual(stopped.telemetry.at(-1), {
    v: 1,
    type: "STATUS",
    engine: "KO",
    state: "STOPPED",
    stopReason: "weather",
    ts: new Date(T0).toISOString(),
  });
});

Deno.test("AUTHORIZE reserves the CP and waits for the plug until the timeout", () => {
  const { model, telemetry } = run([[T0, authorize()]]);
  assert.equal(model.state, "SUPPLYING");
  assert.equal(model.session?.pluggedAt, undefined);
  assert.deepEqual(types(telemetry), ["STATUS"]);
  assert.equal(telemetry[0].type === "STATUS" && telemetry[0].state, "SUPPLYING");
  assert.equal(nextWakeAt(SETTINGS, model), T0 + SETTINGS.plugTimeoutMs);

  const early = stepAt(SETTINGS, model, input("tick"), T0 + SETTINGS.plugTimeoutMs - 1);
  assert.deepEqual(early.telemetry, [], "nothing before the deadline");

  const late = stepAt(SETTINGS, model, input("tick"), T0 + SETTINGS.plugTimeoutMs);
  assert.deepEqual(types(late.telemetry), ["SUPPLY_END", "STATUS"]);
  assert.deepEqual(
    { ...late.telemetry[0], ts: undefined },
    {
      v: 1,
      type: "SUPPLY_END",
      sessionId: "S1",
      kwh: 0,
      eur: 0,
      endReason: "plug_timeout",
      ts: undefined,
    },
  );
  assert.equal(late.model.state, "ACTIVATED");
  assert.equal(nextWakeAt(SETTINGS, late.model), undefined);
});

Deno.test("plugging in sends PLUGGED and starts the once-a-second reports", () => {
  const { model, telemetry } = run([[T0, authorize()], [T0 + 1000, input("plug")]]);
  assert.deepEqual(types(telemetry), ["STATUS", "PLUGGED"]);
  assert.equal(model.session?.pluggedAt, T0 + 1000);
  assert.equal(nextWakeAt(SETTINGS, model), T0 + 2000);
  const again = stepAt(SETTINGS, model, input("plug"), T0 + 1200);
  assert.deepEqual(again.telemetry, []);
  assert.match(again.notes[0], /already plugged in/);
});

Deno.test("headless: the vehicle plugs itself in after the delay, at the scheduled instant", () => {
  const settings = { ...SETTINGS, autoPlugDelayMs: 2000 };
  const { model } = run([[T0, authorize()]], settings);
  assert.equal(nextWakeAt(settings, model), T0 + 2000);
  const late = stepAt(settings, model, input("tick"), T0 + 2300);
  assert.deepEqual(types(late.telemetry), ["PLUGGED"]);
  assert.equal(late.model.session?.pluggedAt, T0 + 2000, "plug time is the scheduled one");
  assert.equal(nextWakeAt(settings, late.model), T0 + 3000);
});

Deno.test("headless: a plug delay at or past the timeout times out instead", () => {
  const settings = { ...SETTINGS, autoPlugDelayMs: SETTINGS.plugTimeoutMs };
  const { telemetry } = run([[T0, authorize()], [T0 + 60_000, input("tick")]], settings);
  assert.deepEqual(types(telemetry), ["STATUS", "SUPPLY_END", "STATUS"]);
  assert.equal(only(telemetry, "SUPPLY_END")[0].endReason, "plug_timeout");
});

Deno.test("SUPPLY every second with cumulative kWh and € from the plug time", () => {
  let model = supplying(); // plugged at T0 + 1000
  const reports: TelemetryPayload[] = [];
  for (let s = 1; s <= 3; s++) {
    const wake = nextWakeAt(SETTINGS, model)!;
    assert.equal(wake, T0 + 1000 + s * 1000);
    const r = stepAt(SETTINGS, model, input("tick"), wake);
    model = r.model;
    reports.push(...r.telemetry);
  }
  const supply = only(reports, "SUPPLY");
  assert.deepEqual(supply.map((p) => p.kwh), [1, 2, 3]);
  assert.deepEqual(supply.map((p) => p.eur), [0.5, 1, 1.5]);
  assert.deepEqual(supply.map((p) => p.kw), [36, 36, 36]);
  assert.ok(supply.every((p) => p.sessionId === "S1"));
});

Deno.test("a late tick sends one SUPPLY for the latest second due and skips the missed ones", () => {
  const r = stepAt(SETTINGS, supplying(), input("tick"), T0 + 4500);
  assert.deepEqual(types(r.telemetry), ["SUPPLY"]);
  const supply = only(r.telemetry, "SUPPLY")[0];
  assert.equal(supply.kwh, 3, "figures of T0 + 4000, 3 s after the plug");
  assert.equal(supply.ts, new Date(T0 + 4500).toISOString(), "stamped when sent");
  assert.equal(nextWakeAt(SETTINGS, r.model), T0 + 5000);
});

Deno.test("energy and money: AUTHORIZE's power wins, price at full precision", () => {
  const settings = { ...SETTINGS, speed: 3 };
  const { model } = run([[T0, authorize("S1", { powerKw: 7.4 })], [T0, input("plug")]], settings);
  const f = figuresAt(settings, model.session!, T0 + 10_000); // 30 simulated seconds
  assert.equal(f.kw, 7.4);
  assert.equal(f.kwh, (7.4 * 30) / 3600);
  assert.equal(f.eur, ((7.4 * 30) / 3600) * PRICE);
  const byDefault = run([[T0, authorize()], [T0, input("plug")]], settings).model;
  assert.equal(figuresAt(settings, byDefault.session!, T0 + 1000).kw, SETTINGS.powerKw);
  assert.deepEqual(figuresAt(settings, run([[T0, authorize()]]).model.session!, T0 + 5000), {
    kw: 0,
    kwh: 0,
    eur: 0,
  });
});

Deno.test("target energy ends the supply at exactly the target, on time, even with a late tick", () => {
  const settings = { ...SETTINGS, targetKwh: 2.5 };
  const model = supplying(settings); // 1 kWh per second from T0 + 1000: target at T0 + 3500
  const r1 = stepAt(settings, model, input("tick"), T0 + 3000);
  assert.deepEqual(types(r1.telemetry), ["SUPPLY"], "one catch-up report");
  assert.equal(nextWakeAt(settings, r1.model), T0 + 3500, "wakes at the target instant");
  const r2 = stepAt(settings, r1.model, input("tick"), T0 + 9000);
  assert.deepEqual(types(r2.telemetry), ["SUPPLY_END", "STATUS"]);
  const end = only(r2.telemetry, "SUPPLY_END")[0];
  assert.equal(end.endReason, "target_reached");
  assert.equal(end.kwh, 2.5);
  assert.equal(end.eur, 1.25);
  assert.equal(end.ts, new Date(T0 + 9000).toISOString());
  assert.equal(r2.model.state, "ACTIVATED");
});

Deno.test("a target not a whole number of power-seconds still ends at exactly the target", () => {
  const settings = { ...SETTINGS, powerKw: 7, speed: 13, targetKwh: 0.1 };
  const model = supplying(settings);
  const r = stepAt(settings, model, input("tick"), T0 + 60_000);
  const end = only(r.telemetry, "SUPPLY_END")[0];
  assert.equal(end.kwh, 0.1);
  assert.equal(end.eur, 0.1 * PRICE);
});

Deno.test("simulated duration ends the supply as unplugged; the first limit wins", () => {
  const byDuration = { ...SETTINGS, durationMs: 150_000, targetKwh: 10 }; // 1.5 wall s, 1.5 kWh
  const r = stepAt(byDuration, supplying(byDuration), input("tick"), T0 + 10_000);
  const end = only(r.telemetry, "SUPPLY_END")[0];
  assert.equal(end.endReason, "unplugged");
  assert.equal(end.kwh, 1.5);

  const byTarget = { ...SETTINGS, durationMs: 500_000, targetKwh: 2 };
  const r2 = stepAt(byTarget, supplying(byTarget), input("tick"), T0 + 10_000);
  assert.equal(only(r2.telemetry, "SUPPLY_END")[0].endReason, "target_reached");
});

Deno.test("unplug ends a plugged-in session with its figures; otherwise it is ignored", () => {
  const r = stepAt(SETTINGS, supplying(), input("unplug"), T0 + 2500);
  assert.deepEqual(types(r.telemetry), ["SUPPLY", "SUPPLY_END", "STATUS"]);
  const end = only(r.telemetry, "SUPPLY_END")[0];
  assert.deepEqual([end.endReason, end.kwh, end.eur], ["unplugged", 1.5, 0.75]);

  const waiting = run([[T0, authorize()], [T0 + 100, input("unplug")]]);
  assert.deepEqual(types(waiting.telemetry), ["STATUS"]);
  assert.equal(waiting.model.state, "SUPPLYING");
  const free = run([[T0, input("unplug")], [T0, input("plug")]]);
  assert.deepEqual(free.telemetry, []);
  assert.equal(free.notes.length, 2);
});

for (
  const [reason, endReason] of [
    ["admin", "stopped_admin"],
    ["weather", "stopped_weather"],
    ["out_of_service", "status_lost"],
    ["revoked", "status_lost"],
  ] as const
) {
  Deno.test(`STOP ${reason} during supply ends the session (${endReason}) and stops the CP`, () => {
    const r = stepAt(SETTINGS, supplying(), stop(reason), T0 + 3000);
    assert.deepEqual(changes(r.telemetry), ["SUPPLY_END", "STATUS"]);
    const end = only(r.telemetry, "SUPPLY_END")[0];
    assert.deepEqual([end.endReason, end.kwh, end.eur], [endReason, 2, 1]);
    const status = only(r.telemetry, "STATUS")[0];
    assert.deepEqual([status.state, status.stopReason, status.sessionId], [
      "STOPPED",
      reason,
      undefined,
    ]);
    assert.equal(r.model.state, "STOPPED");
    assert.equal(r.model.session, undefined);
    assert.equal(nextWakeAt(SETTINGS, r.model), undefined);
  });
}

Deno.test("STOP while waiting for the plug ends the session with zero figures", () => {
  const { telemetry, model } = run([[T0, authorize()], [T0 + 500, stop("weather")]]);
  assert.deepEqual(types(telemetry), ["STATUS", "SUPPLY_END", "STATUS"]);
  const end = only(telemetry, "SUPPLY_END")[0];
  assert.deepEqual([end.endReason, end.kwh, end.eur], ["stopped_weather", 0, 0]);
  assert.equal(model.state, "STOPPED");
});

Deno.test("STOP while free stops; the same STOP again is ignored; another reason updates", () => {
  const first = run([[T0, stop("admin")]]);
  assert.equal(first.model.state, "STOPPED");
  assert.deepEqual(types(first.telemetry), ["STATUS"]);
  const same = stepAt(SETTINGS, first.model, stop("admin"), T0 + 1);
  assert.deepEqual(same.telemetry, []);
  const other = stepAt(SETTINGS, first.model, stop("weather"), T0 + 1);
  assert.equal(other.model.stopReason, "weather");
  assert.equal(only(other.telemetry, "STATUS")[0].stopReason, "weather");
});

Deno.test("RESUME frees a stopped CP and is ignored anywhere else", () => {
  const stopped = run([[T0, stop("weather")]]).model;
  const r = stepAt(SETTINGS, stopped, resume(), T0 + 1);
  assert.equal(r.model.state, "ACTIVATED");
  assert.equal(r.model.stopReason, undefined);
  assert.deepEqual(only(r.telemetry, "STATUS").map((s) => [s.state, s.stopReason]), [[
    "ACTIVATED",
    undefined,
  ]]);
  for (const model of [initialModel(), supplying()]) {
    const ignored = stepAt(SETTINGS, model, resume(), T0 + 1500);
    assert.deepEqual(ignored.telemetry.filter((p) => p.type !== "SUPPLY"), []);
    assert.equal(ignored.model.state, model.state);
  }
});

for (
  const [reason, endReason] of [
    ["admin", "stopped_admin"],
    ["weather", "stopped_weather"],
    ["out_of_service", "status_lost"],
  ] as const
) {
  Deno.test(`AUTHORIZE while stopped (${reason}) is answered at once with SUPPLY_END zero`, () => {
    const { model, telemetry } = run([[T0, stop(reason)], [T0 + 1, authorize("S9")]]);
    assert.deepEqual(types(telemetry), ["STATUS", "SUPPLY_END"]);
    const end = only(telemetry, "SUPPLY_END")[0];
    assert.deepEqual([end.sessionId, end.kwh, end.eur, end.endReason], ["S9", 0, 0, endReason]);
    assert.equal(model.state, "STOPPED");
  });
}

Deno.test("AUTHORIZE while faulty is answered at once with SUPPLY_END zero (fault)", () => {
  const { model, telemetry } = run([[T0, input("toggle_fault")], [T0 + 1, authorize("S9")]]);
  assert.deepEqual(types(telemetry), ["STATUS", "SUPPLY_END"]);
  const end = only(telemetry, "SUPPLY_END")[0];
  assert.deepEqual([end.sessionId, end.kwh, end.eur, end.endReason], ["S9", 0, 0, "fault"]);
  assert.equal(model.session, undefined);
});

Deno.test("AUTHORIZE while busy is answered with SUPPLY_END zero; the current session goes on", () => {
  for (const busy of [run([[T0, authorize()]]).model, supplying()]) {
    const r = stepAt(SETTINGS, busy, authorize("S2"), T0 + 1500);
    const ends = only(r.telemetry, "SUPPLY_END");
    assert.equal(ends.length, 1);
    assert.deepEqual([ends[0].sessionId, ends[0].kwh, ends[0].eur, ends[0].endReason], [
      "S2",
      0,
      0,
      "plug_timeout",
    ]);
    assert.equal(r.model.session?.sessionId, "S1");
    assert.equal(r.model.state, "SUPPLYING");
  }
});

Deno.test("an AUTHORIZE read after its plug wait is over is closed at once, not started", () => {
  const late = T0 + SETTINGS.plugTimeoutMs;
  const { model, telemetry } = run([[late, authorize("S-old")]]);
  assert.deepEqual(types(telemetry), ["SUPPLY_END"]);
  const end = only(telemetry, "SUPPLY_END")[0];
  assert.deepEqual([end.sessionId, end.kwh, end.endReason], ["S-old", 0, "plug_timeout"]);
  assert.equal(model.state, "ACTIVATED");
  const fresh = run([[late - 1, authorize("S-new")]]);
  assert.equal(fresh.model.state, "SUPPLYING", "just inside the wait it is honoured");
});

Deno.test("a redelivered AUTHORIZE (current or ended session) is ignored", () => {
  const waiting = run([[T0, authorize()]]).model;
  assert.deepEqual(stepAt(SETTINGS, waiting, authorize(), T0 + 1).telemetry, []);
  const ended = run([[T0 + 2000, input("unplug")]], SETTINGS, supplying()).model;
  const again = stepAt(SETTINGS, ended, authorize(), T0 + 3000);
  assert.deepEqual(again.telemetry, []);
  assert.equal(again.model.session, undefined);
  const refused = run([[T0, stop("admin")], [T0, authorize("S9")], [T0, authorize("S9")]]);
  assert.equal(only(refused.telemetry, "SUPPLY_END").length, 1, "refusal sent once");
});

Deno.test("the list of ended sessions is bounded", () => {
  let model = initialModel();
  for (let i = 0; i < REMEMBERED_SESSIONS + 5; i++) {
    model = run([[T0, authorize(`S${i}`)], [T0, endSupply("fault")]], SETTINGS, model).model;
  }
  assert.equal(model.endedSessionIds.length, REMEMBERED_SESSIONS);
  assert.equal(model.endedSessionIds.at(-1), `S${REMEMBERED_SESSIONS + 4}`);
});

Deno.test("fault during supply ends the session (fault) with its figures; clearing it is OK again", () => {
  const r = stepAt(SETTINGS, supplying(), input("toggle_fault"), T0 + 2000);
  assert.deepEqual(changes(r.telemetry), ["SUPPLY_END", "STATUS"]);
  const end = only(r.telemetry, "SUPPLY_END")[0];
  assert.deepEqual([end.endReason, end.kwh], ["fault", 1]);
  const status = only(r.telemetry, "STATUS")[0];
  assert.deepEqual([status.engine, status.state], ["KO", "ACTIVATED"]);
  assert.equal(healthOf(r.model), "KO");
  const cleared = stepAt(SETTINGS, r.model, input("toggle_fault"), T0 + 3000);
  assert.equal(healthOf(cleared.model), "OK");
  assert.equal(only(cleared.telemetry, "STATUS")[0].engine, "OK");
});

Deno.test("fault while waiting for the plug ends the session with zero figures", () => {
  const { telemetry } = run([[T0, authorize()], [T0 + 100, input("toggle_fault")]]);
  const end = only(telemetry, "SUPPLY_END")[0];
  assert.deepEqual([end.endReason, end.kwh, end.eur], ["fault", 0, 0]);
});

Deno.test("fault while stopped keeps the stop and reports KO", () => {
  const { model, telemetry } = run([[T0, stop("admin")], [T0, input("toggle_fault")]]);
  assert.equal(model.state, "STOPPED");
  const status = telemetry.at(-1)!;
  assert.ok(status.type === "STATUS" && status.engine === "KO" && status.state === "STOPPED");
});

Deno.test("END_SUPPLY ends the named or current session; another session's is ignored", () => {
  const named = stepAt(SETTINGS, supplying(), endSupply("key_lost", "S1"), T0 + 2000);
  assert.deepEqual(only(named.telemetry, "SUPPLY_END").map((e) => [e.endReason, e.kwh]), [[
    "key_lost",
    1,
  ]]);
  const current = stepAt(SETTINGS, supplying(), endSupply("status_lost"), T0 + 2000);
  assert.equal(only(current.telemetry, "SUPPLY_END")[0].endReason, "status_lost");
  const other = stepAt(SETTINGS, supplying(), endSupply("fault", "S7"), T0 + 1500);
  assert.deepEqual(other.telemetry, []);
  assert.equal(other.model.session?.sessionId, "S1");
  const none = stepAt(SETTINGS, initialModel(), endSupply("fault"), T0);
  assert.deepEqual(none.telemetry, []);
});

Deno.test("END_SUPPLY plug_timeout: zero while waiting, unplugged once plugged in", () => {
  const waiting = run([[T0, authorize()], [T0 + 10, endSupply("plug_timeout")]]);
  const w = only(waiting.telemetry, "SUPPLY_END")[0];
  assert.deepEqual([w.endReason, w.kwh], ["plug_timeout", 0]);
  const plugged = stepAt(SETTINGS, supplying(), endSupply("plug_timeout"), T0 + 2000);
  const p = only(plugged.telemetry, "SUPPLY_END")[0];
  assert.deepEqual([p.endReason, p.kwh], ["unplugged", 1]);
});

Deno.test("key_lost and shutdown end a session (key_lost, fault) and do nothing when free", () => {
  const lost = stepAt(SETTINGS, supplying(), input("key_lost"), T0 + 2000);
  assert.deepEqual(only(lost.telemetry, "SUPPLY_END").map((e) => e.endReason), ["key_lost"]);
  const down = stepAt(SETTINGS, supplying(), input("shutdown"), T0 + 2000);
  assert.deepEqual(only(down.telemetry, "SUPPLY_END").map((e) => e.endReason), ["fault"]);
  for (const i of ["key_lost", "shutdown"] as const) {
    assert.deepEqual(stepAt(SETTINGS, initialModel(), input(i), T0).telemetry, []);
  }
});

Deno.test("a command is judged after the timed events it arrived behind", () => {
  const settings = { ...SETTINGS, targetKwh: 1 }; // target at T0 + 2000
  const r = stepAt(settings, supplying(settings), stop("admin"), T0 + 2600);
  const ends = only(r.telemetry, "SUPPLY_END");
  assert.deepEqual(ends.map((e) => [e.endReason, e.kwh]), [["target_reached", 1]]);
  assert.equal(r.model.state, "STOPPED");
  assert.deepEqual(types(r.telemetry), ["SUPPLY_END", "STATUS", "STATUS"]);
});

Deno.test("every payload is schema-valid and stamped with the step's time", () => {
  const settings = { ...SETTINGS, targetKwh: 2, autoPlugDelayMs: 500 };
  const { telemetry } = run([
    [T0, input("announce")],
    [T0, authorize()],
    [T0 + 600, input("tick")],
    [T0 + 1500, input("tick")],
    [T0 + 5000, input("tick")],
    [T0 + 5000, stop("admin")],
    [T0 + 5000, authorize("S2")],
    [T0 + 6000, resume()],
  ], settings);
  assert.deepEqual(types(telemetry), [
    "STATUS",
    "STATUS",
    "PLUGGED",
    "SUPPLY",
    "SUPPLY_END",
    "STATUS",
    "STATUS",
    "SUPPLY_END",
    "STATUS",
  ]);
  for (const p of telemetry) assert.ok(parseMessage(telemetryPayloadSchema, p).ok, p.type);
  assert.equal(telemetry[2].ts, new Date(T0 + 600).toISOString());
});

Deno.test("effects come in the order things happened: a note before the telemetry it explains", () => {
  // Plugged at T0 + 1000: the report due at T0 + 2000 is caught up first, then the unplug.
  const r = step(supplying(), input("unplug"), { settings: SETTINGS, now: T0 + 2500 });
  assert.deepEqual(
    r.effects.map((e) => e.type === "note" ? `note: ${e.text}` : e.payload.type),
    ["SUPPLY", "note: vehicle unplugged", "SUPPLY_END", "STATUS"],
  );
});
