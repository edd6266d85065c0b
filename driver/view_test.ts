import assert from "node:assert/strict";
import type { CpListEntry } from "../shared/messages.ts";
import { plain } from "../shared/terminal.ts";
import { type DriverModel, initialModel, type Summary, type TicketLine } from "./core.ts";
import {
  denialsByReason,
  describeEvent,
  durationText,
  parseCommand,
  screenLines,
  type ScreenView,
  statusLine,
  summaryFields,
  summaryLines,
  totalsText,
} from "./view.ts";

const T0 = Date.parse("2025-06-01T10:00:00.000Z");

const cps: CpListEntry[] = [
  { id: "CP-001", location: "Alicante", priceEurKwh: 0.5, powerKw: 22, state: "ACTIVATED" },
  { id: "CP-002", location: "Elche", priceEurKwh: 0.4, powerKw: 50, state: "BROKEN" },
];

const ticket = (cpId: string, kwh: number, eur: number, late = false): TicketLine => ({
  sessionId: `s-${cpId}`,
  cpId,
  kwh,
  eur,
  seconds: 187,
  endReason: "unplugged",
  priceEurKwh: 0.5,
  ts: new Date(T0).toISOString(),
  late,
});

const summary: Summary = {
  tickets: [ticket("CP-001", 1.2346, 0.6173), ticket("CP-004", 2, 1, true)],
  denials: [
    { requestId: "a", cpId: "CP-002", reason: "busy", detail: undefined, ts: "", late: false },
    {
      requestId: "b",
      cpId: "CP-009",
      reason: "unknown_cp",
      detail: "no such CP",
      ts: "",
      late: false,
    },
    { requestId: "c", cpId: "CP-003", reason: "busy", detail: undefined, ts: "", late: false },
  ],
  kwh: 3.2346,
  eur: 1.6173,
  ignored: { duplicate: 2, invalid: 1, stale: 0, other_session: 0 },
};

Deno.test("view: typed commands", () => {
  assert.deepEqual(parseCommand("", cps), { type: "none" });
  assert.deepEqual(parseCommand("  l ", cps), { type: "list" });
  assert.deepEqual(parseCommand("x", cps), { type: "cancel" });
  assert.deepEqual(parseCommand("CANCEL", cps), { type: "cancel" });
  assert.deepEqual(parseCommand("LIST", cps), { type: "list" });
  assert.deepEqual(parseCommand("CP-002", cps), { type: "charge", cpId: "CP-002" });
  assert.deepEqual(parseCommand("c CP-007", cps), { type: "charge", cpId: "CP-007" });
  assert.deepEqual(parseCommand("charge 2", cps), { type: "charge", cpId: "CP-002" });
  assert.deepEqual(parseCommand("1", cps), { type: "charge", cpId: "CP-001" });
  assert.equal(parseCommand("3", cps).type, "unknown");
  assert.equal(parseCommand("c", cps).type, "unknown");
  assert.deepEqual(parseCommand("s", cps), { type: "summary" });
  assert.deepEqual(parseCommand("?", cps), { type: "help" });
  assert.deepEqual(parseCommand("quit", cps), { type: "quit" });
  assert.equal(parseCommand("charge at CP-001", cps).type, "unknown");
});

Deno.test("view: durations, totals and denials by reason", () => {
  assert.equal(durationText(0), "0s");
  assert.equal(durationText(45.4), "45s");
  assert.equal(durationText(187), "3m 07s");
  assert.equal(durationText(3723), "1h 02m 03s");
  assert.equal(totalsText(summary), "2 tickets, 3 denials, 3.235 kWh, €1.62");
  assert.equal(nbsp(totalsText(summary, "es")), "2 tiques, 3 denegaciones, 3,235 kWh, 1,62 €");
  assert.deepEqual(denialsByReason(summary), [["busy", 2], ["unknown_cp", 1]]);
  assert.deepEqual(summaryFields(summary), {
    tickets: 2,
    denials: 3,
    kwh: 3.2346,
    eur: 1.6173,
    deniedBy: { busy: 2, unknown_cp: 1 },
    ignored: { duplicate: 2, invalid: 1, stale: 0, other_session: 0 },
  });
});

