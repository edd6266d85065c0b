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
import { createKafka, createProducer, ensureTopics, runConsumer, TOPICS } from "../shared/kafka.ts";
import { getLogger } from "../shared/log.ts";
import { SendBatcher } from "../shared/send_batcher.ts";
import { isLoopbackHost, type TlsFiles } from "../shared/tls.ts";
import { createRegistryClient } from "../registry/client.ts";
import { generateCredential, readOrCreateSecretFile } from "../shared/secret_file.ts";
import { createCentralApp } from "./api.ts";
import { MIN_ADMIN_TOKEN_CHARS } from "./config.ts";
import { EventStreams, supervisorCaller } from "./api_dashboard.ts";
import { AuditCheckpointer, checkpointPaths } from "./audit_checkpoint.ts";
import { AuditLog } from "./audit.ts";
import { AuditAggregator } from "./audit_flood.ts";
import { DEFAULT_CORE_CONFIG } from "./core.ts";
import { DashboardTracker } from "./dashboard.ts";
import { LiveFeed } from "./live_feed.ts";
import { LatenessWindow } from "./loop_lag.ts";
import { ConsumerLag } from "./consumer_lag.ts";
import { CentralMetrics } from "./metrics.ts";
import { trackOperator } from "./operator_trackers.ts";
import { requestHandler, telemetryBatchHandler } from "./kafka_edge.ts";
import { KeyVault } from "./keys.ts";
import { MonitorServer } from "./monitor_server.ts";
import { SqliteUsedTokens } from "./used_tokens.ts";
import { OutboxPublisher } from "./outbox.ts";
import { RegistryFeedFollower } from "./registry_feed.ts";
import { CentralRuntime } from "./runtime.ts";
import { CentralStore } from "./store.ts";
import { HealthMonitor, systemStatus } from "./system_health.ts";
import { loadWeb, type WebAssets } from "./web_bundle.ts";

const log = getLogger(["evcharging", "central"]);

/** Progress updates waiting for Kafka beyond which new ones are dropped. */
const MAX_PROGRESS_WAITING = 10_000;

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

/** Where the admin token came from (the token itself is never logged). */
export interface AdminToken {
  /** The token. */
  readonly token: string;
  /** `given` (option or env) or `file`. */
  readonly source: "given" | "file";
  /** The file, for `file`. */
  readonly path?: string;
}

/** Where the weather service key came from (the key itself is never logged). */
export interface WeatherServiceKey {
  /** The key. */
  readonly key: string;
  /** `given` (option or env) or `file`. */
  readonly source: "given" | "file";
  /** The file, for `file`. */
  readonly path?: string;
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
  /** Stops everything in order; idempotent. */
  stop(): Promise<void>;
}

