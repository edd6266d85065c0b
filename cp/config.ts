/**
 * Command lines of the CP processes: the engine (`cp/engine_main.ts`), the monitor (`cp/monitor_main.ts`)
 * and `deno task cp` (`cp/main.ts`), which starts both from one set of flags. Positional
 * arguments follow the original brief (ARCHITECTURE §Processes and ports): engine `<broker> <port>`, monitor
 * `<engine> <central> <cp-id> <registry-url>`.
 *
 * @module
 */

import { join } from "node:path";
import {
  brokersOption,
  decimal,
  defineConfig,
  duration,
  flag,
  hostPort,
  langOption,
  logFormatOption,
  logLevelOption,
  option,
  type Parser,
  portOrZero,
  text,
} from "../shared/config.ts";
import { isValidCpId } from "../shared/encoding.ts";
import { MAX_LOCATION_CHARS, MAX_POWER_KW, MAX_PRICE_EUR_KWH } from "../shared/messages.ts";
import { CA_FILE_ENV } from "../shared/tls.ts";
import { REVOKED_WAIT_MS } from "./monitor_core.ts";

/** Where the engine listens for its monitor by default. */
export const DEFAULT_ENGINE_PORT = 7100;
/** Central's monitor port by default (ARCHITECTURE §Processes and ports). */
export const DEFAULT_CENTRAL = "127.0.0.1:7000";
/** The Registry by default (ARCHITECTURE §Processes and ports). */
export const DEFAULT_REGISTRY_URL = "https://127.0.0.1:8443";
/** Where a monitor keeps its CP credentials by default. */
export const DEFAULT_CREDENTIALS_DIR = "data/cp";
/**
 * Where an engine on `port` writes its monitor-link secret, and its monitor reads it, when no
 * file is named: `<folder>/engine-<port>.secret`.
 */
export function defaultEngineSecretFile(folder: string, port: number): string {
  return join(folder, `engine-${port}.secret`);
}
/** The power an engine supplies when Central's `AUTHORIZE` names none, kW. */
export const DEFAULT_POWER_KW = 22;

/** A `host:port` address that prints back as it was written (for `--help` and child flags). */
export interface Address {
  /** Host name or IP (IPv6 without brackets). */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
  /** `host:port`. */
  toString(): string;
}

/** Parses `host:port` into an {@link Address}. */
export const address: Parser<Address> = (raw) => {
  const { host, port } = hostPort(raw);
  const shown = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return { host, port, toString: () => shown };
};

/** A CP id: 3–64 of `[A-Za-z0-9_-]`. */
export const cpId: Parser<string> = (raw) => {
  if (!isValidCpId(raw)) throw new Error("a CP id of 3–64 characters of A–Z, a–z, 0–9, _ or -");
  return raw;
};

/** An `https:` URL without a trailing slash: the Registry is only ever spoken to over TLS. */
export const httpsUrl: Parser<string> = (raw) => {
  const url = URL.parse(raw.trim());
  if (url?.protocol !== "https:") throw new Error(`an https URL, e.g. ${DEFAULT_REGISTRY_URL}`);
  return url.href.replace(/\/$/, "");
};

/** A CP location for the Registry. */
const location: Parser<string> = (raw) => {
  const value = text(raw);
  if (value.length > MAX_LOCATION_CHARS) {
    throw new Error(`at most ${MAX_LOCATION_CHARS} characters`);
  }
  return value;
};

const logOptions = {
  logLevel: logLevelOption(),
  logFormat: logFormatOption("log lines: json, pretty, or auto (pretty on a terminal)"),
};

/** What both the engine and `deno task cp` take to shape the charging simulation. */
const simulationOptions = {
  powerKw: option(decimal(0.1, MAX_POWER_KW), {
    flag: "power",
    default: DEFAULT_POWER_KW,
    help: "kW supplied when Central's AUTHORIZE names none",
  }),
  speed: option(decimal(0.01, 1_000_000), {
    flag: "speed",
    env: "CP_SPEED",
    default: 1,
    help: "simulated time per wall time (60 = a simulated minute every second)",
  }),
  plugDelayMs: option(duration, {
    flag: "plug-delay",
    default: 2000,
    help: "headless: plug the vehicle in this long after AUTHORIZE (ms, or 2s, 1m)",
  }),
  plugTimeoutMs: option(duration, {
    flag: "plug-timeout",
    default: 60_000,
    help: "end an authorized session not plugged in within this time (ms, or 60s, 1m)",
  }),
  targetKwh: option(decimal(0.001, 1_000_000), {
    flag: "target-kwh",
    optional: true,
    help: "end the supply when the session reaches this energy (target_reached)",
  }),
  durationMs: option(duration, {
    flag: "duration",
    optional: true,
    help: "unplug after this much simulated supply time, e.g. 30m",
  }),
  headless: flag({
    flag: "headless",
    help: "no screen or keys: plug in automatically and write structured logs",
  }),
};

