import assert from "node:assert/strict";
import { translate } from "../shared/i18n.ts";
import { CONSOLE_TEXT, type ConsoleKey } from "./console_text.ts";

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

Deno.test("console text: Spanish has every English text, with the same parameters", () => {
  const keys = Object.keys(CONSOLE_TEXT.en) as ConsoleKey[];
  assert.deepEqual(Object.keys(CONSOLE_TEXT.es).sort(), [...keys].sort());
  for (const key of keys) {
    assert.deepEqual(placeholders(CONSOLE_TEXT.es[key]), placeholders(CONSOLE_TEXT.en[key]), key);
    assert.notEqual(CONSOLE_TEXT.es[key].trim(), "", key);
  }
});

Deno.test("console text: parameters are filled in either language", () => {
  assert.equal(
    translate(CONSOLE_TEXT, "en", "showAll", { n: 300, more: 50 }),
    "Show all 300 alarms (50 more)",
  );
  assert.equal(translate(CONSOLE_TEXT, "es", "sessionCount", { n: 3 }), "3 sesiones");
});

Deno.test("console text: the admin controls, dialog and outcomes speak Spanish", () => {
  const es = (key: ConsoleKey, params?: Record<string, string | number>) =>
    translate(CONSOLE_TEXT, "es", key, params);
  assert.equal(es("adminMode"), "Modo administración");
  assert.equal(es("stopAll"), "Parar todos");
  assert.equal(es("stopCpTitle", { cp: "CP-001" }), "¿Parar CP-001?");
  assert.equal(es("moreActionsFor", { cp: "CP-001" }), "Más acciones de CP-001");
  assert.equal(es("register"), "Dar de alta");
  assert.equal(es("runningPid", { pid: 42 }), "en marcha (pid 42)");
  assert.equal(
    es("callDone", { what: es("resumeCp", { cp: "CP-001" }) }),
    "Reanudar CP-001: hecho",
  );
  assert.equal(es("sec_OUT_OF_SERVICE"), "RETIRADO");
  assert.equal(es("cancel"), "Cancelar");
  // English keeps the wire's security codes, which the tests and operators know.
  assert.equal(translate(CONSOLE_TEXT, "en", "sec_REVOKED"), "REVOKED");
});
