import assert from "node:assert/strict";
import {
  type DenyReason,
  type DriverUpdate,
  driverUpdateSchema,
  MAX_ENERGY_KWH,
  MAX_POWER_KW,
  parseMessage,
} from "../shared/messages.ts";
import {
  type Cp,
  DEFAULT_CORE_CONFIG,
  type Effect,
  EMPTY_MODEL,
  loginRefusal,
  type Model,
  step,
  stepAll,
} from "./core.ts";
import {
  at,
  chargeInput,
  commands,
  cpOf as cp,
  ctx,
  loginInput,
  published,
  run,
  T0,
  telemetryInput,
  type Timed,
  ts,
} from "./core_test_support.ts";

const login = (cpId = "CP-1", connection = 1, now = T0): Timed =>
  loginInput(connection, { cpId }, now);
const charge = (requestId: string, cpId = "CP-1", now = T0 + 1000, duplicate = false): Timed =>
  chargeInput(requestId, { cpId, duplicate }, now);
const telemetry = (payload: Record<string, unknown>, now = T0 + 5000, cpId = "CP-1"): Timed =>
  telemetryInput(payload, now, cpId);

/** What the driver hears, through the outbox or as progress. */
const toDriver = (effects: readonly Effect[]): DriverUpdate[] =>
  effects.flatMap((e) => e.type === "publish" || e.type === "progress" ? [e.message] : []);

/** A model with CP-1 logged in and ACTIVATED. */
const online = () => run(EMPTY_MODEL, login()).model;

/** A model with CP-1 supplying session S-r1 (plugged at T0+2s, 2 kWh so far). */
function supplying(): Model {
  return run(
    online(),
    charge("r1"),
    telemetry({ type: "PLUGGED", sessionId: "S-r1" }, T0 + 2000),
    telemetry({ type: "SUPPLY", sessionId: "S-r1", kw: 22, kwh: 2, eur: 1 }, T0 + 3000),
  ).model;
}

Deno.test("core: a first login creates the CP from the Registry data, ACTIVATED with its key", () => {
  const { model, effects } = run(EMPTY_MODEL, login());
  const c = cp(model);
  assert.equal(c.status.state, "ACTIVATED");
  assert.equal(c.keyVersion, 1);
  assert.equal(c.connection, 1);
  assert.equal(c.priceEurKwh, 0.5);
  assert.deepEqual(effects.map((e) => e.type), ["save_key", "save_cp", "note", "audit"]);
  const key = effects[0];
  assert.ok(key.type === "save_key" && key.wrappedKey === "wrapped-1" && key.keyVersion === 1);
});

Deno.test("core: a second login replaces the first connection with LOGOUT replaced", () => {
  const { model, effects } = run(online(), login("CP-1", 2, T0 + 500));
  assert.deepEqual(effects[0], {
    type: "close_connection",
    cpId: "CP-1",
    connection: 1,
    logout: "replaced",
  });
  assert.equal(cp(model).connection, 2);
  assert.equal(cp(model).keyVersion, 2);
  // The old connection's heartbeat and end no longer count.
  const after = run(
    model,
    at(T0 + 900, { type: "heartbeat", cpId: "CP-1", connection: 1 }),
    at(T0 + 1000, { type: "disconnect", cpId: "CP-1", connection: 1 }),
  );
  assert.equal(cp(after.model).status.state, "ACTIVATED");
  assert.equal(cp(after.model).lastSeenMs, T0 + 500);
  assert.deepEqual(after.effects, []);
});

Deno.test("core: a held CP is told STOP again when it logs in", () => {
  const held = run(online(), at(T0 + 100, { type: "stop", cpId: "CP-1", reason: "weather" }));
  const lost = run(held.model, at(T0 + 200, { type: "disconnect", cpId: "CP-1", connection: 1 }));
  assert.equal(cp(lost.model).status.state, "DISCONNECTED");
  const back = run(lost.model, login("CP-1", 2, T0 + 300));
  assert.equal(cp(back.model).status.state, "STOPPED");
  assert.deepEqual(commands(back.effects).map((c) => c.type), ["STOP"]);
});

