import assert from "node:assert/strict";
import {
  build,
  type DenyReason,
  type DriverUpdate,
  driverUpdateSchema,
} from "../shared/messages.ts";
import {
  DEDUPE_MEMORY,
  DEFAULT_PAUSE_MS,
  type DriverEvent,
  type DriverModel,
  type DriverStep,
  dueAt,
  type Effect,
  FIRST_WAIT_NOTICE_MS,
  initialModel,
  type Input,
  isFree,
  parsePlanFile,
  step,
} from "./core.ts";

const D = "D-001";
const T0 = Date.parse("2025-06-01T10:00:00.000Z");
const iso = (at: number) => new Date(at).toISOString();

/**
 * An input as these tests write it: with the time it happens at and, where the step may send a
 * request, that request's id; {@link stepAt} hands both to the core as its context.
 */
type Timed = Input & { readonly at: number; readonly requestId?: string };

/** One step of the core at the input's time. */
function stepAt(model: DriverModel, timed: Timed): DriverStep {
  const { at, requestId, ...input } = timed;
  return step(model, input as Input, { now: at, freshId: requestId ?? "unused-id" });
}

/** Runs inputs in order; returns the final model and every effect. */
function run(model: DriverModel, ...inputs: Timed[]): { model: DriverModel; effects: Effect[] } {
  const effects: Effect[] = [];
  for (const input of inputs) {
    const next = stepAt(model, input);
    model = next.model;
    effects.push(...next.effects);
  }
  return { model, effects };
}

const events = (effects: readonly Effect[]): DriverEvent[] =>
  effects.flatMap((e) => e.type === "emit" ? [e.event] : []);
const kinds = (effects: readonly Effect[]) => events(effects).map((e) => e.kind);
const sent = (effects: readonly Effect[]) =>
  effects.flatMap((e) => e.type === "send" ? [e.message] : []);

// Valid updates, built with the shared schema so the core sees exactly what the edge passes.
const authorized = (requestId: string, sessionId: string, cpId = "CP-001", driverId = D) =>
  build(driverUpdateSchema, "AUTHORIZED", { requestId, driverId, cpId, sessionId });
const denied = (requestId: string, cpId = "CP-001", reason: DenyReason = "busy") =>
  build(driverUpdateSchema, "DENIED", { requestId, driverId: D, cpId, reason });
const supply = (sessionId: string, kwh: number, at: number, cpId = "CP-001") =>
  build(driverUpdateSchema, "SUPPLY", {
    sessionId,
    driverId: D,
    cpId,
    kw: 22,
    kwh,
    eur: kwh * 0.5,
    ts: iso(at),
  });
const ticket = (sessionId: string, kwh: number, eur: number, cpId = "CP-001") =>
  build(driverUpdateSchema, "TICKET", {
    sessionId,
    driverId: D,
    cpId,
    kwh,
    eur,
    seconds: 60,
    endReason: "unplugged",
    priceEurKwh: 0.5,
  });
const cpList = (requestId?: string) =>
  build(driverUpdateSchema, "CP_LIST", {
    driverId: D,
    ...(requestId === undefined ? {} : { requestId }),
    cps: [{
      id: "CP-001",
      location: "Alicante",
      priceEurKwh: 0.5,
      powerKw: 22,
      state: "ACTIVATED",
    }],
  });

const update = (u: DriverUpdate, at = T0): Timed => ({ type: "update", at, update: u });
const charge = (cpId: string, requestId: string, at = T0): Timed => ({
  type: "charge",
  at,
  requestId,
  cpId,
});
const tick = (at: number, requestId = "tick"): Timed => ({ type: "tick", at, requestId });

Deno.test("core: idle → requested sends a CHARGE_REQUEST keyed to the driver", () => {
  const { model: state, effects } = run(initialModel({ driverId: D }), charge("CP-001", "r1"));
  assert.deepEqual(sent(effects), [{
    v: 1,
    type: "CHARGE_REQUEST",
    requestId: "r1",
    driverId: D,
    cpId: "CP-001",
    ts: iso(T0),
  }]);
  assert.deepEqual(kinds(effects), ["requested"]);
  assert.equal(state.phase.kind, "requested");
  assert.equal(isFree(state), false);
});

