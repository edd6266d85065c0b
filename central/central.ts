/**
 * Central without its command line: {@link startCentral} opens the database and the keys,
 * recovers the model, connects to Kafka and the Registry, and serves CP monitors (TCP) and the
 * REST API (HTTPS, or HTTP on loopback only). `central/main.ts` calls it with the parsed config; tests call it on port 0
 * with a temp folder and stop it with `stop()`.
 *
 * Start order: store → master key → recovered model and keyring → Registry client → Kafka
 * (topics, producer, outbox publisher, consumers) → TCP and HTTP servers → clock.
 * Stop order is the reverse, so no input arrives once the store closes.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { loadOrCreateMasterKey, MASTER_KEY_ENV } from "../shared/cp_key.ts";
import { DEFAULT_KEY_GRACE_MS } from "../shared/envelope.ts";
import { getLogger } from "../shared/log.ts";
import { isLoopbackHost, type TlsFiles } from "../shared/tls.ts";
import { createRegistryClient, type RegistryClient } from "../registry/client.ts";
import { generateCredential, readOrCreateSecretFile } from "../shared/secret_file.ts";
import { type CentralApiDeps, createCentralApp } from "./api.ts";
import {
  type AdminToken,
  resolveAdminToken,
  resolveWeatherServiceKey,
  type WeatherServiceKey,
} from "./secrets.ts";
import { type DashboardDeps, EventStreams, supervisorCaller } from "./api_dashboard.ts";
import { AuditCheckpointer, checkpointPaths } from "./audit_checkpoint.ts";
import { AuditLog } from "./audit.ts";
import { AuditAggregator } from "./audit_flood.ts";
import { CpRestorer } from "./cp_restore.ts";
import { DEFAULT_CORE_CONFIG } from "./core.ts";
import { DashboardTracker } from "./dashboard.ts";
import { LiveFeed } from "./live_feed.ts";
import { PeriodicLateness, ReportedLateness } from "../shared/loop_lag.ts";
import type { ConsumerLag } from "./consumer_lag.ts";
import { startConsumers, startKafkaOutput } from "./central_kafka.ts";
import { CentralMetrics } from "./metrics.ts";
import { trackOperator } from "./operator_trackers.ts";
import { KeyVault } from "./keys.ts";
import { LINKS_LAG_EVERY_MS } from "./monitor_links.ts";
import { MonitorServer } from "./monitor_server.ts";
import { SqliteUsedTokens } from "./used_tokens.ts";
import { RegistryFeedFollower } from "./registry_feed.ts";
import { CentralRuntime } from "./runtime.ts";
import { CentralStore } from "./store.ts";
import { HealthMonitor, systemStatus } from "./system_health.ts";
import { loadWeb, type WebAssets } from "./web_bundle.ts";

const log = getLogger(["evcharging", "central"]);

/** File names next to the database unless given. */
export const MASTER_KEY_FILE = "central_master.key";
/** The audit log's JSON-lines copy, next to the database unless given. */
export const AUDIT_FILE = "audit.jsonl";
/** Where a generated admin token is kept (mode 0600). */
export const ADMIN_TOKEN_FILE = "central_admin.token";
/**
 * Where the weather service key is kept (mode 0600). Next to the default database this is
 * `data/weather_service.key`, the weather office's default, so both find the same key.
 */
export const WEATHER_SERVICE_KEY_FILE = "weather_service.key";
/** Where the Registry's change feed key is kept (mode 0600), as the Registry names it. */
export const REGISTRY_FEED_KEY_FILE = "registry_feed.key";

