/**
 * The free texts Central writes for people (why a status pill is ok or down, what an alarm is
 * about, why an admin call failed, where a restore's credentials went, why a CP monitor's login
 * was refused or ended: `AUTH_FAIL` and `LOGOUT`) as a stable code with parameters, in English
 * and Spanish. Central sends all three on the wire (`detail`: the English words, for API users,
 * logs and older monitors; `detail_code` and `detail_params`: what a screen translates), and the
 * dashboard and the CP monitor show the code in their language through {@link noticeText},
 * falling back to Central's English `detail` for a code they do not know (a newer Central).
 *
 * Parameters are figures or text Central cannot translate (an error message, a city, a CP id).
 * On a screen a number is written the way the language writes it (`-2,5` in Spanish) and a
 * parameter named `at` or `…_at` (an ISO time) as the language's date and time; the English
 * `detail` keeps them as they are. A code with a `…_one` twin uses it when `n` is 1.
 *
 * No Deno API: the dashboard bundles this file too.
 *
 * @module
 */
import { type Catalog, formats, type Lang, translate } from "./i18n.ts";

// What to do with credentials Central could not hand to the CP itself.
const COPY = "copy them into {id}.credentials in the CP's --credentials-dir and restart its " +
  "monitor";
const COPIAR = "cópielas en {id}.credentials, en el --credentials-dir del punto, y rearranque " +
  "su monitor";

const en = {
  // the parts `GET /health/ready` checks, and the weather office
  not_watched: "not watched by this Central",
  not_asked_yet: "not asked yet",
  kafka_ok: "producer connected, consumers fetching",
  kafka_producer_down: "producer not connected",
  kafka_stalled: "no fetch for {seconds} s: {consumers}",
  kafka_outbox: "{n} messages waiting to be sent",
  kafka_outbox_one: "{n} message waiting to be sent",
  registry_ok: "status call answered",
  registry_failed: "status call failed",
  registry_error: "status call failed: {error}",
  feed_ok: "following the change feed",
  feed_not_followed: "not followed yet",
  feed_refused: "the Registry refused the change feed key: deregistrations do not reach Central",
  feed_unreadable: "the change feed cannot be read ({failures}× in a row): {error}",
  database_ok: "answers; the last commit went through",
  database_query_failed: "a query fails: {error}",
  database_commit_failed: "the last commit failed at {at}: {error}",
  weather_no_report: "no report yet",
  weather_ok: "reports arrive when a CP's status changes or Central restarts",
  // alarms (central/alarms.ts)
  alarm_engine_ko: "the engine reports KO",
  alarm_engine_ko_at_start: "engine KO when Central started",
  alarm_monitor_out: "monitor not logged in",
  alarm_out_since_start: "not logged in since Central started",
  alarm_weather: "{city}: {temperature} °C",
  alarm_keys_revoked: "keys revoked by an admin",
  alarm_revoked_for_good: "revoked for good by an admin",
  alarm_deregistered: "deregistered in the Registry",
  alarm_keys_lost: "keys revoked ({by})",
  // admin calls' errors and outcomes
  no_cp: "no CP {id}",
  refused_not_revoked: "{id} is {security}, not REVOKED",
  refused_revoked_status: "{id} is REVOKED: only a restore (new credentials) changes its status",
  refused_revoked_key: "{id} is REVOKED: it gets no new key until it is restored",
  restore_busy: "a restore of {id} is under way",
  no_registry_admin_key: "Central has no Registry admin key: start it with REGISTRY_ADMIN_KEY set",
  registry_busy: "the Registry is busy: {detail}",
  registry_unreachable: "the Registry cannot be reached: {detail}",
  registry_throttles: "the Registry throttles: {detail}",
  registry_refused_key: "the Registry refused Central's admin key",
  no_registry_client: "Central has no Registry client",
  no_supervisor: "no local supervisor: Central was not started by deno task start",
  supervisor_bad_answer: "the local supervisor's answer is no JSON",
  supervisor_unavailable: "the local supervisor does not answer: {error}",
  supervisor_refused: "the local supervisor refused Central's admin token",
  from_after_to: "from: must not be after to",
  foreign_cursor: "cursor: not a cursor of this query",
  internal_error: "internal error; see Central's log",
  restore_delivered: "written to the local CP's credentials file; its monitor logs in with them",
  restore_not_local: `not a local CP: ${COPY}`,
  restore_supervisor_refused: `the local supervisor answered {status}: ${COPY}`,
  restore_supervisor_silent: `the local supervisor did not answer ({error}): ${COPY}`,
  // why Central refused a monitor's login (AUTH_FAIL) or ended it (LOGOUT), for its operator
  login_first: "log in first: the first message must be AUTH",
  login_unknown_cp: "the Registry does not know {id}",
  login_deregistered: "{id} is deregistered",
  login_revoked: "{id} is revoked at Central",
  login_other_cp: "the token is for another CP, not {id}",
  login_key_mismatch: "the token is bound to another key: authenticate with this login's key",
  login_token_replayed: "the token was used before: every login needs a fresh one",
  login_stale_token: "the token predates the last revocation of this CP's keys: get a fresh one",
  login_token_expired: "the token expired: get a new one",
  login_token_refused: "token refused ({why})",
  login_bad_key: "the login's ECDH key is refused: {error}",
  login_registry_unreachable: "the Registry is unreachable",
  login_central_failed: "Central failed; try again",
  logout_key_rotated: "an admin rotated this CP's key: log in again for a new one",
  logout_key_revoked: "an admin revoked this CP's key: re-authenticate for a new one",
  logout_revoked: "an admin set this CP's security status to REVOKED at Central, for good",
  logout_deregistered: "this CP was deregistered in the Registry",
  logout_replaced: "another monitor logged in as this CP",
  logout_shutdown: "Central is stopping",
} as const;

