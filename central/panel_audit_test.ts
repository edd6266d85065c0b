import assert from "node:assert/strict";
import { formats } from "../shared/i18n.ts";
import type { AuditRecord } from "./audit_chain.ts";
import { PANEL_TEXT } from "./panel.ts";
import { type AuditView, paramsText, renderAuditView } from "./panel_audit.ts";

// deno-lint-ignore no-control-regex -- reading the frame's text is the point
const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;
const lines = (frame: string) =>
  frame.replace(ESCAPES, "\n").split("\n").map((l) => l.trimEnd()).filter((l) => l !== "");

const HASH = "0".repeat(64);
const record = (seq: number, fields: Partial<AuditRecord>): AuditRecord => ({
  seq,
  ts: new Date(Date.parse("2026-12-06T10:00:00.000Z") + seq * 1000).toISOString(),
  actor: "admin",
  action: "cp.stop",
  outcome: "ok",
  params: {},
  prev_hash: HASH,
  hash: HASH,
  ...fields,
});

const VIEW: AuditView = {
  now: new Date("2026-12-06T10:01:00.000Z"),
  records: [
    record(3, {
      actor: "cp:CP-001",
      action: "cp.maintenance",
      params: { cpId: "CP-001", on: true, state: "STOPPED", stopReason: "maintenance" },
      origin_ip: "192.0.2.7",
    }),
    record(2, {
      actor: "driver:DRV-001",
      action: "charge.denied",
      outcome: "denied",
      params: { cpId: "CP-001", reason: "stopped", origin: "self_reported" },
      origin_ip: "198.51.100.4",
    }),
    record(1, { params: { cpId: "CP-001", via: "panel" } }),
  ],
  total: 3,
  cpId: "CP-001",
  input: "CP-0",
};

Deno.test("audit view in English: time, origin, actor, action, outcome and parameters, newest first", () => {
  const text = lines(renderAuditView(VIEW, { width: 160, height: 20, color: false }));
  const f = formats("en");
  assert.match(text[0], /^EVCharging Central · audit log/);
  assert.ok(text[0].includes("CP CP-001"), text[0]);
  assert.ok(text[0].includes("3 of 3 records, newest first"), text[0]);
  assert.match(text[1], /^TIME +ORIGIN +ACTOR +ACTION +OUTCOME +PARAMETERS$/);
  const maintenance = text[2];
  assert.ok(maintenance.startsWith(f.dateTime(new Date("2026-12-06T10:00:03.000Z"))), maintenance);
  for (
    const words of [
      "192.0.2.7",
      "cp:CP-001",
      "cp.maintenance",
      "cpId=CP-001 on=true state=STOPPED stopReason=maintenance",
    ]
  ) assert.ok(maintenance.includes(words), `${words} in ${maintenance}`);
  assert.ok(text[3].includes("198.51.100.4 (self-reported)"), text[3]);
  assert.ok(text[3].includes("denied"), text[3]);
  assert.ok(text[4].includes("—"), "no origin: a dash");
  assert.ok(text.includes("> CP-0"), "the filter being typed");
  assert.ok(text.at(-1)!.includes("Tab or Esc: back"));
});

Deno.test("audit view in Spanish: the same records with Spanish headings, dates and help", () => {
  const text = lines(renderAuditView(VIEW, { width: 160, height: 20, color: false, lang: "es" }));
  const f = formats("es");
  assert.match(text[0], /^EVCharging Central · registro de auditoría/);
  assert.ok(text[0].includes("punto CP-001"), text[0]);
  assert.ok(text[0].includes("3 de 3 registros"), text[0]);
  assert.match(text[1], /^HORA +ORIGEN +ACTOR +ACCIÓN +RESULTADO +PARÁMETROS$/);
  assert.ok(text[2].startsWith(f.dateTime(new Date("2026-12-06T10:00:03.000Z"))), text[2]);
  assert.ok(text[3].includes("198.51.100.4 (autodeclarada)"), text[3]);
  assert.ok(text.at(-1)!.includes("Tab o Esc: volver"));
  const empty = lines(
    renderAuditView({ ...VIEW, records: [], total: 0, cpId: "" }, {
      width: 80,
      height: 20,
      color: false,
      lang: "es",
    }),
  );
  assert.ok(empty.includes("(ningún registro de auditoría)"), empty.join("\n"));
  assert.ok(!empty[0].includes("punto"), "no filter, no CP in the title");
});

Deno.test("audit view: lines fit the width, the frame the height, colour only when asked, no injected escapes", () => {
  const many: AuditView = {
    ...VIEW,
    records: Array.from(
      { length: 40 },
      (_, i) => record(40 - i, { params: { detail: "x\x1b[2Jy".repeat(20) } }),
    ),
    total: 40,
  };
  const frame = renderAuditView(many, { width: 60, height: 12, color: false });
  const text = lines(frame);
  assert.ok(text.length <= 12, `${text.length} lines`);
  for (const line of text) assert.ok(line.length <= 60, line);
  assert.ok(!frame.includes("\x1b[2J"), "a parameter cannot clear the screen");
  const wide = lines(renderAuditView(many, { width: 120, height: 12, color: false }));
  assert.ok(wide[0].includes("6 of 40"), wide[0]);
  const coloured = renderAuditView(VIEW, { width: 160, height: 20, color: true });
  assert.ok(coloured.includes("\x1b[33m"), "a denied record is yellow");
});

Deno.test("paramsText: strings bare, everything else as JSON", () => {
  assert.equal(
    paramsText({ cpId: "CP-1", on: false, kwh: 1.5, driverId: null }),
    "cpId=CP-1 on=false kwh=1.5 driverId=null",
  );
});

Deno.test("the panel's help names the audit view's key in both languages", () => {
  assert.ok(PANEL_TEXT.en.help.includes("Tab audit"));
  assert.ok(PANEL_TEXT.es.help.includes("Tab auditoría"));
});