Deno.test("core: loginRefusal, with the English words and the code the monitor translates", () => {
  assert.equal(loginRefusal(EMPTY_MODEL, "CP-1", "REGISTERED"), null);
  const loggedIn = online();
  const c = cp(loggedIn);
  const revoked = { ...loggedIn, cps: new Map([[c.id, { ...c, security: "REVOKED" as const }]]) };
  const cases = [
    [EMPTY_MODEL, "DEREGISTERED", "deregistered", "CP-1 is deregistered"],
    [revoked, "REGISTERED", "revoked", "CP-1 is revoked at Central"],
  ] as const;
  for (const [model, status, reason, detail] of cases) {
    assert.deepEqual(loginRefusal(model, "CP-1", status), {
      reason,
      retryable: false,
      detail,
      detail_code: `login_${reason}`,
      detail_params: { id: "CP-1" },
    });
  }
});

Deno.test("core: a request at an ACTIVATED CP is AUTHORIZED: session, AUTHORIZE, AUTHORIZED", () => {
  const { model, effects } = run(online(), charge("r1"));
  assert.equal(cp(model).status.state, "SUPPLYING");
  assert.equal(cp(model).status.sessionId, "S-r1");
  const session = model.sessions.get("S-r1");
  assert.equal(session?.priceEurKwh, 0.5);
  assert.deepEqual(commands(effects), [{
    v: 1,
    type: "AUTHORIZE",
    sessionId: "S-r1",
    driverId: "D-1",
    priceEurKwh: 0.5,
    powerKw: 22,
    ts: ts(T0 + 1000),
  }]);
  assert.deepEqual(published(effects), [{
    v: 1,
    type: "AUTHORIZED",
    requestId: "r1",
    driverId: "D-1",
    cpId: "CP-1",
    sessionId: "S-r1",
    ts: ts(T0 + 1000),
  }]);
  const types = effects.map((e) => e.type);
  assert.ok(types.includes("save_request") && types.includes("save_driver"));
});

Deno.test("core: every deny reason", () => {
  const base = online();
  const withCp = (change: Partial<Cp>): Model => {
    const c = cp(base);
    return { ...base, cps: new Map([[c.id, { ...c, ...change }]]) };
  };
  const cases: [string, Model, string, DenyReason][] = [
    ["unknown CP", base, "CP-9", "unknown_cp"],
    [
      "disconnected",
      run(base, at(T0, { type: "disconnect", cpId: "CP-1", connection: 1 })).model,
      "CP-1",
      "disconnected",
    ],
    [
      "broken",
      run(base, at(T0, { type: "health", cpId: "CP-1", connection: 1, engine: "KO" })).model,
      "CP-1",
      "broken",
    ],
    [
      "stopped",
      run(base, at(T0, { type: "stop", cpId: "CP-1", reason: "admin" })).model,
      "CP-1",
      "stopped",
    ],
    [
      "weather",
      run(base, at(T0, { type: "stop", cpId: "CP-1", reason: "weather" })).model,
      "CP-1",
      "weather",
    ],
    ["busy", run(base, charge("r0")).model, "CP-1", "busy"],
    ["out of service", withCp({ security: "OUT_OF_SERVICE" }), "CP-1", "out_of_service"],
    ["revoked", withCp({ security: "REVOKED" }), "CP-1", "revoked"],
    ["no key", withCp({ keyVersion: null }), "CP-1", "no_key"],
  ];
  for (const [name, model, cpId, reason] of cases) {
    const { effects } = run(model, charge("r1", cpId, T0 + 2000));
    const answers = published(effects);
    assert.equal(answers.length, 1, name);
    assert.ok(answers[0].type === "DENIED", name);
    assert.equal(answers[0].reason, reason, name);
    assert.deepEqual(commands(effects), [], `${name}: no command`);
    assert.ok(!effects.some((e) => e.type === "save_session"), `${name}: no session`);
  }
});

