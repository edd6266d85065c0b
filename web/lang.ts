/**
 * The dashboard's language: `?lang=es|en` in the address, else the one chosen last (this
 * browser's `localStorage`), else the browser's own; the switch in the header changes it and
 * remembers it. {@link t} gives the page's fixed texts in it, {@link fmt} its number and date
 * formats; the state words are the shared vocabulary's (shared/vocabulary.ts).
 *
 * @module
 */
import { computed, signal } from "@preact/signals";
import { type Catalog, chooseLang, formats, type Lang, translate } from "../shared/i18n.ts";

/** Where the chosen language is remembered. */
export const LANG_KEY = "evcharging.lang";

function storedLang(): string | null {
  try {
    return localStorage.getItem(LANG_KEY);
  } catch {
    return null; // storage disabled: the choice is not remembered, nothing breaks
  }
}

/** The page's language. */
export const lang = signal<Lang>(
  chooseLang(new URLSearchParams(location.search).get("lang"), storedLang(), navigator.language),
);

/** The formats of the page's language (a computed, so a switch redraws every figure). */
const formatsNow = computed(() => formats(lang.value));

/** The number, money and date formats of the page's language. */
export function fmt() {
  return formatsNow.value;
}

/** Switches the page to `next` and remembers it (a `?lang=` in the address is kept in step). */
export function setLang(next: Lang): void {
  lang.value = next;
  document.documentElement.lang = next;
  try {
    localStorage.setItem(LANG_KEY, next);
  } catch {
    // storage disabled: the switch still works for this page
  }
  const url = new URL(location.href);
  if (url.searchParams.has("lang")) {
    url.searchParams.set("lang", next);
    history.replaceState(null, "", url);
  }
}

document.documentElement.lang = lang.value;

/** The page's fixed texts in both languages. */
export const WEB_TEXT: Catalog<
  | "offline"
  | "loading"
  | "cpManager"
  | "language"
  | "chargingPoints"
  | "noCps"
  | "search"
  | "searchLabel"
  | "city"
  | "everyCity"
  | "state"
  | "everyState"
  | "noMatch"
  | "previous"
  | "next"
  | "pageOf"
  | "driver"
  | "power"
  | "energy"
  | "amount"
  | "rated"
  | "price"
  | "key"
  | "weatherOffice"
  | "noReport"
  | "lastReport"
  | "alerts"
  | "more"
  | "sessions"
  | "nobody"
  | "since"
  | "started"
  | "endedBy"
  | "latestTickets"
  | "openSessions"
  | "drivers"
  | "driverSessions"
  | "noSession"
  | "chargingAt"
  | "last"
  | "searchDrivers"
  | "noDriver"
  | "weather"
  | "noWeather"
  | "alertStopped"
  | "clear"
  | "reports"
  | "auditLog"
  | "auditFilter"
  | "everyOutcome"
  | "date"
  | "time"
  | "origin"
  | "selfReported"
  | "actor"
  | "action"
  | "outcome"
  | "details"
> = {
  en: {
    offline: "Central is unreachable: reconnecting… (what you see may be out of date)",
    loading: "Loading the network…",
    cpManager: "CP manager",
    language: "Language",
    chargingPoints: "Charging points",
    noCps: "No CP has logged in yet.",
    search: "search: CP id or city",
    searchLabel: "search charging points by id or city",
    city: "city",
    everyCity: "every city",
    state: "state",
    everyState: "every state",
    noMatch: "No CP matches.",
    previous: "‹ Previous",
    next: "Next ›",
    pageOf: "{first}–{last} of {matching} (page {page} of {pages})",
    driver: "driver",
    power: "power",
    energy: "energy",
    amount: "amount",
    rated: "rated",
    price: "price",
    key: "key v{version}",
    weatherOffice: "Weather office",
    noReport: "no report yet",
    lastReport: "last report {time}",
    alerts: "{n} alert(s)",
    more: "and {n} more {what}",
    sessions: "Sessions",
    nobody: "Nobody is charging.",
    since: "since",
    started: "started",
    endedBy: "ended by",
    latestTickets: "Latest tickets",
    openSessions: "open sessions",
    drivers: "Drivers",
    driverSessions: "{n} sessions",
    noSession: "no session yet",
    chargingAt: "charging at {cp}: {kwh}",
    last: "last: {cp}, {kwh}, {eur} ({reason})",
    searchDrivers: "search: driver id",
    noDriver: "No driver yet.",
    weather: "Weather",
    noWeather: "No report from the weather office.",
    alertStopped: "ALERT: stopped",
    clear: "clear",
    reports: "reports",
    auditLog: "Audit log",
    auditFilter: "filter: actor, action, CP, address…",
    everyOutcome: "every outcome",
    date: "date",
    time: "time",
    origin: "origin",
    selfReported: "self-reported by the driver",
    actor: "actor",
    action: "action",
    outcome: "outcome",
    details: "details",
  },
  es: {
    offline: "No se puede contactar con la Central: reconectando… (lo que ve puede estar " +
      "desactualizado)",
    loading: "Cargando la red…",
    cpManager: "Gestor de puntos",
    language: "Idioma",
    chargingPoints: "Puntos de recarga",
    noCps: "Aún no se ha conectado ningún punto.",
    search: "buscar: id del punto o ciudad",
    searchLabel: "buscar puntos de recarga por id o ciudad",
    city: "ciudad",
    everyCity: "todas las ciudades",
    state: "estado",
    everyState: "todos los estados",
    noMatch: "Ningún punto coincide.",
    previous: "‹ Anterior",
    next: "Siguiente ›",
    pageOf: "{first}–{last} de {matching} (página {page} de {pages})",
    driver: "conductor",
    power: "potencia",
    energy: "energía",
    amount: "importe",
    rated: "nominal",
    price: "precio",
    key: "clave v{version}",
    weatherOffice: "Oficina meteorológica",
    noReport: "aún sin informe",
    lastReport: "último informe {time}",
    alerts: "{n} alerta(s)",
    more: "y {n} más ({what})",
    sessions: "Sesiones",
    nobody: "Nadie está cargando.",
    since: "desde",
    started: "inicio",
    endedBy: "fin por",
    latestTickets: "Últimos tiques",
    openSessions: "sesiones abiertas",
    drivers: "Conductores",
    driverSessions: "{n} sesiones",
    noSession: "aún sin sesiones",
    chargingAt: "cargando en {cp}: {kwh}",
    last: "última: {cp}, {kwh}, {eur} ({reason})",
    searchDrivers: "buscar: id del conductor",
    noDriver: "Aún no hay conductores.",
    weather: "Meteorología",
    noWeather: "Sin informes de la oficina meteorológica.",
    alertStopped: "ALERTA: parado",
    clear: "normal",
    reports: "informes",
    auditLog: "Registro de auditoría",
    auditFilter: "filtrar: actor, acción, punto, dirección…",
    everyOutcome: "todos los resultados",
    date: "fecha",
    time: "hora",
    origin: "origen",
    selfReported: "declarada por el conductor",
    actor: "actor",
    action: "acción",
    outcome: "resultado",
    details: "detalles",
  },
};

/** The page text `key` in the page's language, with its `{placeholders}` filled. */
export function t(
  key: keyof typeof WEB_TEXT.en,
  params?: Readonly<Record<string, string | number>>,
): string {
  return translate(WEB_TEXT, lang.value, key, params);
}
