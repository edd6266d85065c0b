/**
 * The command line of `deno task ocpp` (`ocpp/main.ts`): flags, environment variables and
 * defaults. `deno task ocpp --help` prints them.
 *
 * @module
 */

import {
  brokersOption,
  decimal,
  defineConfig,
  flag,
  integer,
  logFormatOption,
  logLevelOption,
  option,
  port,
  text,
} from "../shared/config.ts";
import { MAX_POWER_KW, MAX_PRICE_EUR_KWH } from "../shared/messages.ts";
import { SERVER_CERT_FILE, SERVER_KEY_FILE } from "../shared/tls.ts";
import { caFileOption, centralOption, cpId, DEFAULT_REGISTRY_URL, httpsUrl } from "../cp/config.ts";

/** The gateway's default port (OCPP's customary one). */
export const DEFAULT_OCPP_PORT = 9000;
/** Where the gateway keeps its chargers' credentials for their monitors. */
export const DEFAULT_OCPP_CREDENTIALS_DIR = "data/ocpp";

/** `deno task ocpp`. */
export const ocppConfig = defineConfig({
  name: "deno task ocpp",
  summary: "The OCPP 1.6J gateway: real chargers (wss://host:port/ocpp/<id>, HTTP Basic auth " +
    "with their CP credential) join the network as CPs. With --register <id>, registers a " +
    "charger at the Registry and prints its credential once.",
  options: {
    host: option(text, {
      flag: "host",
      env: "OCPP_HOST",
      default: "0.0.0.0",
      help: "address to listen on",
    }),
    port: option(port, {
      flag: "port",
      env: "OCPP_PORT",
      default: DEFAULT_OCPP_PORT,
      help: "port to listen on",
    }),
    plainWs: flag({
      flag: "plain-ws",
      help: "serve plain ws without TLS (security profile 1): only with --host on loopback",
    }),
    certFile: option(text, {
      flag: "cert",
      env: "OCPP_CERT_FILE",
      default: SERVER_CERT_FILE,
      help: "server certificate (PEM), signed by the project CA",
    }),
    keyFile: option(text, {
      flag: "key",
      env: "OCPP_KEY_FILE",
      default: SERVER_KEY_FILE,
      help: "its private key (PEM)",
    }),
    brokers: brokersOption(),
    central: centralOption(),
    registryUrl: option(httpsUrl, {
      flag: "registry-url",
      env: "REGISTRY_URL",
      default: DEFAULT_REGISTRY_URL,
      help: "the Registry (HTTPS)",
    }),
    caFile: caFileOption,
    credentialsDir: option(text, {
      flag: "credentials-dir",
      env: "OCPP_CREDENTIALS_DIR",
      default: DEFAULT_OCPP_CREDENTIALS_DIR,
      help: "folder of the chargers' credentials and kept sessions (files 0600, folder 0700)",
    }),
    heartbeatIntervalS: option(integer(1, 86_400), {
      flag: "heartbeat-interval",
      default: 60,
      help: "the Heartbeat interval told to chargers at boot, seconds",
    }),
    register: option(cpId, {
      flag: "register",
      optional: true,
      help: "register this charger id at the Registry, print its credential once and exit",
    }),
    registryAdminKey: option(text, {
      flag: "registry-admin-key",
      env: "REGISTRY_ADMIN_KEY",
      optional: true,
      secret: true,
      help: "the Registry's admin key (for --register)",
    }),
    location: option(text, {
      flag: "location",
      default: "unknown",
      help: "where the charger is (for --register)",
    }),
    priceEurKwh: option(decimal(0, MAX_PRICE_EUR_KWH), {
      flag: "price",
      optional: true,
      help: "€/kWh (for --register; the Registry's default otherwise)",
    }),
    powerKw: option(decimal(0.1, MAX_POWER_KW), {
      flag: "power",
      optional: true,
      help: "kW (for --register; the Registry's default otherwise)",
    }),
    logLevel: logLevelOption("info", "lowest level logged"),
    logFormat: logFormatOption("log lines as JSON or for people (auto: pretty on a terminal)"),
  },
});
