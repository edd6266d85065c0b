import assert from "node:assert/strict";
import { type CheckInput, checkLoop, type SeenMessage } from "./lab_checks.ts";

const msg = (at: number, value: SeenMessage["value"]): SeenMessage => ({ at, value });
const base = (messages: SeenMessage[], over: Partial<CheckInput> = {}): CheckInput => ({
  messages,
  completed: [],
  active: [],
  cps: [],
  prices: { "CP-1": 0.5 },
  answeredBy: 1_000,
  supplyingWithoutDriver: 0,
  ...over,
});
const request = (at: number, id: string) =>
  msg(at, { type: "CHARGE_REQUEST", requestId: id, driverId: "D", cpId: "CP-1" });
const authorized = (at: number, id: string, s: string) =>
  msg(at, { type: "AUTHORIZED", requestId: id, sessionId: s, cpId: "CP-1" });
const ticket = (at: number, s: string, kwh: number, eur = kwh * 0.5) =>
  msg(at, {
    type: "TICKET",
    sessionId: s,
    cpId: "CP-1",
    kwh,
    eur,
    priceEurKwh: 0.5,
    endReason: "target_reached",
  });
const row = (id: string, kwh: number, ended = true) => ({
  id,
  cp_id: "CP-1",
  driver_id: "D",
  ended_at: ended ? "x" : null,
  kwh,
  eur: kwh * 0.5,
  end_reason: ended ? "target_reached" : null,
});

Deno.test("checkLoop: a whole loop passes, identical copies are only counted", () => {
  const { numbers, failures } = checkLoop(base([
    request(1, "r1"),
    authorized(2, "r1", "s1"),
    authorized(3, "r1", "s1"),
    ticket(4, "s1", 2),
    ticket(5, "s1", 2),
    request(6, "r2"),
    msg(7, { type: "DENIED", requestId: "r2", reason: "busy" }),
  ], { completed: [row("s1", 2)] }));
  assert.deepEqual(failures, []);
  assert.equal(numbers.requests, 2);
  assert.equal(numbers.answered, 2);
  assert.equal(numbers.answerCopies, 1);
  assert.equal(numbers.ticketCopies, 1);
  assert.equal(numbers.ticketed, 1);
  assert.equal(numbers.denied, 1);
  assert.equal(numbers.kwhBilled, 2);
});

Deno.test("checkLoop: a second different answer or ticket is a failure", () => {
  const { numbers, failures } = checkLoop(base([
    request(1, "r1"),
    authorized(2, "r1", "s1"),
    msg(3, { type: "DENIED", requestId: "r1", reason: "busy" }),
    ticket(4, "s1", 2),
    ticket(5, "s1", 3),
  ]));
  assert.equal(numbers.answeredTwice, 1);
  assert.equal(numbers.billedTwice, 1);
  assert.equal(failures.length, 2);
});

Deno.test("checkLoop: unanswered old requests and lost sessions fail, new ones are pending", () => {
  const { numbers, failures } = checkLoop(base([
    request(1, "old"),
    request(2_000, "new"),
    request(3, "r3"),
    authorized(4, "r3", "lost"),
    request(5, "r4"),
    authorized(6, "r4", "charging"),
  ], {
    active: [row("charging", 1, false)],
    cps: [{ id: "CP-1", state: "SUPPLYING", driver_id: "D" }],
  }));
  assert.equal(numbers.unanswered, 1);
  assert.equal(numbers.pending, 1);
  assert.equal(numbers.lost, 1);
  assert.equal(numbers.charging, 1);
  assert.equal(numbers.supplyingWithoutSession, 0);
  assert.equal(failures.length, 2);
});

Deno.test("checkLoop: a wrong bill, a foreign price, a ticket unlike Central's all fail", () => {
  const wrong = checkLoop(base([request(1, "r"), authorized(2, "r", "s"), ticket(3, "s", 2, 1.5)]));
  assert.equal(wrong.numbers.wrongBills, 1);
  const unlike = checkLoop(
    base([request(1, "r"), authorized(2, "r", "s"), ticket(3, "s", 2)], {
      completed: [row("s", 3)],
    }),
  );
  assert.equal(unlike.numbers.ticketsUnlikeCentral, 1);
  const orphan = checkLoop(base([ticket(3, "nobody", 1)], { completed: [row("other", 1)] }));
  assert.equal(orphan.numbers.ticketsWithoutSession, 1);
  assert.equal(orphan.numbers.completedWithoutTicket, 1);
});

Deno.test("checkLoop: a CP SUPPLYING without an active session fails", () => {
  const { numbers, failures } = checkLoop(base([], {
    cps: [{ id: "CP-1", state: "SUPPLYING", driver_id: "D" }],
    supplyingWithoutDriver: 2,
  }));
  assert.equal(numbers.supplyingWithoutSession, 3);
  assert.equal(failures.length, 2);
});

Deno.test("driverAnswers: pairs each request in a driver's log with its first answer", async () => {
  const { driverAnswers } = await import("./lab_checks.ts");
  const rec = (ts: string, kind: string, requestId: string) =>
    JSON.stringify({ "@timestamp": ts, properties: { kind, requestId } });
  const log = [
    "Task driver …",
    rec("2026-01-01T00:00:00.000Z", "requested", "a"),
    rec("2026-01-01T00:00:00.400Z", "authorized", "a"),
    rec("2026-01-01T00:00:00.900Z", "authorized", "a"),
    rec("2026-01-01T00:00:01.000Z", "requested", "b"),
    "{not json",
  ].join("\n");
  const answers = driverAnswers(log);
  assert.equal(answers.length, 2);
  assert.equal(answers[0].answeredAt! - answers[0].askedAt, 400);
  assert.equal(answers[1].answeredAt, undefined);
});
