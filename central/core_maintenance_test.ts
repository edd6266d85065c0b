/**
 * The maintenance rules of central/core/charging.ts (issue 17): a monitor's `MAINTENANCE{on}`
 * holds its CP STOPPED for `maintenance` and lifts only that hold; the admin's and the weather's
 * holds stay distinct from it; it is audited by the CP with the monitor's address, ignored from
 * a stale connection, and survives a restart (through central/store.ts).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { CommandPayload } from "../shared/messages.ts";
import { type Effect, EMPTY_MODEL, type Model, step } from "./core.ts";
import {
  at,
  chargeInput,
  cpOf as cp,
  ctx,
  drive,
  loginInput,
  published,
  run,
  T0,
  type Timed,
  weatherInput,
} from "./core_test_support.ts";
import { CentralStore } from "./store.ts";

const login = (connection = 1, now = T0): Timed => loginInput(connection, {}, now);
const maintenance = (on: boolean, now: number, connection = 1): Timed =>
  at(now, { type: "maintenance", cpId: "CP-1", connection, on, originIp: "192.0.2.7" });
const weather = (status: "alert" | "clear", now: number): Timed =>
  weatherInput(status, now, { temperatureC: status === "alert" ? -3 : 20 });
const adminStop = (now: number): Timed => at(now, { type: "stop", cpId: "CP-1", reason: "admin" });
const adminResume = (now: number): Timed => at(now, { type: "resume", cpId: "CP-1" });

const commands = (effects: readonly Effect[]): string[] =>
  effects.flatMap((e) => e.type === "command" ? [label(e.payload)] : []);
const label = (c: CommandPayload) => "reason" in c ? `${c.type} ${c.reason}` : c.type;
const shown = (model: Model) => ({
  state: cp(model).status.state,
  stopReason: cp(model).status.stopReason,
  maintenance: cp(model).maintenance === true,
});

const online = () => run(EMPTY_MODEL, login()).model;

Deno.test("maintenance on: STOPPED for maintenance, STOP to the engine, audited by the CP with its address", () => {
  const { model, effects } = run(online(), maintenance(true, T0 + 100));
  assert.deepEqual(shown(model), {
    state: "STOPPED",
    stopReason: "maintenance",
    maintenance: true,
  });
  assert.deepEqual(commands(effects), ["STOP maintenance"]);
  const audits = effects.flatMap((e) => e.type === "audit" ? [e.entry] : []);
  assert.deepEqual(audits, [{
    actor: "cp:CP-1",
    action: "cp.maintenance",
    outcome: "ok",
    params: {
      cpId: "CP-1",
      on: true,
      previous: false,
      state: "STOPPED",
      stopReason: "maintenance",
    },
    originIp: "192.0.2.7",
  }]);
  assert.ok(effects.some((e) => e.type === "save_cp" && e.cp.maintenance === true));
});

Deno.test("maintenance off: ACTIVATED again with a RESUME; a request in between is denied", () => {
  const held = run(online(), maintenance(true, T0 + 100)).model;
  const denied = run(held, chargeInput("r1", { sessionId: "S-1" }, T0 + 150)).effects;
  assert.deepEqual(
    published(denied).map((m) => [m.type, "reason" in m ? m.reason : null]),
    [["DENIED", "stopped"]],
  );
  const { model, effects } = run(held, maintenance(false, T0 + 200));
  assert.deepEqual(shown(model), { state: "ACTIVATED", stopReason: null, maintenance: false });
  assert.deepEqual(commands(effects), ["RESUME"]);
});

Deno.test("maintenance: a session running when it starts ends with a stopped_maintenance ticket", () => {
  let model = run(online(), chargeInput("r1", { sessionId: "S-1" }, T0 + 100)).model;
  assert.equal(cp(model).status.state, "SUPPLYING");
  model = run(model, maintenance(true, T0 + 200)).model;
  assert.equal(cp(model).status.state, "STOPPED");
  const { effects } = run(model, at(T0 + 200 + 10_001, { type: "tick" }));
  const ticket = published(effects).find((m) => m.type === "TICKET");
  assert.equal(ticket?.type === "TICKET" ? ticket.endReason : undefined, "stopped_maintenance");
});

Deno.test("maintenance and admin: an admin resume leaves maintenance; maintenance off leaves the admin's hold", () => {
  // Admin first, then maintenance: the admin's hold stays shown; off leaves it.
  let model = run(online(), adminStop(T0 + 100), maintenance(true, T0 + 200)).model;
  assert.deepEqual(shown(model), { state: "STOPPED", stopReason: "admin", maintenance: true });
  const off = run(model, maintenance(false, T0 + 300)).model;
  assert.deepEqual(shown(off), { state: "STOPPED", stopReason: "admin", maintenance: false });
  // …and an admin resume with maintenance still on shows maintenance, not ACTIVATED.
  model = run(model, adminResume(T0 + 300)).model;
  assert.deepEqual(shown(model), {
    state: "STOPPED",
    stopReason: "maintenance",
    maintenance: true,
  });
  // Maintenance first, then an admin resume: nothing lifts but the monitor's own off.
  const kept = run(online(), maintenance(true, T0 + 100), adminResume(T0 + 200)).model;
  assert.deepEqual(shown(kept), { state: "STOPPED", stopReason: "maintenance", maintenance: true });
});

Deno.test("maintenance and weather: each lifts only its own hold, whichever ends first", () => {
  // Weather, then maintenance (shown), then maintenance off: the weather still holds it.
  let model = run(online(), weather("alert", T0 + 100), maintenance(true, T0 + 200)).model;
  assert.deepEqual(shown(model), {
    state: "STOPPED",
    stopReason: "maintenance",
    maintenance: true,
  });
  model = run(model, maintenance(false, T0 + 300)).model;
  assert.deepEqual(shown(model), { state: "STOPPED", stopReason: "weather", maintenance: false });
  model = run(model, weather("clear", T0 + 400)).model;
  assert.deepEqual(shown(model), { state: "ACTIVATED", stopReason: null, maintenance: false });
  // Maintenance, then an alert and its clear: maintenance holds throughout.
  model = run(
    online(),
    maintenance(true, T0 + 100),
    weather("alert", T0 + 200),
    weather("clear", T0 + 300),
  ).model;
  assert.deepEqual(shown(model), {
    state: "STOPPED",
    stopReason: "maintenance",
    maintenance: true,
  });
});

Deno.test("maintenance: repeated on is one hold; a stale connection's frame changes nothing", () => {
  const once = run(online(), maintenance(true, T0 + 100)).model;
  const twice = run(once, maintenance(true, T0 + 200));
  assert.deepEqual(shown(twice.model), shown(once));
  assert.ok(!twice.effects.some((e) => e.type === "save_cp"), "nothing to save");
  const relogged = run(online(), login(2, T0 + 50)).model;
  const { input, now } = maintenance(true, T0 + 100, 1);
  const stale = step(relogged, input, ctx(now));
  assert.deepEqual(stale.effects, []);
  assert.deepEqual(shown(stale.model), {
    state: "ACTIVATED",
    stopReason: null,
    maintenance: false,
  });
});

Deno.test("maintenance: the hold survives a restart of the store and a new login", async () => {
  const dir = await Deno.makeTempDir({ prefix: "central_maintenance_" });
  const path = join(dir, "central.db");
  try {
    let store = CentralStore.open(path);
    drive(store, EMPTY_MODEL, login(), maintenance(true, T0 + 100));
    store.close();
    store = CentralStore.open(path);
    try {
      const recovered = store.recover(new Date(T0 + 1000)).model;
      assert.deepEqual(shown(recovered), {
        state: "DISCONNECTED",
        stopReason: "maintenance",
        maintenance: true,
      });
      const back = run(recovered, login(2, T0 + 2000), adminResume(T0 + 2100)).model;
      assert.deepEqual(shown(back), {
        state: "STOPPED",
        stopReason: "maintenance",
        maintenance: true,
      });
      const off = run(back, maintenance(false, T0 + 2200, 2)).model;
      assert.deepEqual(shown(off), { state: "ACTIVATED", stopReason: null, maintenance: false });
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
