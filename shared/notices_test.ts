import assert from "node:assert/strict";
import { formats } from "./i18n.ts";
import { notice, NOTICES, noticeText } from "./notices.ts";

Deno.test("notices: every code has its words in both languages, with the same parameters", () => {
  const names = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  assert.deepEqual(Object.keys(NOTICES.es).sort(), Object.keys(NOTICES.en).sort());
  for (const [code, english] of Object.entries(NOTICES.en)) {
    const spanish = NOTICES.es[code as keyof typeof NOTICES.en];
    assert.deepEqual(names(spanish), names(english), code);
    assert.notEqual(spanish.trim(), "", code);
  }
});

Deno.test("notice: the English words for API users and logs, with the code and parameters", () => {
  assert.deepEqual(notice("kafka_ok"), {
    detail: "producer connected, consumers fetching",
    detail_code: "kafka_ok",
    detail_params: {},
  });
  assert.deepEqual(notice("alarm_weather", { city: "Oslo", temperature: -2.5 }), {
    detail: "Oslo: -2.5 °C",
    detail_code: "alarm_weather",
    detail_params: { city: "Oslo", temperature: -2.5 },
  });
  assert.equal(notice("kafka_outbox", { n: 1 }).detail, "1 message waiting to be sent");
  assert.equal(
    notice("kafka_outbox", { n: 1 }).detail_code,
    "kafka_outbox",
    "one code on the wire",
  );
  assert.equal(notice("kafka_outbox", { n: 3 }).detail, "3 messages waiting to be sent");
});

Deno.test("noticeText: a known code in the page's language, figures and times written for it", () => {
  const weather = notice("alarm_weather", { city: "Oslo", temperature: -2.5 });
  assert.equal(noticeText(weather, "es"), "Oslo: -2,5 °C");
  assert.equal(noticeText(notice("alarm_engine_ko"), "es"), "el motor informa de avería (KO)");
  assert.equal(noticeText(notice("alarm_engine_ko"), "en"), "the engine reports KO");
  const at = "2026-03-01T10:00:00.000Z";
  const failed = notice("database_commit_failed", { at, error: "disk full" });
  assert.equal(failed.detail, `the last commit failed at ${at}: disk full`, "ISO in the API");
  assert.equal(
    noticeText(failed, "es"),
    `la última escritura falló el ${formats("es").dateTime(new Date(at))}: disk full`,
  );
  assert.equal(noticeText(notice("kafka_outbox", { n: 1 }), "es"), "1 mensaje esperando su envío");
  assert.equal(
    noticeText(notice("kafka_outbox", { n: 12000 }), "es"),
    "12.000 mensajes esperando su envío",
  );
});

Deno.test("noticeText: an unknown or missing code shows Central's English words", () => {
  assert.equal(
    noticeText({ detail: "flux capacitor low", detail_code: "flux_low", detail_params: {} }, "es"),
    "flux capacitor low",
  );
  assert.equal(noticeText({ detail: "from an older Central" }, "es"), "from an older Central");
  assert.equal(
    noticeText({ detail: "x", detail_code: "toString", detail_params: {} }, "es"),
    "x",
    "an inherited name is no code",
  );
  assert.equal(
    noticeText({ detail: "x", detail_code: "alarm_weather" }, "es"),
    "{city}: {temperature} °C",
    "missing parameters stay visible",
  );
});