Deno.test("core: every request carries the host's own address when it is known", () => {
  const state = initialModel({ driverId: D, originIp: "192.168.1.30" });
  const { effects } = run(state, { type: "list", at: T0, requestId: "l1" }, charge("CP-001", "r1"));
  assert.deepEqual(sent(effects).map((m) => [m.type, m.originIp]), [
    ["CP_LIST_REQUEST", "192.168.1.30"],
    ["CHARGE_REQUEST", "192.168.1.30"],
  ]);
});

Deno.test("core: requested → authorized → supplying → ticketed, the ticket counted", () => {
  let { model: state } = run(initialModel({ driverId: D }), charge("CP-001", "r1"));
  const r = run(
    state,
    update(authorized("r1", "s1")),
    update(supply("s1", 1, T0 + 1000), T0 + 1000),
    update(supply("s1", 2, T0 + 2000), T0 + 2000),
  );
  state = r.model;
  assert.deepEqual(kinds(r.effects), ["authorized", "supply", "supply"]);
  const [auth, first, second] = events(r.effects);
  assert.ok(auth.kind === "authorized" && auth.followed && auth.sessionId === "s1");
  assert.ok(first.kind === "supply" && first.first && second.kind === "supply" && !second.first);
  assert.ok(state.phase.kind === "supplying");
  assert.equal(state.phase.figures.kwh, 2);
  assert.equal(state.phase.since, T0 + 1000);

  const end = run(state, update(ticket("s1", 2.5, 1.25), T0 + 3000));
  assert.deepEqual(kinds(end.effects), ["ticket"]);
  assert.ok(end.model.phase.kind === "ticketed");
  assert.equal(end.model.phase.ticket.late, false);
  assert.equal(end.model.summary.tickets.length, 1);
  assert.equal(end.model.summary.kwh, 2.5);
  assert.equal(end.model.summary.eur, 1.25);
  assert.ok(isFree(end.model), "a new charge may follow a ticket");
});

Deno.test("core: a session never plugged in ends authorized → ticketed (plug_timeout)", () => {
  const timeout = build(driverUpdateSchema, "TICKET", {
    sessionId: "s1",
    driverId: D,
    cpId: "CP-001",
    kwh: 0,
    eur: 0,
    seconds: 60,
    endReason: "plug_timeout",
    priceEurKwh: 0.5,
  });
  const { model: state, effects } = run(
    initialModel({ driverId: D }),
    charge("CP-001", "r1"),
    update(authorized("r1", "s1")),
    update(timeout),
  );
  assert.deepEqual(kinds(effects), ["requested", "authorized", "ticket"]);
  assert.ok(state.phase.kind === "ticketed" && state.phase.ticket.endReason === "plug_timeout");
  assert.equal(state.summary.tickets.length, 1);
});

Deno.test("core: requested → denied keeps the reason; a new charge may follow", () => {
  const { model: state, effects } = run(
    initialModel({ driverId: D }),
    charge("CP-002", "r1"),
    update(denied("r1", "CP-002", "busy")),
  );
  assert.deepEqual(kinds(effects), ["requested", "denied"]);
  assert.ok(state.phase.kind === "denied");
  assert.equal(state.phase.denial.reason, "busy");
  assert.equal(state.phase.denial.late, false);
  assert.deepEqual(state.summary.denials.map((d) => [d.cpId, d.reason]), [["CP-002", "busy"]]);
  assert.ok(isFree(state));
  assert.deepEqual(kinds(stepAt(state, charge("CP-003", "r2")).effects), ["requested"]);
});

