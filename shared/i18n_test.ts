import assert from "node:assert/strict";
import { type Catalog, chooseLang, formats, langFromLocale, parseLang, translate } from "./i18n.ts";

const nbsp = (s: string) => s.replaceAll("\u00a0", " ");

Deno.test("parseLang: en, es and LANG locales; other languages fall back to English", () => {
  for (
    const [raw, lang] of [
      ["es", "es"],
      ["en", "en"],
      ["es_ES.UTF-8", "es"],
      ["es-ES", "es"],
      ["es_MX", "es"],
      ["en_GB.UTF-8", "en"],
      ["C.UTF-8", "en"],
      ["POSIX", "en"],
      ["fr_FR.UTF-8", "en"],
      ["de_DE@euro", "en"],
    ] as const
  ) assert.equal(parseLang(raw), lang, raw);
});

Deno.test("parseLang: text that is no locale at all is refused, saying what is expected", () => {
  for (const raw of ["", "123", "es es", "../es", "español"]) {
    assert.throws(() => parseLang(raw), /en or es/, raw);
  }
});

Deno.test("langFromLocale: a browser's or the environment's locale, English when unknown", () => {
  assert.equal(langFromLocale("es-AR"), "es");
  assert.equal(langFromLocale("ES"), "es");
  assert.equal(langFromLocale("est"), "en");
  assert.equal(langFromLocale(undefined), "en");
  assert.equal(langFromLocale(""), "en");
});

Deno.test("formats: Spanish writes money, energy and power the es-ES way", () => {
  const es = formats("es");
  assert.equal(nbsp(es.eur(2.3)), "2,30 €");
  assert.equal(es.kwh(6.04), "6,04 kWh");
  assert.equal(es.kw(22), "22,0 kW");
  assert.equal(nbsp(es.pricePerKwh(0.35)), "0,35 €/kWh");
  assert.equal(es.number(1.2346, 3), "1,235");
  assert.equal(es.celsius(-2.5), "-2,5 °C");
});

Deno.test("formats: English writes them with a decimal point", () => {
  const en = formats("en");
  assert.equal(en.eur(2.3), "€2.30");
  assert.equal(en.kwh(6.04), "6.04 kWh");
  assert.equal(en.kw(7.4), "7.4 kW");
  assert.equal(formats("en"), en, "made once per language");
});

Deno.test("formats: times are 24 h wall clock, dates day first in both languages", () => {
  const d = new Date(2026, 11, 5, 18, 5, 9);
  for (const lang of ["en", "es"] as const) {
    assert.equal(formats(lang).time(d), "18:05:09");
    assert.equal(formats(lang).date(d), "05/12/2026");
    assert.match(formats(lang).dateTime(d), /^05\/12\/2026,? 18:05:09$/);
  }
});

Deno.test("translate: fills {placeholders}, leaves unknown ones visible", () => {
  const catalog: Catalog<"hello"> = {
    en: { hello: "hello {name}, {missing}" },
    es: { hello: "hola {name}, {missing}" },
  };
  assert.equal(translate(catalog, "es", "hello", { name: "Ana" }), "hola Ana, {missing}");
  assert.equal(translate(catalog, "en", "hello", { name: 7 }), "hello 7, {missing}");
});

Deno.test("chooseLang: an asked language wins, then the remembered one, then the locale", () => {
  assert.equal(chooseLang("es", "en", "en-US"), "es");
  assert.equal(chooseLang("fr", "es", "en-US"), "es", "an unknown ?lang= is ignored");
  assert.equal(chooseLang(null, "en", "es-ES"), "en");
  assert.equal(chooseLang(null, "junk", "es-ES"), "es");
  assert.equal(chooseLang(undefined, null, undefined), "en");
});
