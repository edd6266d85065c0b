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
import { readOrCreateSecretFile } from "../shared/secret_file.ts";
import { makePrivateDir, PRIVATE_FILE_MODE } from "../shared/private_files.ts";
import { httpsClient, isLoopbackHost } from "../shared/tls.ts";
import { freePort, holdFreePort } from "../shared/ports.ts";

const ROOT = join(import.meta.dirname!, "..");
const CONFIG = join(ROOT, "deno.json");

/** How often {@link waitUntil} asks again. */
const POLL_MS = 100;

/**
 * Waits until `probe` returns a value other than `undefined`; throws after `timeoutMs`, or with
 * `signal`'s reason once it is aborted.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
  signal?: AbortSignal,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
}

/** How a {@link Service} is started. */
export interface ServiceSpec {
  /** Name used in logs and for the log file. */
  readonly name: string;
  /** Script path relative to the repository root. */
  readonly script: string;
  /** Deno permission flags. */
  readonly permissions: readonly string[];
  /** Arguments after the script. */
  readonly args: readonly string[];
  /** Extra environment (secrets go here, never into `args`, so `ps` does not show them). */
  readonly env?: Readonly<Record<string, string>>;
  /** Run it in a session of its own (see {@link NetworkOptions.detached}). */
  readonly detached?: boolean;
  /** Keep a pipe to its input, for {@link Service.type} (a CP reads its keys there). */
  readonly keys?: boolean;
}

/** Most lines (and, apart, parsed records) a {@link Service} keeps in memory. */
const MAX_LINES = 20_000;

/** A JSON log record, with the `[child]` prefix `cp/main.ts` puts before its children's lines. */
const RECORD_LINE = /^(?:\[(\w+)\] )?(\{.*\})$/;

/**
 * One child process and its output: every line is appended to its log file and kept (the
 * newest {@link MAX_LINES}); lines that are JSON log records are also kept parsed, each with
 * `source` naming the child that wrote it when `cp/main.ts` forwarded it.
 */
export class Service {
  /** How it is started. */
  readonly spec: ServiceSpec;
  /** Where its output goes. */
  readonly logFile: string;
  /** Output lines seen so far, oldest first. */
  readonly lines: string[] = [];
  /** JSON log records seen so far, oldest first. */
  readonly records: Record<string, unknown>[] = [];
  #child: Deno.ChildProcess | undefined;
  #input: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #exited: Promise<Deno.CommandStatus> | undefined;

  /** Prepares (does not start) the service. */
  constructor(spec: ServiceSpec, logDir: string) {
    this.spec = spec;
    this.logFile = join(logDir, `${spec.name}.log`);
  }

  /** The name. */
  get name(): string {
    return this.spec.name;
  }

  /** Whether a child is running. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** The running child's pid. */
  get pid(): number {
    if (this.#child === undefined) throw new Error(`${this.name} is not running`);
    return this.#child.pid;
  }

  /** Resolves with the exit status of the current child. */
  get exited(): Promise<Deno.CommandStatus> {
    if (this.#exited === undefined) throw new Error(`${this.name} was never started`);
    return this.#exited;
  }

  /** Starts the child (again, after it exited). */
  async start(): Promise<void> {
    if (this.#child !== undefined) throw new Error(`${this.name} is already running`);
    const log = await Deno.open(this.logFile, {
      create: true,
      append: true,
      mode: PRIVATE_FILE_MODE,
    });
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        CONFIG,
        ...this.spec.permissions,
        join(ROOT, this.spec.script),
        ...this.spec.args,
      ],
      cwd: ROOT,
      env: { NO_COLOR: "1", ...this.spec.env },
      detached: this.spec.detached ?? false,
      stdin: this.spec.keys ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.#input = this.spec.keys ? child.stdin.getWriter() : undefined;
    const output = Promise.all([this.#copy(child.stdout, log), this.#copy(child.stderr, log)]);
    this.#exited = child.status.then(async (status) => {
      await output;
      log.close();
      if (this.#child === child) {
        this.#child = undefined;
        this.#input = undefined;
      }
      return status;
    });
  }

  /** Sends `signal` to the running child (no-op once it exited). */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      this.#child?.kill(signal);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error; // already gone
    }
  }