/** Settings of {@link startCentral}. */
export interface CentralOptions {
  /** SQLite file; its folder also holds the master key and the generated admin token. */
  readonly dbPath: string;
  /** Kafka bootstrap brokers. */
  readonly brokers: readonly string[];
  /** The Registry's base URL (https). */
  readonly registryUrl: string;
  /** CA file trusted for the Registry (default `EV_CA_FILE` or `certs/ca.pem`). */
  readonly caFile?: string;
  /** CA certificate (PEM) trusted for the Registry, instead of `caFile`. */
  readonly caCert?: string;
  /**
   * Central's certificate (signed by the project CA) and private key: the monitor port speaks
   * TLS with them, and the key signs Central's ECDH share at each login.
   */
  readonly tls: TlsFiles;
  /**
   * Most connections to the monitor port one address may hold without having logged in
   * (default 64); more are closed at once and audited against the address.
   */
  readonly maxUnauthenticatedPerAddress?: number;
  /** Time a monitor connection has from its accept to a committed login (default 10 s). */
  readonly monitorLoginTimeoutMs?: number;
  /**
   * Address both servers listen on (default `0.0.0.0`). The REST API is HTTPS (with `tls`)
   * unless this is a loopback address, where it is plain HTTP.
   */
  readonly hostname?: string;
  /**
   * `auto` (the default): HTTPS unless `hostname` is loopback; `always`: HTTPS on loopback too
   * (a browser that trusts the CA, or pins Central's key, reaches it at `https://127.0.0.1`).
   */
  readonly restTls?: "auto" | "always";
  /** TCP port for monitors (0: any free port). */
  readonly tcpPort: number;
  /** HTTP port for the REST API (0: any free port). */
  readonly httpPort: number;
  /** Silence after which a CP is DISCONNECTED (default 3000 ms). */
  readonly heartbeatTimeoutMs?: number;
  /** Wait for `SUPPLY_END` after a STOP (default 10 000 ms). */
  readonly stopWaitMs?: number;
  /** Wait for a vehicle after AUTHORIZED before Central ends the session (default 120 000 ms). */
  readonly plugWaitMs?: number;
  /**
   * How long a retired or revoked key version is kept after it stopped being live (default
   * {@link DEFAULT_KEY_GRACE_MS}); then it is forgotten, in memory and in the database, and
   * telemetry under it is rejected as `expired_kv`.
   */
  readonly keyGraceMs?: number;
  /** Master key file (default `central_master.key` next to the database). */
  readonly masterKeyFile?: string;
  /** Master key as base64 (default: the `EVCHARGING_MASTER_KEY` variable); wins over the file. */
  readonly masterKey?: string;
  /** Admin bearer token; unset: read or generated into `central_admin.token`. */
  readonly adminToken?: string;
  /** The weather office's key for `POST /weather/alert`; unset: read or generated into the file. */
  readonly weatherServiceKey?: string;
  /** Weather service key file (default `weather_service.key` next to the database). */
  readonly weatherServiceKeyFile?: string;
  /** The audit log's JSON-lines file (default `audit.jsonl` next to the database). */
  readonly auditFile?: string;
  /** The audit checkpoints' HMAC key (default `audit_checkpoint.key` next to the audit log). */
  readonly auditCheckpointKeyFile?: string;
  /** Flood aggregation window of repeated rejections in the audit (default 10 000 ms). */
  readonly auditIntervalMs?: number;
  /** Kafka consumer group prefix (default `central`): groups `<prefix>-requests`, `-telemetry`. */
  readonly group?: string;
  /**
   * OpenSSL's libcrypto (a path, or a name the linker finds) to open `cp.telemetry` with instead
   * of `node:crypto`: about a fifth less CPU a message, but the process needs `--allow-ffi`,
   * which lifts Deno's sandbox (shared/openssl_gcm.ts, BENCHMARKS.md). Unset: `node:crypto`.
   */
  readonly libcrypto?: string;
  /** The Registry's admin key, for the dashboard's CP manager (unset: it is off). */
  readonly registryAdminKey?: string;
  /** Key of the Registry's change feed; unset: read or generated into the key file. */
  readonly registryFeedKey?: string;
  /** Registry feed key file (default `registry_feed.key` next to the database). */
  readonly registryFeedKeyFile?: string;
  /**
   * The local supervisor's control API (infra/supervisor_api.ts), which starts and stops the
   * simulated CPs of `deno task start`; unset: the dashboard offers no such control.
   */
  readonly supervisorUrl?: string;
  /** How often coalesced dashboard events (telemetry) are sent (default 300 ms). */
  readonly feedFlushMs?: number;
  /** How often the Registry's status is asked, for readiness (default 10 000 ms). */
  readonly registryProbeMs?: number;
}

