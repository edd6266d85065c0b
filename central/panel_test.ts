import assert from "node:assert/strict";
import { EMPTY_MODEL } from "./core.ts";
import { chargeInput, cpLogin, run, T0 } from "./core_test_support.ts";
import { formats } from "../shared/i18n.ts";
import { type PanelCp, type PanelView, panelView, parseCommand, renderPanel } from "./panel.ts";

const NOW = new Date("2025-03-01T10:00:05.000Z");
// deno-lint-ignore no-control-regex -- stripping ANSI escapes is the point
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

const row = (id: string, extra: Partial<PanelCp> = {}): PanelCp => ({
  id,
  location: "Calle Mayor 1",
  priceEurKwh: 0.35,
  state: "ACTIVATED",
  stopReason: null,
  deregistered: false,
  driverId: null,
  kw: null,
  kwh: null,
  eur: null,
  ...extra,
});

const VIEW: PanelView = {
  now: NOW,
  cps: [
    row("CP-001"),
    row("CP-002", { state: "SUPPLYING", driverId: "D-7", kw: 22, kwh: 1.2346, eur: 0.432 }),
    row("CP-003", { state: "STOPPED", stopReason: "weather" }),
    row("CP-004", { state: "BROKEN" }),
    row("CP-005", { state: "DISCONNECTED", location: "Bad\u001b[2Jplace" }),
  ],
  requests: [{
    requestId: "r1",
    driverId: "D-7",
    cpId: "CP-002",
    outcome: "AUTHORIZED",
    reason: null,
    sessionId: "S1",
    at: "2025-03-01T10:00:01.000Z",
  }, {
    requestId: "r2",
    driverId: "D-8",
    cpId: "CP-003",
    outcome: "DENIED",
    reason: "weather",
    sessionId: null,
    at: "2025-03-01T10:00:02.000Z",
  }],
  messages: [{ at: "2025-03-01T10:00:03.000Z", level: "warning", text: "CP CP-004 engine KO" }],
  input: "s CP-0",
  feedback: "",
};

const lines = (frame: string) => frame.replace(ANSI, "").split("\r\n");

Deno.test("panel: a frame redraws in place: home, clear each line, clear below, no bare newline", () => {
  const frame = renderPanel(VIEW, { width: 100, height: 30, color: true });
  assert.ok(frame.startsWith("\x1b[H"));
  assert.ok(frame.endsWith("\x1b[J"));
  for (const line of frame.slice(0, -"\x1b[J".length).split("\r\n")) {
    assert.ok(line.endsWith("\x1b[K"), JSON.stringify(line));
  }
  assert.ok(!/[^\r]\n/.test(frame), "every newline is \\r\\n (raw terminals do not return)");
});

Deno.test("panel: every state in its colour, with the Out of Order legend and live figures", () => {
  const frame = renderPanel(VIEW, { width: 120, height: 30, color: true });
  const green = "\x1b[32m", orange = "\x1b[38;5;208m", red = "\x1b[31m", grey = "\x1b[90m";
  const lineOf = (id: string) => frame.split("\r\n").find((l) => l.includes(id)) ?? "";
  assert.ok(lineOf("CP-001").includes(`${green}ACTIVATED`));
  assert.ok(lineOf("CP-002").includes(`${green}SUPPLYING`));
  assert.ok(lineOf("CP-003").includes(`${orange}STOPPED · Out of Order (weather)`));
  const narrow = renderPanel(VIEW, { width: 80, height: 30, color: false });
  assert.match(narrow, /CP-003 .* STOPPED \(weather\)/, "a narrow panel keeps name and reason");
  assert.ok(lineOf("CP-004").includes(`${red}BROKEN`));
  assert.ok(lineOf("CP-005").includes(`${grey}DISCONNECTED`));
  const supplying = lineOf("CP-002").replace(ANSI, "");
  for (const figure of ["D-7", "22.0", "1.235", "0.43", "0.35"]) {
    assert.ok(supplying.includes(figure), `${figure} in ${supplying}`);
  }
});