Deno.test("core: duplicate answers (by requestId) and tickets (by sessionId) are dropped", () => {
  const { model: state, effects } = run(
    initialModel({ driverId: D }),
    charge("CP-001", "r1"),
    update(authorized("r1", "s1")),
    update(authorized("r1", "s1")),
    update(ticket("s1", 1, 0.5)),
    update(ticket("s1", 1, 0.5)),
    { type: "list", at: T0, requestId: "l1" },
    update(cpList("l1")),
    update(cpList("l1")),
    charge("CP-002", "r2"),
    update(denied("r2", "CP-002")),
    update(denied("r2", "CP-002")),
  );
  assert.deepEqual(kinds(effects), [
    "requested",
    "authorized",
    "ignored",
    "ticket",
    "ignored",
    "list_requested",
    "cp_list",
    "ignored",
    "requested",
    "denied",
    "ignored",
  ]);
  assert.ok(
    events(effects).filter((e) => e.kind === "ignored").every((e) => e.reason === "duplicate"),
  );
  assert.equal(state.summary.ignored.duplicate, 4);
  assert.equal(state.summary.tickets.length, 1);
  assert.equal(state.summary.denials.length, 1);
  assert.equal(state.summary.kwh, 1);
});

Deno.test("core: live figures never run backwards, and none follow the ticket", () => {
  const { model: state, effects } = run(
    initialModel({ driverId: D }),
    charge("CP-001", "r1"),
    update(authorized("r1", "s1")),
    update(supply("s1", 2, T0 + 2000)),
    update(supply("s1", 1, T0 + 1000)), // an older row resent by Central
    update(ticket("s1", 2, 1)),
    update(supply("s1", 2, T0 + 2000)),
  );
  assert.deepEqual(kinds(effects), [
    "requested",
    "authorized",
    "supply",
    "ignored",
    "ticket",
    "ignored",
  ]);
  assert.equal(state.summary.ignored.stale, 2);
});

Deno.test("core: CP_LIST answers its request; an unsolicited one is shown too", () => {
  let r = run(initialModel({ driverId: D }), { type: "list", at: T0, requestId: "l1" });
  assert.deepEqual(sent(r.effects).map((m) => [m.type, m.requestId]), [["CP_LIST_REQUEST", "l1"]]);
  assert.deepEqual(r.model.pendingLists, ["l1"]);
  r = run(r.model, update(cpList("l1"), T0 + 5));
  assert.deepEqual(r.model.pendingLists, []);
  assert.equal(r.model.cpList?.at, T0 + 5);
  assert.equal(r.model.cpList?.cps[0].id, "CP-001");
  r = run(r.model, update(cpList()));
  assert.deepEqual(kinds(r.effects), ["cp_list"]);
});

Deno.test("core: a charge is refused while a conversation is open, for a bad id, in file mode", () => {
  const refused = (state: DriverModel, input: Timed) => {
    const r = stepAt(state, input);
    assert.deepEqual(sent(r.effects), []);
    const [event] = events(r.effects);
    assert.equal(event.kind, "refused");
    assert.equal(r.model, state);
    return event.kind === "refused" ? event.detail : "";
  };
  const idle = initialModel({ driverId: D });
  assert.match(refused(idle, charge("x", "r0")), /not a CP id/);
  const requested = stepAt(idle, charge("CP-001", "r1")).model;
  assert.match(refused(requested, charge("CP-002", "r2")), /waiting for the answer for CP-001/);
  const open = stepAt(requested, update(authorized("r1", "s1"))).model;
  assert.match(refused(open, charge("CP-002", "r2")), /session s1 at CP-001 is still open/);
  const supplying = stepAt(open, update(supply("s1", 1, T0))).model;
  assert.match(refused(supplying, charge("CP-002", "r2")), /still open/);
  const file = initialModel({ driverId: D, plan: ["CP-001"] });
  assert.match(refused(file, charge("CP-002", "r2")), /file of CP ids is running/);
});