/** A running Central. */
export interface RunningCentral {
  /** Where monitors connect. */
  readonly tcpAddr: Deno.NetAddr;
  /** Where the REST API listens. */
  readonly httpAddr: Deno.NetAddr;
  /**
   * Base URL of the REST API for local clients: `http://127.0.0.1:8080` on loopback,
   * `https://127.0.0.1:8080` (trust the project CA) off loopback or with `restTls: "always"`.
   */
  readonly httpUrl: string;
  /** The admin token and its source. */
  readonly adminToken: AdminToken;
  /** The weather service key and its source. */
  readonly weatherServiceKey: WeatherServiceKey;
  /** The model, store and dispatcher (the panel and tests read it). */
  readonly runtime: CentralRuntime;
  /** The audit log (its head is the checkpoint to verify the file against). */
  readonly audit: AuditLog;
  /** The audit log's JSON-lines file. */
  readonly auditFile: string;
  /** The dashboard's live feed (`GET /events`). */
  readonly feed: LiveFeed;
  /** Restores REVOKED CPs (the REST route's and the terminal panel's, one at a time per CP). */
  readonly restorer: CpRestorer;
  /** Stops everything in order; idempotent. */
  stop(): Promise<void>;
}

/** Starts Central. On failure, whatever was started is stopped again before the error is thrown. */
export async function startCentral(options: CentralOptions): Promise<RunningCentral> {
  await using stack = new AsyncDisposableStack();
  const dataDir = dirname(options.dbPath);
  const config = coreConfig(options);
  const store = CentralStore.open(options.dbPath);
  stack.defer(() => store.close());
  const secrets = await loadSecrets(options, dataDir);
  const { audit, auditFile, floods } = await openAudit(stack, options, store, dataDir);
  const { runtime, recovered } = startRuntime(stack, store, config, audit, floods);
  const dashboard = followForDashboard(stack, runtime, audit);
  const health = new HealthMonitor();
  stack.defer(() => health.stop());
  const status = () => systemStatus(health.facts(store.pendingCount(), runtime.model), Date.now());
  const vault = await openVault(stack, options, secrets.masterKey, recovered, store, runtime);
  const registry = await connectRegistry(stack, options, dataDir, health);
  const kafka = await startKafkaOutput(stack, options, { runtime, audit, store, vault, health });
  const lag = await startConsumers(stack, options, kafka, { runtime, vault, health });
  const hostname = options.hostname ?? "0.0.0.0";
  const socketLag = new ReportedLateness(LINKS_LAG_EVERY_MS, config.heartbeatTimeoutMs, Date.now());
  const monitors = await MonitorServer.start(runtime, vault, registry, {
    lateness: socketLag,
    hostname,
    port: options.tcpPort,
    tls: options.tls,
    usedTokens: new SqliteUsedTokens(store.db),
    maxUnauthenticatedPerAddress: options.maxUnauthenticatedPerAddress,
    loginTimeoutMs: options.monitorLoginTimeoutMs,
  });
  stack.defer(() => monitors.close());
  const rest = serveRest(stack, options, hostname, {
    runtime,
    lag,
    operator: dashboard.operator,
    status,
    secrets,
    feed: dashboard.feed,
    registry,
  });
  flushFeedEvery(stack, options.feedFlushMs ?? 300, dashboard, status);
  // Last to start, first to stop: a deregistration logs out a monitor the server holds.
  const follower = new RegistryFeedFollower(runtime, registry);
  health.watchRegistryFeed(() => follower.health());
  follower.start();
  stack.defer(() => follower.stop());
  startClock(stack, config.heartbeatTimeoutMs, runtime, floods, (at) => socketLag.lagMs(at));
  logStarted(monitors.addr, rest, hostname, secrets);

  const running = stack.move();
  let stopped: Promise<void> | undefined;
  return {
    tcpAddr: monitors.addr,
    httpAddr: rest.http.addr,
    httpUrl: rest.httpUrl,
    adminToken: secrets.adminToken,
    weatherServiceKey: secrets.weatherServiceKey,
    runtime,
    audit,
    auditFile,
    feed: dashboard.feed,
    restorer: rest.restorer,
    stop: () =>
      stopped ??= (async () => {
        log.info("Central stopping");
        await running.disposeAsync();
        log.info("Central stopped");
      })(),
  };
}

/** The core's timings: the options', else the defaults. */
function coreConfig(options: CentralOptions) {
  return {
    heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? DEFAULT_CORE_CONFIG.heartbeatTimeoutMs,
    stopWaitMs: options.stopWaitMs ?? DEFAULT_CORE_CONFIG.stopWaitMs,
    plugWaitMs: options.plugWaitMs ?? DEFAULT_CORE_CONFIG.plugWaitMs,
  };
}

