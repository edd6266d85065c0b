/**
 * One vocabulary for every screen: the names and labels of the CP states (ARCHITECTURE §CP states)
 * and the words for why a CP is stopped, why a session ended and why a request was denied, in
 * English and Spanish. Central's panel, the dashboard, the CP's and the driver's screens and the
 * REST docs all read them from here, so one CP reads the same on every screen.
 *
 * The state's name is what a screen shows (ACTIVATED / ACTIVADO …); the label is the plain words
 * beside it (STOPPED is "Out of Order", PARADO "Fuera de servicio"). The wire keeps the English
 * codes: only screens are translated.
 *
 * No Deno API (type imports only): the dashboard bundles this file too.
 *
 * @module
 */
import type { Lang } from "./i18n.ts";
import type { CpState, DenyReason, EndReason, StopReason } from "./messages.ts";

/** The name and the plain label of one state in one language. */
export interface StateWords {
  /** Upper-case name, as the panel and the dashboard show it (`ACTIVADO`). */
  readonly name: string;
  /** Plain words (`Disponible`, `Fuera de servicio`). */
  readonly label: string;
}

/** The states of a CP in both languages: the one table every screen reads. */
export const CP_STATE_WORDS: Readonly<Record<Lang, Readonly<Record<CpState, StateWords>>>> = {
  en: {
    ACTIVATED: { name: "ACTIVATED", label: "Available" },
    SUPPLYING: { name: "SUPPLYING", label: "Charging" },
    STOPPED: { name: "STOPPED", label: "Out of Order" },
    BROKEN: { name: "BROKEN", label: "Broken" },
    DISCONNECTED: { name: "DISCONNECTED", label: "Disconnected" },
  },
  es: {
    ACTIVATED: { name: "ACTIVADO", label: "Disponible" },
    SUPPLYING: { name: "SUMINISTRANDO", label: "Suministrando" },
    STOPPED: { name: "PARADO", label: "Fuera de servicio" },
    BROKEN: { name: "AVERIADO", label: "Averiado" },
    DISCONNECTED: { name: "DESCONECTADO", label: "Desconectado" },
  },
};

/** What a CP the Registry deregistered shows instead of its state. */
export const DEREGISTERED_WORD: Readonly<Record<Lang, string>> = {
  en: "DEREGISTERED",
  es: "DADO DE BAJA",
};

/**
 * The mark of a CP whose keys an admin revoked (`key_revoked` in `GET /cps`), shown until its
 * monitor re-authenticates.
 */
export const KEY_REVOKED_WORD: Readonly<Record<Lang, string>> = {
  en: "key revoked",
  es: "clave revocada",
};

/** Why Central holds a CP, in words. */
export const STOP_REASON_WORDS: Readonly<Record<Lang, Readonly<Record<StopReason, string>>>> = {
  en: {
    admin: "admin",
    weather: "weather",
    maintenance: "maintenance",
    out_of_service: "out of service",
    revoked: "revoked",
  },
  es: {
    admin: "administrador",
    weather: "meteorología",
    maintenance: "mantenimiento",
    out_of_service: "fuera de servicio",
    revoked: "clave revocada",
  },
};

/** Why a session ended, in words. */
export const END_REASON_WORDS: Readonly<Record<Lang, Readonly<Record<EndReason, string>>>> = {
  en: {
    unplugged: "unplugged",
    target_reached: "target reached",
    stopped_admin: "stopped by admin",
    stopped_weather: "stopped by weather",
    stopped_maintenance: "stopped for maintenance",
    status_lost: "CP out of service",
    key_lost: "CP key changed",
    fault: "fault",
    plug_timeout: "never plugged in",
    deregistered: "CP deregistered",
    driver_cancelled: "cancelled by the driver",
  },
  es: {
    unplugged: "desenchufado",
    target_reached: "objetivo alcanzado",
    stopped_admin: "parado por el administrador",
    stopped_weather: "parado por meteorología",
    stopped_maintenance: "parado por mantenimiento",
    status_lost: "punto fuera de servicio",
    key_lost: "clave del punto cambiada",
    fault: "avería",
    plug_timeout: "no se enchufó",
    deregistered: "punto dado de baja",
    driver_cancelled: "cancelada por el conductor",
  },
};

