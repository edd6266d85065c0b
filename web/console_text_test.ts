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