/** The master key, the admin token and the weather service key: given, read, or created. */
async function loadSecrets(options: CentralOptions, dataDir: string) {
  const masterKey = await loadOrCreateMasterKey(
    options.masterKeyFile ?? join(dataDir, MASTER_KEY_FILE),
    options.masterKey ?? Deno.env.get(MASTER_KEY_ENV),
  );
  const adminToken = await resolveAdminToken(options.adminToken, join(dataDir, ADMIN_TOKEN_FILE));
  const weatherServiceKey = await resolveWeatherServiceKey(
    options.weatherServiceKey,
    options.weatherServiceKeyFile ?? join(dataDir, WEATHER_SERVICE_KEY_FILE),
  );
  return { masterKey, adminToken, weatherServiceKey };
}

/** The audit log, its signed checkpoints and the flood aggregator, closed in that reverse order. */
export async function openAudit(
  stack: AsyncDisposableStack,
  options: Pick<CentralOptions, "auditFile" | "auditCheckpointKeyFile" | "auditIntervalMs">,
  store: CentralStore,
  dataDir: string,
) {
  const auditFile = options.auditFile ?? join(dataDir, AUDIT_FILE);
  const audit = AuditLog.open({ db: store.db, jsonlPath: auditFile });
  stack.defer(() => audit.close());
  // Signed heads outside the log and the database, so a cut tail shows (audit_checkpoint.ts).
  const checkpoints = checkpointPaths(auditFile);
  const anchor = await AuditCheckpointer.open({
    audit,
    db: store.db,
    file: checkpoints.file,
    keyFile: options.auditCheckpointKeyFile ?? checkpoints.keyFile,
  });
  stack.defer(() => anchor.close()); // after the last records, before the log closes
  // Rejected messages and refused logins: one record per (actor, action, reason) and interval.
  const floods = new AuditAggregator({
    emit: (entry) => audit.append(entry),
    intervalMs: options.auditIntervalMs,
  });
  stack.defer(() => floods.flush()); // after every input has stopped, before the log closes
  return { audit, auditFile, floods };
}

/** The model recovered from the store, and the runtime that steps it, started. */
export function startRuntime(
  stack: AsyncDisposableStack,
  store: CentralStore,
  config: ReturnType<typeof coreConfig>,
  audit: AuditLog,
  floods: AuditAggregator,
) {
  const recovered = store.recover(new Date());
  const runtime = new CentralRuntime(store, recovered.model, config, {
    append: (entry) => audit.append(entry),
    offer: (occurrence) => floods.offer(occurrence),
    list: (query) => audit.list(query),
  });
  stack.defer(() => runtime.close());
  runtime.dispatch({ type: "start" }, Date.now());
  return { runtime, recovered };
}

/** The dashboard's feed, following committed steps and appended records from here on. */
export function followForDashboard(
  stack: AsyncDisposableStack,
  runtime: CentralRuntime,
  audit: AuditLog,
) {
  const feed = new LiveFeed();
  const tracker = new DashboardTracker(feed, runtime.model);
  runtime.subscribe((committed) => tracker.commit(committed));
  const operator = trackOperator(runtime, feed, Date.now());
  stack.defer(audit.subscribe((record) => tracker.audit(record)));
  return { feed, tracker, operator };
}

/** The dashboard's files, read once at the first request for them; a missing build is looked for again. */
export function webLoader(): () => Promise<WebAssets> {
  let web: Promise<WebAssets> | undefined;
  return () =>
    web ??= loadWeb().catch((error) => {
      web = undefined;
      log.warning("No dashboard: {error}", { error });
      throw error;
    });
}