/** Why a charge request was denied, in words. */
export const DENY_REASON_WORDS: Readonly<Record<Lang, Readonly<Record<DenyReason, string>>>> = {
  en: {
    invalid_request: "invalid request",
    unknown_cp: "unknown CP",
    busy: "busy",
    stopped: "stopped",
    weather: "weather alert",
    broken: "broken",
    disconnected: "disconnected",
    out_of_service: "out of service",
    revoked: "revoked",
    no_key: "CP not logged in",
    deregistered: "deregistered",
    not_available: "not available",
    no_session: "no charge to cancel",
  },
  es: {
    invalid_request: "petición no válida",
    unknown_cp: "punto desconocido",
    busy: "ocupado",
    stopped: "parado",
    weather: "alerta meteorológica",
    broken: "averiado",
    disconnected: "desconectado",
    out_of_service: "fuera de servicio",
    revoked: "revocado",
    no_key: "punto sin sesión iniciada",
    deregistered: "dado de baja",
    not_available: "no disponible",
    no_session: "ninguna recarga que cancelar",
  },
};

/** The upper-case name of `state` in `lang` (`PARADO`). */
export function stateName(state: CpState, lang: Lang): string {
  return CP_STATE_WORDS[lang][state].name;
}

/** The plain label of `state` in `lang` (`Fuera de servicio`). */
export function stateLabel(state: CpState, lang: Lang): string {
  return CP_STATE_WORDS[lang][state].label;
}

/** What {@link stateText} needs of a CP. */
export interface StateOf {
  /** Its state. */
  readonly state: CpState;
  /** The hold's reason, shown with STOPPED (`admin` when missing). */
  readonly stopReason?: StopReason | null;
  /** Deregistered in the Registry: shown instead of the state. */
  readonly deregistered?: boolean;
}

/**
 * What a screen shows for a CP's state: its name, and for STOPPED also its label and the hold's
 * reason (`PARADO · Fuera de servicio (meteorología)`); a deregistered CP shows DEREGISTERED.
 * `short` leaves the label out (`PARADO (meteorología)`), for a narrow column.
 */
export function stateText(cp: StateOf, lang: Lang, short = false): string {
  if (cp.deregistered) return DEREGISTERED_WORD[lang];
  const words = CP_STATE_WORDS[lang][cp.state];
  if (cp.state !== "STOPPED") return words.name;
  const reason = stopReasonText(cp.stopReason ?? "admin", lang);
  return short ? `${words.name} (${reason})` : `${words.name} · ${words.label} (${reason})`;
}

/** A stop reason in words; a code this table does not know shows as it is. */
export function stopReasonText(reason: string, lang: Lang): string {
  return wordFor(STOP_REASON_WORDS[lang], reason);
}

/** An end reason in words; a code this table does not know shows as it is. */
export function endReasonText(reason: string, lang: Lang): string {
  return wordFor(END_REASON_WORDS[lang], reason);
}

/** A deny reason in words; a code this table does not know shows as it is. */
export function denyReasonText(reason: string, lang: Lang): string {
  return wordFor(DENY_REASON_WORDS[lang], reason);
}

function wordFor(table: Readonly<Record<string, string>>, code: string): string {
  return Object.hasOwn(table, code) ? table[code] : code;
}

/**
 * The state table as Markdown (`| state | en | es |`), for the REST docs: the API answers the
 * English codes, and this says what each one is called on the screens.
 */
export function stateTableMarkdown(): string {
  const rows = (Object.keys(CP_STATE_WORDS.en) as CpState[]).map((state) => {
    const en = CP_STATE_WORDS.en[state];
    const es = CP_STATE_WORDS.es[state];
    return `| \`${state}\` | ${en.name} (${en.label}) | ${es.name} (${es.label}) |`;
  });
  return ["| state | English | Español |", "| --- | --- | --- |", ...rows].join("\n");
}