/** `cp/engine_main.ts`. */
export const engineConfig = defineConfig({
  name: "cp/engine_main.ts",
  summary: "The CP engine: simulates the charger, obeys Central's commands on Kafka, " +
    "reports encrypted telemetry, answers its monitor on a loopback port.",
  options: {
    brokers: brokersOption(0),
    port: option(portOrZero, {
      flag: "port",
      env: "CP_ENGINE_PORT",
      position: 1,
      default: DEFAULT_ENGINE_PORT,
      help: "loopback port its monitor connects to (0 = any free port)",
    }),
    portFile: option(text, {
      flag: "port-file",
      optional: true,
      help: "once listening, write the port to this file (how `deno task cp` learns a port 0)",
    }),
    cpId: option(cpId, {
      flag: "cp-id",
      optional: true,
      help: "CP id; learnt from the monitor's KEY frame when absent",
    }),
    stateDir: option(text, {
      flag: "state-dir",
      env: "CP_STATE_DIR",
      default: DEFAULT_CREDENTIALS_DIR,
      help: "folder (0700) of <cp-id>.replay.json (replay marks) and the default secret file",
    }),
    secretFile: option(text, {
      flag: "secret-file",
      optional: true,
      help: "where each start writes the secret its monitor must prove (0600; default " +
        "<state-dir>/engine-<port>.secret)",
    }),
    keyGraceMs: option(duration, {
      flag: "key-grace",
      env: "CP_KEY_GRACE",
      default: 120_000,
      help: "how long a replaced or revoked key version still opens commands (as Central's " +
        "--key-grace); then it is forgotten and its commands dropped as expired_kv",
    }),
    keysHelp: option(text, {
      flag: "keys-help",
      optional: true,
      help: "the line of keys its screen shows (`deno task cp` reads the keys and names its own)",
    }),
    lang: langOption,
    ...simulationOptions,
    ...logOptions,
  },
});

/** `--ca` / `EV_CA_FILE`: the CA a Registry client checks the Registry's certificate against. */
export const caFileOption = option(text, {
  flag: "ca",
  env: CA_FILE_ENV,
  optional: true,
  help: "CA certificate the Registry's is checked against (default certs/ca.pem)",
});

/** `--central`: Central's monitor socket, for a monitor and for what hosts monitors. */
export function centralOption(position?: number) {
  return option(address, {
    flag: "central",
    env: "CENTRAL_ADDR",
    position,
    default: address(DEFAULT_CENTRAL),
    help: "Central's monitor socket, host:port",
  });
}

/** Options of the monitor that `deno task cp` passes on unchanged. */
const monitorSharedOptions = {
  central: centralOption(1),
  registryUrl: option(httpsUrl, {
    flag: "registry-url",
    env: "REGISTRY_URL",
    position: 3,
    default: DEFAULT_REGISTRY_URL,
    help: "the Registry (HTTPS)",
  }),
  caFile: caFileOption,
  registryAdminKey: option(text, {
    flag: "registry-admin-key",
    env: "REGISTRY_ADMIN_KEY",
    optional: true,
    secret: true,
    help: "admin key, needed once to register the CP",
  }),
  location: option(location, {
    flag: "location",
    optional: true,
    help: "where the CP is, registered on first start",
  }),
  priceEurKwh: option(decimal(0, MAX_PRICE_EUR_KWH), {
    flag: "price",
    optional: true,
    help: "€/kWh, registered on first start (the Registry's default otherwise)",
  }),
  credentialsDir: option(text, {
    flag: "credentials-dir",
    env: "CP_CREDENTIALS_DIR",
    default: DEFAULT_CREDENTIALS_DIR,
    help: "folder of <cp-id>.credentials (mode 0600)",
  }),
  revokedWaitMs: option(duration, {
    flag: "revoked-wait",
    env: "CP_REVOKED_WAIT",
    default: REVOKED_WAIT_MS,
    help: "after an admin revokes the CP's key, wait this long (counting down) before " +
      "re-authenticating (ms, or 10s)",
  }),
};

/** `cp/monitor_main.ts`. */
export const monitorConfig = defineConfig({
  name: "cp/monitor_main.ts",
  summary: "The CP monitor: registers and logs the CP in, hands the key to its engine, " +
    "health-checks the engine and reports to Central.",
  options: {
    engine: option(address, {
      flag: "engine",
      env: "CP_ENGINE_ADDR",
      position: 0,
      default: address(`127.0.0.1:${DEFAULT_ENGINE_PORT}`),
      help: "its engine's socket, host:port",
    }),
    cpId: option(cpId, { flag: "cp-id", env: "CP_ID", position: 2, help: "CP id" }),
    engineSecretFile: option(text, {
      flag: "engine-secret-file",
      optional: true,
      help: "the secret file its engine writes at each start (default " +
        "<credentials-dir>/engine-<engine port>.secret)",
    }),
    ...monitorSharedOptions,
    powerKw: option(decimal(0.1, MAX_POWER_KW), {
      flag: "power",
      optional: true,
      help: "kW, registered on first start (the Registry's default otherwise)",
    }),
    headless: flag({ flag: "headless", help: "no screen: structured logs only" }),
    lang: langOption,
    ...logOptions,
  },
});

/** `deno task cp`: one set of flags for both processes. */
export const cpConfig = defineConfig({
  name: "deno task cp",
  summary: "Starts a CP: its engine and its monitor as two processes that fail independently.",
  options: {
    cpId: option(cpId, { flag: "cp-id", env: "CP_ID", position: 0, help: "CP id" }),
    enginePort: option(portOrZero, {
      flag: "engine-port",
      env: "CP_ENGINE_PORT",
      default: 0,
      help: "the engine's loopback port (0 = pick a free one)",
    }),
    brokers: brokersOption(),
    ...monitorSharedOptions,
    central: { ...monitorSharedOptions.central, position: undefined },
    registryUrl: { ...monitorSharedOptions.registryUrl, position: undefined },
    ...simulationOptions,
    powerKw: {
      ...simulationOptions.powerKw,
      help: "kW: registered on first start, and supplied when AUTHORIZE names none",
    },
    lang: langOption,
    logLevel: logOptions.logLevel,
  },
});