/** A code of a text Central writes. */
export type NoticeCode = keyof typeof en;

/** Every text Central writes for people, English and Spanish. */
export const NOTICES: Catalog<NoticeCode> = {
  en,
  es: {
    not_watched: "esta Central no lo vigila",
    not_asked_yet: "aún sin consultar",
    kafka_ok: "productor conectado, consumidores leyendo",
    kafka_producer_down: "productor no conectado",
    kafka_stalled: "sin lecturas desde hace {seconds} s: {consumers}",
    kafka_outbox: "{n} mensajes esperando su envío",
    kafka_outbox_one: "{n} mensaje esperando su envío",
    registry_ok: "la consulta de estado respondió",
    registry_failed: "la consulta de estado falló",
    registry_error: "la consulta de estado falló: {error}",
    feed_ok: "siguiendo los cambios del Registry",
    feed_not_followed: "aún sin seguir",
    feed_refused: "el Registry rechazó la clave de sus cambios: las bajas no llegan a la Central",
    feed_unreadable: "no se pueden leer los cambios ({failures} veces seguidas): {error}",
    database_ok: "responde; la última escritura se completó",
    database_query_failed: "una consulta falla: {error}",
    database_commit_failed: "la última escritura falló el {at}: {error}",
    weather_no_report: "aún sin informe",
    weather_ok: "los informes llegan cuando cambia el estado de un punto o se reinicia la Central",
    alarm_engine_ko: "el motor informa de avería (KO)",
    alarm_engine_ko_at_start: "motor averiado (KO) al arrancar la Central",
    alarm_monitor_out: "el monitor no ha iniciado sesión",
    alarm_out_since_start: "sin iniciar sesión desde que arrancó la Central",
    alarm_weather: "{city}: {temperature} °C",
    alarm_keys_revoked: "claves revocadas por un administrador",
    alarm_revoked_for_good: "revocado para siempre por un administrador",
    alarm_deregistered: "dado de baja en el Registry",
    alarm_keys_lost: "claves revocadas ({by})",
    no_cp: "no existe el punto {id}",
    refused_not_revoked: "{id} no está revocado (REVOKED): su estado de seguridad es {security}",
    refused_revoked_status: "{id} está revocado (REVOKED): solo una restauración (credenciales " +
      "nuevas) cambia su estado",
    refused_revoked_key: "{id} está revocado (REVOKED): no recibe clave nueva hasta que se " +
      "restaure",
    restore_busy: "ya hay una restauración de {id} en curso",
    no_registry_admin_key: "la Central no tiene clave de administración del Registry: " +
      "arránquela con REGISTRY_ADMIN_KEY",
    registry_busy: "el Registry está ocupado: {detail}",
    registry_unreachable: "no se puede contactar con el Registry: {detail}",
    registry_throttles: "el Registry limita las peticiones: {detail}",
    registry_refused_key: "el Registry rechazó la clave de administración de la Central",
    no_registry_client: "la Central no tiene cliente del Registry",
    no_supervisor: "no hay supervisor local: la Central no se arrancó con deno task start",
    supervisor_bad_answer: "la respuesta del supervisor local no es JSON",
    supervisor_unavailable: "el supervisor local no responde: {error}",
    supervisor_refused: "el supervisor local rechazó el token de administración de la Central",
    from_after_to: "desde: no puede ser posterior a hasta",
    foreign_cursor: "cursor: no es un cursor de esta consulta",
    internal_error: "error interno; vea el registro de la Central",
    restore_delivered: "escritas en el fichero de credenciales del punto local; su monitor se " +
      "conecta con ellas",
    restore_not_local: `no es un punto local: ${COPIAR}`,
    restore_supervisor_refused: `el supervisor local respondió {status}: ${COPIAR}`,
    restore_supervisor_silent: `el supervisor local no respondió ({error}): ${COPIAR}`,
    login_first: "inicie sesión primero: el primer mensaje debe ser AUTH",
    login_unknown_cp: "el Registry no conoce {id}",
    login_deregistered: "{id} está dado de baja",
    login_revoked: "{id} está revocado en la Central",
    login_other_cp: "el token es de otro punto, no de {id}",
    login_key_mismatch: "el token está ligado a otra clave: autentíquese con la clave de este " +
      "inicio de sesión",
    login_token_replayed: "el token ya se usó: cada inicio de sesión necesita uno nuevo",
    login_stale_token: "el token es anterior a la última revocación de las claves de este " +
      "punto: pida uno nuevo",
    login_token_expired: "el token caducó: pida uno nuevo",
    login_token_refused: "token rechazado ({why})",
    login_bad_key: "la clave ECDH del inicio de sesión no se acepta: {error}",
    login_registry_unreachable: "no se puede contactar con el Registry",
    login_central_failed: "la Central falló; inténtelo de nuevo",
    logout_key_rotated: "un administrador rotó la clave de este punto: inicie sesión de nuevo " +
      "para obtener otra",
    logout_key_revoked: "un administrador revocó la clave de este punto: vuelva a autenticarse " +
      "para obtener otra",
    logout_revoked: "un administrador puso el estado de seguridad de este punto en REVOKED en la " +
      "Central, para siempre",
    logout_deregistered: "este punto se dio de baja en el Registry",
    logout_replaced: "otro monitor inició sesión como este punto",
    logout_shutdown: "la Central se está deteniendo",
  },
};