Deno.test("core: a duplicate request (seen before, any run) gets no second answer", () => {
  const { effects } = run(online(), charge("r1", "CP-1", T0, true));
  assert.deepEqual(effects, []);
  for (const type of ["cp_list_request", "invalid_request"] as const) {
    const input = type === "cp_list_request"
      ? { type, requestId: "r2", driverId: "D-1", duplicate: true }
      : { type, requestId: "r2", driverId: "D-1", detail: "x", duplicate: true };
    assert.deepEqual(step(online(), input, ctx(T0)).effects, []);
  }
});

Deno.test("core: SUPPLY figures are priced by Central and go to that driver only, as progress", () => {
  const model = run(online(), charge("r1")).model;
  const { model: after, effects } = run(
    model,
    telemetry({ type: "SUPPLY", sessionId: "S-r1", kw: 11, kwh: 3, eur: 999 }, T0 + 4000),
  );
  assert.deepEqual(published(effects), [], "running figures skip the outbox");
  const updates = toDriver(effects);
  assert.equal(updates.length, 1);
  const supply = updates[0];
  assert.ok(supply.type === "SUPPLY");
  assert.equal(supply.driverId, "D-1");
  assert.equal(supply.eur, 1.5, "kWh × the CP's price, not the engine's figure");
  assert.equal(after.sessions.get("S-r1")?.kwh, 3);
  assert.equal(after.sessions.get("S-r1")?.pluggedAt, ts(T0 + 4000), "supply implies a plug");
});

Deno.test("core: the SUPPLY a driver gets is a valid driver.updates message, at the limits too", () => {
  const model = run(online(), charge("r1")).model;
  for (const [kw, kwh] of [[11, 3], [0, 0], [MAX_POWER_KW, MAX_ENERGY_KWH]]) {
    const payload = { type: "SUPPLY", sessionId: "S-r1", kw, kwh, eur: 0 } as const;
    const [supply] = toDriver(run(model, telemetry(payload, T0 + 4000)).effects);
    // The core builds it without `build`, so the schema is asked here.
    assert.deepEqual(parseMessage(driverUpdateSchema, supply), { ok: true, value: supply });
  }
});

Deno.test("core: SUPPLY_END gives one TICKET and frees the CP; a second one is ignored", () => {
  const end = telemetry(
    { type: "SUPPLY_END", sessionId: "S-r1", kwh: 4, eur: 2, endReason: "unplugged" },
    T0 + 62_000,
  );
  const { model, effects } = run(supplying(), end);
  assert.deepEqual(published(effects), [{
    v: 1,
    type: "TICKET",
    sessionId: "S-r1",
    driverId: "D-1",
    cpId: "CP-1",
    kwh: 4,
    eur: 2,
    seconds: 60,
    endReason: "unplugged",
    priceEurKwh: 0.5,
    ts: ts(T0 + 62_000),
  }]);
  assert.equal(cp(model).status.state, "ACTIVATED");
  assert.equal(model.sessions.size, 0);
  const again = run(model, end);
  assert.deepEqual(published(again.effects), []);
});

Deno.test("core: a plug timeout gives a zero ticket", () => {
  const end = telemetry(
    { type: "SUPPLY_END", sessionId: "S-r1", kwh: 0, eur: 0, endReason: "plug_timeout" },
    T0 + 61_000,
  );
  const { effects } = run(online(), charge("r1"), end);
  const ticket = published(effects).find((u) => u.type === "TICKET");
  assert.ok(ticket?.type === "TICKET");
  assert.deepEqual([ticket.kwh, ticket.eur, ticket.seconds, ticket.endReason], [
    0,
    0,
    0,
    "plug_timeout",
  ]);
});