/** The CPs' keys under the master key; revoked ones leave, expired ones are forgotten. */
async function openVault(
  stack: AsyncDisposableStack,
  options: CentralOptions,
  masterKey: Awaited<ReturnType<typeof loadOrCreateMasterKey>>,
  recovered: ReturnType<CentralStore["recover"]>,
  store: CentralStore,
  runtime: CentralRuntime,
): Promise<KeyVault> {
  const vault = await KeyVault.open(masterKey, recovered, (cpId) => store.nextKeyVersion(cpId));
  // Revoked keys leave the keyring as soon as the step that revoked them is stored.
  runtime.subscribe(({ effects }) => {
    for (const effect of effects) {
      if (effect.type === "revoke_keys") vault.keyring.revoke(effect.cpId);
    }
  });
  stack.defer(forgetExpiredKeys(vault, store, options.keyGraceMs ?? DEFAULT_KEY_GRACE_MS));
  log.info("Recovered {cps} CPs (all DISCONNECTED) and {sessions} open sessions from {db}", {
    cps: recovered.model.cps.size,
    sessions: recovered.model.sessions.size,
    db: options.dbPath,
  });
  return vault;
}

/** The Registry client, with the change feed's key, probed for readiness. */
async function connectRegistry(
  stack: AsyncDisposableStack,
  options: CentralOptions,
  dataDir: string,
  health: HealthMonitor,
): Promise<RegistryClient> {
  const feedKey = options.registryFeedKey ?? (await readOrCreateSecretFile(
    options.registryFeedKeyFile ?? join(dataDir, REGISTRY_FEED_KEY_FILE),
    generateCredential,
  )).value.trim();
  const registry = await createRegistryClient({
    url: options.registryUrl,
    caFile: options.caFile,
    caCert: options.caCert,
    adminKey: options.registryAdminKey,
    feedKey,
  });
  stack.defer(() => registry.close());
  health.probeRegistry(() => registry.health(), options.registryProbeMs);
  return registry;
}

/**
 * The REST API, the dashboard and its event streams, and the metrics: HTTPS whenever the API
 * can be reached from another machine (the admin token and the weather service key cross the
 * network in its requests, credentials in its answers), else plain HTTP on loopback.
 */
function serveRest(
  stack: AsyncDisposableStack,
  options: CentralOptions,
  hostname: string,
  parts: {
    runtime: CentralRuntime;
    lag: ConsumerLag;
    operator: ReturnType<typeof trackOperator>;
    status: () => ReturnType<typeof systemStatus>;
    secrets: Awaited<ReturnType<typeof loadSecrets>>;
    feed: LiveFeed;
    registry: RegistryClient;
  },
) {
  const { runtime, status, secrets } = parts;
  const registryAdmin = options.registryAdminKey !== undefined && options.registryAdminKey !== "";
  const supervisor = options.supervisorUrl === undefined
    ? undefined
    : supervisorCaller(options.supervisorUrl, secrets.adminToken.token);
  const restorer = new CpRestorer({
    runtime,
    now: () => new Date(),
    registry: registryAdmin ? parts.registry : undefined,
    supervisor,
  });
  const { app, streams } = createMeasuredApp(parts.lag, {
    operator: parts.operator,
    status,
    runtime,
    adminToken: secrets.adminToken.token,
    weatherServiceKey: secrets.weatherServiceKey.key,
    dashboard: {
      feed: parts.feed,
      status,
      web: webLoader(),
      registry: parts.registry,
      registryAdmin,
      supervisor,
    },
    restorer,
  });
  const restTls = options.restTls === "always" || !isLoopbackHost(hostname);
  const http = Deno.serve(
    {
      hostname,
      port: options.httpPort,
      onListen: () => {},
      ...(restTls ? { cert: options.tls.cert, key: options.tls.key } : {}),
    },
    (request, info) => app.fetch(request, info),
  );
  stack.defer(() => http.shutdown());
  // Open event streams never end by themselves: close them first, or shutdown waits forever.
  stack.defer(() => streams.closeAll());
  const httpUrl = `${restTls ? "https" : "http"}://${
    urlHost(http.addr.hostname)
  }:${http.addr.port}`;
  return { http, httpUrl, restTls, restorer };
}

/**
 * Central's REST app with its metrics (`lag` absent where no Kafka consumer is measured), and
 * the event streams its dashboard serves, which the caller closes before the server.
 */
export function createMeasuredApp(
  lag: ConsumerLag | undefined,
  deps: Omit<CentralApiDeps, "metrics" | "dashboard"> & {
    readonly dashboard: Omit<DashboardDeps, "streams">;
  },
): { app: ReturnType<typeof createCentralApp>; streams: EventStreams } {
  const streams = new EventStreams();
  const { runtime } = deps;
  const metrics = new CentralMetrics({ runtime, lag, sseClients: () => streams.size });
  runtime.subscribe((committed) => metrics.observe(committed));
  const app = createCentralApp({ ...deps, metrics, dashboard: { ...deps.dashboard, streams } });
  return { app, streams };
}

