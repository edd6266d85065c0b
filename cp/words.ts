/**
 * The CP's screen texts in English and Spanish: the engine's, the monitor's and `deno task cp`'s
 * (cp/engine_screen.ts, cp/monitor_screen.ts, cp/cp_control.ts), and the monitor's lines about
 * its login to Central, with what Central said in an `AUTH_FAIL` or `LOGOUT` shown through its
 * code (shared/notices.ts). State words come from the shared vocabulary (shared/vocabulary.ts).
 *
 * @module
 */
import { CP_KEYS_HELP } from "../shared/cp_keys.ts";
import { type Catalog, formats, type Lang, translate } from "../shared/i18n.ts";
import type { AuthFail, Logout } from "../shared/messages.ts";
import { noticeText } from "../shared/notices.ts";
import { type StateOf, stateText } from "../shared/vocabulary.ts";

const en = {
  engineTitle: "EVCharging CP engine {cp}",
  monitorTitle: "EVCharging CP monitor {cp}",
  cpTitle: "EVCharging CP {cp}",
  idUnknown: "(CP id not known yet)",
  state: "state",
  health: "health",
  session: "session",
  supply: "supply",
  key: "key",
  monitor: "monitor",
  engine: "engine",
  central: "central",
  cp: "cp",
  telemetry: "telemetry",
  lastCommand: "last command",
  lastEvent: "last event",
  none: "none",
  noneYet: "none yet",
  fault: "KO (fault)",
  unreachable: "KO (unreachable at {address})",
  sessionFor: "{session} for driver {driver}",
  waitingVehicle: "waiting for the vehicle: press p to plug in",
  version: "version {n}",
  connected: "connected",
  connecting: "connecting",
  waitingOn: "waiting on :{port}",
  sent: "sent",
  waitingCount: "{n} waiting",
  loggedIn: "logged in at {address}",
  gaveUp: "GAVE UP: {detail}",
  retryIn: "retry in {seconds} s — {detail}",
  notLoggedIn: "not logged in yet",
  running: "running (pid {pid})",
  engineDown: "DOWN: exited with {exit}{at}",
  monitorDown: "down: exited with {exit}{at}",
  reportsKo: "  reports the engine KO: Central shows {state}",
  at: " at {time}",
  monitorLog: "  monitor log",
  engineKeys: "p plug in   u unplug   f fault on/off   q quit",
  monitorKeys: "R register   D deregister   A authenticate again   M maintenance on/off   " +
    "S status   q quit",
  cpKeys: CP_KEYS_HELP,
  shows: "central shows",
  maintenance: "maintenance",
  on: "on",
  off: "off",
  tokenExpires: "token expiry",
  statusLine: "status: {link} · Central shows {state} · maintenance {maintenance} · " +
    "key {key} · token expires {expires}",
  linkLoggedIn: "logged in",
  linkConnecting: "connecting",
  linkWaiting: "waiting to retry",
  linkGaveUp: "gave up",
  linkStopped: "stopped",
  monitorView: "  the monitor's view: S or Esc back to the engine",
  // the monitor's login to Central: how an attempt ended and what it does next
  loginRefused: "login refused ({why})",
  refusedForGood: "Central refused the login for good ({why}); not retrying. {reinstate}",
  loggedOutForGood: "Central logged this CP out for good ({why}); not retrying. {reinstate}",
  reinstate: "An admin can restore a REVOKED CP (dashboard more → Restore, or POST " +
    "/cps/{id}/restore): it gets new credentials in its credentials file (by itself under deno " +
    "task start, else copy them there) and its monitor, started again, logs in with them.",
  deregisteredForGood: "This CP was deregistered in the Registry ({why}); not retrying. To use " +
    "it again, register it again: delete its credentials file and restart it with the Registry " +
    "admin key.",
  deregisteredHere: "deregistered at the Registry",
  keyRevokedWait: "key revoked by Central ({why}); re-authenticating in {seconds} s",
  loggedOut: "logged out ({why})",
  nextTry: "{reason}; next try in {seconds} s",
  reauthenticatingIn: "re-authenticating in {seconds} s",
  parked: "{message} (menu: R registers it again, A logs in again)",
  centralUnreachable: "Central unreachable: {error}",
  centralLost: "connection to Central lost: {error}",
  centralSilent: "Central did not answer AUTH within {seconds} s",
  centralClosed: "Central closed without answering AUTH",
  centralOddAnswer: "Central answered AUTH with {type}",
  centralUnproven: "Central's key share is not proven: {error}",
  centralEnded: "Central ended the conversation",
  monitorStopping: "the monitor is stopping",
  loggedInVersion: "logged in to Central with key version {n}",
  centralShowsEvent: "Central shows {state}",
  centralShowsInMaintenance: "Central shows {state}, maintenance on",
  // the monitor's menu and the Registry
  maintenanceOn: "maintenance on",
  maintenanceOff: "maintenance off",
  maintenanceNotSent: "{action} needs a login to Central: not sent",
  maintenanceAsked: "{action} asked of Central",
  reauthLoggingOut: "authenticating again: logging out for a fresh token and a new login",
  reauthNow: "authenticating again now",
  alreadyLoggingIn: "already logging in",
  alreadyRegistered: "already registered (credentials in {file}): deregister it first",
  registeringAgain: "registering and logging in again",
  deregisterNeedsKey: "deregistering needs the Registry admin key: set REGISTRY_ADMIN_KEY or " +
    "--registry-admin-key",
  deregisterRefused: "the Registry refused to deregister {cp}: {error}",
  deregisteredForgotten: "deregistered {cp} at the Registry; credentials forgotten",
  engineHealthEvent: "engine {health}",
  registeredKept: "registered at the Registry; credentials kept in {file}",
  registrationLost: "the answer to an earlier registration of {cp} was lost: deregistering it " +
    "to register again",
  noAdminKey: "no credentials in {file} and no admin key to register CP {cp}: set " +
    "REGISTRY_ADMIN_KEY or --registry-admin-key once (a Registry started without one wrote it " +
    "to data/registry_admin.key)",
  registryLimit: "Registry rate limit ({why})",
  registryDown: "Registry unavailable ({why})",
  registerFailed: "Registry register failed ({why}): {advice}",
  authenticateFailed: "Registry authenticate failed ({why}): {advice}",
  adviceTaken: "this CP id is already registered, but its credentials are not in {file}: " +
    "restore that file, or deregister the CP and start again",
  adviceAdminKey: "the Registry refused the admin key: check REGISTRY_ADMIN_KEY / " +
    "--registry-admin-key",
  adviceFields: "check --location, --price and --power",
  adviceDeregistered: "this CP is deregistered: register it again (delete the credentials file " +
    "and restart with the admin key)",
  adviceCredentials: "the Registry does not accept the credentials in {file}: was the CP " +
    "re-registered or the Registry reset? Delete the file to register again",
  adviceRefused: "the request was refused",
};