Deno.test("panel: requests, messages, prompt and help are shown", () => {
  const text = lines(renderPanel(VIEW, { width: 100, height: 30, color: false })).join("\n");
  const clock = formats("en").time;
  const at = (iso: string) => clock(new Date(iso));
  assert.ok(text.includes(`${at("2025-03-01T10:00:01.000Z")} D-7 → CP-002 AUTHORIZED`));
  assert.ok(text.includes(`${at("2025-03-01T10:00:02.000Z")} D-8 → CP-003 DENIED weather alert`));
  assert.ok(text.includes(`${at("2025-03-01T10:00:03.000Z")} WARNING CP CP-004 engine KO`));
  assert.match(text, /^> s CP-0$/m);
  assert.match(text, /s <id> stop/);
  assert.ok(
    text.includes(`EVCharging Central   ${clock(NOW)}   5 CPs · 4 connected · 1 supplying`),
  );
});

Deno.test("panel: lines fit the width and the frame fits the height", () => {
  for (const [width, height] of [[60, 14], [80, 24], [200, 50]]) {
    const many = { ...VIEW, cps: Array.from({ length: 40 }, (_, i) => row(`CP-${i}`)) };
    const out = lines(renderPanel(many, { width, height, color: true }));
    assert.ok(out.length <= height, `${out.length} lines for height ${height}`);
    for (const line of out) assert.ok(line.length <= width, `${line.length} > ${width}: ${line}`);
    assert.ok(out.some((l) => /… and \d+ more/.test(l)));
  }
});

