/**
 * Command line and environment of `central/main.ts` (declared with shared/config.ts).
 *
 * The original brief gives Central three positional arguments, "listen port, broker address,
 * database path"; the listen port is the one CP monitors connect to, so:
 *
 *     deno task central [tcp-port] [broker] [db]     e.g.  deno task central 7000 127.0.0.1:9092
 *
 * Every value also has a flag and most an environment variable (flag > position > env >
 * default).
 *
 * @module
 */
import {
  brokersOption,
  defineConfig,
  duration,
  flag,
  httpUrl,
  integer,
  langOption,
  logLevelOption,
  oneOf,
  option,
  portOrZero,
  secret,
  text,
} from "../shared/config.ts";
import { SERVER_CERT_FILE, SERVER_KEY_FILE } from "../shared/tls.ts";

/** Default database path; the master key, admin token and log file go next to it. */
export const DEFAULT_DB = "data/central.db";
/** Shortest weather service key accepted (the weather office's rule too). */
export const MIN_SERVICE_KEY_CHARS = 32;
/**
 * Shortest admin token accepted: the bearer throttle only slows floods, so the token itself must
 * be beyond guessing (generated ones are 43 characters, 256 random bits).
 */
export const MIN_ADMIN_TOKEN_CHARS = 32;

/** A service key given on the command line or in the environment: long, no spaces around it. */
const serviceKey = secret(MIN_SERVICE_KEY_CHARS);

