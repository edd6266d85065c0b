/**
 * The weather office's screen texts in English and Spanish (weather/menu.ts fills them in).
 *
 * @module
 */
import { type Catalog, type Lang, translate } from "../shared/i18n.ts";

const en = {
  title: "EVCharging weather office",
  simulated: "SIMULATED temperatures (no OpenWeather key)",
  notAnswering: "not answering ({detail})",
  noDetail: "no detail",
  answering: "answering",
  notContacted: "not contacted yet",
  providerLine: "Provider: {provider}   Threshold: {threshold}",
  centralLine: "Central {url}: {state}",
  locationsFile: "Locations file: {problem}",
  cp: "CP",
  city: "City",
  state: "State",
  central: "Central",
  note: "Note",
  unknownToCentral: "unknown to Central",
  alert: "alert",
  clear: "clear",
  unknown: "unknown",
  noCps: "(no CPs watched: press a to add one)",
  keys: "[a] add  [c] change  [r] remove  [t] simulated temperature  [l] list  [q] quit",
  refused: "refused: {detail}",
  askAdd: "CP id to add: ",
  alreadyWatched: "{cp} is already watched: use [c] to change its city",
  askCity: "City of {cp}: ",
  askChange: "CP id to change: ",
  notWatched: "{cp} is not watched",
  askNewCity: "New city of {cp}: ",
  askRemove: "CP id to remove: ",
  removed: "{cp} removed (was in {city})",
  manualOnlySimulated:
    "manual temperatures exist only with the simulated provider (no OpenWeather key)",
  askCityOnly: "City: ",
  askTemperature: "Temperature of {city} in °C (empty: drift again): ",
  notTemperature: '"{text}" is not a temperature',
  range: "a manual temperature is {min} to {max} °C",
  drifts: "{city} drifts again",
  noManual: "{city} had no manual temperature",
  held: "{city} held at {temperature}",
};

/** The keys of {@link WEATHER_TEXT}. */
export type WeatherTextKey = keyof typeof en;

/** The weather office's fixed texts. */
export const WEATHER_TEXT: Catalog<WeatherTextKey> = {
  en,
  es: {
    title: "EVCharging oficina meteorológica",
    simulated: "temperaturas SIMULADAS (sin clave de OpenWeather)",
    notAnswering: "no responde ({detail})",
    noDetail: "sin detalle",
    answering: "responde",
    notContacted: "aún sin contactar",
    providerLine: "Proveedor: {provider}   Umbral: {threshold}",
    centralLine: "Central {url}: {state}",
    locationsFile: "Fichero de ubicaciones: {problem}",
    cp: "Punto",
    city: "Ciudad",
    state: "Estado",
    central: "Central",
    note: "Nota",
    unknownToCentral: "desconocido para la Central",
    alert: "alerta",
    clear: "normal",
    unknown: "desconocido",
    noCps: "(ningún punto vigilado: pulse a para añadir uno)",
    keys: "[a] añadir  [c] cambiar  [r] quitar  [t] temperatura simulada  [l] lista  [q] salir",
    refused: "rechazado: {detail}",
    askAdd: "Id del punto a añadir: ",
    alreadyWatched: "{cp} ya está vigilado: use [c] para cambiar su ciudad",
    askCity: "Ciudad de {cp}: ",
    askChange: "Id del punto a cambiar: ",
    notWatched: "{cp} no está vigilado",
    askNewCity: "Nueva ciudad de {cp}: ",
    askRemove: "Id del punto a quitar: ",
    removed: "{cp} quitado (estaba en {city})",
    manualOnlySimulated:
      "las temperaturas manuales solo existen con el proveedor simulado (sin clave de OpenWeather)",
    askCityOnly: "Ciudad: ",
    askTemperature: "Temperatura de {city} en °C (vacío: vuelve a variar): ",
    notTemperature: '"{text}" no es una temperatura',
    range: "una temperatura manual va de {min} a {max} °C",
    drifts: "{city} vuelve a variar",
    noManual: "{city} no tenía temperatura manual",
    held: "{city} fijada en {temperature}",
  },
};

/** A weather office text in `lang` with its `{placeholders}` filled. */
export function weatherSay(
  lang: Lang,
  key: WeatherTextKey,
  params?: Readonly<Record<string, string | number>>,
): string {
  return translate(WEATHER_TEXT, lang, key, params);
}