Deno.test("panel: text from outside cannot inject escape codes; no colour when asked", () => {
  const plain = renderPanel(VIEW, { width: 100, height: 30, color: false });
  const withoutFrameCodes = plain.replaceAll("\x1b[H", "").replaceAll("\x1b[K", "")
    .replaceAll("\x1b[J", "");
  assert.ok(!withoutFrameCodes.includes("\x1b"), "no escape but the frame's own");
  assert.match(plain, /Bad\?\[2Jplace/);
});

Deno.test("panel: an empty network says so", () => {
  const empty = { ...VIEW, cps: [], requests: [], messages: [] };
  const text = lines(renderPanel(empty, { width: 80, height: 24, color: false })).join("\n");
  assert.match(text, /no CP has logged in yet/);
  assert.match(text, /0 CPs/);
});

Deno.test("panel: in Spanish, the seeds' state words, Spanish numbers and texts", () => {
  const frame = renderPanel(VIEW, { width: 140, height: 30, color: true, lang: "es" });
  const green = "\x1b[32m", orange = "\x1b[38;5;208m", red = "\x1b[31m", grey = "\x1b[90m";
  const lineOf = (id: string) => frame.split("\r\n").find((l) => l.includes(id)) ?? "";
  assert.ok(lineOf("CP-001").includes(`${green}ACTIVADO`));
  assert.ok(lineOf("CP-002").includes(`${green}SUMINISTRANDO`));
  assert.ok(lineOf("CP-003").includes(`${orange}PARADO · Fuera de servicio (meteorología)`));
  assert.ok(lineOf("CP-004").includes(`${red}AVERIADO`));
  assert.ok(lineOf("CP-005").includes(`${grey}DESCONECTADO`));
  const supplying = lineOf("CP-002").replace(ANSI, "");
  for (const figure of ["22,0", "1,235", "0,43", "0,35"]) {
    assert.ok(supplying.includes(figure), `${figure} in ${supplying}`);
  }
  const text = lines(frame).join("\n");
  for (
    const words of [
      "5 puntos · 4 conectados · 1 suministrando",
      "UBICACIÓN",
      "ESTADO",
      "Peticiones recientes",
      "Mensajes",
      "D-7 → CP-002 AUTORIZADO",
      "D-8 → CP-003 DENEGADO alerta meteorológica",
      "s <id> parar",
    ]
  ) assert.ok(text.includes(words), words);
  for (const english of ["ACTIVATED", "SUPPLYING", "Out of Order", "Recent requests"]) {
    assert.ok(!text.includes(english), english);
  }
  const empty = { ...VIEW, cps: [], requests: [], messages: [] };
  const none = lines(renderPanel(empty, { width: 80, height: 24, color: false, lang: "es" }));
  assert.ok(none.join("\n").includes("aún no se ha conectado ningún punto"));
});

Deno.test("panel: a deregistered CP says so in both languages", () => {
  const view = { ...VIEW, cps: [row("CP-009", { state: "DISCONNECTED", deregistered: true })] };
  for (const [lang, word] of [["en", "DEREGISTERED"], ["es", "DADO DE BAJA"]] as const) {
    const text = lines(renderPanel(view, { width: 100, height: 24, color: false, lang }));
    assert.ok(text.some((l) => l.includes("CP-009") && l.includes(word)), word);
  }
});

Deno.test("panel: parseCommand explains mistakes in the panel's language", () => {
  const es = parseCommand("s", "es");
  assert.ok("error" in es && es.error.includes("¿s qué punto?"), JSON.stringify(es));
  const unknown = parseCommand("xyz", "es");
  assert.ok("error" in unknown && unknown.error.startsWith("orden desconocida"));
  assert.deepEqual(parseCommand("s CP-1", "es"), { type: "stop", cpId: "CP-1" });
});

Deno.test("panel: panelView takes the model's CPs by id with their sessions' figures", () => {
  const { model } = run(
    EMPTY_MODEL,
    cpLogin("CP-B", 1),
    cpLogin("CP-A", 2),
    chargeInput("r", { cpId: "CP-B", sessionId: "S" }, T0),
  );
  const view = panelView(model, { now: NOW, requests: [], messages: [], input: "", feedback: "" });
  assert.deepEqual(view.cps.map((c) => [c.id, c.state, c.driverId, c.kwh]), [
    ["CP-A", "ACTIVATED", null, null],
    ["CP-B", "SUPPLYING", "D-1", 0],
  ]);
});

Deno.test("panel: parseCommand", () => {
  assert.deepEqual(parseCommand("s CP-1"), { type: "stop", cpId: "CP-1" });
  assert.deepEqual(parseCommand("  stop   CP-1 "), { type: "stop", cpId: "CP-1" });
  assert.deepEqual(parseCommand("r CP-1"), { type: "resume", cpId: "CP-1" });
  assert.deepEqual(parseCommand("resume all"), { type: "resume" });
  assert.deepEqual(parseCommand("S"), { type: "stop" });
  assert.deepEqual(parseCommand("R"), { type: "resume" });
  assert.deepEqual(parseCommand("q"), { type: "quit" });
  assert.deepEqual(parseCommand(""), { error: "" });
  for (const bad of ["x", "s", "S CP-1", "s a b", "q now"]) {
    const parsed = parseCommand(bad);
    assert.ok("error" in parsed && parsed.error !== "", bad);
  }
});

Deno.test("panel: key and security commands name one CP", () => {
  assert.deepEqual(parseCommand("rotate CP-1"), { type: "rotate", cpId: "CP-1" });
  assert.deepEqual(parseCommand("revoke CP-1"), { type: "revoke", cpId: "CP-1" });
  assert.deepEqual(parseCommand("oos CP-1"), {
    type: "security",
    cpId: "CP-1",
    status: "OUT_OF_SERVICE",
  });
  assert.deepEqual(parseCommand("activate CP-1"), {
    type: "security",
    cpId: "CP-1",
    status: "ACTIVE",
  });
  assert.deepEqual(parseCommand("ban CP-1"), { type: "security", cpId: "CP-1", status: "REVOKED" });
  assert.deepEqual(parseCommand("restore CP-1"), { type: "restore", cpId: "CP-1" });
  for (const line of ["rotate", "ban all", "toString CP-1", "restore", "restore all"]) {
    assert.ok("error" in parseCommand(line), line);
  }
});

Deno.test("panel: a prompt of its own while a reason is asked; a secret shown whole on its lines", () => {
  const secret = "x".repeat(130);
  const asking = {
    ...VIEW,
    input: "meter",
    prompt: "reason for restoring CP-1 (Enter restores it with new credentials, Esc cancels):",
    shownOnce: `new credentials of CP-1, shown this once: ${secret}`,
  };
  for (const [width, height] of [[60, 14], [100, 30]]) {
    const out = lines(renderPanel(asking, { width, height, color: false }));
    assert.ok(out.length <= height, `${out.length} lines for height ${height}`);
    assert.ok(out.some((l) => l.startsWith("reason for restoring CP-1")), "the prompt");
    const shown = out.slice(out.findIndex((l) => l.startsWith("new credentials")), -1).join("");
    assert.ok(shown.endsWith(secret), `the secret whole at ${width}: ${shown}`);
    assert.match(out.at(-1)!, /^s <id> stop/, "the help stays last");
  }
});
