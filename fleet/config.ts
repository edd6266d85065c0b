/**
 * The fleet's command line (`deno task fleet`).
 *
 * @module
 */

import {
  brokersOption,
  decimal,
  defineConfig,
  duration,
  httpUrl,
  integer,
  logLevelOption,
  oneOf,
  option,
  type Parser,
  text,
} from "../shared/config.ts";
import { join } from "node:path";
import {
  type Address,
  address,
  caFileOption,
  centralOption,
  DEFAULT_REGISTRY_URL,
  httpsUrl,
} from "../cp/config.ts";
import { ENGINE_LINKS, PREFIX_PATTERN } from "./core.ts";

/** Where `deno task registry` keeps its generated admin key by default. */
export const DEFAULT_REGISTRY_ADMIN_KEY_FILE = "data/registry_admin.key";

const prefix: Parser<string> = (raw) => {
  if (!PREFIX_PATTERN.test(raw)) throw new Error("1–40 characters of A–Z, a–z, 0–9, _ or -");
  return raw;
};

/**
 * CPs one fleet thread hosts by default: one event loop serving many more CPs' sockets reads
 * them late enough to trip their health checks, and every thread more reads all drivers'
 * updates once more (BENCHMARKS.md, items 7 and 22).
 */
export const CPS_PER_THREAD = 500;

/** Where a fleet with `prefix` keeps its CPs' credentials unless told: `data/fleet/<prefix>/cp`. */
export function defaultCredentialsDir(prefix: string): string {
  return join("data", "fleet", prefix, "cp");
}

/** The threads a fleet of `cps` CPs runs on when not told: one per {@link CPS_PER_THREAD}. */
export function defaultThreads(cps: number): number {
  return Math.max(1, Math.ceil(cps / CPS_PER_THREAD));
}

/**
 * Where a Registry's generated admin key is looked for when none is given: the file of
 * `deno task registry`, then that of `deno task start` (its network keeps data in data/network).
 */
export const REGISTRY_ADMIN_KEY_FILES: readonly string[] = [
  DEFAULT_REGISTRY_ADMIN_KEY_FILE,
  "data/network/registry_admin.key",
];

/** The admin key: `given`, else the content of the first of `files` there is, else undefined. */
export async function findRegistryAdminKey(
  given: string | undefined,
  files: readonly string[] = REGISTRY_ADMIN_KEY_FILES,
): Promise<string | undefined> {
  if (given !== undefined) return given;
  for (const file of files) {
    const key = await Deno.readTextFile(file).then((k) => k.trim(), () => "");
    if (key !== "") return key;
  }
  return undefined;
}

/** The Registry's admin key, for the fleet to register its CPs (fleet and bench alike). */
const registryAdminKeyOption = option(text, {
  flag: "registry-admin-key",
  env: "REGISTRY_ADMIN_KEY",
  optional: true,
  secret: true,
  help: `admin key to register new CPs (default: the file ${
    REGISTRY_ADMIN_KEY_FILES.join(" or ")
  })`,
});

/** `--login-concurrency`, the same for the fleet and the bench. */
const loginConcurrencyOption = option(integer(1, 10_000), {
  flag: "login-concurrency",
  optional: true,
  help: "CPs logging in at once, in the ramp and again after a drop, shared by the threads " +
    "(default 4 a thread, at least 8)",
});

/** `--engine-links`, the same for the fleet and the bench. */
const engineLinksOption = option(oneOf(ENGINE_LINKS), {
  flag: "engine-links",
  default: "tcp",
  help: "how each CP's monitor reaches its engine: tcp (loopback sockets) or memory (in process)",
});