/** Central's options. */
export const centralConfig = defineConfig({
  name: "central",
  summary: "Supervises the charging network: CP monitors over TCP, Kafka, REST and a panel.",
  options: {
    tcpPort: option(portOrZero, {
      flag: "tcp-port",
      env: "CENTRAL_TCP_PORT",
      position: 0,
      default: 7000,
      help: "TCP port CP monitors connect to (0: any free port)",
    }),
    brokers: brokersOption(1, "Kafka bootstrap brokers, host:port[,host:port…]"),
    db: option(text, {
      flag: "db",
      env: "CENTRAL_DB",
      position: 2,
      default: DEFAULT_DB,
      help: "SQLite database file",
    }),
    httpPort: option(portOrZero, {
      flag: "http-port",
      env: "CENTRAL_HTTP_PORT",
      default: 8080,
      help: "HTTP port of the REST API (0: any free port)",
    }),
    host: option(text, {
      flag: "host",
      env: "CENTRAL_HOST",
      default: "0.0.0.0",
      help: "Address both servers listen on; the REST API is HTTPS (--cert, --key) unless it " +
        "is a loopback address",
    }),
    restTls: option(oneOf(["auto", "always"] as const), {
      flag: "rest-tls",
      env: "CENTRAL_REST_TLS",
      default: "auto",
      help: "auto: the REST API is HTTPS unless --host is a loopback address; always: HTTPS on " +
        "loopback too",
    }),
    registryUrl: option(httpUrl, {
      flag: "registry-url",
      env: "REGISTRY_URL",
      default: "https://127.0.0.1:8443",
      help: "The Registry (https only)",
    }),
    ca: option(text, {
      flag: "ca",
      env: "EV_CA_FILE",
      optional: true,
      help: "CA certificate that signed the Registry's (default certs/ca.pem)",
    }),
    cert: option(text, {
      flag: "cert",
      env: "CENTRAL_TLS_CERT",
      default: SERVER_CERT_FILE,
      help: "Server certificate (PEM, from `deno task certs`) for the monitor port's TLS and " +
        "the REST API's HTTPS",
    }),
    key: option(text, {
      flag: "key",
      env: "CENTRAL_TLS_KEY",
      default: SERVER_KEY_FILE,
      help: "Server certificate's private key (PEM)",
    }),
    maxUnauthenticatedPerAddress: option(integer(1, 100_000), {
      flag: "max-unauthenticated-per-address",
      env: "CENTRAL_MAX_UNAUTHENTICATED_PER_ADDRESS",
      default: 64,
      help: "Monitor connections one address may hold without having logged in (TLS " +
        "handshakes included); raise it for many CPs behind one NAT",
    }),
    monitorLoginTimeoutMs: option(duration, {
      flag: "login-timeout",
      env: "CENTRAL_LOGIN_TIMEOUT",
      default: 10_000,
      help: "Time a monitor connection has from accept to a committed login (e.g. 10s)",
    }),
    heartbeatTimeoutMs: option(duration, {
      flag: "heartbeat-timeout",
      env: "CENTRAL_HEARTBEAT_TIMEOUT",
      default: 3000,
      help: "Silence after which a CP is DISCONNECTED (e.g. 3s)",
    }),
    stopWaitMs: option(duration, {
      flag: "stop-wait",
      env: "CENTRAL_STOP_WAIT",
      default: 10_000,
      help: "How long a stopped CP has to send SUPPLY_END before Central ends the session",
    }),
    plugWaitMs: option(duration, {
      flag: "plug-wait",
      env: "CENTRAL_PLUG_WAIT",
      default: 120_000,
      help: "How long an authorized session waits for its vehicle before Central ends it " +
        "(keep it above the engines' --plug-timeout)",
    }),
    keyGraceMs: option(duration, {
      flag: "key-grace",
      env: "CENTRAL_KEY_GRACE",
      default: 120_000,
      help: "How long a CP's retired key version still opens telemetry (the backlog of the " +
        "previous login) before it is forgotten (e.g. 2m)",
    }),
    auditCheckpointKeyFile: option(text, {
      flag: "audit-checkpoint-key",
      env: "AUDIT_CHECKPOINT_KEY_FILE",
      optional: true,
      help: "HMAC key of the audit checkpoints (default audit_checkpoint.key next to the " +
        "database; put it on another volume to keep it apart from the log)",
    }),
    masterKeyFile: option(text, {
      flag: "master-key-file",
      optional: true,
      help: "Master key file (default central_master.key next to the database; " +
        "EVCHARGING_MASTER_KEY, base64, wins)",
    }),
    adminToken: option(secret(MIN_ADMIN_TOKEN_CHARS), {
      flag: "admin-token",
      env: "CENTRAL_ADMIN_TOKEN",
      optional: true,
      secret: true,
      help: "Admin bearer token (prefer the env variable; unset: generated once into " +
        "central_admin.token next to the database)",
    }),
    weatherServiceKey: option(serviceKey, {
      flag: "weather-service-key",
      env: "WEATHER_SERVICE_KEY",
      optional: true,
      secret: true,
      help: "Key the weather office sends to POST /weather/alert (prefer the env variable; " +
        "unset: read or generated once into the key file)",
    }),
    weatherServiceKeyFile: option(text, {
      flag: "weather-service-key-file",
      env: "WEATHER_SERVICE_KEY_FILE",
      optional: true,
      help: "Weather service key file (default weather_service.key next to the database, " +
        "which is also the weather office's default)",
    }),
    registryAdminKey: option(text, {
      flag: "registry-admin-key",
      env: "REGISTRY_ADMIN_KEY",
      optional: true,
      secret: true,
      help: "The Registry's admin key, for the dashboard's CP manager (prefer the env " +
        "variable; unset: the CP manager is off)",
    }),
    registryFeedKey: option(serviceKey, {
      flag: "registry-feed-key",
      env: "REGISTRY_FEED_KEY",
      optional: true,
      secret: true,
      help: "Key of the Registry's change feed, which tells Central of deregistrations (prefer " +
        "the env variable; unset: read or generated once into the key file)",
    }),
    registryFeedKeyFile: option(text, {
      flag: "registry-feed-key-file",
      env: "REGISTRY_FEED_KEY_FILE",
      optional: true,
      help: "Registry feed key file (default registry_feed.key next to the database, which is " +
        "also where a Registry with the same data folder keeps it)",
    }),
    supervisorUrl: option(httpUrl, {
      flag: "supervisor-url",
      env: "EV_SUPERVISOR_URL",
      optional: true,
      help: "The local supervisor that runs simulated CPs (deno task start passes it), for the " +
        "dashboard's CP manager to start and stop them (unset: that is off)",
    }),
    group: option(text, {
      flag: "group",
      env: "CENTRAL_GROUP",
      default: "central",
      help: "Kafka consumer group prefix",
    }),
    libcrypto: option(text, {
      flag: "libcrypto",
      env: "CENTRAL_LIBCRYPTO",
      optional: true,
      help: "OpenSSL's libcrypto (such as libcrypto.so.3) to open telemetry with instead of " +
        "node:crypto: less CPU a message, but Central then needs --allow-ffi, which lifts " +
        "Deno's sandbox (unset: node:crypto)",
    }),
    noTui: flag({
      flag: "no-tui",
      env: "CENTRAL_NO_TUI",
      help: "No terminal panel: structured logs on stdout",
    }),
    lang: langOption,
    logFile: option(text, {
      flag: "log-file",
      env: "CENTRAL_LOG_FILE",
      optional: true,
      help: "Log file while the panel is on (default central.log next to the database)",
    }),
    logLevel: logLevelOption("info", "Lowest log level written"),
  },
});