  /** Types `keys` into the running child's input (a service started with `keys`). */
  async type(keys: string): Promise<void> {
    if (this.#input === undefined) throw new Error(`${this.name} takes no keys`);
    await this.#input.write(new TextEncoder().encode(keys));
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the child is gone. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.#child === undefined) return;
    this.kill("SIGTERM");
    const timer = setTimeout(() => this.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Waits for an output line `match` accepts (already seen or still to come). */
  waitForLine(what: string, match: (line: string) => boolean, timeoutMs = 30_000): Promise<string> {
    return waitUntil(`${this.name}: ${what}`, () => this.lines.find(match), timeoutMs);
  }

  /** Waits for a JSON record `match` accepts (already seen or still to come). */
  waitForRecord(
    what: string,
    match: (record: Record<string, unknown>) => boolean,
    timeoutMs = 30_000,
  ): Promise<Record<string, unknown>> {
    return waitUntil(`${this.name}: ${what}`, () => this.records.find(match), timeoutMs);
  }

  async #copy(stream: ReadableStream<Uint8Array>, log: Deno.FsFile): Promise<void> {
    const encoder = new TextEncoder();
    let pending = "";
    const keep = <T>(list: T[], item: T) => {
      list.push(item);
      if (list.length > MAX_LINES) list.shift();
    };
    const line = (text: string) => {
      log.writeSync(encoder.encode(`${text}\n`));
      keep(this.lines, text);
      const m = text.match(RECORD_LINE);
      if (!m) return;
      try {
        keep(this.records, { ...JSON.parse(m[2]), ...(m[1] ? { source: m[1] } : {}) });
      } catch {
        // Not a record after all: it is in the file, which is enough.
      }
    };
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop()!;
      lines.forEach(line);
    }
    if (pending !== "") line(pending);
  }
}

/** One simulated CP of a {@link LocalNetwork}. */
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
}

/** One driver of a {@link LocalNetwork}. */
export interface DriverPlan {
  /** Driver id. */
  readonly id: string;
  /** File of CP ids it charges at in turn. */
  readonly file: string;
  /** Start again after the last CP, forever. */
  readonly loop?: boolean;
  /** Further `driver/main.ts` flags (e.g. `--pause 500ms`). */
  readonly args?: readonly string[];
}

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
  /** Starts one more driver. */
  startDriver(plan: DriverPlan): Promise<Service>;
  /** Starts a stopped or killed Central again and waits until it answers. */
  restartCentral(): Promise<void>;
  /** Stops drivers, CPs, Central and the Registry, in that order. */
  stop(): Promise<void>;
}

const PERMS = {
  registry: ["--allow-net", "--allow-env", "--allow-read", "--allow-write"],
  central: ["--allow-net", "--allow-env", "--allow-read", "--allow-write"],
  cp: ["--allow-run", "--allow-net", "--allow-env", "--allow-read", "--allow-write"],
  driver: ["--allow-net", "--allow-env", "--allow-read"],
  weather: ["--allow-net", "--allow-env", "--allow-read", "--allow-write"],
} as const;

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

/**
 * Starts the Registry, Central, then the CPs (waiting until each is `ACTIVATED`), then the
 * drivers. On any failure everything already started is stopped again before the error is
 * thrown, and the error names the log file to read.
 */
