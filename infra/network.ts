/**
 * A whole local network as real child processes: the Registry, Central, CPs (`cp/main.ts`,
 * engine + monitor each) and drivers, each started with the same command line an operator
 * would type, its output kept in `<dir>/logs/<name>.log`. `deno task start` runs one of these;
 * the end-to-end tests in `tests/` run one per test and kill, restart and inspect its parts.
 *
 * Readiness is observed from outside, as an operator would: the Registry answers `GET /` over
 * TLS, Central answers `GET /health`, a CP shows `ACTIVATED` in Central's `GET /cps/{id}`.
 *
 * @module
 */
import { join } from "node:path";
import { certPaths, createDevCertificates, writeDevCertificates } from "./dev_ca.ts";
import {
  centralSpec,
  type CpPlan,
  cpSpec,
  type DriverPlan,
  driverSpec,
  type NetworkLayout,
  networkLayout,
  type NetworkSecrets,
  registrySpec,
  weatherSpec,
} from "./network_args.ts";
import { Service, type ServiceSpec, waitUntil } from "./service.ts";
import { credentialsPath } from "../shared/cp_credentials.ts";
import { readOrCreateSecretFile } from "../shared/secret_file.ts";
import { makePrivateDir } from "../shared/private_files.ts";
import { httpsClient } from "../shared/tls.ts";
import { freePort, holdFreePort } from "../shared/ports.ts";
import { type CpChildren, foldCpLine, NO_CHILDREN } from "./local_cp_control.ts";

export type { CpPlan, DriverPlan } from "./network_args.ts";
export { Service, type ServiceSpec, waitUntil } from "./service.ts";

/** Settings of {@link startNetwork}. */
export interface NetworkOptions {
  /** Folder of every database, credential file, key and log (`logs/`). */
  readonly dir: string;
  /** Folder of the development CA and server certificate; made there if missing. */
  readonly certsDir: string;
  /** Kafka bootstrap brokers. */
  readonly brokers: readonly string[];
  /** Registry HTTPS port (default: a free one). */
  readonly registryPort?: number;
  /** Central's monitor TCP port (default: a free one). */
  readonly centralTcpPort?: number;
  /** Central's HTTP port (default: a free one). */
  readonly centralHttpPort?: number;
  /**
   * Address Central listens on (default `127.0.0.1`: its REST API is then plain HTTP, reachable
   * from this machine only). Any other address, e.g. `0.0.0.0`, makes it HTTPS.
   */
  readonly centralHost?: string;
  /** Further Central flags (e.g. `--heartbeat-timeout 2s`). */
  readonly centralArgs?: readonly string[];
  /** Further Deno flags for Central's process (e.g. `--cpu-prof`, for the benchmark). */
  readonly centralDenoFlags?: readonly string[];
  /**
   * The local supervisor's control API (infra/supervisor_api.ts), given to Central as
   * `--supervisor-url` so the dashboard can start and stop these CPs; served by the caller once
   * the network is up.
   */
  readonly supervisorUrl?: string;
  /** CPs to start once Central is up. */
  readonly cps?: readonly CpPlan[];
  /** Drivers to start once every CP is `ACTIVATED`. */
  readonly drivers?: readonly DriverPlan[];
  /**
   * Start the weather office once the CPs are up, watching each CP's location (simulated
   * temperatures unless `OPENWEATHER_API_KEY` is set).
   */
  readonly weather?: { readonly port?: number; readonly args?: readonly string[] };
  /** Log level of every process (default `info`). */
  readonly logLevel?: string;
  /** Told each step as it happens. */
  readonly progress?: (text: string) => void;
  /**
   * Run every process in a session of its own, so a Ctrl-C at the terminal reaches only the
   * caller, which then stops them in order (drivers first, the Registry last) while the broker
   * is still up. Only for a caller that listens for SIGINT from its start: one that a Ctrl-C
   * ends would leave them running.
   */
  readonly detached?: boolean;
  /** Aborting it during the start stops what has started and rejects. */
  readonly signal?: AbortSignal;
}

/** Central's REST API as the network's supervisor uses it. */
export interface CentralApi {
  /** `GET path` as JSON (throws on a non-2xx answer). */
  get<T = unknown>(path: string): Promise<T>;
  /** `POST path` with the admin token, as JSON (throws on a non-2xx answer). */
  post<T = unknown>(path: string, body?: unknown): Promise<T>;
}

/** A CP as Central's `GET /cps/{id}` shows it. */
export interface CpView {
  readonly id: string;
  readonly location: string;
  readonly state: string;
  readonly stop_reason: string | null;
  readonly driver_id: string | null;
  readonly kwh: number | null;
  readonly eur: number | null;
  readonly key_version: number | null;
  /** An admin revoked its keys and it has not logged in since. */
  readonly key_revoked: boolean;
}