Deno.test("core: file mode sends the first id at start, pauses 4 s after each outcome, then finishes", () => {
  let state = initialModel({ driverId: D, plan: ["CP-001", "CP-002", "CP-003"] });
  assert.equal(state.pauseMs, DEFAULT_PAUSE_MS);
  assert.equal(dueAt(state), undefined);

  let r = run(state, { type: "start", at: T0, requestId: "r1" });
  assert.deepEqual(sent(r.effects).map((m) => m.type === "CHARGE_REQUEST" && m.cpId), ["CP-001"]);
  const [requested] = events(r.effects);
  assert.ok(requested.kind === "requested");
  assert.deepEqual(requested.step, { index: 0, of: 3, round: 1 });

  // CP-001 charges; the ticket starts the pause.
  r = run(
    r.model,
    update(authorized("r1", "s1")),
    update(supply("s1", 1, T0 + 1000)),
    update(ticket("s1", 1, 0.5), T0 + 10_000),
  );
  assert.deepEqual(kinds(r.effects), ["authorized", "supply", "ticket", "paused"]);
  const paused = events(r.effects).at(-1);
  assert.deepEqual(paused, {
    kind: "paused",
    at: T0 + 10_000,
    until: T0 + 14_000,
    nextCpId: "CP-002",
  });
  state = r.model;
  assert.equal(dueAt(state), T0 + 14_000);

  // Not a millisecond early.
  r = run(state, tick(T0 + 13_999));
  assert.deepEqual(r.effects, []);
  r = run(r.model, tick(T0 + 14_000, "r2"));
  assert.deepEqual(sent(r.effects).map((m) => m.type === "CHARGE_REQUEST" && m.cpId), ["CP-002"]);
  assert.equal(r.model.plan?.resumeAt, null);

  // CP-002 is denied: the same pause.
  r = run(r.model, update(denied("r2", "CP-002"), T0 + 15_000));
  assert.deepEqual(kinds(r.effects), ["denied", "paused"]);
  assert.equal(dueAt(r.model), T0 + 15_000 + DEFAULT_PAUSE_MS);
  r = run(r.model, tick(T0 + 19_000, "r3"));
  assert.deepEqual(sent(r.effects).map((m) => m.type === "CHARGE_REQUEST" && m.cpId), ["CP-003"]);

  // The last outcome finishes the run, without a pause.
  r = run(r.model, update(denied("r3", "CP-003", "unknown_cp"), T0 + 20_000));
  assert.deepEqual(kinds(r.effects), ["denied", "finished"]);
  const finished = events(r.effects).at(-1);
  assert.ok(finished?.kind === "finished");
  assert.equal(finished.summary.tickets.length, 1);
  assert.equal(finished.summary.denials.length, 2);
  assert.equal(r.model.plan?.finished, true);
  assert.equal(dueAt(r.model), undefined);
});

Deno.test("core: --pause changes the pause; --loop starts the file again", () => {
  let r = run(
    initialModel({ driverId: D, plan: ["CP-001", "CP-002"], loop: true, pauseMs: 1500 }),
    { type: "start", at: T0, requestId: "r1" },
    update(denied("r1", "CP-001"), T0 + 100),
  );
  assert.equal(dueAt(r.model), T0 + 1600);
  r = run(r.model, tick(T0 + 1600, "r2"), update(denied("r2", "CP-002"), T0 + 1700));
  const paused = events(r.effects).at(-1);
  assert.deepEqual(paused, { kind: "paused", at: T0 + 1700, until: T0 + 3200, nextCpId: "CP-001" });
  r = run(r.model, tick(T0 + 3200, "r3"));
  const [again] = events(r.effects);
  assert.ok(again.kind === "requested" && again.cpId === "CP-001");
  assert.deepEqual(again.step, { index: 0, of: 2, round: 2 });
  assert.equal(r.model.plan?.finished, false);
});

Deno.test("core: an unanswered request keeps waiting and says so, at growing intervals", () => {
  let r = run(initialModel({ driverId: D, plan: ["CP-001"] }), {
    type: "start",
    at: T0,
    requestId: "r1",
  });
  assert.equal(dueAt(r.model), T0 + FIRST_WAIT_NOTICE_MS);
  const notices: number[] = [];
  for (let i = 0; i < 6; i++) {
    const at = dueAt(r.model)!;
    r = run(r.model, tick(at));
    const [event] = events(r.effects);
    assert.ok(event.kind === "waiting" && event.cpId === "CP-001" && event.requestId === "r1");
    notices.push(event.seconds);
    assert.deepEqual(sent(r.effects), [], "the request is never re-sent or given up");
  }
  assert.deepEqual(notices, [10, 20, 40, 80, 140, 200]); // gaps double, then stay at 60 s
  assert.equal(r.model.phase.kind, "requested");
  // Central comes back: the answer still lands.
  r = run(r.model, update(authorized("r1", "s1"), T0 + 300_000));
  assert.equal(r.model.phase.kind, "authorized");
  assert.equal(dueAt(r.model), undefined);
});

