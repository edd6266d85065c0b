/**
 * The command line of every service of a local network (infra/network.ts), built from where
 * things are: pure, so what `deno task start` runs can be read and tested without starting
 * anything. Secrets go into the environment, never into the arguments, so `ps` does not show
 * them.
 *
 * @module
 */
import { join } from "node:path";
import { isLoopbackHost } from "../shared/tls.ts";
import type { ServiceSpec } from "./service.ts";

/** One simulated CP of a local network. */
export interface CpPlan {
  /** CP id. */
  readonly id: string;
  /** Where it is (a city the weather office can look up). */
  readonly location: string;
  /** €/kWh. */
  readonly priceEurKwh: number;
  /** kW. */
  readonly powerKw: number;
  /** Further `cp/main.ts` flags (e.g. `--target-kwh 2`). */
  readonly args?: readonly string[];
  /**
   * `false` runs it as at a keyboard (no `--headless`): the vehicle is plugged in and out only
   * with the `p` and `u` keys typed into its input. Default `true`: it plugs in by itself.
   */
  readonly headless?: boolean;
}

/** One driver of a local network. */
export interface DriverPlan {
  /** Driver id. */
  readonly id: string;
  /**
   * File of CP ids it charges at in turn; without one it is interactive, reading the commands
   * of `deno task driver` (a CP id, `x`, `l`…) one a line from its input.
   */
  readonly file?: string;
  /** Start again after the last CP, forever. */
  readonly loop?: boolean;
  /** Further `driver/main.ts` flags (e.g. `--pause 500ms`). */
  readonly args?: readonly string[];
}

/** Where everything of a local network lives and how each part is reached. */
export interface NetworkLayout {
  /** Folder of every database, credential file and key. */
  readonly dir: string;
  /** The development CA and the server certificate and key. */
  readonly certs: { readonly caCert: string; readonly cert: string; readonly key: string };
  /** Kafka bootstrap brokers, comma-separated. */
  readonly brokers: string;
  /** Log level of every process. */
  readonly logLevel: string;
  /** Registry HTTPS port. */
  readonly registryPort: number;
  /** `https://localhost:<port>`. */
  readonly registryUrl: string;
  /** Address Central listens on. */
  readonly centralHost: string;
  /** Whether Central's REST API is HTTPS (it listens off loopback). */
  readonly centralHttps: boolean;
  /** Central's monitor TCP port. */
  readonly tcpPort: number;
  /** Central's HTTP(S) port. */
  readonly httpPort: number;
  /** `http://127.0.0.1:<port>`, or `https://localhost:<port>` off loopback. */
  readonly centralUrl: string;
  /** `127.0.0.1:<port>` monitors connect to. */
  readonly centralTcp: string;
}

/** The secrets the services share, handed over in their environment. */
export interface NetworkSecrets {
  /** The Registry's admin key (Central's CP manager and each CP's first registration use it). */
  readonly registryAdminKey: string;
  /** Central's admin token. */
  readonly adminToken: string;
}

/** Deno permissions of each kind of service. */
export const PERMS = {
  registry: ["--allow-net", "--allow-env", "--allow-read", "--allow-write"],
  central: ["--allow-net", "--allow-env", "--allow-read", "--allow-write"],
  cp: ["--allow-run", "--allow-net", "--allow-env", "--allow-read", "--allow-write"],
  driver: ["--allow-net", "--allow-env", "--allow-read"],
  weather: ["--allow-net", "--allow-env", "--allow-read", "--allow-write"],
} as const;

/** The layout of a network in `dir` on the given ports; Central on `127.0.0.1` by default. */
export function networkLayout(options: {
  readonly dir: string;
  readonly certs: NetworkLayout["certs"];
  readonly brokers: readonly string[];
  readonly logLevel?: string;
  readonly centralHost?: string;
  readonly ports: { readonly registry: number; readonly tcp: number; readonly http: number };
}): NetworkLayout {
  const { ports } = options;
  const centralHost = options.centralHost ?? "127.0.0.1";
  const centralHttps = !isLoopbackHost(centralHost);
  return {
    dir: options.dir,
    certs: options.certs,
    brokers: options.brokers.join(","),
    logLevel: options.logLevel ?? "info",
    registryPort: ports.registry,
    registryUrl: `https://localhost:${ports.registry}`,
    centralHost,
    centralHttps,
    tcpPort: ports.tcp,
    httpPort: ports.http,
    centralUrl: centralHttps ? `https://localhost:${ports.http}` : `http://127.0.0.1:${ports.http}`,
    centralTcp: `127.0.0.1:${ports.tcp}`,
  };
}