Deno.test("core: engine KO during a session: BROKEN, END_SUPPLY, ticket with the last figures", () => {
  const { model, effects } = run(
    supplying(),
    at(T0 + 10_000, { type: "health", cpId: "CP-1", connection: 1, engine: "KO" }),
  );
  assert.equal(cp(model).status.state, "BROKEN");
  assert.deepEqual(commands(effects).map((c) => c.type), ["END_SUPPLY"]);
  const ticket = published(effects)[0];
  assert.ok(ticket.type === "TICKET");
  assert.deepEqual([ticket.kwh, ticket.eur, ticket.endReason], [2, 1, "fault"]);
  const late = run(
    model,
    telemetry({ type: "SUPPLY_END", sessionId: "S-r1", kwh: 2.1, eur: 1, endReason: "fault" }),
  );
  assert.deepEqual(published(late.effects), [], "the engine's late SUPPLY_END is ignored");
  const healed = run(
    model,
    at(T0 + 11_000, { type: "health", cpId: "CP-1", connection: 1, engine: "OK" }),
  );
  assert.equal(cp(healed.model).status.state, "ACTIVATED");
});

Deno.test("core: a stop during a session waits for SUPPLY_END, then ends it itself", () => {
  const stopped = run(
    supplying(),
    at(T0 + 20_000, { type: "stop", cpId: "CP-1", reason: "admin" }),
  );
  assert.equal(cp(stopped.model).status.state, "STOPPED");
  assert.deepEqual(commands(stopped.effects), [{
    v: 1,
    type: "STOP",
    reason: "admin",
    ts: ts(T0 + 20_000),
  }]);
  assert.deepEqual(published(stopped.effects), [], "no ticket yet");

  const early = run(stopped.model, at(T0 + 29_999, { type: "tick" }));
  assert.deepEqual(published(early.effects), []);
  const late = run(
    stopped.model,
    at(T0 + 29_000, { type: "heartbeat", cpId: "CP-1", connection: 1 }),
    at(T0 + 30_000, { type: "tick" }),
  );
  const ticket = published(late.effects)[0];
  assert.ok(ticket?.type === "TICKET");
  assert.deepEqual([ticket.kwh, ticket.eur, ticket.endReason], [2, 1, "stopped_admin"]);
  assert.equal(cp(late.model).status.state, "STOPPED");
  assert.equal(cp(late.model).status.sessionId, null);

  // The engine's SUPPLY_END in time wins, and the wait then closes nothing more.
  const engine = run(
    stopped.model,
    telemetry(
      { type: "SUPPLY_END", sessionId: "S-r1", kwh: 2.5, eur: 1.25, endReason: "stopped_admin" },
      T0 + 21_000,
    ),
    at(T0 + 40_000, { type: "tick" }),
  );
  const tickets = published(engine.effects).filter((u) => u.type === "TICKET");
  assert.equal(tickets.length, 1);
  assert.equal(tickets[0].type === "TICKET" && tickets[0].kwh, 2.5);
});

Deno.test("core: a session whose vehicle never comes is ended by Central after the plug wait", () => {
  const { plugWaitMs } = DEFAULT_CORE_CONFIG;
  const authorized = run(online(), charge("r1", "CP-1", T0)).model;
  assert.deepEqual(authorized.sessions.get("S-r1")?.pendingEnd, {
    reason: "plug_timeout",
    deadlineMs: T0 + plugWaitMs,
  });
  const keepAlive = at(T0 + plugWaitMs, {
    type: "heartbeat",
    cpId: "CP-1",
    connection: 1,
  });
  const lost = run(authorized, keepAlive, at(T0 + plugWaitMs, { type: "tick" }));
  assert.deepEqual(commands(lost.effects).map((c) => c.type), ["END_SUPPLY"]);
  const ticket = published(lost.effects)[0];
  assert.ok(ticket?.type === "TICKET");
  assert.deepEqual([ticket.kwh, ticket.eur, ticket.seconds, ticket.endReason], [
    0,
    0,
    0,
    "plug_timeout",
  ]);
  assert.equal(cp(lost.model).status.state, "ACTIVATED");

  const pluggedIn = run(
    authorized,
    telemetry({ type: "PLUGGED", sessionId: "S-r1" }, T0 + 1000),
    keepAlive,
    at(T0 + plugWaitMs, { type: "tick" }),
  );
  assert.equal(pluggedIn.model.sessions.get("S-r1")?.pendingEnd, null);
  assert.deepEqual(published(pluggedIn.effects), [], "plugged in: no wait any more");
});