Deno.test("core: a TICKET after a restart, for a session this process never saw, is shown and counted", () => {
  // Interactive: nothing open, so it is simply shown and counted.
  let r = run(initialModel({ driverId: D }), update(ticket("old", 3, 1.5, "CP-004")));
  let [event] = events(r.effects);
  assert.ok(event.kind === "ticket" && event.ticket.late && event.ticket.cpId === "CP-004");
  assert.equal(r.model.summary.tickets.length, 1);
  assert.equal(r.model.summary.kwh, 3);
  assert.equal(r.model.summary.eur, 1.5);

  // File mode, its first request out: counted, and the current request is untouched.
  r = run(
    initialModel({ driverId: D, plan: ["CP-001"] }),
    { type: "start", at: T0, requestId: "r1" },
    update(ticket("old", 3, 1.5, "CP-004")),
  );
  event = events(r.effects).at(-1)!;
  assert.ok(event.kind === "ticket" && event.ticket.late);
  assert.equal(r.model.summary.tickets.length, 1);
  assert.ok(r.model.phase.kind === "requested" && r.model.phase.requestId === "r1");
  // …and then the same ticket again is a duplicate.
  assert.deepEqual(kinds(stepAt(r.model, update(ticket("old", 3, 1.5, "CP-004"))).effects), [
    "ignored",
  ]);
});

Deno.test("core: with nothing open, a session from before a restart is followed to its ticket", () => {
  const r = run(
    initialModel({ driverId: D }),
    update(supply("old", 1, T0), T0),
    update(supply("old", 2, T0 + 1000), T0 + 1000),
    update(ticket("old", 2.5, 1.25)),
  );
  assert.deepEqual(kinds(r.effects), ["supply", "supply", "ticket"]);
  const [first] = events(r.effects);
  assert.ok(first.kind === "supply" && first.first);
  const t = events(r.effects).at(-1)!;
  assert.ok(t.kind === "ticket" && t.ticket.late, "not requested here: late");
  assert.equal(r.model.phase.kind, "ticketed");
});

Deno.test("core: with a conversation open, another session is noted, not followed; its ticket counts", () => {
  const r = run(
    initialModel({ driverId: D }),
    charge("CP-001", "r1"),
    update(authorized("r0", "old", "CP-009")), // answer to a request sent before a restart
    update(supply("old", 1, T0)),
    update(denied("rX", "CP-008")), // another one
    update(ticket("old", 1, 0.5, "CP-009")),
  );
  assert.deepEqual(kinds(r.effects), ["requested", "authorized", "ignored", "denied", "ticket"]);
  const [, auth, ignored, denial, t] = events(r.effects);
  assert.ok(auth.kind === "authorized" && !auth.followed);
  assert.ok(ignored.kind === "ignored" && ignored.reason === "other_session");
  assert.ok(denial.kind === "denied" && denial.denial.late);
  assert.ok(t.kind === "ticket" && t.ticket.late);
  assert.ok(r.model.phase.kind === "requested" && r.model.phase.requestId === "r1");
  assert.equal(r.model.summary.denials.length, 1);
  assert.equal(r.model.summary.tickets.length, 1);
});

Deno.test("core: updates for another driver and invalid updates are dropped and counted", () => {
  const r = run(
    initialModel({ driverId: D }),
    charge("CP-001", "r1"),
    update(authorized("r1", "s1", "CP-001", "D-999")),
    { type: "invalid", at: T0, reason: "driver.updates/0@7: kwh: required" },
  );
  assert.deepEqual(kinds(r.effects), ["requested", "ignored", "ignored"]);
  assert.ok(
    events(r.effects).slice(1).every((e) => e.kind === "ignored" && e.reason === "invalid"),
  );
  assert.equal(r.model.summary.ignored.invalid, 2);
  assert.equal(r.model.phase.kind, "requested", "the conversation goes on");
});

