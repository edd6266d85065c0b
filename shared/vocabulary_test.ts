import assert from "node:assert/strict";
import { LANGS } from "./i18n.ts";
import {
  CP_STATE_WORDS,
  denyReasonText,
  endReasonText,
  stateLabel,
  stateName,
  stateTableMarkdown,
  stateText,
  stopReasonText,
} from "./vocabulary.ts";

Deno.test("vocabulary: Spanish uses the seeds' state words", () => {
  assert.deepEqual(
    Object.values(CP_STATE_WORDS.es).map((w) => w.name),
    ["ACTIVADO", "SUMINISTRANDO", "PARADO", "AVERIADO", "DESCONECTADO"],
  );
  assert.equal(stateLabel("STOPPED", "es"), "Fuera de servicio");
  assert.equal(stateLabel("STOPPED", "en"), "Out of Order");
  assert.equal(stateName("ACTIVATED", "en"), "ACTIVATED");
});

Deno.test("vocabulary: every state has a distinct name and a label in every language", () => {
  for (const lang of LANGS) {
    const words = Object.values(CP_STATE_WORDS[lang]);
    assert.equal(new Set(words.map((w) => w.name)).size, 5, lang);
    for (const w of words) assert.ok(w.name !== "" && w.label !== "", `${lang} ${w.name}`);
  }
});

Deno.test("stateText: a stopped CP shows its label and reason; short leaves the label out", () => {
  const cp = { state: "STOPPED", stopReason: "weather" } as const;
  assert.equal(stateText(cp, "es"), "PARADO · Fuera de servicio (meteorología)");
  assert.equal(stateText(cp, "en"), "STOPPED · Out of Order (weather)");
  assert.equal(stateText(cp, "es", true), "PARADO (meteorología)");
  assert.equal(stateText({ state: "STOPPED" }, "en", true), "STOPPED (admin)");
  assert.equal(stateText({ state: "BROKEN", stopReason: "admin" }, "es"), "AVERIADO");
  assert.equal(stateText({ state: "ACTIVATED", deregistered: true }, "es"), "DADO DE BAJA");
});

Deno.test("reason words: known codes translated, unknown codes shown as they are", () => {
  assert.equal(stopReasonText("revoked", "es"), "clave revocada");
  assert.equal(endReasonText("target_reached", "es"), "objetivo alcanzado");
  assert.equal(denyReasonText("busy", "es"), "ocupado");
  assert.equal(denyReasonText("busy", "en"), "busy");
  assert.equal(endReasonText("something_new", "es"), "something_new");
  assert.equal(stopReasonText("toString", "en"), "toString", "no inherited property is a word");
});

Deno.test("stateTableMarkdown: one row per state with both languages", () => {
  const table = stateTableMarkdown();
  assert.match(
    table,
    /\| `STOPPED` \| STOPPED \(Out of Order\) \| PARADO \(Fuera de servicio\) \|/,
  );
  assert.equal(table.split("\n").length, 7);
});