/** Sends the dashboard's coalesced events, with the system status, every `everyMs`. */
export function flushFeedEvery(
  stack: AsyncDisposableStack,
  everyMs: number,
  { tracker, feed }: ReturnType<typeof followForDashboard>,
  status: () => ReturnType<typeof systemStatus>,
): void {
  const feedTimer = setInterval(() => {
    tracker.status(status());
    feed.flush();
  }, everyMs);
  stack.defer(() => clearInterval(feedTimer));
}

/** The core's clock: a tick every 50–250 ms, with this loop's or the socket thread's lateness. */
export function startClock(
  stack: AsyncDisposableStack,
  heartbeatTimeoutMs: number,
  runtime: CentralRuntime,
  floods: AuditAggregator,
  socketLagMs: (at: number) => number = () => 0,
): void {
  const tickMs = Math.max(50, Math.min(250, heartbeatTimeoutMs / 4));
  const lateness = new PeriodicLateness(tickMs, heartbeatTimeoutMs);
  lateness.started(Date.now());
  const clock = setInterval(() => {
    const at = Date.now();
    runtime.dispatch({ type: "tick", lagMs: Math.max(lateness.ran(at), socketLagMs(at)) }, at);
    floods.tick();
  }, tickMs);
  stack.defer(() => clearInterval(clock));
}

/** Says where Central listens, whether REST is HTTPS and why, and where generated secrets are. */
function logStarted(
  tcp: Deno.NetAddr,
  rest: ReturnType<typeof serveRest>,
  hostname: string,
  { adminToken, weatherServiceKey }: Awaited<ReturnType<typeof loadSecrets>>,
): void {
  log.info("Central up: monitors on TCP {tcp}, REST on {url}", {
    tcp: `${tcp.hostname}:${tcp.port}`,
    url: rest.httpUrl,
  });
  if (rest.restTls) {
    log.info("REST API over HTTPS (TLS 1.2+, the certificate of --cert): clients trust ca.pem");
  } else {
    log.info(
      "REST API over plain HTTP because it listens on loopback {host} only: nothing off this " +
        "machine reaches it; listen on another address (--host) or pass --rest-tls always " +
        "and it is HTTPS",
      { host: hostname },
    );
  }
  if (adminToken.source === "file") {
    log.info("Admin token for POST calls is in {path} (mode 0600)", { path: adminToken.path });
  }
  if (weatherServiceKey.source === "file") {
    log.info("Weather service key for POST /weather/alert is in {path} (mode 0600)", {
      path: weatherServiceKey.path,
    });
  }
}

/**
 * Forgets key versions whose grace is over, now and then (a quarter of the grace, at most every
 * 5 s): from the keyring, the replay guard and the database. Returns the function that stops it.
 * @throws {RangeError} for a negative or non-finite `graceMs`.
 */
function forgetExpiredKeys(vault: KeyVault, store: CentralStore, graceMs: number): () => void {
  if (!Number.isFinite(graceMs) || graceMs < 0) {
    throw new RangeError(`keyGraceMs must be a non-negative number, got ${graceMs}`);
  }
  const sweep = () => {
    const forgotten = vault.forgetExpired(graceMs);
    if (forgotten.length === 0) return;
    log.debug("Forgot {count} key versions past their grace of {graceMs} ms", {
      count: forgotten.length,
      graceMs,
    });
    try {
      store.forgetKeys(forgotten);
    } catch (error) {
      // Only storage is behind: the keyring has forgotten them, and a restart sweeps again.
      log.warning("Forgotten key versions not dropped from the database: {error}", { error });
    }
  };
  sweep();
  const timer = setInterval(sweep, Math.max(50, Math.min(5_000, graceMs / 4)));
  return () => clearInterval(timer);
}

/** A listening address as a URL host: a wildcard becomes loopback, IPv6 gets brackets. */
function urlHost(hostname: string): string {
  if (hostname === "0.0.0.0") return "127.0.0.1";
  if (hostname === "::") return "[::1]";
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}