/** `fleet/main.ts` (`deno task fleet`). */
export const fleetConfig = defineConfig({
  name: "deno task fleet",
  summary: "Hosts many CPs and drivers in one process, each one real over Kafka, TCP and " +
    "HTTPS, charging continually; shows progress until Ctrl-C.",
  options: {
    cps: option(integer(0, 100_000), { flag: "cps", default: 10, help: "CPs to host" }),
    drivers: option(integer(0, 100_000), {
      flag: "drivers",
      default: 5,
      help: "drivers to host",
    }),
    speed: option(decimal(0.01, 1_000_000), {
      flag: "speed",
      default: 60,
      help: "simulated time per wall time (60 = a simulated minute every second)",
    }),
    prefix: option(prefix, {
      flag: "prefix",
      default: "FLEET",
      help: "starts every CP and driver id; run several fleets with different prefixes",
    }),
    brokers: brokersOption(),
    central: centralOption(),
    registryUrl: option(text, {
      flag: "registry-url",
      env: "REGISTRY_URL",
      default: DEFAULT_REGISTRY_URL,
      help: "the Registry (HTTPS)",
    }),
    caFile: caFileOption,
    registryAdminKey: registryAdminKeyOption,
    credentialsDir: option(text, {
      flag: "credentials-dir",
      optional: true,
      help: "folder of the CPs' credential files (default data/fleet/<prefix>/cp)",
    }),
    durationMs: option(duration, {
      flag: "duration",
      default: 30 * 60_000,
      help: "simulated supply time of each session (ms, or 30m)",
    }),
    plugDelayMs: option(duration, {
      flag: "plug-delay",
      default: 500,
      help: "a vehicle is plugged in this long after AUTHORIZE",
    }),
    pauseMs: option(duration, {
      flag: "pause",
      default: 1000,
      help: "a driver's pause after each ticket or denial",
    }),
    threads: option(integer(1, 64), {
      flag: "threads",
      optional: true,
      help: `threads the CPs and drivers are spread over (default: one per ${CPS_PER_THREAD} CPs)`,
    }),
    loginConcurrency: loginConcurrencyOption,
    engineLinks: engineLinksOption,
    logLevel: logLevelOption("warning"),
  },
});

/** `fleet/bench.ts` (`deno task bench`). */
export const benchConfig = defineConfig({
  name: "deno task bench",
  summary: "Starts a fresh local network (Kafka unless KAFKA_BROKERS, Registry, Central), " +
    "or uses the one --central, --central-url and --registry-url name (with KAFKA_BROKERS), " +
    "ramps a fleet to N CPs, holds a steady state, prints a table and writes a JSON file.",
  options: {
    central: option(address, {
      flag: "central",
      optional: true,
      help: "a running Central's monitor socket, host:port (instead of a fresh network)",
    }),
    centralUrl: option(httpUrl, {
      flag: "central-url",
      optional: true,
      help: "that Central's REST API (GET /health, GET /events)",
    }),
    registryUrl: option(httpsUrl, {
      flag: "registry-url",
      optional: true,
      help: "that network's Registry (HTTPS)",
    }),
    caFile: caFileOption,
    registryAdminKey: registryAdminKeyOption,
    centralGroup: option(text, {
      flag: "central-group",
      optional: true,
      help: "that Central's consumer group prefix (its --group; default central)",
    }),
    centralPid: option(integer(1, 2 ** 31), {
      flag: "central-pid",
      optional: true,
      help: "that Central's process id on this machine, to measure its CPU and memory",
    }),
    cps: option(integer(1, 100_000), { flag: "cps", default: 1000, help: "CPs to ramp to" }),
    drivers: option(integer(0, 100_000), {
      flag: "drivers",
      optional: true,
      help: "drivers (default: as many as CPs, so every CP keeps charging)",
    }),
    speed: option(decimal(0.01, 1_000_000), {
      flag: "speed",
      default: 60,
      help: "simulated time per wall time",
    }),
    durationMs: option(duration, {
      flag: "duration",
      default: 30 * 60_000,
      help: "simulated supply time of each session",
    }),
    holdMs: option(duration, {
      flag: "hold",
      default: 60_000,
      help: "how long the steady state is measured",
    }),
    loginConcurrency: loginConcurrencyOption,
    engineLinks: engineLinksOption,
    threads: option(integer(1, 64), {
      flag: "threads",
      optional: true,
      help: `threads the fleet runs on (default: one per ${CPS_PER_THREAD} CPs)`,
    }),
    backlog: option(integer(1, 100_000_000), {
      flag: "backlog",
      optional: true,
      help: "instead of a steady state: once the CPs are logged in, kill Central, fill " +
        "cp.telemetry with this many envelopes under their keys, then time Central's drain " +
        "against a raw consumer's on a copy (a fresh network only)",
    }),
    outageMs: option(duration, {
      flag: "outage",
      optional: true,
      help: "after the steady state: kill Central this long, then time its catch-up (lag under " +
        "1 s) and the CPs' logins back (a fresh network only)",
    }),
    rawMessages: option(integer(100, 10_000_000), {
      flag: "raw-messages",
      default: 30_000,
      help: "messages of the raw kafkajs produce→consume measurement",
    }),
    profileCentral: option(text, {
      flag: "profile-central",
      optional: true,
      help: "write Central's V8 CPU profile into this folder (deno --cpu-prof)",
    }),
    centralLibcrypto: option(text, {
      flag: "central-libcrypto",
      optional: true,
      help: "Central opens telemetry through OpenSSL's libcrypto at this path (its --libcrypto, " +
        "with --allow-ffi)",
    }),
    out: option(text, {
      flag: "out",
      optional: true,
      help: "JSON result file (default data/bench/bench-<cps>-<time>.json)",
    }),
    logLevel: logLevelOption("warning", "lowest log level of Central, the Registry and the fleet"),
  },
});