/** A running local network. */
export interface LocalNetwork {
  /** The Registry process. */
  readonly registry: Service;
  /** The Central process. */
  readonly central: Service;
  /** CP processes by CP id. */
  readonly cps: ReadonlyMap<string, Service>;
  /** How each CP was started, by CP id. */
  readonly cpPlans: ReadonlyMap<string, CpPlan>;
  /** The weather office process, when asked for. */
  readonly weather: Service | undefined;
  /** `http://127.0.0.1:<port>` of the weather office's API, when it runs. */
  readonly weatherUrl: string | undefined;
  /** Driver processes by driver id. */
  readonly drivers: ReadonlyMap<string, Service>;
  /** `https://localhost:<port>`. */
  readonly registryUrl: string;
  /** `http://127.0.0.1:<port>`, or `https://localhost:<port>` off loopback (`centralHost`). */
  readonly centralUrl: string;
  /** `127.0.0.1:<port>` monitors connect to. */
  readonly centralTcp: string;
  /** The CA file every client trusts. */
  readonly caFile: string;
  /** File holding Central's admin token (0600). */
  readonly adminTokenFile: string;
  /** Central's REST API. */
  readonly api: CentralApi;
  /** Waits until `GET /cps/{id}` satisfies `match`, and returns it. */
  waitForCp(id: string, match: (cp: CpView) => boolean, timeoutMs?: number): Promise<CpView>;
  /** Starts one more CP. */
  startCp(plan: CpPlan): Promise<Service>;
  /** What a CP's engine and monitor are doing, as its output shows (infra/local_cp_control.ts). */
  cpChildren(id: string): CpChildren | undefined;
  /** Where CP `id`'s monitor keeps its Registry credentials (0600). */
  credentialsFile(id: string): string;
  /** Starts one more driver. */
  startDriver(plan: DriverPlan): Promise<Service>;
  /** Starts a stopped or killed Central again and waits until it answers. */
  restartCentral(): Promise<void>;
  /** Stops drivers, CPs, Central and the Registry, in that order. */
  stop(): Promise<void>;
}

