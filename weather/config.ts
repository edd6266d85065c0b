/**
 * Command line and environment of `weather/main.ts` (declared with `shared/config.ts`).
 *
 * @module
 */
import {
  type ConfigOf,
  decimal,
  defineConfig,
  duration,
  flag,
  httpUrl,
  langOption,
  logLevelOption,
  option,
  portOrZero,
  secret,
  text,
} from "../shared/config.ts";
import { OPENWEATHER_BASE_URL } from "./providers.ts";

/** Default locations file. */
export const DEFAULT_LOCATIONS_FILE = "data/weather_locations.json";
/** Where a generated service key is kept; Central reads the same file (or the env variable). */
export const DEFAULT_SERVICE_KEY_FILE = "data/weather_service.key";
/** Shortest service key accepted from the environment. */
export const MIN_SERVICE_KEY_CHARS = 32;

/** The weather office's options. */
export const weatherConfig = defineConfig({
  name: "weather",
  summary: "Reads the temperature of each CP's city and tells Central to stop CPs in the cold.",
  options: {
    central: option(httpUrl, {
      flag: "central",
      env: "CENTRAL_URL",
      default: "http://127.0.0.1:8080",
      help: "Central's REST base URL (https when Central listens off loopback: trusted " +
        "through the project CA, --ca)",
    }),
    ca: option(text, {
      flag: "ca",
      env: "EV_CA_FILE",
      optional: true,
      help: "CA certificate that signed Central's (default certs/ca.pem), for an https URL",
    }),
    port: option(portOrZero, {
      flag: "port",
      env: "WEATHER_PORT",
      default: 8090,
      help: "Port of the locations API (0: any free port)",
    }),
    host: option(text, {
      flag: "host",
      env: "WEATHER_HOST",
      default: "0.0.0.0",
      help: "Address the locations API listens on",
    }),
    intervalMs: option(duration, {
      flag: "interval",
      env: "WEATHER_INTERVAL",
      default: 4000,
      help: "Time between two readings of every city (e.g. 4s)",
    }),
    thresholdC: option(decimal(-90, 60), {
      flag: "threshold",
      env: "WEATHER_THRESHOLD",
      default: 0,
      help: "Below this °C a CP is stopped, at or above released (negative: --threshold=-2)",
    }),
    locations: option(text, {
      flag: "locations",
      env: "WEATHER_LOCATIONS",
      default: DEFAULT_LOCATIONS_FILE,
      help: "JSON file of CP id → city (created empty if missing)",
    }),
    openweatherBaseUrl: option(httpUrl, {
      flag: "openweather-base-url",
      env: "OPENWEATHER_BASE_URL",
      default: OPENWEATHER_BASE_URL,
      help: "OpenWeather API base URL",
    }),
    openweatherKey: option(secret(8), {
      flag: "openweather-key",
      env: "OPENWEATHER_API_KEY",
      optional: true,
      secret: true,
      help: "OpenWeather API key (prefer the env variable; none: simulated temperatures)",
    }),
    openweatherKeyFile: option(text, {
      flag: "openweather-key-file",
      env: "OPENWEATHER_KEY_FILE",
      optional: true,
      help: "File holding the OpenWeather API key (used when the key itself is not given)",
    }),
    requestTimeoutMs: option(duration, {
      flag: "request-timeout",
      env: "WEATHER_REQUEST_TIMEOUT",
      default: 3000,
      help: "Longest wait for one answer from OpenWeather or Central",
    }),
    serviceKey: option(secret(MIN_SERVICE_KEY_CHARS), {
      flag: "service-key",
      env: "WEATHER_SERVICE_KEY",
      optional: true,
      secret: true,
      help: "Key for Central's /weather/alert and this API's changes (prefer the env variable)",
    }),
    serviceKeyFile: option(text, {
      flag: "service-key-file",
      env: "WEATHER_SERVICE_KEY_FILE",
      default: DEFAULT_SERVICE_KEY_FILE,
      help: "Where the service key is generated (mode 0600) when it is not given",
    }),
    fileOnly: flag({
      flag: "file-only",
      env: "WEATHER_FILE_ONLY",
      help: "Watch only the CPs in the locations file (default: also add to it every CP " +
        "Central knows in a city the file lacks)",
    }),
    noTui: flag({
      flag: "no-tui",
      env: "WEATHER_NO_TUI",
      help: "Plain logs even on a terminal (no status table, no menu)",
    }),
    lang: langOption,
    logLevel: logLevelOption("info", "Lowest log level written"),
  },
});

/** The parsed options. */
export type WeatherConfig = ConfigOf<typeof weatherConfig.options>;