/** The network a benchmark runs against: its own, or one already running. */
export type BenchNetwork =
  | { readonly kind: "fresh" }
  | {
    readonly kind: "given";
    /** Central's monitor socket. */
    readonly central: Address;
    /** Central's REST API. */
    readonly centralUrl: string;
    /** The Registry. */
    readonly registryUrl: string;
    /** Central's consumer group prefix: its telemetry group is `<group>-telemetry`. */
    readonly group: string;
    /** Central's process on this machine, when its CPU and memory can be read. */
    readonly centralPid?: number;
  };

/** The network options of {@link benchConfig}. */
export interface BenchNetworkOptions {
  readonly central?: Address;
  readonly centralUrl?: string;
  readonly registryUrl?: string;
  readonly centralGroup?: string;
  readonly centralPid?: number;
}

/**
 * Which network the benchmark uses: a given one needs all of `--central`, `--central-url` and
 * `--registry-url`, and its Kafka (`kafkaGiven`: `KAFKA_BROKERS`), or the fleet would talk to a
 * broker of its own that the given Central never reads.
 * @throws {Error} naming what is missing or out of place.
 */
export function benchNetwork(options: BenchNetworkOptions, kafkaGiven: boolean): BenchNetwork {
  const { central, centralUrl, registryUrl, centralGroup, centralPid } = options;
  const flags = {
    "--central": central,
    "--central-url": centralUrl,
    "--registry-url": registryUrl,
  };
  const named = (present: boolean) =>
    Object.entries(flags).filter(([, value]) => (value !== undefined) === present).map(([f]) => f);
  if (named(true).length === 0) {
    if (centralGroup !== undefined || centralPid !== undefined) {
      const stray = centralGroup !== undefined ? "--central-group" : "--central-pid";
      throw new Error(
        `${stray} is for a given network: give --central, --central-url and --registry-url`,
      );
    }
    return { kind: "fresh" };
  }
  if (central === undefined || centralUrl === undefined || registryUrl === undefined) {
    throw new Error(
      `a given network needs ${named(false).join(" and ")} too (got ${named(true).join(", ")})`,
    );
  }
  if (!kafkaGiven) throw new Error("a given network needs its Kafka brokers: set KAFKA_BROKERS");
  return {
    kind: "given",
    central,
    centralUrl,
    registryUrl,
    group: centralGroup ?? "central",
    ...(centralPid === undefined ? {} : { centralPid }),
  };
}