Deno.test("core: after a restart every stop wait starts again", () => {
  const stopped = run(supplying(), at(T0, { type: "stop", cpId: "CP-1", reason: "admin" })).model;
  const restarted = run(stopped, at(T0 + 3_600_000, { type: "start" })).model;
  const wait = restarted.sessions.get("S-r1")?.pendingEnd;
  assert.equal(wait?.deadlineMs, T0 + 3_600_000 + DEFAULT_CORE_CONFIG.stopWaitMs);
});

Deno.test("core: silence while Central's own loop was late is not a heartbeat timeout", () => {
  const beat = run(online(), at(T0 + 2500, { type: "heartbeat", cpId: "CP-1", connection: 1 }));
  const stalled = run(beat.model, at(T0 + 6000, { type: "tick", lagMs: 3000 }));
  assert.equal(
    cp(stalled.model).status.state,
    "ACTIVATED",
    "3.5 s of silence, 3 s of it Central's",
  );
  assert.deepEqual(stalled.effects, []);
  const silent = run(beat.model, at(T0 + 8501, { type: "tick", lagMs: 3000 }));
  assert.equal(cp(silent.model).status.state, "DISCONNECTED", "beyond the timeout and the lag");
});

Deno.test("core: heartbeat timeout disconnects and closes the connection; heartbeats keep it", () => {
  const alive = run(
    online(),
    at(T0 + 2500, { type: "heartbeat", cpId: "CP-1", connection: 1 }),
    at(T0 + 5000, { type: "tick" }),
  );
  assert.equal(cp(alive.model).status.state, "ACTIVATED");
  const dead = run(alive.model, at(T0 + 5501, { type: "tick" }));
  assert.equal(cp(dead.model).status.state, "DISCONNECTED");
  assert.equal(cp(dead.model).connection, null);
  assert.deepEqual(dead.effects[0], {
    type: "close_connection",
    cpId: "CP-1",
    connection: 1,
    logout: null,
  });
  assert.deepEqual(run(dead.model, at(T0 + 9000, { type: "tick" })).effects, [], "only once");
});

Deno.test("core: gathered heartbeats keep each CP alive in one step, stale connections aside", () => {
  const both = run(online(), login("CP-2", 2));
  const beaten = run(
    both.model,
    at(T0 + 2600, {
      type: "heartbeats",
      beats: [
        { cpId: "CP-1", connection: 1, seenMs: T0 + 2500 },
        { cpId: "CP-2", connection: 9, seenMs: T0 + 2500 }, // an old connection of CP-2
      ],
    }),
  );
  assert.deepEqual(beaten.effects, [], "nothing to store or send");
  const later = run(beaten.model, at(T0 + 5000, { type: "tick" }));
  assert.equal(cp(later.model).status.state, "ACTIVATED");
  assert.equal(later.model.cps.get("CP-2")?.status.state, "DISCONNECTED");
});

Deno.test("core: stepAll applies a batch as steps one by one would, effects kept apart", () => {
  // One batch is one step's time (a Kafka batch is read at once); the payloads keep their own.
  const context = ctx(T0 + 5000);
  const inputs = [
    charge("r1"),
    telemetry({ type: "PLUGGED", sessionId: "S-r1" }, T0 + 2000),
    telemetry({ type: "SUPPLY", sessionId: "S-r1", kw: 22, kwh: 2, eur: 1 }, T0 + 3000),
    telemetry({ type: "SUPPLY_END", sessionId: "S-r1", kwh: 3, eur: 1.5, endReason: "unplugged" }),
  ].map(({ input }) => input);
  let model = online();
  const oneByOne = inputs.map((input) => {
    const s = step(model, input, context);
    model = s.model;
    return s.effects;
  });
  const batch = stepAll(online(), inputs, context);
  assert.deepEqual(batch.effects, oneByOne);
  assert.deepEqual(batch.model, model);
});

