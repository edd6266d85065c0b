/**
 * A local single-node Apache Kafka (KRaft, broker + controller in one JVM) for
 * development and tests, as ARCHITECTURE §Local Kafka describes: the broker jars come from
 * Maven Central into a cache outside the repo, the storage is formatted once,
 * the broker is started, awaited until it answers a metadata request and
 * stopped cleanly. When `KAFKA_BROKERS` is set nothing is started.
 *
 * @module
 */
import { Kafka, logLevel, Partitioners } from "kafkajs";
import { join, resolve } from "node:path";
// Also applies shared/kafka.ts's kafkajs timer fix to the readiness probe below.
import { brokersFromEnv } from "../shared/kafka.ts";
import { freePort } from "../shared/ports.ts";
import { makePrivateDir } from "../shared/private_files.ts";

const POM = join(import.meta.dirname!, "pom.xml");
const NEEDS_JAVA =
  "Java 17+ is needed for the local Kafka broker; install it or set KAFKA_BROKERS=host:port to use an existing broker";
const NEEDS_MAVEN =
  "Maven (mvn) is needed once to fetch the Kafka broker jars; install it or set KAFKA_BROKERS=host:port to use an existing broker";

/** Result of running a tool: `null` when the executable is not on the PATH. */
export type ToolResult = { code: number; output: string } | null;

/**
 * Runs a command and returns its exit code and combined output. Injectable so
 * that the missing/old-tool paths are testable without uninstalling anything.
 */
export type ToolProbe = (cmd: string, args: string[]) => Promise<ToolResult>;