/** A notice's parameters: figures and words Central cannot translate. */
export type NoticeParams = Readonly<Record<string, string | number>>;

/** A text Central writes, as the wire carries it. */
export interface NoticeFields {
  /** The English words, for API users and logs. */
  readonly detail: string;
  /** What a screen translates ({@link NoticeCode}; a newer Central may send one not listed). */
  readonly detail_code: string;
  /** The code's parameters. */
  readonly detail_params: NoticeParams;
}

/** What {@link noticeText} reads: Central's English words, and its code when it sent one. */
export interface NoticeLike {
  /** Central's English words: shown when the code is missing or unknown. */
  readonly detail: string;
  /** The code, if Central sent one. */
  readonly detail_code?: string;
  /** Its parameters. */
  readonly detail_params?: NoticeParams;
}

const isCode = (code: string): code is NoticeCode => Object.hasOwn(en, code);

// The `…_one` twin of `code` when `n` is 1 and there is one.
function keyFor(code: NoticeCode, params: NoticeParams): NoticeCode {
  const one = `${code}_one`;
  return params.n === 1 && isCode(one) ? one : code;
}

/** The wire fields of the notice `code` with `params`: the English words, the code, the params. */
export function notice(code: NoticeCode, params: NoticeParams = {}): NoticeFields {
  return {
    detail: translate(NOTICES, "en", keyFor(code, params), params),
    detail_code: code,
    detail_params: params,
  };
}

const TIME_PARAM = /(?:^|_)at$/;

// Decimals a screen shows for a parameter: as many as it has, at most three.
const decimals = (n: number) =>
  Number.isInteger(n) ? 0 : Math.min(3, String(n).split(".")[1]?.length ?? 0);

function screenParams(params: NoticeParams, lang: Lang): Record<string, string> {
  const f = formats(lang);
  const shown: Record<string, string> = {};
  for (const [name, value] of Object.entries(params)) {
    if (typeof value === "number") {
      shown[name] = Number.isFinite(value) ? f.number(value, decimals(value)) : String(value);
    } else if (TIME_PARAM.test(name) && !Number.isNaN(Date.parse(value))) {
      shown[name] = f.dateTime(new Date(value));
    } else shown[name] = value;
  }
  return shown;
}

/**
 * A text Central wrote, in `lang`: its code's words with the parameters written for the language,
 * or Central's English `detail` when the code is missing or not one this side knows.
 */
export function noticeText(said: NoticeLike, lang: Lang): string {
  const code = said.detail_code;
  if (code === undefined || !isCode(code)) return said.detail;
  const params = said.detail_params ?? {};
  return translate(NOTICES, lang, keyFor(code, params), screenParams(params, lang));
}