export async function startNetwork(options: NetworkOptions): Promise<LocalNetwork> {
  const say = options.progress ?? (() => {});
  const logDir = join(options.dir, "logs");
  await makePrivateDir(logDir);
  if (await ensureCertificates(options.certsDir)) {
    say(`made development certificates in ${options.certsDir}`);
  }
  const certs = certPaths(options.certsDir);
  const logLevel = options.logLevel ?? "info";
  const brokers = options.brokers.join(",");

  // Both secrets live where the Registry and Central would generate them themselves.
  const registryAdminKey = (await readOrCreateSecretFile(
    join(options.dir, "registry_admin.key"),
    randomSecret,
  )).value;
  const adminTokenFile = join(options.dir, "central_admin.token");
  const adminToken = (await readOrCreateSecretFile(adminTokenFile, randomSecret)).value.trim();

  const newService = (spec: ServiceSpec) =>
    new Service({ ...spec, detached: options.detached }, logDir);

  const registryPort = options.registryPort ?? freePort();
  const tcpPort = options.centralTcpPort ?? freePort();
  const httpPort = options.centralHttpPort ?? freePort();
  const registryUrl = `https://localhost:${registryPort}`;
  const centralHost = options.centralHost ?? "127.0.0.1";
  const centralHttps = !isLoopbackHost(centralHost);
  const centralUrl = centralHttps
    ? `https://localhost:${httpPort}`
    : `http://127.0.0.1:${httpPort}`;
  const centralTcp = `127.0.0.1:${tcpPort}`;

  const registry = newService({
    name: "registry",
    script: "registry/main.ts",
    permissions: PERMS.registry,
    args: [
      "--port",
      String(registryPort),
      "--host",
      "127.0.0.1",
      "--db",
      join(options.dir, "registry.db"),
      "--cert",
      certs.cert,
      "--key",
      certs.key,
      "--log-level",
      logLevel,
    ],
    env: { REGISTRY_ADMIN_KEY: registryAdminKey },
  });
  const central = newService({
    name: "central",
    script: "central/main.ts",
    permissions: [...PERMS.central, ...(options.centralDenoFlags ?? [])],
    args: [
      "--tcp-port",
      String(tcpPort),
      "--http-port",
      String(httpPort),
      "--host",
      centralHost,
      "--broker",
      brokers,
      "--db",
      join(options.dir, "central.db"),
      "--registry-url",
      registryUrl,
      "--ca",
      certs.caCert,
      "--cert",
      certs.cert,
      "--key",
      certs.key,
      "--no-tui",
      "--log-level",
      logLevel,
      ...(options.supervisorUrl === undefined ? [] : ["--supervisor-url", options.supervisorUrl]),
      ...(options.centralArgs ?? []),
    ],
    // The Registry admin key lets the dashboard's CP manager register and deregister CPs.
    env: { CENTRAL_ADMIN_TOKEN: adminToken, REGISTRY_ADMIN_KEY: registryAdminKey },
  });

  // Held until the office starts, after the CPs: their engines take any free port meanwhile.
  const weatherHold = options.weather && options.weather.port === undefined
    ? holdFreePort()
    : undefined;
  const weatherPort = options.weather?.port ?? weatherHold?.port;
  const weatherUrl = options.weather ? `http://127.0.0.1:${weatherPort}` : undefined;
  const locationsFile = join(options.dir, "weather_locations.json");
  const weather = options.weather
    ? newService({
      name: "weather",
      script: "weather/main.ts",
      permissions: PERMS.weather,
      args: [
        "--central",
        centralUrl,
        "--ca",
        certs.caCert,
        "--port",
        String(weatherPort),
        "--host",
        "127.0.0.1",
        "--locations",
        locationsFile,
        // Central generates the key next to its database on first start; the office reads it.
        "--service-key-file",
        join(options.dir, "weather_service.key"),
        "--no-tui",
        "--log-level",
        logLevel,
        ...(options.weather.args ?? []),
      ],
    })
    : undefined;

  const cps = new Map<string, Service>();
  const cpPlans = new Map<string, CpPlan>();
  const drivers = new Map<string, Service>();
  const tls = await httpsClient(certs.caCert);

  const api: CentralApi = {
    get: (path) => json(fetch(`${centralUrl}${path}`, { client: tls })),
    post: (path, body) =>
      json(fetch(`${centralUrl}${path}`, {
        client: tls,
        method: "POST",
        headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
        body: JSON.stringify(body ?? {}),
      })),
  };

  const waitForCentral = (signal?: AbortSignal) =>
    waitUntil(
      "Central to answer GET /health",
      async () => {
        if (!central.running) throw new Error(`Central exited; see ${central.logFile}`);
        const res = await fetch(`${centralUrl}/health`, { client: tls });
        await res.body?.cancel();
        return res.ok ? true : undefined;
      },
      60_000,
      signal,
    );

  const waitForCp = (
    id: string,
    match: (cp: CpView) => boolean,
    timeoutMs = 30_000,
    signal?: AbortSignal,
  ) =>
    waitUntil(
      `CP ${id} in Central`,
      async () => {
        const res = await fetch(`${centralUrl}/cps/${encodeURIComponent(id)}`, { client: tls });
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

  const startCp = async (plan: CpPlan) => {
    const service = newService({
      name: `cp-${plan.id}`,
      script: "cp/main.ts",
      permissions: PERMS.cp,
      args: [
        "--cp-id",
        plan.id,
        "--broker",
        brokers,
        "--central",
        centralTcp,
        "--registry-url",
        registryUrl,
        "--ca",
        certs.caCert,
        "--location",
        plan.location,
        "--price",
        String(plan.priceEurKwh),
        "--power",
        String(plan.powerKw),
        "--credentials-dir",
        join(options.dir, "cp"),
        "--headless",
        "--log-level",
        logLevel,
        ...(plan.args ?? []),
      ],
      env: { REGISTRY_ADMIN_KEY: registryAdminKey },
      keys: true, // the supervisor's demo actions (cp/cp_control.ts keys)
    });
    cps.set(plan.id, service);
    cpPlans.set(plan.id, plan);
    await service.start();
    return service;
  };

  const startDriver = async (plan: DriverPlan) => {
    const service = newService({
      name: `driver-${plan.id}`,
      script: "driver/main.ts",
      permissions: PERMS.driver,
      args: [
        "--broker",
        brokers,
        "--driver-id",
        plan.id,
        "--file",
        plan.file,
        ...(plan.loop ? ["--loop"] : []),
        "--log-level",
        logLevel,
        ...(plan.args ?? []),
      ],
    });
    drivers.set(plan.id, service);
    await service.start();
    return service;
  };

  const stop = async () => {
    await Promise.all([...drivers.values()].map((d) => d.stop()));
    await Promise.all([...cps.values()].map((c) => c.stop()));
    await weather?.stop();
    await central.stop();
    await registry.stop();
    tls.close();
  };

  const network: LocalNetwork = {
    registry,
    central,
    cps,
    cpPlans,
    weather,
    weatherUrl,
    drivers,
    registryUrl,
    centralUrl,
    centralTcp,
    caFile: certs.caCert,
    adminTokenFile,
    api,
    waitForCp,
    startCp,
    startDriver,
    restartCentral: async () => {
      await central.start();
      await waitForCentral();
    },
    stop,
  };

  const { signal } = options;
  try {
    say(`starting the Registry on ${registryUrl}`);
    await registry.start();
    await waitUntil(
      "the Registry to answer GET /",
      async () => {
        const res = await fetch(`${registryUrl}/`, { client: tls });
        await res.body?.cancel();
        return res.ok ? true : undefined;
      },
      30_000,
      signal,
    );

    say(
      `starting Central on ${centralUrl} (monitors on ${centralTcp}; ${
        centralHttps
          ? "REST over HTTPS, clients trust the CA"
          : "REST over plain HTTP: it listens on loopback only"
      })`,
    );
    await central.start();
    await waitForCentral(signal);

    for (const plan of options.cps ?? []) {
      signal?.throwIfAborted();
      say(
        `starting CP ${plan.id} (${plan.location}, ${plan.powerKw} kW, ${plan.priceEurKwh} €/kWh)`,
      );
      await startCp(plan);
    }
    for (const plan of options.cps ?? []) {
      await waitForCp(plan.id, (cp) => cp.state === "ACTIVATED", 60_000, signal);
      say(`CP ${plan.id} is ACTIVATED`);
    }
    // After the CPs, so Central knows every CP the office watches (it warns of any it does not).
    if (weather !== undefined && weatherUrl !== undefined) {
      await writeLocations(locationsFile, options.cps ?? []);
      say(`starting the weather office on ${weatherUrl}`);
      weatherHold?.release();
      await weather.start();
      await waitUntil(
        "the weather office to answer GET /health",
        async () => {
          if (!weather.running) {
            throw new Error(`the weather office exited; see ${weather.logFile}`);
          }
          const res = await fetch(`${weatherUrl}/health`);
          await res.body?.cancel();
          return res.ok ? true : undefined;
        },
        30_000,
        signal,
      );
    }

    for (const plan of options.drivers ?? []) {
      signal?.throwIfAborted();
      say(`starting driver ${plan.id} (${plan.file})`);
      await startDriver(plan);
    }
  } catch (error) {
    weatherHold?.release();
    await stop();
    if (signal?.aborted) throw signal.reason;
    const logs = [registry, central, ...(weather ? [weather] : []), ...cps.values()]
      .map((s) => s.logFile).join(", ");
    throw new Error(
      `the local network did not come up: ${error instanceof Error ? error.message : error} ` +
        `(logs: ${logs})`,
    );
  }
  return network;
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