/** Starts Central. On failure, whatever was started is stopped again before the error is thrown. */
export async function startCentral(options: CentralOptions): Promise<RunningCentral> {
  await using stack = new AsyncDisposableStack();
  const dataDir = dirname(options.dbPath);
  const config = {
    heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? DEFAULT_CORE_CONFIG.heartbeatTimeoutMs,
    stopWaitMs: options.stopWaitMs ?? DEFAULT_CORE_CONFIG.stopWaitMs,
    plugWaitMs: options.plugWaitMs ?? DEFAULT_CORE_CONFIG.plugWaitMs,
  };

  const store = CentralStore.open(options.dbPath);
  stack.defer(() => store.close());
  const masterKey = await loadOrCreateMasterKey(
    options.masterKeyFile ?? join(dataDir, MASTER_KEY_FILE),
    options.masterKey ?? Deno.env.get(MASTER_KEY_ENV),
  );
  const adminToken = await resolveAdminToken(options.adminToken, join(dataDir, ADMIN_TOKEN_FILE));
  const weatherServiceKey = await resolveWeatherServiceKey(
    options.weatherServiceKey,
    options.weatherServiceKeyFile ?? join(dataDir, WEATHER_SERVICE_KEY_FILE),
  );

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

  const recovered = store.recover(new Date());
  const runtime = new CentralRuntime(store, recovered.model, config, {
    append: (entry) => audit.append(entry),
    offer: (occurrence) => floods.offer(occurrence),
    list: (query) => audit.list(query),
  });
  stack.defer(() => runtime.close());
  runtime.dispatch({ type: "start", at: Date.now() });
  // The dashboard's feed follows committed steps and appended records from here on.
  const feed = new LiveFeed();
  const tracker = new DashboardTracker(feed, runtime.model);
  runtime.subscribe((committed) => tracker.commit(committed));
  const operator = trackOperator(runtime, feed, Date.now());
  stack.defer(audit.subscribe((record) => tracker.audit(record)));
  const health = new HealthMonitor();
  stack.defer(() => health.stop());
  const status = () => systemStatus(health.facts(store.pendingCount(), runtime.model), Date.now());
  // Read once, at the first request for it, and kept; a missing build is looked for again.
  let web: Promise<WebAssets> | undefined;
  const webAssets = () =>
    web ??= loadWeb().catch((error) => {
      web = undefined;
      log.warning("No dashboard: {error}", { error });
      throw error;
    });
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

  const kafka = createKafka({ brokers: [...options.brokers], clientId: "central" });
  await ensureTopics(kafka);
  const producer = await createProducer(kafka);
  stack.defer(() => producer.disconnect());
  health.watchProducer(producer.producer);
  // Two producers, each with one request in flight: the outbox's carries what must arrive
  // (answers, tickets, commands); this one the streams, so their volume never delays an answer.
  const streamProducer = await createProducer(kafka);
  stack.defer(() => streamProducer.disconnect());
  const kafkaStreams = new SendBatcher(streamProducer);
  // The public stream: every record as it is appended (the SQLite table and file are the truth).
  stack.defer(
    audit.subscribe((record) =>
      kafkaStreams.send(TOPICS.auditEvents, record.actor, { v: 1, type: "AUDIT", ...record })
    ),
  );
  // Running figures to drivers: superseded every second, so dropped rather than queued
  // without end while Kafka is away.
  runtime.subscribe(({ effects }) => {
    for (const effect of effects) {
      if (effect.type !== "progress") continue;
      if (kafkaStreams.waiting >= MAX_PROGRESS_WAITING) continue;
      const { message } = effect;
      kafkaStreams.send(TOPICS.driverUpdates, message.driverId, message).catch((error) =>
        log.debug("SUPPLY for {driverId} not sent: {error}", { driverId: message.driverId, error })
      );
    }
  });
  const publisher = new OutboxPublisher(store, producer, vault.keyring);
  publisher.start();
  stack.defer(() => publisher.stop());
  runtime.subscribe(({ effects }) => {
    if (effects.some((e) => e.type === "publish" || e.type === "command")) publisher.wake();
  });

  const lag = new ConsumerLag();
  const group = options.group ?? "central";
  // Two groups, so a telemetry backlog never delays answers to drivers (and the reverse).
  // From the beginning when a group is new: a request sent before Central's very first start
  // is answered too.
  const requests = await runConsumer({
    kafka,
    groupId: `${group}-requests`,
    topics: [TOPICS.driverRequests],
    fromBeginning: true,
    handle: requestHandler(runtime),
  });
  stack.defer(() => requests.stop());
  health.watchConsumer("requests", requests.consumer);
  lag.watch(requests.consumer);
  const telemetry = await runConsumer({
    kafka,
    groupId: `${group}-telemetry`,
    topics: [TOPICS.cpTelemetry],
    fromBeginning: true,
    // A whole fetched batch in one transaction: one commit per batch, not per message.
    handleBatch: telemetryBatchHandler(runtime, vault),
    // Fewer, fuller fetches: a thousand CPs' telemetry fetched as it came cost the broker and
    // Central a fetch per few messages (BENCHMARKS.md); a report now waits at most 100 ms more.
    minBytes: 64 * 1024,
    maxWaitTimeInMs: 100,
  });
  stack.defer(() => telemetry.stop());
  health.watchConsumer("telemetry", telemetry.consumer);
  lag.watch(telemetry.consumer);

  const hostname = options.hostname ?? "0.0.0.0";
  const monitors = await MonitorServer.start(runtime, vault, registry, {
    hostname,
    port: options.tcpPort,
    tls: options.tls,
    usedTokens: new SqliteUsedTokens(store.db),
    maxUnauthenticatedPerAddress: options.maxUnauthenticatedPerAddress,
    loginTimeoutMs: options.monitorLoginTimeoutMs,
  });
  stack.defer(() => monitors.close());

  const streams = new EventStreams();
  const metrics = new CentralMetrics({ runtime, lag, sseClients: () => streams.size });
  runtime.subscribe((committed) => metrics.observe(committed));
  const app = createCentralApp({
    metrics,
    operator,
    status,
    runtime,
    adminToken: adminToken.token,
    weatherServiceKey: weatherServiceKey.key,
    dashboard: {
      feed,
      streams,
      status,
      web: webAssets,
      registry,
      registryAdmin: options.registryAdminKey !== undefined && options.registryAdminKey !== "",
      supervisor: options.supervisorUrl === undefined
        ? undefined
        : supervisorCaller(options.supervisorUrl, adminToken.token),
    },
  });
  // HTTPS whenever the API can be reached from another machine: the admin token and the
  // weather service key cross the network in its requests, credentials in its answers.
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
  const feedTimer = setInterval(() => {
    tracker.status(status());
    feed.flush();
  }, options.feedFlushMs ?? 300);
  stack.defer(() => clearInterval(feedTimer));

  // Last to start, first to stop: a deregistration logs out a monitor the server holds.
  const follower = new RegistryFeedFollower(runtime, registry);
  health.watchRegistryFeed(() => follower.health());
  follower.start();
  stack.defer(() => follower.stop());

  const tickMs = Math.max(50, Math.min(250, config.heartbeatTimeoutMs / 4));
  const lateness = new LatenessWindow(config.heartbeatTimeoutMs);
  let dueAt = Date.now() + tickMs;
  const clock = setInterval(() => {
    const at = Date.now();
    const lagMs = lateness.note(dueAt, at);
    dueAt = at + tickMs;
    runtime.dispatch({ type: "tick", at, lagMs });
    floods.tick();
  }, tickMs);
  stack.defer(() => clearInterval(clock));

  const httpUrl = `${restTls ? "https" : "http"}://${
    urlHost(http.addr.hostname)
  }:${http.addr.port}`;
  log.info("Central up: monitors on TCP {tcp}, REST on {url}", {
    tcp: `${monitors.addr.hostname}:${monitors.addr.port}`,
    url: httpUrl,
  });
  if (restTls) {
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

  const running = stack.move();
  let stopped: Promise<void> | undefined;
  return {
    tcpAddr: monitors.addr,
    httpAddr: http.addr,
    httpUrl,
    adminToken,
    weatherServiceKey,
    runtime,
    audit,
    auditFile,
    feed,
    stop: () =>
      stopped ??= (async () => {
        log.info("Central stopping");
        await running.disposeAsync();
        log.info("Central stopped");
      })(),
  };
}

/**
 * The admin token: `given` if set, else the one in `path`, else a new random one written there
 * with mode 0600 (the log names the file, never the token).
 */
export async function resolveAdminToken(
  given: string | undefined,
  path: string,
): Promise<AdminToken> {
  if (given !== undefined && given !== "") {
    if (given.length < MIN_ADMIN_TOKEN_CHARS) {
      throw new Error(
        `the admin token (CENTRAL_ADMIN_TOKEN) must be at least ${MIN_ADMIN_TOKEN_CHARS} ` +
          `characters, got ${given.length}; unset it to have one generated`,
      );
    }
    return { token: given, source: "given" };
  }
  const fresh = crypto.getRandomValues(new Uint8Array(32)).toBase64({ alphabet: "base64url" })
    .replace(/=+$/, "");
  await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    await Deno.writeTextFile(path, `${fresh}\n`, { createNew: true, mode: 0o600 });
    return { token: fresh, source: "file", path };
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  const info = await Deno.stat(path);
  if (info.mode !== null && (info.mode & 0o077) !== 0) await Deno.chmod(path, 0o600);
  const token = (await Deno.readTextFile(path)).trim();
  if (token.length < MIN_ADMIN_TOKEN_CHARS) {
    throw new Error(
      `admin token file ${path} holds ${token.length} characters, fewer than ` +
        `${MIN_ADMIN_TOKEN_CHARS}: delete it to have one generated, or fill it`,
    );
  }
  return { token, source: "file", path };
}

/**
 * The weather service key: `given` if set, else the one in `path`, else a new random one
 * written there with mode 0600. The weather office does the same with the same default file,
 * so whichever starts first creates the key and the other reads it.
 */
export async function resolveWeatherServiceKey(
  given: string | undefined,
  path: string,
): Promise<WeatherServiceKey> {
  if (given !== undefined && given !== "") return { key: given, source: "given" };
  const key = (await readOrCreateSecretFile(path, generateCredential)).value.trim();
  if (key === "") {
    throw new Error(`weather service key file ${path} is empty: delete it or fill it`);
  }
  return { key, source: "file", path };
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
