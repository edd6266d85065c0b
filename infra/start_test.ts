import assert from "node:assert/strict";
import { plain as noPaint } from "../shared/terminal.ts";
import type { CpView } from "./network.ts";
import {
  changeLines,
  demoLine,
  ocppLine,
  processesText,
  renderStatus,
  stateText,
  type StatusView,
} from "./start.ts";
import { foldCpLine, NO_CHILDREN } from "./local_cp_control.ts";

/** What the status screen is given for a network in `data/network`, with `fields` on top. */
const view = (fields: Partial<StatusView>): StatusView => ({
  centralUrl: "http://127.0.0.1:8080",
  adminTokenFile: "data/network/central_admin.token",
  logDir: "data/network/logs",
  cps: [],
  ...fields,
});

// deno-lint-ignore no-control-regex
const plain = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

function cpView(fields: Partial<CpView> = {}): CpView {
  return {
    id: "CP-001",
    location: "Alicante",
    state: "ACTIVATED",
    stop_reason: null,
    driver_id: null,
    kwh: null,
    eur: null,
    key_version: 1,
    key_revoked: false,
    ...fields,
  };
}

Deno.test("stateText colours states as ARCHITECTURE §CP states and names the stop reason", () => {
  assert.equal(stateText(cpView()), "\x1b[32mACTIVATED\x1b[0m");
  assert.equal(stateText(cpView({ state: "SUPPLYING" })), "\x1b[32mSUPPLYING\x1b[0m");
  assert.equal(
    stateText(cpView({ state: "STOPPED", stop_reason: "weather" })),
    "\x1b[38;5;208mSTOPPED · Out of Order (weather)\x1b[0m",
  );
  assert.equal(stateText(cpView({ state: "BROKEN" })), "\x1b[31mBROKEN\x1b[0m");
  assert.equal(stateText(cpView({ state: "DISCONNECTED" })), "\x1b[90mDISCONNECTED\x1b[0m");
});

Deno.test("renderStatus shows where things are, then one row per CP with its live figures", () => {
  const lines = renderStatus(view({
    supervisorUrl: "http://127.0.0.1:8099",
    cps: [
      cpView({ state: "SUPPLYING", driver_id: "DRV-001", kwh: 1.23456, eur: 0.4321 }),
      cpView({ id: "CP-002", location: "Madrid", state: "BROKEN" }),
    ],
  })).map(plain);
  assert.ok(lines.some((l) => l.startsWith("Dashboard") && l.includes("http://127.0.0.1:8080/")));
  assert.ok(lines.some((l) => l.includes("data/network/central_admin.token")));
  assert.ok(lines.some((l) => l.startsWith("Local CPs") && l.includes("http://127.0.0.1:8099")));
  const row = lines.find((l) => l.startsWith("CP-001"));
  assert.match(row ?? "", /Alicante\s+DRV-001\s+1\.235\s+0\.43\s+SUPPLYING$/);
  assert.match(lines.find((l) => l.startsWith("CP-002")) ?? "", /Madrid\s+BROKEN$/);
});

Deno.test("renderStatus in Spanish: the seeds' state words and decimal commas", () => {
  const lines = renderStatus(view({
    cps: [
      cpView({ state: "SUPPLYING", driver_id: "DRV-001", kwh: 1.23456, eur: 0.4321 }),
      cpView({ id: "CP-002", state: "STOPPED", stop_reason: "weather" }),
      cpView({ id: "CP-003", state: "DISCONNECTED" }),
    ],
    lang: "es",
  })).map(plain);
  assert.equal(lines[0], "EVCharging red local   Ctrl-C lo para todo");
  assert.match(lines.find((l) => l.startsWith("CP-001")) ?? "", /1,235\s+0,43\s+SUMINISTRANDO$/);
  assert.match(
    lines.find((l) => l.startsWith("CP-002")) ?? "",
    /PARADO · Fuera de servicio \(meteorología\)$/,
  );
  assert.match(lines.find((l) => l.startsWith("CP-003")) ?? "", /DESCONECTADO$/);
  assert.ok(lines.some((l) => /ubicación\s+conductor/.test(l)));
});