Deno.test("view: the summary lists every ticket and denial", () => {
  const lines = summaryLines("D-001", summary, plain);
  assert.equal(lines[0], "Summary for driver D-001: 2 tickets, 3 denials, 3.235 kWh, €1.62");
  assert.match(lines[1], /ticket {2}CP-001 +1\.235 kWh +€0\.62 {2}3m 07s +unplugged$/);
  assert.match(lines[2], /CP-004 .*\(from before this run\)$/);
  assert.match(lines[4], /denied {2}CP-009 +unknown CP — no such CP$/);
  assert.equal(lines.at(-2), "  denials by reason: busy ×2, unknown CP ×1");
  assert.equal(lines.at(-1), "  ignored updates: 2 duplicate, 1 invalid");
});

Deno.test("view: events become log lines with the right level and fields", () => {
  const waiting = describeEvent({
    kind: "waiting",
    at: T0,
    requestId: "r1",
    cpId: "CP-001",
    seconds: 20,
  });
  assert.equal(waiting.level, "warning");
  assert.match(waiting.text, /No answer for CP-001 after 20 s; still waiting/);
  assert.deepEqual(waiting.properties, {
    kind: "waiting",
    cpId: "CP-001",
    requestId: "r1",
    seconds: 20,
  });
  const t = describeEvent({ kind: "ticket", at: T0, ticket: ticket("CP-001", 1.2346, 0.6173) });
  assert.equal(t.text, "Ticket at CP-001: 1.235 kWh, €0.62 in 3m 07s (unplugged)");
  assert.equal(t.properties.kwh, 1.2346, "JSON keeps full precision");
  const supply = { kind: "supply", at: T0, cpId: "CP-001", sessionId: "s", kw: 22 } as const;
  assert.equal(describeEvent({ ...supply, kwh: 1, eur: 0.5, first: true }).level, "info");
  assert.equal(describeEvent({ ...supply, kwh: 2, eur: 1, first: false }).level, "debug");
  const ignored = (reason: "invalid" | "duplicate") =>
    describeEvent({ kind: "ignored", at: T0, reason, detail: "x" }).level;
  assert.equal(ignored("invalid"), "warning");
  assert.equal(ignored("duplicate"), "debug");
});

/** D-001 on a plan of CP-001 then CP-002, supplying at CP-001 with these figures a minute in. */
function supplyingAt(kwh: number, eur: number): DriverModel {
  const base = initialModel({ driverId: "D-001", plan: ["CP-001", "CP-002"] });
  return {
    ...base,
    plan: { ...base.plan!, next: 1, round: 1 },
    phase: {
      kind: "supplying",
      cpId: "CP-001",
      sessionId: "s",
      since: T0,
      requestedHere: true,
      figures: { kw: 22, kwh, eur, ts: "", at: T0 + 60_000 },
    },
  };
}

/** The screen of D-001 holding the list of `cps`, with nothing typed or logged unless `view` says. */
const listScreen = (view: Partial<ScreenView>) =>
  screenLines({
    state: { ...initialModel({ driverId: "D-001" }), cpList: { cps, at: T0 } },
    now: T0,
    brokers: ["127.0.0.1:9092"],
    input: "",
    recent: [],
    showSummary: false,
    ...view,
  }, plain);

Deno.test("view: the status line shows live figures and where a file run stands", () => {
  const supplying = supplyingAt(1.5, 0.75);
  assert.equal(
    statusLine(supplying, T0 + 61_000, plain),
    "SUPPLYING at CP-001  22.0 kW  1.500 kWh  €0.75  1m 01s  (1 of 2)",
  );
  assert.match(statusLine(supplying, T0 + 65_000, plain), /\(no figures for 5s\)/);
  const pausing: DriverModel = {
    ...supplying,
    phase: { kind: "ticketed", ticket: ticket("CP-001", 1.5, 0.75) },
    plan: { ...supplying.plan!, resumeAt: T0 + 3_500 },
  };
  assert.match(statusLine(pausing, T0, plain), /\(1 of 2\) · next CP-002 in 4s$/);
});