/** The keys of {@link CP_TEXT}. */
export type CpTextKey = keyof typeof en;

/** The CP screens' fixed texts. */
export const CP_TEXT: Catalog<CpTextKey> = {
  en,
  es: {
    engineTitle: "EVCharging motor del punto {cp}",
    monitorTitle: "EVCharging monitor del punto {cp}",
    cpTitle: "EVCharging punto {cp}",
    idUnknown: "(id del punto aún desconocido)",
    state: "estado",
    health: "salud",
    session: "sesión",
    supply: "suministro",
    key: "clave",
    monitor: "monitor",
    engine: "motor",
    central: "central",
    cp: "punto",
    telemetry: "telemetría",
    lastCommand: "última orden",
    lastEvent: "último evento",
    none: "ninguna",
    noneYet: "aún ninguna",
    fault: "KO (avería)",
    unreachable: "KO (inaccesible en {address})",
    sessionFor: "{session} para el conductor {driver}",
    waitingVehicle: "esperando al vehículo: pulse p para enchufarlo",
    version: "versión {n}",
    connected: "conectado",
    connecting: "conectando",
    waitingOn: "esperando en :{port}",
    sent: "enviada",
    waitingCount: "{n} pendientes",
    loggedIn: "sesión iniciada en {address}",
    gaveUp: "ABANDONADO: {detail}",
    retryIn: "reintento en {seconds} s — {detail}",
    notLoggedIn: "aún sin sesión iniciada",
    running: "en marcha (pid {pid})",
    engineDown: "CAÍDO: terminó con {exit}{at}",
    monitorDown: "caído: terminó con {exit}{at}",
    reportsKo: "  informa del motor KO: la Central muestra {state}",
    at: " a las {time}",
    monitorLog: "  registro del monitor",
    engineKeys: "p enchufar   u desenchufar   f avería sí/no   q salir",
    monitorKeys: "R registrar   D dar de baja   A autenticar de nuevo   M mantenimiento sí/no   " +
      "S estado   q salir",
    cpKeys: "p enchufar   u desenchufar   f avería sí/no   k matar motor   " +
      "K matar monitor   e reiniciar motor   m reiniciar monitor   " +
      "R registrar   D dar de baja   A autenticar de nuevo   M mantenimiento sí/no   " +
      "S estado del monitor   q salir",
    shows: "la central muestra",
    maintenance: "mantenimiento",
    on: "sí",
    off: "no",
    tokenExpires: "token caduca",
    statusLine: "estado: {link} · la central muestra {state} · mantenimiento {maintenance} · " +
      "clave {key} · el token caduca {expires}",
    linkLoggedIn: "sesión iniciada",
    linkConnecting: "conectando",
    linkWaiting: "esperando para reintentar",
    linkGaveUp: "abandonado",
    linkStopped: "parado",
    monitorView: "  la vista del monitor: S o Esc para volver al motor",
    loginRefused: "inicio de sesión rechazado ({why})",
    refusedForGood: "La Central rechazó el inicio de sesión para siempre ({why}); no se " +
      "reintenta. {reinstate}",
    loggedOutForGood: "La Central cerró la sesión de este punto para siempre ({why}); no se " +
      "reintenta. {reinstate}",
    reinstate: "Un administrador puede restaurar un punto REVOKED (en el panel, más → " +
      "Restaurar, o POST /cps/{id}/restore): recibe credenciales nuevas en su fichero de " +
      "credenciales (solo, bajo deno task start; si no, cópielas allí) y su monitor, arrancado " +
      "de nuevo, inicia sesión con ellas.",
    deregisteredForGood: "Este punto se dio de baja en el Registry ({why}); no se reintenta. " +
      "Para volver a usarlo, regístrelo de nuevo: borre su fichero de credenciales y " +
      "rearránquelo con la clave de administración del Registry.",
    deregisteredHere: "dado de baja en el Registry",
    keyRevokedWait: "clave revocada por la Central ({why}); nueva autenticación en {seconds} s",
    loggedOut: "sesión cerrada ({why})",
    nextTry: "{reason}; próximo intento en {seconds} s",
    reauthenticatingIn: "nueva autenticación en {seconds} s",
    parked: "{message} (menú: R lo registra de nuevo, A inicia sesión de nuevo)",
    centralUnreachable: "la Central no es accesible: {error}",
    centralLost: "se perdió la conexión con la Central: {error}",
    centralSilent: "la Central no respondió al AUTH en {seconds} s",
    centralClosed: "la Central cerró sin responder al AUTH",
    centralOddAnswer: "la Central respondió al AUTH con {type}",
    centralUnproven: "la parte de clave de la Central no está probada: {error}",
    centralEnded: "la Central terminó la conversación",
    monitorStopping: "el monitor se está deteniendo",
    loggedInVersion: "sesión iniciada en la Central con la versión de clave {n}",
    centralShowsEvent: "la Central muestra {state}",
    centralShowsInMaintenance: "la Central muestra {state}, mantenimiento activado",
    maintenanceOn: "activar el mantenimiento",
    maintenanceOff: "desactivar el mantenimiento",
    maintenanceNotSent: "{action} requiere una sesión iniciada en la Central: no se envió",
    maintenanceAsked: "{action}: pedido a la Central",
    reauthLoggingOut: "autenticando de nuevo: se cierra la sesión para pedir un token nuevo e " +
      "iniciar otra",
    reauthNow: "autenticando de nuevo ahora",
    alreadyLoggingIn: "ya está iniciando sesión",
    alreadyRegistered: "ya está registrado (credenciales en {file}): dele de baja primero",
    registeringAgain: "registrando e iniciando sesión de nuevo",
    deregisterNeedsKey: "dar de baja requiere la clave de administración del Registry: defina " +
      "REGISTRY_ADMIN_KEY o --registry-admin-key",
    deregisterRefused: "el Registry se negó a dar de baja {cp}: {error}",
    deregisteredForgotten: "{cp} dado de baja en el Registry; credenciales olvidadas",
    engineHealthEvent: "motor {health}",
    registeredKept: "registrado en el Registry; credenciales guardadas en {file}",
    registrationLost: "se perdió la respuesta a un registro anterior de {cp}: se da de baja " +
      "para registrarlo de nuevo",
    noAdminKey: "no hay credenciales en {file} ni clave de administración para registrar el " +
      "punto {cp}: defina REGISTRY_ADMIN_KEY o --registry-admin-key una vez (un Registry " +
      "arrancado sin ella la escribió en data/registry_admin.key)",
    registryLimit: "límite de peticiones del Registry ({why})",
    registryDown: "Registry no disponible ({why})",
    registerFailed: "el registro en el Registry falló ({why}): {advice}",
    authenticateFailed: "la autenticación en el Registry falló ({why}): {advice}",
    adviceTaken: "este id de punto ya está registrado, pero sus credenciales no están en " +
      "{file}: recupere ese fichero, o dé de baja el punto y empiece de nuevo",
    adviceAdminKey: "el Registry rechazó la clave de administración: revise " +
      "REGISTRY_ADMIN_KEY / --registry-admin-key",
    adviceFields: "revise --location, --price y --power",
    adviceDeregistered: "este punto está dado de baja: regístrelo de nuevo (borre el fichero de " +
      "credenciales y rearránquelo con la clave de administración)",
    adviceCredentials: "el Registry no acepta las credenciales de {file}: ¿se registró de " +
      "nuevo el punto o se reinició el Registry? Borre el fichero para registrarlo de nuevo",
    adviceRefused: "la petición fue rechazada",
  },
};