Deno.test("renderStatus says so when Central does not answer", () => {
  const lines = renderStatus(view({ cps: undefined }));
  assert.equal(plain(lines.at(-1)!), "Central does not answer");
});

Deno.test("changeLines reports each CP once per change of state, reason or driver", () => {
  const seen = new Map<string, string>();
  assert.deepEqual(changeLines(seen, [cpView()]).map(plain), ["CP-001: ACTIVATED"]);
  assert.deepEqual(changeLines(seen, [cpView({ kwh: 3 })]), [], "figures alone are no change");
  assert.deepEqual(
    changeLines(seen, [cpView({ state: "SUPPLYING", driver_id: "DRV-002" })]).map(plain),
    ["CP-001: SUPPLYING (driver DRV-002)"],
  );
  assert.deepEqual(
    changeLines(seen, [cpView({ state: "STOPPED", stop_reason: "admin" })]).map(plain),
    ["CP-001: STOPPED · Out of Order (admin)"],
  );
  assert.deepEqual(
    changeLines(seen, [cpView({ state: "DISCONNECTED", key_revoked: true })], noPaint, "es")
      .map(plain),
    ["CP-001: DESCONECTADO · clave revocada"],
  );
  assert.deepEqual(
    changeLines(seen, [cpView({ state: "DISCONNECTED" })]).map(plain),
    ["CP-001: DISCONNECTED"],
    "the mark cleared is a change",
  );
});

Deno.test("start: with plain paint (a pipe or NO_COLOR) the status has no escape codes", () => {
  const lines = renderStatus(
    view({
      cps: [cpView({ state: "BROKEN" })],
    }),
    noPaint,
  );
  assert.ok(lines.every((line) => !line.includes("\x1b")), lines.join("\n"));
  assert.ok(lines.some((line) => line.includes("BROKEN")));
  assert.equal(
    stateText(cpView({ state: "STOPPED", stop_reason: "admin" }), noPaint),
    "STOPPED · Out of Order (admin)",
  );
  assert.deepEqual(changeLines(new Map(), [cpView()], noPaint), ["CP-001: ACTIVATED"]);
});

Deno.test("start --ocpp: the status and the start line say where a charger connects", () => {
  const lines = renderStatus(
    view({
      ocppUrl: "wss://localhost:9000/ocpp",
      cps: [],
    }),
    noPaint,
  );
  assert.ok(lines.some((l) => l.includes("wss://localhost:9000/ocpp/<chargePointId>")));
  const line = ocppLine({
    service: undefined as never,
    url: "wss://localhost:9000/ocpp",
    chargerId: "OCPP-001",
    credentialsFile: "data/network/ocpp/OCPP-001.credentials",
  });
  assert.match(line, /wss:\/\/localhost:9000\/ocpp\/<id>/);
  assert.match(line, /OCPP-001 \(password = "credentials" in data\/network\/ocpp\/OCPP-001/);
});

Deno.test("renderStatus: with local CPs, each row says which process is down and how to demo", () => {
  const up = ["[cp] engine started (pid 1)", "[cp] monitor started (pid 2)"].reduce(
    foldCpLine,
    NO_CHILDREN,
  );
  const deadEngine = foldCpLine(up, "[cp] engine exited with code 137 (SIGKILL)");
  const lines = renderStatus(view({
    cps: [cpView(), cpView({ id: "CP-002", state: "BROKEN" })],
    children: (id) => id === "CP-001" ? up : deadEngine,
  })).map(plain);
  assert.match(lines.find((l) => l.startsWith("CP-001"))!, /ACTIVATED\s+engine\+monitor up$/);
  assert.match(lines.find((l) => l.startsWith("CP-002"))!, /BROKEN\s+engine DOWN$/);
  assert.ok(lines.some((l) => l.includes("deno task demo <fault|repair|kill-engine|")));
  assert.equal(plain(processesText({ ...up, faulty: true })), "fault ON");
  assert.equal(
    demoLine("CP-003"),
    "deno task demo fault CP-003   (or repair, kill-engine, kill-monitor, restart-engine, " +
      "restart-monitor)",
  );
});