Deno.test("view: the screen shows the list numbered, recent lines and the command line", () => {
  const lines = listScreen({ input: "CP-0", recent: ["10:00:00 hello"] });
  assert.equal(lines[0], "EVCharging · driver D-001  · 127.0.0.1:9092");
  assert.ok(
    lines.some((l) => /^ +1 {2}CP-001 +Alicante +€0\.50\/kWh +22\.0 kW {2}ACTIVATED$/.test(l)),
  );
  assert.ok(lines.some((l) => /^ +2 {2}CP-002 .*BROKEN$/.test(l)));
  assert.ok(lines.includes("  10:00:00 hello"));
  assert.equal(lines.at(-1), "> CP-0");
});

const nbsp = (s: string) => s.replaceAll("\u00a0", " ");

Deno.test("view in Spanish: the screen lists CPs in the seeds' words with es-ES prices", () => {
  const lines = listScreen({ lang: "es" }).map(nbsp);
  assert.equal(lines[0], "EVCharging · conductor D-001  · 127.0.0.1:9092");
  assert.ok(
    lines.some((l) => /^ +1 {2}CP-001 +Alicante +0,50 €\/kWh +22,0 kW {2}ACTIVADO$/.test(l)),
    lines.join("\n"),
  );
  assert.ok(lines.some((l) => /^ +2 {2}CP-002 .*AVERIADO$/.test(l)));
  for (const words of ["Puntos de recarga", "Reciente", "l lista · <n> o <id> cargar"]) {
    assert.ok(lines.some((l) => l.includes(words)), words);
  }
  assert.ok(!lines.some((l) => /ACTIVATED|BROKEN|Charging points/.test(l)), "no English left");
});

Deno.test("view in Spanish: status, tickets, denials and the summary", () => {
  const supplying = supplyingAt(6.04, 2.3);
  assert.equal(
    nbsp(statusLine(supplying, T0 + 61_000, plain, "es")),
    "SUMINISTRANDO en CP-001  22,0 kW  6,040 kWh  2,30 €  1m 01s  (1 de 2)",
  );
  const ticketLine = describeEvent(
    { kind: "ticket", at: T0, ticket: ticket("CP-001", 6.04, 2.3) },
    "es",
  );
  assert.equal(
    nbsp(ticketLine.text),
    "Tique en CP-001: 6,040 kWh, 2,30 € en 3m 07s (desenchufado)",
  );
  assert.equal(ticketLine.properties.kwh, 6.04, "the fields stay as they are");
  const lines = summaryLines("D-001", summary, plain, "es").map(nbsp);
  assert.equal(
    lines[0],
    "Resumen del conductor D-001: 2 tiques, 3 denegaciones, 3,235 kWh, 1,62 €",
  );
  assert.match(lines[4], /denegado {2}CP-009 +punto desconocido — no such CP$/);
  assert.equal(lines.at(-2), "  denegaciones por motivo: ocupado ×2, punto desconocido ×1");
  const bad = parseCommand("7", cps, "es");
  assert.deepEqual(bad, {
    type: "unknown",
    detail: "no hay punto número 7 en la lista (l los lista)",
  });
});

Deno.test("view: the screen names the cancel key, and a cancel sent is told, in both languages", () => {
  const view = {
    state: initialModel({ driverId: "D-001" }),
    now: T0,
    brokers: ["127.0.0.1:9092"],
    input: "",
    recent: [],
    showSummary: false,
  };
  assert.ok(screenLines(view, plain).some((l) => l.includes("x cancel the charge")));
  assert.ok(
    screenLines({ ...view, lang: "es" }, plain).some((l) => l.includes("x cancelar la recarga")),
  );
  const event = {
    kind: "cancel_requested",
    at: T0,
    requestId: "x1",
    cpId: "CP-001",
    sessionId: "s1",
  } as const;
  assert.equal(
    describeEvent(event).text,
    "Asked Central to cancel the charge at CP-001 (session s1)",
  );
  assert.equal(
    describeEvent(event, "es").text,
    "Pedido a la Central cancelar la recarga en CP-001 (sesión s1)",
  );
  assert.equal(describeEvent(event).properties.sessionId, "s1");
});