/** A CP screen text in `lang` with its `{placeholders}` filled. */
export function cpSay(
  lang: Lang,
  key: CpTextKey,
  params?: Readonly<Record<string, string | number>>,
): string {
  return translate(CP_TEXT, lang, key, params);
}

/** Why Central refused or ended a login (`AUTH_FAIL`, `LOGOUT`): its reason, words and code. */
export type CentralSaid =
  & Pick<AuthFail, "detail" | "detail_code" | "detail_params">
  & { readonly reason: AuthFail["reason"] | Logout["reason"] };

/**
 * A line for the monitor's operator before it is put in a language, so one line goes to the log
 * in English and to the screen in the operator's: text shown as it is (an error of the system,
 * the Registry's words), one of {@link CP_TEXT}'s texts whose parameters may be words themselves,
 * what Central said, or the state Central shows for the CP (its `CP_STATE`).
 */
export type CpWords =
  | string
  | { readonly key: CpTextKey; readonly params?: Readonly<Record<string, CpWords | number>> }
  | { readonly central: CentralSaid }
  | { readonly shows: StateOf & { readonly maintenance: boolean } };

/** {@link CpWords} of the text `key` with `params`. */
export function words(
  key: CpTextKey,
  params?: Readonly<Record<string, CpWords | number>>,
): CpWords {
  return params === undefined ? { key } : { key, params };
}

/**
 * `said` in `lang`. Central's words are `reason: detail`, the detail through its code
 * (shared/notices.ts), or as Central wrote them when the code is missing or unknown here (a newer
 * Central); a number is written the way the language writes it.
 */
export function sayWords(lang: Lang, said: CpWords): string {
  if (typeof said === "string") return said;
  if ("shows" in said) {
    const { shows } = said;
    const key = shows.maintenance ? "centralShowsInMaintenance" : "centralShowsEvent";
    return cpSay(lang, key, { state: stateText(shows, lang, true) });
  }
  if ("central" in said) {
    const { reason, detail, detail_code, detail_params } = said.central;
    const line = noticeText({ detail: detail ?? reason, detail_code, detail_params }, lang);
    // Nothing said beyond the reason (an older Central, or a code unknown here without words).
    return line === reason ? reason : `${reason}: ${line}`;
  }
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(said.params ?? {})) {
    params[name] = typeof value === "number"
      ? formats(lang).number(value, Number.isInteger(value) ? 0 : 1)
      : sayWords(lang, value);
  }
  return cpSay(lang, said.key, params);
}
