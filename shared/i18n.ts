/**
 * The two languages of every screen (English and Spanish): choosing one from `--lang`, `LANG` or a
 * browser's locale, formatting numbers, money, energy and dates with `Intl` for it, and looking up
 * a screen's fixed texts in its catalogue. Log keys and JSON fields are never translated.
 *
 * No imports and no Deno API: the dashboard bundles this file too.
 *
 * @module
 */

/** A language of the screens. */
export type Lang = "en" | "es";

/** Every language, the default first. */
export const LANGS: readonly Lang[] = ["en", "es"];

/** The language when nothing chooses one. */
export const DEFAULT_LANG: Lang = "en";

/** The `Intl` locale of each language. */
export const LOCALES: Readonly<Record<Lang, string>> = { en: "en-GB", es: "es-ES" };

// A POSIX locale (`es_ES.UTF-8`, `en_US`, `C.UTF-8`, `de_DE@euro`) or a BCP 47 tag (`es-ES`, `fr`).
const LOCALE_NAME =
  /^(?:[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{2,8})*|C|POSIX)(?:\.[A-Za-z0-9-]+)?(?:@\w+)?$/;

/**
 * The language a locale name asks for: Spanish for any `es…` locale, English for every other one
 * (`C.UTF-8`, `fr_FR.UTF-8`, `en-US`): English is the fallback. `undefined`/empty → the default.
 */
export function langFromLocale(locale: string | null | undefined): Lang {
  const tag = (locale ?? "").trim().toLowerCase();
  return /^es(?:$|[_.@-])/.test(tag) ? "es" : DEFAULT_LANG;
}

/**
 * The language a screen starts in: `asked` when it is `en` or `es` (a `?lang=` in an address),
 * else `remembered` when it is one of them (the last choice), else the language of `locale`.
 */
export function chooseLang(
  asked: string | null | undefined,
  remembered: string | null | undefined,
  locale: string | null | undefined,
): Lang {
  for (const choice of [asked, remembered]) if (choice === "en" || choice === "es") return choice;
  return langFromLocale(locale);
}

/**
 * Reads `--lang` (or `LANG`): `en`, `es`, or a locale name such as `es_ES.UTF-8` (any language
 * other than Spanish falls back to English, as programs do under an unknown `LANG`).
 * @throws {Error} naming what is expected, for text that is no locale name at all.
 */
export function parseLang(raw: string): Lang {
  const value = raw.trim();
  if (!LOCALE_NAME.test(value)) {
    throw new Error("en or es (or a locale such as es_ES.UTF-8)");
  }
  return langFromLocale(value);
}

/** A screen's fixed texts in both languages: Spanish must have every key English has. */
export type Catalog<K extends string> = Readonly<Record<Lang, Readonly<Record<K, string>>>>;

/**
 * The text `key` of `catalog` in `lang`, with each `{name}` replaced by `params[name]` (a
 * placeholder without a parameter stays as written, so a missing one shows).
 */
export function translate<K extends string>(
  catalog: Catalog<K>,
  lang: Lang,
  key: K,
  params: Readonly<Record<string, string | number>> = {},
): string {
  return catalog[lang][key].replace(
    /\{(\w+)\}/g,
    (whole, name: string) => Object.hasOwn(params, name) ? String(params[name]) : whole,
  );
}

/** Numbers, money, energy, power and times written the way a language writes them. */
export interface Formats {
  /** The language. */
  readonly lang: Lang;
  /** A number with exactly `digits` decimals (`6,04` in Spanish). */
  number(n: number, digits?: number): string;
  /** An amount in euros (`2,30 €` in Spanish, `€2.30` in English). */
  eur(n: number): string;
  /** A price per kWh (`0,35 €/kWh`). */
  pricePerKwh(n: number): string;
  /** Energy in kWh with `digits` decimals (`6,04 kWh`). */
  kwh(n: number, digits?: number): string;
  /** Power in kW with one decimal (`22,0 kW`). */
  kw(n: number): string;
  /** A temperature in °C with one decimal. */
  celsius(n: number): string;
  /** Wall-clock time, 24 h (`18:05:09`). */
  time(d: Date): string;
  /** The date alone (`05/12/2026`). */
  date(d: Date): string;
  /** Date and time (`05/12/2026, 18:05:09`). */
  dateTime(d: Date): string;
}

const cache = new Map<Lang, Formats>();

/** The formats of `lang` (made once per language: `Intl` objects are costly to build). */
export function formats(lang: Lang): Formats {
  let made = cache.get(lang);
  if (made === undefined) {
    made = makeFormats(lang);
    cache.set(lang, made);
  }
  return made;
}

function makeFormats(lang: Lang): Formats {
  const locale = LOCALES[lang];
  const numbers = new Map<number, Intl.NumberFormat>();
  const fixed = (digits: number) => {
    let f = numbers.get(digits);
    if (f === undefined) {
      f = new Intl.NumberFormat(locale, {
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
      });
      numbers.set(digits, f);
    }
    return f;
  };
  const money = new Intl.NumberFormat(locale, { style: "currency", currency: "EUR" });
  const clock = new Intl.DateTimeFormat(locale, {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  });
  const day = new Intl.DateTimeFormat(locale, {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  });
  const full = new Intl.DateTimeFormat(locale, {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  });
  const number = (n: number, digits = 2) => fixed(digits).format(n);
  return {
    lang,
    number,
    eur: (n) => money.format(n),
    pricePerKwh: (n) => `${money.format(n)}/kWh`,
    kwh: (n, digits = 2) => `${number(n, digits)} kWh`,
    kw: (n) => `${number(n, 1)} kW`,
    celsius: (n) => `${number(n, 1)} °C`,
    time: (d) => clock.format(d),
    date: (d) => day.format(d),
    dateTime: (d) => full.format(d),
  };
}
