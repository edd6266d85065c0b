/**
 * The CP's screen texts in English and Spanish: the engine's, the monitor's and `deno task cp`'s
 * (cp/engine_screen.ts, cp/monitor_screen.ts, cp/cp_control.ts). State words come from the shared
 * vocabulary (shared/vocabulary.ts).
 *
 * @module
 */
import { CP_KEYS_HELP } from "../shared/cp_keys.ts";
import { type Catalog, type Lang, translate } from "../shared/i18n.ts";

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