/** The Registry, on loopback with the development certificate. */
export function registrySpec(layout: NetworkLayout, secrets: NetworkSecrets): ServiceSpec {
  return {
    name: "registry",
    script: "registry/main.ts",
    permissions: PERMS.registry,
    args: [
      ...["--port", String(layout.registryPort), "--host", "127.0.0.1"],
      ...["--db", join(layout.dir, "registry.db")],
      ...["--cert", layout.certs.cert, "--key", layout.certs.key],
      ...["--log-level", layout.logLevel],
    ],
    env: { REGISTRY_ADMIN_KEY: secrets.registryAdminKey },
  };
}

/** Central, without its panel; `extra` adds the supervisor's URL, flags and Deno flags. */
export function centralSpec(
  layout: NetworkLayout,
  secrets: NetworkSecrets,
  extra: {
    readonly supervisorUrl?: string;
    readonly args?: readonly string[];
    readonly denoFlags?: readonly string[];
  } = {},
): ServiceSpec {
  return {
    name: "central",
    script: "central/main.ts",
    permissions: [...PERMS.central, ...(extra.denoFlags ?? [])],
    args: [
      ...["--tcp-port", String(layout.tcpPort), "--http-port", String(layout.httpPort)],
      ...["--host", layout.centralHost, "--broker", layout.brokers],
      ...["--db", join(layout.dir, "central.db"), "--registry-url", layout.registryUrl],
      ...["--ca", layout.certs.caCert, "--cert", layout.certs.cert, "--key", layout.certs.key],
      "--no-tui",
      ...["--log-level", layout.logLevel],
      ...(extra.supervisorUrl === undefined ? [] : ["--supervisor-url", extra.supervisorUrl]),
      ...(extra.args ?? []),
    ],
    // The Registry admin key lets the dashboard's CP manager register and deregister CPs.
    env: { CENTRAL_ADMIN_TOKEN: secrets.adminToken, REGISTRY_ADMIN_KEY: secrets.registryAdminKey },
  };
}

/** The weather office on `port`, watching the CPs of `locationsFile`. */
export function weatherSpec(
  layout: NetworkLayout,
  weather: {
    readonly port: number;
    readonly locationsFile: string;
    readonly args?: readonly string[];
  },
): ServiceSpec {
  return {
    name: "weather",
    script: "weather/main.ts",
    permissions: PERMS.weather,
    args: [
      ...["--central", layout.centralUrl, "--ca", layout.certs.caCert],
      ...["--port", String(weather.port), "--host", "127.0.0.1"],
      ...["--locations", weather.locationsFile],
      // Central generates the key next to its database on first start; the office reads it.
      ...["--service-key-file", join(layout.dir, "weather_service.key")],
      "--no-tui",
      ...["--log-level", layout.logLevel],
      ...(weather.args ?? []),
    ],
  };
}

/** A headless CP (`cp/main.ts`: engine and monitor) as `plan` describes it. */
export function cpSpec(layout: NetworkLayout, secrets: NetworkSecrets, plan: CpPlan): ServiceSpec {
  return {
    name: `cp-${plan.id}`,
    script: "cp/main.ts",
    permissions: PERMS.cp,
    args: [
      ...["--cp-id", plan.id, "--broker", layout.brokers, "--central", layout.centralTcp],
      ...["--registry-url", layout.registryUrl, "--ca", layout.certs.caCert],
      ...["--location", plan.location],
      ...["--price", String(plan.priceEurKwh), "--power", String(plan.powerKw)],
      ...["--credentials-dir", join(layout.dir, "cp")],
      ...(plan.headless === false ? [] : ["--headless"]),
      ...["--log-level", layout.logLevel],
      ...(plan.args ?? []),
    ],
    env: { REGISTRY_ADMIN_KEY: secrets.registryAdminKey },
    keys: true, // the supervisor's demo actions (shared/cp_keys.ts)
  };
}

/** A driver as `plan` describes it: from its file, or interactive with commands on its input. */
export function driverSpec(layout: NetworkLayout, plan: DriverPlan): ServiceSpec {
  return {
    name: `driver-${plan.id}`,
    script: "driver/main.ts",
    permissions: PERMS.driver,
    args: [
      ...["--broker", layout.brokers, "--driver-id", plan.id],
      ...(plan.file === undefined ? [] : ["--file", plan.file]),
      ...(plan.loop ? ["--loop"] : []),
      ...["--log-level", layout.logLevel],
      ...(plan.args ?? []),
    ],
    keys: plan.file === undefined,
  };
}