/** The real probe: runs the command, `null` if it does not exist. */
export const systemProbe: ToolProbe = async (cmd, args) => {
  try {
    const out = await new Deno.Command(cmd, { args, stdin: "null" }).output();
    const text = new TextDecoder();
    return { code: out.code, output: text.decode(out.stdout) + text.decode(out.stderr) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
};

/**
 * Checks that `java` exists and is at least version 17 (the Kafka 4 broker
 * needs it); returns the major version or throws a message that says what to do.
 */
export async function checkJava(probe: ToolProbe = systemProbe): Promise<number> {
  const res = await probe("java", ["-version"]);
  if (res === null) throw new Error(`${NEEDS_JAVA} (no \`java\` on the PATH).`);
  // `openjdk version "17.0.15" …`, `java version "1.8.0_381"` (Java 8 reports 1.x).
  const m = res.output.match(/version "(\d+)(?:\.(\d+))?/);
  if (res.code !== 0 || !m) {
    throw new Error(`${NEEDS_JAVA} (\`java -version\` failed: ${res.output.trim()}).`);
  }
  const major = m[1] === "1" ? Number(m[2]) : Number(m[1]);
  if (major < 17) throw new Error(`${NEEDS_JAVA} (found Java ${major}).`);
  return major;
}

/** Checks that `mvn` exists; throws a message that says what to do if not. */
export async function checkMaven(probe: ToolProbe = systemProbe): Promise<void> {
  const res = await probe("mvn", ["-v"]);
  if (res === null) throw new Error(`${NEEDS_MAVEN} (no \`mvn\` on the PATH).`);
  if (res.code !== 0) throw new Error(`${NEEDS_MAVEN} (\`mvn -v\` failed: ${res.output.trim()}).`);
}

/** The Kafka version named by `infra/pom.xml` (the single place it is pinned). */
export function kafkaVersion(pom = Deno.readTextFileSync(POM)): string {
  const m = pom.match(/<kafka\.version>([^<]+)<\/kafka\.version>/);
  if (!m) throw new Error(`no <kafka.version> in ${POM}`);
  return m[1].trim();
}

/** `~/.cache/evcharging/kafka-<version>`, honouring `XDG_CACHE_HOME`. */
export function jarCacheDir(version: string, env: (name: string) => string | undefined): string {
  const base = env("XDG_CACHE_HOME") || join(env("HOME") ?? ".", ".cache");
  return join(base, "evcharging", `kafka-${version}`);
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Options of {@linkcode ensureKafkaJars}. */
export interface EnsureJarsOptions {
  /** Tool runner (tests inject a fake). */
  probe?: ToolProbe;
  /** Where progress lines go; stderr by default so stdout stays for results. */
  log?: (line: string) => void;
  /** Environment lookup (tests inject one). */
  env?: (name: string) => string | undefined;
}

/**
 * Returns the directory holding the broker's jars, fetching them with Maven
 * only when the cache is missing or incomplete. The marker file is written
 * last and holds a hash of the pom, so an interrupted fetch or a changed pom
 * is fetched again, and a complete cache needs neither Maven nor the network.
 */
export async function ensureKafkaJars(opts: EnsureJarsOptions = {}): Promise<string> {
  const { probe = systemProbe, log = console.error, env = (n) => Deno.env.get(n) } = opts;
  await checkJava(probe);
  const pom = await Deno.readTextFile(POM);
  const dir = jarCacheDir(kafkaVersion(pom), env);
  const marker = join(dir, ".complete");
  const want = await sha256(pom);
  const have = await Deno.readTextFile(marker).catch(() => "");
  if (have.trim() === want) return dir;

  await checkMaven(probe);
  log(`Fetching the Apache Kafka ${kafkaVersion(pom)} broker jars (~45 MB) with Maven into ${dir}`);
  log("(this happens once; later starts use the cache)");
  const started = Date.now();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dir, { recursive: true });
  const out = await new Deno.Command("mvn", {
    args: [
      "-q",
      "-B",
      "-f",
      POM,
      "dependency:copy-dependencies",
      `-DoutputDirectory=${dir}`,
      "-DincludeScope=runtime",
    ],
    stdin: "null",
  }).output();
  if (out.code !== 0) {
    const text = new TextDecoder();
    const output = (text.decode(out.stdout) + text.decode(out.stderr)).trim();
    throw new Error(`fetching the Kafka jars with Maven failed (exit ${out.code}):\n${output}`);
  }
  await Deno.writeTextFile(marker, want + "\n");
  log(`Fetched the Kafka jars in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  return dir;
}

/** Ports and directory a local broker is configured with. */
export interface ServerPropertiesOptions {
  /** Client (PLAINTEXT) port on 127.0.0.1. */
  port: number;
  /** KRaft controller port on 127.0.0.1. */
  controllerPort: number;
  /** Absolute data directory; the partitions live in `<dataDir>/kraft`. */
  dataDir: string;
  /**
   * Name or address other machines reach this one by. When set, the client listener binds
   * every interface and is advertised under this name (the controller stays on loopback);
   * unset, the broker is reachable from this machine only.
   */
  advertisedHost?: string;
}

/** Escapes a value for a Java `.properties` file (backslash is the escape character). */
const prop = (v: string) => v.replaceAll("\\", "\\\\");

/**
 * Renders `server.properties` for a single-node KRaft broker+controller.
 * Every internal topic gets replication factor 1, or consumer groups and
 * transactions never get a coordinator on one node (ARCHITECTURE §Kafka topics).
 */
export function renderServerProperties(o: ServerPropertiesOptions): string {
  const host = "127.0.0.1";
  const client = o.advertisedHost === undefined ? host : "0.0.0.0";
  const advertised = o.advertisedHost ?? host;
  return [
    "# Written by infra/local_kafka.ts on every start; edits are overwritten.",
    "process.roles=broker,controller",
    "node.id=1",
    `controller.quorum.voters=1@${host}:${o.controllerPort}`,
    `listeners=PLAINTEXT://${client}:${o.port},CONTROLLER://${host}:${o.controllerPort}`,
    `advertised.listeners=PLAINTEXT://${advertised}:${o.port}`,
    "controller.listener.names=CONTROLLER",
    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    "inter.broker.listener.name=PLAINTEXT",
    `log.dirs=${prop(join(o.dataDir, "kraft"))}`,
    "offsets.topic.replication.factor=1",
    "transaction.state.log.replication.factor=1",
    "transaction.state.log.min.isr=1",
    "share.coordinator.state.topic.replication.factor=1",
    "share.coordinator.state.topic.min.isr=1",
    // Without this every new consumer group waits 3 s before it gets partitions.
    "group.initial.rebalance.delay.ms=0",
    // Topics are created explicitly with their partition counts (ARCHITECTURE §Local Kafka).
    "auto.create.topics.enable=false",
    "",
  ].join("\n");
}

/**
 * Renders the log4j2 config: everything at INFO to stdout, which the launcher
 * appends to the broker log file.
 */
export function renderLog4jConfig(): string {
  return [
    "status = warn",
    "appender.out.type = Console",
    "appender.out.name = out",
    "appender.out.layout.type = PatternLayout",
    "appender.out.layout.pattern = [%d] %p %m (%c)%n",
    "rootLogger.level = info",
    "rootLogger.appenderRef.out.ref = out",
    // Per-request logging would drown everything else.
    "logger.request.name = kafka.request.logger",
    "logger.request.level = warn",
    "",
  ].join("\n");
}

/** A random KRaft cluster id: 16 bytes as unpadded base64url (22 characters). */
export function newClusterId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

function assertPortFree(port: number, what: string): void {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
  } catch (e) {
    if (!(e instanceof Deno.errors.AddrInUse)) throw e;
    throw new Error(
      `${what} port 127.0.0.1:${port} is already in use (another Kafka broker, perhaps one left ` +
        `running?). Stop it, pick another port, or set KAFKA_BROKERS=127.0.0.1:${port} to use it.`,
    );
  }
}

async function tail(file: string, lines = 20): Promise<string> {
  const text = await Deno.readTextFile(file).catch(() => "");
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** Options of {@linkcode startLocalKafka}. */
export interface LocalKafkaOptions {
  /** Client port on 127.0.0.1 (default 9092); 0 picks free ports for both listeners. */
  port?: number;
  /** Controller port (default `port + 1`, or a free one when `port` is 0). */
  controllerPort?: number;
  /** Where the broker keeps its partitions, config and `broker.log`. */
  dataDir: string;
  /** Delete the data directory first (all topics and offsets are lost). */
  fresh?: boolean;
  /** Serve other machines under this name (see {@linkcode ServerPropertiesOptions}). */
  advertisedHost?: string;
  /** How long to wait for the broker to answer (default 60 s). */
  readyTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL (default 20 s). */
  stopGraceMs?: number;
  /** Value of `KAFKA_BROKERS` (default: the environment); when set nothing is started. */
  kafkaBrokers?: string;
  /** How the JVM is tuned (default `startup`; see {@linkcode jvmTuningFlags}). */
  tuning?: JvmTuning;
  /** Progress lines (default stderr). */
  log?: (line: string) => void;
  /**
   * Run the broker in a session of its own, so a Ctrl-C at the terminal reaches only the caller,
   * which stops the broker when it chooses (after the clients it serves). Only for a caller
   * that listens for SIGINT from its start: one that a Ctrl-C ends would leave it running.
   */
  detached?: boolean;
  /** Aborting it while the broker starts stops the broker and rejects. */
  signal?: AbortSignal;
}

/** `startup`: a broker that starts often and idles; `throughput`: one that runs hot. */
export type JvmTuning = "startup" | "throughput";

/**
 * The JVM's JIT flags for a tuning. A development broker starts far more often than it runs
 * hot: C1-only JIT roughly halves its start-up (~6 s to ~3.5 s on two cores). Under a
 * benchmark's load that costs a third more CPU (BENCHMARKS.md: 40 → 30 % of a core at 1000
 * CPs with the full JIT), so a broker that runs hot gets the full tiered JIT.
 */
export function jvmTuningFlags(tuning: JvmTuning): string[] {
  return tuning === "startup" ? ["-XX:TieredStopAtLevel=1"] : [];
}

/** A running (or external) broker. */
export interface LocalKafka extends AsyncDisposable {
  /** Bootstrap addresses, `host:port`. */
  brokers: string[];
  /** True when `KAFKA_BROKERS` named the broker and nothing was started. */
  external: boolean;
  /** The broker's log file (absent when external). */
  logFile?: string;
  /** The broker process (absent when external). */
  pid?: number;
  /** Settles when the broker process exits, whoever stopped it (never when external). */
  exited: Promise<Deno.CommandStatus>;
  /** Stops the broker: SIGTERM, then SIGKILL after the grace period. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts a local broker in `dataDir` (formatting its storage on first use, so
 * a restart keeps topics and offsets) and resolves once it answers a metadata
 * request. With `KAFKA_BROKERS` set it starts nothing and returns that broker.
 */
export async function startLocalKafka(opts: LocalKafkaOptions): Promise<LocalKafka> {
  const log = opts.log ?? console.error;
  const external = brokersFromEnv(opts.kafkaBrokers ?? Deno.env.get("KAFKA_BROKERS"));
  if (external) return externalBroker(external);

  const port = opts.port === 0 ? freePort() : opts.port ?? 9092;
  const controllerPort = opts.controllerPort ??
    (opts.port === 0 ? freePort() : port + 1);
  // Before anything slow: a busy port would only show up deep in the broker log.
  assertPortFree(port, "Kafka");
  assertPortFree(controllerPort, "Kafka controller");
  const jars = await ensureKafkaJars({ log });
  const files = await prepareDataDir(opts, port, controllerPort);
  const java = javaCommand(jars, files.log4j, opts.tuning ?? "startup");
  await formatStorageOnce(java, files);
  const broker = await spawnBroker(java, files, opts);

  const brokers = [`127.0.0.1:${port}`];
  log(`Starting Kafka on 127.0.0.1:${port} (data ${files.dataDir}, log ${files.logFile})`);
  const started = Date.now();
  try {
    await waitUntilReady(brokers, broker.exited, opts.readyTimeoutMs ?? 60_000, opts.signal);
    log(`Kafka answered after ${((Date.now() - started) / 1000).toFixed(1)}s`);
  } catch (e) {
    await broker.stop();
    if (opts.signal?.aborted) throw opts.signal.reason;
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(
      `${why}; see the broker log ${files.logFile}. Last lines:\n${await tail(files.logFile)}`,
    );
  }
  return {
    brokers,
    external: false,
    logFile: files.logFile,
    pid: broker.pid,
    exited: broker.exited,
    stop: broker.stop,
    [Symbol.asyncDispose]: broker.stop,
  };
}

/** The broker `KAFKA_BROKERS` names: nothing to start, nothing to stop. */
function externalBroker(brokers: string[]): LocalKafka {
  const noop = () => Promise.resolve();
  return {
    brokers,
    external: true,
    exited: new Promise(() => {}),
    stop: noop,
    [Symbol.asyncDispose]: noop,
  };
}

/** Where a broker keeps its data, configuration and log. */
interface BrokerFiles {
  readonly dataDir: string;
  readonly props: string;
  readonly log4j: string;
  readonly logFile: string;
}

/** Creates the data directory (emptied first when `fresh`) and writes the broker's configuration. */
async function prepareDataDir(
  opts: LocalKafkaOptions,
  port: number,
  controllerPort: number,
): Promise<BrokerFiles> {
  const dataDir = resolve(opts.dataDir);
  if (opts.fresh) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  await makePrivateDir(dataDir);
  const files = {
    dataDir,
    props: join(dataDir, "server.properties"),
    log4j: join(dataDir, "log4j2.properties"),
    logFile: join(dataDir, "broker.log"),
  };
  await Deno.writeTextFile(
    files.props,
    renderServerProperties({
      port,
      controllerPort,
      dataDir,
      advertisedHost: opts.advertisedHost,
    }),
  );
  await Deno.writeTextFile(files.log4j, renderLog4jConfig());
  // Keep the previous run's log next to the new one: it may explain a failure.
  await Deno.rename(files.logFile, files.logFile + ".1").catch(() => {});
  return files;
}

/** Runs a Kafka class on the JVM. */
type JavaCommand = (mainClass: string, args: string[], detached?: boolean) => Deno.Command;

/** The JVM, its flags and Kafka's jars, for any of Kafka's main classes. */
function javaCommand(jars: string, log4j: string, tuning: JvmTuning): JavaCommand {
  return (mainClass, args, detached = false) =>
    new Deno.Command("java", {
      args: [
        "-Xmx512m",
        ...jvmTuningFlags(tuning),
        // One small heap on a small machine: the serial GC costs least.
        "-XX:+UseSerialGC",
        "-Djava.awt.headless=true",
        `-Dlog4j2.configurationFile=${log4j}`,
        // Otherwise log4j stops itself first on SIGTERM and the shutdown is not logged.
        "-Dlog4j2.shutdownHookEnabled=false",
        "-cp",
        `${jars}/*`,
        mainClass,
        ...args,
      ],
      detached,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    });
}

/** Formats the storage once: meta.properties holds the cluster id, so restarts keep the data. */
async function formatStorageOnce(java: JavaCommand, files: BrokerFiles): Promise<void> {
  try {
    await Deno.stat(join(files.dataDir, "kraft", "meta.properties"));
    return;
  } catch {
    // Not formatted yet.
  }
  // `--cluster-id=…` in one argument: a random id may start with "-", which the tool's
  // argument parser would take for an option (1 start in 64 failed that way).
  const out = await java("kafka.tools.StorageTool", [
    "format",
    `--cluster-id=${newClusterId()}`,
    "-c",
    files.props,
  ]).output();
  const text = new TextDecoder();
  await Deno.writeTextFile(files.logFile, text.decode(out.stdout) + text.decode(out.stderr));
  if (out.code !== 0) {
    throw new Error(
      `formatting the Kafka storage in ${files.dataDir} failed; see ${files.logFile}:\n${await tail(
        files.logFile,
      )}`,
    );
  }
}

/** A broker process: when it exits, and how to stop it. */
interface BrokerProcess {
  readonly pid: number;
  readonly exited: Promise<Deno.CommandStatus>;
  readonly stop: () => Promise<void>;
}

/**
 * Starts the broker with its output in its log file, killed if this process unloads without
 * stopping it; `stop` sends SIGTERM, then SIGKILL after the grace period.
 */
async function spawnBroker(
  java: JavaCommand,
  files: BrokerFiles,
  opts: LocalKafkaOptions,
): Promise<BrokerProcess> {
  const child = java("kafka.Kafka", [files.props], opts.detached).spawn();
  const file = await Deno.open(files.logFile, { append: true, create: true });
  // Two writers on one O_APPEND file: lines may interleave per chunk, never get lost.
  const err = await Deno.open(files.logFile, { append: true });
  const drained = Promise.allSettled([
    child.stdout.pipeTo(file.writable),
    child.stderr.pipeTo(err.writable),
  ]);
  // If this process exits without stop() (an uncaught error), do not leave an
  // orphan broker holding the port: SIGTERM still runs its shutdown hook.
  const onUnload = () => {
    try {
      child.kill("SIGTERM");
    } catch { /* already gone */ }
  };
  globalThis.addEventListener("unload", onUnload);
  const exited = child.status.finally(() => globalThis.removeEventListener("unload", onUnload));

  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, opts.stopGraceMs ?? 20_000);
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await exited;
      clearTimeout(timer);
      await drained;
    })();
  return { pid: child.pid, exited, stop };
}

/**
 * Polls until the broker answers a Metadata request and its coordinators
 * work, until it exits, until time runs out, or until `signal` is aborted.
 */
async function waitUntilReady(
  brokers: string[],
  exited: Promise<Deno.CommandStatus>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  let status: Deno.CommandStatus | undefined;
  exited.then((s) => status = s);
  // Connection refusals are expected while the JVM starts: keep this client silent.
  const kafka = new Kafka({
    brokers,
    clientId: "local-kafka-probe",
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 3000,
    retry: { retries: 0 },
  });
  const ready = async () => {
    const admin = kafka.admin();
    // kafkajs insists on retries for an idempotent producer.
    const producer = kafka.producer({
      idempotent: true,
      retry: { retries: 1 },
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    try {
      await admin.connect();
      if ((await admin.describeCluster()).brokers.length === 0) return false;
      // A fresh broker answers metadata before its group and producer-id
      // coordinators have loaded; wait for those too, so that the first
      // consumer and idempotent producer do not meet "coordinator is loading".
      await admin.describeGroups(["local-kafka-probe"]);
      await producer.connect(); // InitProducerId
      return true;
    } finally {
      await producer.disconnect().catch(() => {});
      await admin.disconnect().catch(() => {});
    }
  };
  const deadline = Date.now() + timeoutMs;
  while (true) {
    signal?.throwIfAborted();
    if (status) {
      throw new Error(`the Kafka broker exited (code ${status.code}) before it was ready`);
    }
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) {
      throw new Error(`the Kafka broker did not answer on ${brokers[0]} within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
