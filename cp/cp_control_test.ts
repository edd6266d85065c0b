import assert from "node:assert/strict";
import { colours, plain } from "../shared/terminal.ts";
import { CP_KEYS } from "../shared/cp_keys.ts";
import { cpKeysHelp, describeExit, logLineText, renderCpScreen } from "./cp_control.ts";

Deno.test("cpKeysHelp: names every key in both languages", () => {
  const keys = Object.values(CP_KEYS);
  for (const lang of ["en", "es"] as const) {
    for (const key of keys) assert.ok(cpKeysHelp(lang).includes(`${key} `), `${lang} names ${key}`);
  }
});

Deno.test("renderCpScreen: a dead engine in red, the living monitor and its last lines", () => {
  const view = {
    cpId: "CP-001",
    engine: { running: false, exit: "code 137 (SIGKILL)", since: new Date("2026-01-01T12:00:01Z") },
    monitor: { running: true, pid: 42 },
    monitorLines: ["12:00:01 WARN engine KO"],
  };
  const text = renderCpScreen(view, plain).join("\n");
  assert.match(text, /EVCharging CP CP-001/);
  assert.match(text, /engine\s+DOWN: exited with code 137 \(SIGKILL\) at 12:00:01/);
  assert.match(text, /monitor\s+running \(pid 42\)\s+reports the engine KO: Central shows BROKEN/);
  assert.match(text, /12:00:01 WARN engine KO/);
  assert.match(text, /e restart engine/);
  assert.ok(!text.includes("\x1b"), "plain text without colour");
  const coloured = renderCpScreen(view, colours).join("\n");
  assert.ok(coloured.includes("\x1b[31mDOWN"), "the dead engine in red");
});

Deno.test("renderCpScreen: a dead monitor shows grey, with how it ended", () => {
  const text = renderCpScreen({
    cpId: "CP-002",
    engine: { running: true, pid: 7 },
    monitor: { running: false, exit: "code 1" },
    monitorLines: [],
  }, plain).join("\n");
  assert.match(text, /engine\s+running \(pid 7\)/);
  assert.match(text, /monitor\s+down: exited with code 1/);
});

Deno.test("logLineText: a JSON record as a time and its message; anything else is no line", () => {
  const record = JSON.stringify({
    "@timestamp": "2026-01-01T12:00:01.000Z",
    level: "WARNING",
    message: "engine KO",
  });
  assert.equal(logLineText(record), "12:00:01 WARNING engine KO");
  assert.equal(
    logLineText(
      JSON.stringify({ "@timestamp": "2026-01-01T12:00:02Z", level: "INFO", message: "hi" }),
    ),
    "12:00:02 hi",
  );
  const spanish = JSON.stringify({
    "@timestamp": "2026-01-01T12:00:03.000Z",
    level: "ERROR",
    message: "Central refused the login for good (revoked: CP-001 is revoked at Central)",
    properties: { cpId: "CP-001", shown: "La Central rechazó el inicio de sesión para siempre" },
  });
  assert.equal(
    logLineText(spanish),
    "12:00:03 ERROR La Central rechazó el inicio de sesión para siempre",
    "the monitor's line in the operator's language, where it logged one",
  );
  assert.equal(logLineText("plain text"), undefined);
  assert.equal(logLineText("{not json"), undefined);
  assert.equal(logLineText(JSON.stringify({ level: "INFO" })), undefined);
});

Deno.test("describeExit: the code, and the signal when one ended it", () => {
  assert.equal(
    describeExit({ success: false, code: 137, signal: "SIGKILL" }),
    "code 137 (SIGKILL)",
  );
  assert.equal(describeExit({ success: true, code: 0, signal: null }), "code 0");
});

Deno.test("renderCpScreen in Spanish: the dead engine, the seeds' AVERIADO and the keys", () => {
  const text = renderCpScreen(
    {
      cpId: "CP-001",
      engine: {
        running: false,
        exit: "code 137 (SIGKILL)",
        since: new Date("2026-01-01T12:00:01Z"),
      },
      monitor: { running: true, pid: 42 },
      monitorLines: [],
    },
    plain,
    "es",
  ).join("\n");
  assert.match(text, /EVCharging punto CP-001/);
  assert.match(text, /motor\s+CAÍDO: terminó con code 137 \(SIGKILL\) a las 12:00:01/);
  assert.match(text, /en marcha \(pid 42\)\s+informa del motor KO: la Central muestra AVERIADO/);
  assert.match(text, /e reiniciar motor/);
});

Deno.test("renderCpScreen: the keys fit an 80-column terminal in both languages", () => {
  const view = {
    cpId: "CP-001",
    engine: { running: false },
    monitor: { running: true, pid: 42 },
    monitorLines: [],
  };
  for (const lang of ["en", "es"] as const) {
    const lines = renderCpScreen(view, plain, lang);
    const items = cpKeysHelp(lang).split(/ {3,}/);
    const keyLines = lines.filter((l) => items.some((item) => l.includes(item)));
    assert.ok(keyLines.length >= 2, `${lang}: the keys take several lines`);
    for (const line of keyLines) {
      assert.ok(line.length <= 80, `${lang}: "${line}" is ${line.length} columns`);
    }
    assert.ok(items.every((item) => keyLines.some((l) => l.includes(item))), "every key is shown");
  }
});
