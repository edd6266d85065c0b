/**
 * The weather rules of central/core/charging.ts (issue 6): an alert holds a CP, a clear lifts only the
 * weather hold, an admin hold and the weather hold never lift each other, both are idempotent,
 * and the hold survives a restart (through central/store.ts).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { EMPTY_MODEL, type Model, type WeatherStatus } from "./core.ts";
import {
  at,
  chargeInput,
  commands,
  cpOf as cp,
  drive,
  loginInput,
  published,
  run,
  T0,
  telemetryInput as telemetry,
  type Timed,
  ts,
  weatherInput,
} from "./core_test_support.ts";
import { CentralStore } from "./store.ts";

const login = (connection = 1, now = T0): Timed => loginInput(connection, {}, now);
const charge = (requestId: string, now: number): Timed => chargeInput(requestId, {}, now);
const weather = (status: WeatherStatus, now: number, temperatureC = -3, cpId = "CP-1"): Timed =>
  weatherInput(status, now, { temperatureC, cpId });
const adminStop = (now: number): Timed => at(now, { type: "stop", cpId: "CP-1", reason: "admin" });
const adminResume = (now: number): Timed => at(now, { type: "resume", cpId: "CP-1" });
const shown = (model: Model) => ({
  state: cp(model).status.state,
  stopReason: cp(model).status.stopReason,
});

const online = () => run(EMPTY_MODEL, login()).model;

Deno.test("weather: an alert stops an available CP for the weather, is audited, and requests are denied weather", () => {
  const { model, effects } = run(online(), weather("alert", T0 + 100));
  assert.deepEqual(shown(model), { state: "STOPPED", stopReason: "weather" });
  assert.deepEqual(commands(effects).map((c) => [c.type, "reason" in c ? c.reason : null]), [
    ["STOP", "weather"],
  ]);
  assert.deepEqual(model.weather.get("CP-1"), {
    cpId: "CP-1",
    city: "Madrid",
    temperatureC: -3,
    status: "alert",
    since: ts(T0 + 100),
    updatedAt: ts(T0 + 100),
  });
  assert.ok(effects.some((e) => e.type === "save_weather"));
  const audits = effects.flatMap((e) => e.type === "audit" ? [e.entry] : []);
  assert.deepEqual(audits.filter((a) => a.actor === "weather"), [{
    actor: "weather",
    action: "weather.alert",
    outcome: "ok",
    params: {
      cpId: "CP-1",
      city: "Madrid",
      temperatureC: -3,
      state: "STOPPED",
      stopReason: "weather",
    },
  }]);
  const denied = published(run(model, charge("r1", T0 + 200)).effects);
  assert.deepEqual(denied.map((m) => [m.type, "reason" in m ? m.reason : null]), [
    ["DENIED", "weather"],
  ]);
});

Deno.test("weather: a session running at the alert ends with a stopped_weather ticket", () => {
  const supplying = run(
    online(),
    charge("r1", T0 + 1000),
    telemetry({ type: "SUPPLY", sessionId: "S-r1", kw: 22, kwh: 2, eur: 1 }, T0 + 2000),
  ).model;
  const alerted = run(supplying, weather("alert", T0 + 3000));
  assert.equal(shown(alerted.model).state, "STOPPED");
  assert.equal(alerted.model.sessions.get("S-r1")?.pendingEnd?.reason, "stopped_weather");
  const ended = run(
    alerted.model,
    telemetry({
      type: "SUPPLY_END",
      sessionId: "S-r1",
      kwh: 2.5,
      eur: 1.25,
      endReason: "stopped_weather",
    }, T0 + 3500),
  );
  const ticket = published(ended.effects).find((m) => m.type === "TICKET");
  assert.ok(ticket?.type === "TICKET");
  assert.equal(ticket.endReason, "stopped_weather");
  assert.equal(ticket.kwh, 2.5);
  assert.deepEqual(shown(ended.model), { state: "STOPPED", stopReason: "weather" });
  // Without the engine's SUPPLY_END, Central closes it itself after the stop wait.
  const timedOut = run(alerted.model, at(T0 + 3000 + 10_000, { type: "tick" }));
  assert.ok(
    published(timedOut.effects).some((m) =>
      m.type === "TICKET" && m.endReason === "stopped_weather"
    ),
  );
});

Deno.test("weather: a repeated alert or clear changes nothing but the reading", () => {
  const alerted = run(online(), weather("alert", T0 + 100)).model;
  const again = run(alerted, weather("alert", T0 + 200, -5));
  assert.deepEqual(commands(again.effects), []);
  assert.deepEqual(again.effects.map((e) => e.type), ["save_weather"]);
  assert.equal(again.model.weather.get("CP-1")?.since, ts(T0 + 100), "the hold began earlier");
  assert.equal(again.model.weather.get("CP-1")?.temperatureC, -5);
  const cleared = run(again.model, weather("clear", T0 + 300, 4)).model;
  const clearAgain = run(cleared, weather("clear", T0 + 400, 5));
  assert.deepEqual(clearAgain.effects.map((e) => e.type), ["save_weather"]);
  assert.deepEqual(shown(clearAgain.model), { state: "ACTIVATED", stopReason: null });
});

Deno.test("weather: a clear resumes a CP the weather stopped", () => {
  const { model, effects } = run(
    online(),
    weather("alert", T0 + 100),
    weather("clear", T0 + 200, 2),
  );
  assert.deepEqual(shown(model), { state: "ACTIVATED", stopReason: null });
  assert.deepEqual(commands(effects).map((c) => c.type), ["STOP", "RESUME"]);
  assert.equal(model.weather.get("CP-1")?.status, "clear");
  assert.equal(model.weather.get("CP-1")?.since, ts(T0 + 200));
});

Deno.test("weather: an admin stop during a weather hold stays stopped after the clear", () => {
  const held = run(online(), weather("alert", T0 + 100), adminStop(T0 + 200)).model;
  assert.deepEqual(shown(held), { state: "STOPPED", stopReason: "admin" });
  const cleared = run(held, weather("clear", T0 + 300, 3));
  assert.deepEqual(shown(cleared.model), { state: "STOPPED", stopReason: "admin" });
  assert.deepEqual(commands(cleared.effects), [], "no RESUME");
  const resumed = run(cleared.model, adminResume(T0 + 400));
  assert.deepEqual(shown(resumed.model), { state: "ACTIVATED", stopReason: null });
});

Deno.test("weather: an admin resume ends the admin hold only; the weather hold keeps the CP stopped", () => {
  const both = run(online(), adminStop(T0 + 100), weather("alert", T0 + 200)).model;
  assert.deepEqual(shown(both), { state: "STOPPED", stopReason: "admin" }, "the alert adds a hold");
  const resumed = run(both, adminResume(T0 + 300));
  assert.deepEqual(shown(resumed.model), { state: "STOPPED", stopReason: "weather" });
  assert.deepEqual(commands(resumed.effects).map((c) => c.type), ["STOP"]);
  const onlyWeather = run(resumed.model, adminResume(T0 + 400));
  assert.deepEqual(shown(onlyWeather.model), { state: "STOPPED", stopReason: "weather" });
  assert.deepEqual(commands(onlyWeather.effects), []);
  const cleared = run(onlyWeather.model, weather("clear", T0 + 500, 1));
  assert.deepEqual(shown(cleared.model), { state: "ACTIVATED", stopReason: null });
});

Deno.test("weather: a disconnected CP alerted is held, and STOPPED once it logs in", () => {
  const lost = run(online(), at(T0 + 50, { type: "disconnect", cpId: "CP-1", connection: 1 }));
  const alerted = run(lost.model, weather("alert", T0 + 100)).model;
  assert.deepEqual(shown(alerted), { state: "DISCONNECTED", stopReason: "weather" });
  const back = run(alerted, login(2, T0 + 200));
  assert.deepEqual(shown(back.model), { state: "STOPPED", stopReason: "weather" });
});

Deno.test("weather: a report for a CP Central does not know is only noted", () => {
  const { model, effects } = run(online(), weather("alert", T0, -9, "CP-404"));
  assert.deepEqual(effects.map((e) => e.type), ["note"]);
  assert.equal(model.weather.size, 0);
});

Deno.test("weather: holds and readings survive a restart of the store", async () => {
  const dir = await Deno.makeTempDir({ prefix: "central_weather_" });
  const path = join(dir, "central.db");
  try {
    let store = CentralStore.open(path);
    const model = drive(store, online(), login(), weather("alert", T0 + 100), adminStop(T0 + 200));
    store.close();
    store = CentralStore.open(path);
    try {
      const recovered = store.recover(new Date(T0 + 1000)).model;
      assert.deepEqual(recovered.weather.get("CP-1"), model.weather.get("CP-1"));
      assert.deepEqual(shown(recovered), { state: "DISCONNECTED", stopReason: "admin" });
      const cleared = run(recovered, weather("clear", T0 + 2000, 2), login(2, T0 + 2100)).model;
      assert.deepEqual(shown(cleared), { state: "STOPPED", stopReason: "admin" });
      const resumed = run(recovered, adminResume(T0 + 2000), login(2, T0 + 2100)).model;
      assert.deepEqual(shown(resumed), { state: "STOPPED", stopReason: "weather" });
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