Deno.test("core: a session goes on while its CP is disconnected and is ticketed", () => {
  const lost = run(supplying(), at(T0 + 4000, { type: "disconnect", cpId: "CP-1", connection: 1 }));
  assert.equal(cp(lost.model).status.state, "DISCONNECTED");
  const more = run(
    lost.model,
    telemetry({ type: "SUPPLY", sessionId: "S-r1", kw: 22, kwh: 3, eur: 1.5 }),
    telemetry(
      { type: "SUPPLY_END", sessionId: "S-r1", kwh: 3.5, eur: 1.75, endReason: "unplugged" },
      T0 + 8000,
    ),
  );
  assert.deepEqual(toDriver(more.effects).map((u) => u.type), ["SUPPLY", "TICKET"]);
  assert.equal(cp(more.model).status.sessionId, null);
  assert.equal(
    run(more.model, login("CP-1", 2, T0 + 9000)).model.cps.get("CP-1")?.status.state,
    "ACTIVATED",
  );
});

Deno.test("core: CP list and invalid requests are answered", () => {
  const model = run(online(), login("CP-0", 5, T0)).model;
  const list = published(
    step(
      model,
      { type: "cp_list_request", requestId: "L1", driverId: "D-1", duplicate: false },
      ctx(T0),
    ).effects,
  )[0];
  assert.ok(list.type === "CP_LIST");
  assert.deepEqual(list.cps.map((c) => [c.id, c.state]), [["CP-0", "ACTIVATED"], [
    "CP-1",
    "ACTIVATED",
  ]]);

  const denied = published(
    step(model, {
      type: "invalid_request",
      requestId: "B1",
      driverId: "D-1",
      detail: "cpId: required\u0007",
      duplicate: false,
    }, ctx(T0)).effects,
  )[0];
  assert.ok(denied.type === "DENIED");
  assert.equal(denied.reason, "invalid_request");
  assert.equal(denied.detail, "cpId: required?", "control characters never reach a message");
});

Deno.test("core: telemetry that does not match an open session of that CP is ignored", () => {
  const model = supplying();
  const cases = [
    telemetry({ type: "SUPPLY", sessionId: "S-r1", kw: 1, kwh: 9, eur: 1 }, T0, "CP-2"),
    telemetry({ type: "SUPPLY", sessionId: "S-zz", kw: 1, kwh: 9, eur: 1 }),
    telemetry({ type: "PLUGGED", sessionId: "S-zz" }),
  ];
  for (const input of cases) {
    const { effects, model: after } = run(model, input);
    assert.ok(effects.every((e) => e.type === "note"));
    assert.equal(after.sessions.get("S-r1")?.kwh, 2);
  }
});

Deno.test("core: STATUS from the engine is reconciled with the hold", () => {
  const held = run(online(), at(T0, { type: "stop", cpId: "CP-1", reason: "admin" })).model;
  const status = (state: string) => telemetry({ type: "STATUS", engine: "OK", state });
  assert.deepEqual(commands(run(held, status("ACTIVATED")).effects).map((c) => c.type), ["STOP"]);
  assert.deepEqual(commands(run(held, status("STOPPED")).effects), []);
  assert.deepEqual(commands(run(online(), status("STOPPED")).effects).map((c) => c.type), [
    "RESUME",
  ]);
  assert.deepEqual(commands(run(online(), status("ACTIVATED")).effects), []);
});