Deno.test("core: the summary adds up every ticket and lists every denial", () => {
  const r = run(
    initialModel({ driverId: D }),
    update(ticket("a", 1.25, 0.625)),
    update(ticket("b", 10.5, 3.15)),
    update(ticket("c", 0, 0)),
    update(denied("x", "CP-002", "busy")),
    update(denied("y", "CP-003", "weather")),
  );
  const s = r.model.summary;
  assert.equal(s.tickets.length, 3);
  assert.equal(s.kwh, 1.25 + 10.5 + 0);
  assert.equal(s.eur, 0.625 + 3.15 + 0);
  assert.deepEqual(s.denials.map((d) => d.reason), ["busy", "weather"]);
});

Deno.test("core: dedupe memory is bounded; the oldest ids are forgotten", () => {
  let state = initialModel({ driverId: D });
  for (let i = 0; i <= DEDUPE_MEMORY; i++) {
    state = stepAt(state, update(ticket(`s${i}`, 0, 0))).model;
  }
  assert.equal(state.ticketed.length, DEDUPE_MEMORY);
  assert.equal(state.ticketed.includes("s0"), false);
  assert.equal(state.ticketed.includes(`s${DEDUPE_MEMORY}`), true);
});

Deno.test("core: a plan must hold valid CP ids", () => {
  assert.throws(() => initialModel({ driverId: D, plan: [] }), RangeError);
  assert.throws(() => initialModel({ driverId: D, plan: ["CP-001", "no way"] }), RangeError);
  // A start without a plan does nothing.
  assert.deepEqual(
    stepAt(initialModel({ driverId: D }), { type: "start", at: T0, requestId: "r" }).effects,
    [],
  );
});

Deno.test("core: parsePlanFile skips blanks and comments and reports bad lines by number", () => {
  const file = [
    "# morning route",
    "CP-001",
    "",
    "  CP-002   # trailing comment",
    "not a cp id",
    "CP-001\r",
    "x",
    "   ",
  ].join("\n");
  assert.deepEqual(parsePlanFile(file), {
    cpIds: ["CP-001", "CP-002", "CP-001"],
    errors: [{ line: 5, text: "not a cp id" }, { line: 7, text: "x" }],
  });
  assert.deepEqual(parsePlanFile(""), { cpIds: [], errors: [] });
});

Deno.test("core: x cancels the open charge with a CANCEL_REQUEST; without one it is refused", () => {
  const cancel = (requestId: string, at = T0 + 2000): Timed => ({ type: "cancel", at, requestId });
  const idle = run(initialModel({ driverId: D }), cancel("x0"));
  assert.deepEqual(sent(idle.effects), []);
  const refused = events(idle.effects)[0];
  assert.ok(refused.kind === "refused" && /no charge to cancel/.test(refused.detail));

  const { model: state } = run(
    initialModel({ driverId: D }),
    charge("CP-001", "r1"),
    update(authorized("r1", "s1")),
    update(supply("s1", 1, T0 + 1000), T0 + 1000),
  );
  const asked = run(state, cancel("x1"));
  const [message] = sent(asked.effects);
  assert.ok(message.type === "CANCEL_REQUEST");
  assert.deepEqual([message.requestId, message.driverId, message.sessionId], ["x1", D, "s1"]);
  const event = events(asked.effects)[0];
  assert.ok(event.kind === "cancel_requested" && event.cpId === "CP-001");

  const cancelled = build(driverUpdateSchema, "TICKET", {
    sessionId: "s1",
    driverId: D,
    cpId: "CP-001",
    kwh: 1,
    eur: 0.5,
    seconds: 2,
    endReason: "driver_cancelled",
    priceEurKwh: 0.5,
  });
  const end = run(asked.model, update(cancelled, T0 + 3000));
  assert.ok(end.model.phase.kind === "ticketed");
  assert.equal(end.model.phase.ticket.endReason, "driver_cancelled");
  assert.ok(isFree(end.model));
});