/** Makes the development certificates in `dir` unless they are there already. */
export async function ensureCertificates(dir: string): Promise<boolean> {
  try {
    await Deno.stat(certPaths(dir).caCert);
    return false;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await writeDevCertificates(dir, await createDevCertificates());
  return true;
}

/** A random secret for an admin key or token, base64url. */
function randomSecret(): string {
  return crypto.getRandomValues(new Uint8Array(32)).toBase64({ alphabet: "base64url" })
    .replace(/=+$/, "");
}

/** Both shared secrets, kept where the Registry and Central would generate them themselves. */
async function networkSecrets(dir: string): Promise<NetworkSecrets & { adminTokenFile: string }> {
  const registryAdminKey = (await readOrCreateSecretFile(
    join(dir, "registry_admin.key"),
    randomSecret,
  )).value;
  const adminTokenFile = join(dir, "central_admin.token");
  const adminToken = (await readOrCreateSecretFile(adminTokenFile, randomSecret)).value.trim();
  return { registryAdminKey, adminToken, adminTokenFile };
}

/**
 * Waits until `url` answers 2xx; fails at once with the log file to read if `service` has
 * exited meanwhile.
 */
export function waitHealthy(
  service: Service,
  label: string,
  url: string,
  client: Deno.HttpClient,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<true> {
  return waitUntil(
    `${label} to answer GET ${new URL(url).pathname}`,
    async () => {
      if (!service.running) throw new Error(`${label} exited; see ${service.logFile}`);
      const res = await fetch(url, { client });
      await res.body?.cancel();
      return res.ok ? true : undefined;
    },
    timeoutMs,
    signal,
  );
}

/**
 * Starts the Registry, Central, then the CPs (waiting until each is `ACTIVATED`), the weather
 * office and the drivers. On any failure everything already started is stopped again before the
 * error is thrown, and the error names the log files to read.
 */
export async function startNetwork(options: NetworkOptions): Promise<LocalNetwork> {
  const say = options.progress ?? (() => {});
  const logDir = join(options.dir, "logs");
  await makePrivateDir(logDir);
  if (await ensureCertificates(options.certsDir)) {
    say(`made development certificates in ${options.certsDir}`);
  }
  const layout = networkLayout({
    dir: options.dir,
    certs: certPaths(options.certsDir),
    brokers: options.brokers,
    logLevel: options.logLevel,
    centralHost: options.centralHost,
    ports: {
      registry: options.registryPort ?? freePort(),
      tcp: options.centralTcpPort ?? freePort(),
      http: options.centralHttpPort ?? freePort(),
    },
  });
  const secrets = await networkSecrets(options.dir);
  const tls = await httpsClient(layout.certs.caCert);
  const network = new RunningNetwork(options, layout, secrets, tls, logDir);
  try {
    await network.bringUp(options, say);
  } catch (error) {
    await network.abandon();
    if (options.signal?.aborted) throw options.signal.reason;
    throw new Error(
      `the local network did not come up: ${error instanceof Error ? error.message : error} ` +
        `(logs: ${network.logFiles().join(", ")})`,
    );
  }
  return network;
}

/** The {@link LocalNetwork} {@link startNetwork} returns, and its start in named steps. */
class RunningNetwork implements LocalNetwork {
  readonly registry: Service;
  readonly central: Service;
  readonly cps = new Map<string, Service>();
  readonly cpPlans = new Map<string, CpPlan>();
  readonly #children = new Map<string, CpChildren>();
  readonly weather: Service | undefined;
  readonly weatherUrl: string | undefined;
  readonly drivers = new Map<string, Service>();
  readonly registryUrl: string;
  readonly centralUrl: string;
  readonly centralTcp: string;
  readonly caFile: string;
  readonly adminTokenFile: string;
  readonly api: CentralApi;
  readonly #layout: NetworkLayout;
  readonly #secrets: NetworkSecrets;
  readonly #tls: Deno.HttpClient;
  readonly #newService: (spec: ServiceSpec) => Service;
  /** Held until the office starts, after the CPs: their engines take any free port meanwhile. */
  readonly #weatherHold: { readonly port: number; release(): void } | undefined;
  readonly #locationsFile: string;

  constructor(
    options: NetworkOptions,
    layout: NetworkLayout,
    secrets: NetworkSecrets & { readonly adminTokenFile: string },
    tls: Deno.HttpClient,
    logDir: string,
  ) {
    this.#layout = layout;
    this.#secrets = secrets;
    this.#tls = tls;
    this.#newService = (spec) => new Service({ ...spec, detached: options.detached }, logDir);
    this.registryUrl = layout.registryUrl;
    this.centralUrl = layout.centralUrl;
    this.centralTcp = layout.centralTcp;
    this.caFile = layout.certs.caCert;
    this.adminTokenFile = secrets.adminTokenFile;
    this.registry = this.#newService(registrySpec(layout, secrets));
    this.central = this.#newService(centralSpec(layout, secrets, {
      supervisorUrl: options.supervisorUrl,
      args: options.centralArgs,
      denoFlags: options.centralDenoFlags,
    }));
    this.#locationsFile = join(options.dir, "weather_locations.json");
    this.#weatherHold = options.weather && options.weather.port === undefined
      ? holdFreePort()
      : undefined;
    const weatherPort = options.weather?.port ?? this.#weatherHold?.port;
    if (options.weather !== undefined && weatherPort !== undefined) {
      this.weatherUrl = `http://127.0.0.1:${weatherPort}`;
      this.weather = this.#newService(weatherSpec(layout, {
        port: weatherPort,
        locationsFile: this.#locationsFile,
        args: options.weather.args,
      }));
    }
    this.api = centralApi(layout.centralUrl, secrets.adminToken, tls);
  }

  /** Starts every part in order, as {@link startNetwork} says. */
  async bringUp(options: NetworkOptions, say: (text: string) => void): Promise<void> {
    const { signal } = options;
    say(`starting the Registry on ${this.registryUrl}`);
    await this.registry.start();
    await waitHealthy(
      this.registry,
      "the Registry",
      `${this.registryUrl}/`,
      this.#tls,
      30_000,
      signal,
    );
    say(
      `starting Central on ${this.centralUrl} (monitors on ${this.centralTcp}; ${
        this.#layout.centralHttps
          ? "REST over HTTPS, clients trust the CA"
          : "REST over plain HTTP: it listens on loopback only"
      })`,
    );
    await this.central.start();
    await this.#waitForCentral(signal);
    await this.#bringUpCps(options.cps ?? [], say, signal);
    // After the CPs, so Central knows every CP the office watches (it warns of any it does not).
    await this.#bringUpWeather(options.cps ?? [], say, signal);
    for (const plan of options.drivers ?? []) {
      signal?.throwIfAborted();
      say(`starting driver ${plan.id} (${plan.file})`);
      await this.startDriver(plan);
    }
  }

  async #bringUpCps(
    plans: readonly CpPlan[],
    say: (text: string) => void,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    for (const plan of plans) {
      signal?.throwIfAborted();
      say(
        `starting CP ${plan.id} (${plan.location}, ${plan.powerKw} kW, ${plan.priceEurKwh} €/kWh)`,
      );
      await this.startCp(plan);
    }
    for (const plan of plans) {
      await this.#waitForCp(plan.id, (cp) => cp.state === "ACTIVATED", 60_000, signal);
      say(`CP ${plan.id} is ACTIVATED`);
    }
  }

  async #bringUpWeather(
    plans: readonly CpPlan[],
    say: (text: string) => void,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    if (this.weather === undefined || this.weatherUrl === undefined) return;
    await writeLocations(this.#locationsFile, plans);
    say(`starting the weather office on ${this.weatherUrl}`);
    this.#weatherHold?.release();
    await this.weather.start();
    await waitHealthy(
      this.weather,
      "the weather office",
      `${this.weatherUrl}/health`,
      this.#tls,
      30_000,
      signal,
    );
  }

  #waitForCentral(signal?: AbortSignal): Promise<true> {
    return waitHealthy(
      this.central,
      "Central",
      `${this.centralUrl}/health`,
      this.#tls,
      60_000,
      signal,
    );
  }

  #waitForCp(
    id: string,
    match: (cp: CpView) => boolean,
    timeoutMs = 30_000,
    signal?: AbortSignal,
  ): Promise<CpView> {
    return waitUntil(
      `CP ${id} in Central`,
      async () => {
        const res = await fetch(`${this.centralUrl}/cps/${encodeURIComponent(id)}`, {
          client: this.#tls,
        });
        if (!res.ok) {
          await res.body?.cancel();
          return undefined;
        }
        const cp = await res.json() as CpView;
        return match(cp) ? cp : undefined;
      },
      timeoutMs,
      signal,
    );
  }

  readonly waitForCp = (id: string, match: (cp: CpView) => boolean, timeoutMs?: number) =>
    this.#waitForCp(id, match, timeoutMs);

  readonly startCp = async (plan: CpPlan): Promise<Service> => {
    const service = this.#newService(cpSpec(this.#layout, this.#secrets, plan));
    this.cps.set(plan.id, service);
    this.cpPlans.set(plan.id, plan);
    this.#children.set(plan.id, NO_CHILDREN);
    service.onLine((line) =>
      this.#children.set(plan.id, foldCpLine(this.#children.get(plan.id)!, line))
    );
    await service.start();
    return service;
  };

  readonly cpChildren = (id: string): CpChildren | undefined => this.#children.get(id);

  readonly credentialsFile = (id: string): string =>
    credentialsPath(join(this.#layout.dir, "cp"), id);

  readonly startDriver = async (plan: DriverPlan): Promise<Service> => {
    const service = this.#newService(driverSpec(this.#layout, plan));
    this.drivers.set(plan.id, service);
    await service.start();
    return service;
  };

  readonly restartCentral = async (): Promise<void> => {
    await this.central.start();
    await this.#waitForCentral();
  };

  readonly stop = async (): Promise<void> => {
    await Promise.all([...this.drivers.values()].map((d) => d.stop()));
    await Promise.all([...this.cps.values()].map((c) => c.stop()));
    await this.weather?.stop();
    await this.central.stop();
    await this.registry.stop();
    this.#tls.close();
  };

  /** After a failed start: frees the held port and stops whatever started. */
  async abandon(): Promise<void> {
    this.#weatherHold?.release();
    await this.stop();
  }

  /** The log files worth reading after a failed start. */
  logFiles(): string[] {
    return [
      this.registry,
      this.central,
      ...(this.weather ? [this.weather] : []),
      ...this.cps.values(),
    ]
      .map((s) => s.logFile);
  }
}

/** Central's REST API at `url`, posting with the admin token. */
function centralApi(url: string, adminToken: string, client: Deno.HttpClient): CentralApi {
  return {
    get: (path) => json(fetch(`${url}${path}`, { client })),
    post: (path, body) =>
      json(fetch(`${url}${path}`, {
        client,
        method: "POST",
        headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
        body: JSON.stringify(body ?? {}),
      })),
  };
}

/**
 * Writes the weather office's locations file (CP id → city) from the CPs' locations, unless
 * one is there: an operator's edits of an earlier run are kept.
 */
async function writeLocations(path: string, cps: readonly CpPlan[]): Promise<void> {
  const locations = Object.fromEntries(cps.map((cp) => [cp.id, cp.location]));
  try {
    await Deno.writeTextFile(path, `${JSON.stringify(locations, null, 2)}\n`, { createNew: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
}

/** The JSON body of a 2xx answer; anything else throws with the status and body. */
async function json<T>(answer: Promise<Response>): Promise<T> {
  const res = await answer;
  const text = await res.text();
  if (!res.ok) throw new Error(`${res.status} ${res.statusText}: ${text}`);
  return (text === "" ? undefined : JSON.parse(text)) as T;
}