Deno.test("core: a STATUS without the plugged-in session Central holds ends it with a ticket", () => {
  const model = supplying();
  const same = run(
    model,
    telemetry({ type: "STATUS", engine: "OK", state: "SUPPLYING", sessionId: "S-r1" }),
  );
  assert.equal(same.model.sessions.get("S-r1")?.endedAt, null, "the engine still has it");

  const restarted = run(model, telemetry({ type: "STATUS", engine: "OK", state: "ACTIVATED" }));
  assert.equal(restarted.model.sessions.has("S-r1"), false);
  const ticket = published(restarted.effects).find((u) => u.type === "TICKET");
  assert.ok(ticket?.type === "TICKET");
  assert.deepEqual([ticket.sessionId, ticket.kwh, ticket.endReason], ["S-r1", 2, "fault"]);
  assert.equal(cp(restarted.model).status.state, "ACTIVATED");

  // Authorized but not plugged in: the AUTHORIZE may still be on its way to the engine.
  const waiting = run(online(), charge("r2")).model;
  const early = run(waiting, telemetry({ type: "STATUS", engine: "OK", state: "ACTIVATED" }));
  assert.equal(published(early.effects).length, 0);
  assert.equal(cp(early.model).status.sessionId, cp(waiting).status.sessionId);
});

Deno.test("core: stop all and resume all", () => {
  const model = run(online(), login("CP-2", 2, T0)).model;
  const stopped = run(model, at(T0, { type: "stop", reason: "admin" }));
  assert.deepEqual([...stopped.model.cps.values()].map((c) => c.status.state), [
    "STOPPED",
    "STOPPED",
  ]);
  assert.equal(commands(stopped.effects).length, 2);
  const oneResumed = run(stopped.model, at(T0, { type: "resume", cpId: "CP-2" }));
  const all = run(oneResumed.model, at(T0, { type: "resume" }));
  assert.deepEqual(commands(all.effects).map((c) => c.type), ["RESUME"], "only the held one");
  assert.deepEqual([...all.model.cps.values()].map((c) => c.status.state), [
    "ACTIVATED",
    "ACTIVATED",
  ]);
  assert.deepEqual(
    step(all.model, { type: "stop", cpId: "CP-9", reason: "admin" }, ctx(T0)).effects,
    [],
  );
});

Deno.test("core: step never changes the model it is given", () => {
  const model = supplying();
  const snapshot = structuredClone({ cps: [...model.cps], sessions: [...model.sessions] });
  run(
    model,
    at(T0, { type: "stop", reason: "admin" }),
    at(T0 + 60_000, { type: "tick" }),
    at(T0, { type: "health", cpId: "CP-1", connection: 1, engine: "KO" }),
  );
  assert.deepEqual({ cps: [...model.cps], sessions: [...model.sessions] }, snapshot);
});

Deno.test("core: a driver's cancel ends its session: END_SUPPLY, ticket driver_cancelled, CP free", () => {
  const cancel = (requestId: string, sessionId?: string): Timed =>
    at(T0 + 10_000, {
      type: "cancel_request",
      requestId,
      driverId: "D-1",
      ...(sessionId === undefined ? {} : { sessionId }),
      duplicate: false,
      originIp: "192.168.1.30",
    });
  const { model, effects } = run(supplying(), cancel("c1"));
  assert.equal(cp(model).status.state, "ACTIVATED");
  assert.deepEqual(commands(effects).map((c) => [c.type, "reason" in c ? c.reason : null]), [[
    "END_SUPPLY",
    "driver_cancelled",
  ]]);
  const ticket = published(effects)[0];
  assert.ok(ticket.type === "TICKET");
  assert.deepEqual([ticket.kwh, ticket.endReason], [2, "driver_cancelled"]);
  const audit = effects.flatMap((e) => e.type === "audit" ? [e.entry] : []);
  const cancelled = audit.find((a) => a.action === "charge.cancelled");
  assert.ok(cancelled, "the cancel is audited");
  assert.equal(cancelled.originIp, "192.168.1.30");
  assert.ok(audit.some((a) => a.action === "session.ticket"));

  const again = run(model, cancel("c2"));
  const denied = published(again.effects)[0];
  assert.ok(denied.type === "DENIED");
  assert.equal(denied.reason, "no_session", "nothing left to cancel");
  const other = run(supplying(), cancel("c3", "S-other"));
  assert.equal(published(other.effects)[0].type, "DENIED", "another session is not this one");
  assert.equal(cp(other.model).status.state, "SUPPLYING");
});
