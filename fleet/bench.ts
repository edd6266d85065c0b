/**
 * `deno task bench [--cps N …]`: the load benchmark of issue 8. It starts a fresh local network
 * (a broker of its own unless `KAFKA_BROKERS` is set, the Registry and Central as processes,
 * infra/network.ts), measures raw kafkajs produce→consume on that broker with messages the
 * size of a telemetry envelope, ramps a fleet (fleet.ts, in this process) to N CPs, lets the
 * sessions settle, then samples the steady state once a second: Central's committed
 * `cp.telemetry` offsets against the topic's end (handled rate, lag), Central's CPU and memory
 * from `/proc/<pid>`, driver request → AUTHORIZED latency, and telemetry → dashboard SSE event
 * latency when Central serves `GET /events`. Prints a table and writes the JSON result.
 *
 * @module
 */

// First: the Registry's schemas (imported by fleet.ts) must extend zod with `.openapi` before
// shared/messages.ts builds its schemas, as cp/monitor_main.ts and central/ also make sure.
import type { FleetHandle } from "./fleet.ts";
import type { BacklogCentral } from "./bench_backlog.ts";
import { type FleetThreadsOptions, startFleetThreads } from "./threads.ts";
import { watchEvents } from "./sse_reader.ts";
import { DashboardLatency } from "./dashboard_latency.ts";
import { rawThroughput, telemetryValueBytes } from "./bench_raw.ts";
import { join } from "node:path";
import { startNetwork } from "../infra/network.ts";
import { buildWeb } from "../infra/web_build.ts";
import { sleep, within } from "../shared/sleep.ts";
import { httpsClient } from "../shared/tls.ts";
import { type LocalKafka, startLocalKafka } from "../infra/local_kafka.ts";
import { type ConfigOf, loadConfig } from "../shared/config.ts";
import { commitGroupAtEnd, createKafka, TOPICS } from "../shared/kafka.ts";
import { type LogLevel, setupLogging, stopLogging } from "../shared/log.ts";
import { quietly } from "../shared/terminal.ts";
import { type Address, address } from "../cp/config.ts";
import { defaultLoginConcurrency } from "./core.ts";
import {
  benchConfig,
  type BenchNetwork,
  benchNetwork,
  defaultCredentialsDir,
  defaultThreads,
  findRegistryAdminKey,
  REGISTRY_ADMIN_KEY_FILES,
} from "./config.ts";
import {
  type BenchResult,
  latency,
  rampFigures,
  renderTable,
  steadyFigures,
  type SteadySample,
} from "./bench_report.ts";
import { loadAverage, machine, steadySampler } from "./bench_sample.ts";
import { benchSummary, lossesBetween } from "./bench_summary.ts";
import { measureBacklog, renderBacklog } from "./bench_backlog.ts";
import { measureOutage } from "./bench_outage.ts";
import type { Admin } from "kafkajs";
import type { TelemetrySupply } from "../shared/messages.ts";

/** Starts every id the benchmark's fleet uses. */
const BENCH_PREFIX = "BENCH";

/** After the ramp, sessions start and settle this long before the steady state is measured. */
const SETTLE_MS = 10_000;

const say = (text: string) => quietly(() => console.error(`bench: ${text}`));

/** Standard error as a stream the logger may close at the end without closing stderr itself. */
function stderrStream(): WritableStream<Uint8Array> {
  return new WritableStream({ write: (chunk) => quietly(() => void Deno.stderr.writeSync(chunk)) });
}

/** The network under test, started here or given. */
interface Target {
  /** Central's monitor socket. */
  readonly central: Address;
  /** Central's REST API. */
  readonly centralUrl: string;
  /** The Registry. */
  readonly registryUrl: string;
  /** The CA the Registry's certificate is checked against (unset: the fleet's default). */
  readonly caFile?: string;
  /** The Registry's admin key, for the fleet to register its CPs. */
  readonly registryAdminKey: string;
  /** Where the fleet keeps its CPs' credentials. */
  readonly credentialsDir: string;
  /** Central's `cp.telemetry` consumer group, whose committed offsets are "handled". */
  readonly telemetryGroup: string;
  /** Central's and the Registry's processes, when they run on this machine. */
  readonly centralPid?: number;
  readonly registryPid?: number;
  /** Central as `--backlog` kills and restarts it: only in a network started here. */
  readonly backlogCentral?: BacklogCentral;
  /** Stops what was started here (nothing, for a given network). */
  stop(): Promise<void>;
}

/** A fresh Registry and Central on `brokers`, as processes, everything in `dir`. */
async function freshTarget(
  dir: string,
  brokers: readonly string[],
  config: { logLevel: LogLevel; profileCentral?: string; centralLibcrypto?: string },
  signal: AbortSignal,
): Promise<Target> {
  const group = `bench-${Date.now().toString(36)}`;
  // A new group reads from the beginning: on a broker used before, every earlier run's requests
  // and telemetry would reach this Central first and be counted as this run's work.
  const kafka = createKafka({ brokers: [...brokers], clientId: "bench-offsets" });
  await Promise.all([
    commitGroupAtEnd(kafka, `${group}-requests`, [TOPICS.driverRequests]),
    commitGroupAtEnd(kafka, `${group}-telemetry`, [TOPICS.cpTelemetry]),
  ]);
  const net = await startNetwork({
    dir,
    certsDir: join(dir, "certs"),
    brokers,
    centralArgs: [
      "--group",
      group,
      ...(config.centralLibcrypto === undefined ? [] : ["--libcrypto", config.centralLibcrypto]),
    ],
    centralDenoFlags: [
      ...(config.profileCentral === undefined
        ? []
        : ["--cpu-prof", `--cpu-prof-dir=${config.profileCentral}`]),
      ...(config.centralLibcrypto === undefined ? [] : ["--allow-ffi"]),
    ],
    logLevel: config.logLevel,
    progress: say,
    detached: true,
    signal,
  });
  return {
    central: address(net.centralTcp),
    centralUrl: net.centralUrl,
    registryUrl: net.registryUrl,
    caFile: net.caFile,
    registryAdminKey: (await Deno.readTextFile(join(dir, "registry_admin.key"))).trim(),
    credentialsDir: join(dir, "fleet_cp"),
    telemetryGroup: `${group}-telemetry`,
    centralPid: net.central.pid,
    registryPid: net.registry.pid,
    backlogCentral: {
      telemetryGroup: `${group}-telemetry`,
      kill: async () => {
        net.central.kill("SIGKILL");
        await net.central.exited;
      },
      start: () => net.restartCentral(),
      pid: () => net.central.running ? net.central.pid : undefined,
      health: async () => {
        using client = net.centralUrl.startsWith("https:")
          ? await httpsClient(net.caFile)
          : undefined;
        // 503 (a part Central needs is failing) still carries the counters.
        const response = await fetch(`${net.centralUrl}/health`, { client });
        return await response.json();
      },
    },
    stop: () => net.stop(),
  };
}

/**
 * A network already running. Its CPs' credentials are kept in `data/fleet/BENCH/cp`, as
 * `deno task fleet --prefix BENCH` keeps them, so a second run logs the same CPs in again
 * instead of registering new ones.
 */
async function givenTarget(
  network: Extract<BenchNetwork, { kind: "given" }>,
  config: { caFile?: string; registryAdminKey?: string },
): Promise<Target> {
  const registryAdminKey = await findRegistryAdminKey(config.registryAdminKey);
  if (registryAdminKey === undefined) {
    throw new Error(
      "the fleet needs the Registry's admin key: --registry-admin-key, REGISTRY_ADMIN_KEY or " +
        `the file ${REGISTRY_ADMIN_KEY_FILES.join(" or ")}`,
    );
  }
  say(
    `given network: Central ${network.centralUrl} (monitors ${network.central}), Registry ${network.registryUrl}`,
  );
  return {
    central: network.central,
    centralUrl: network.centralUrl,
    registryUrl: network.registryUrl,
    caFile: config.caFile,
    registryAdminKey,
    credentialsDir: defaultCredentialsDir(BENCH_PREFIX),
    telemetryGroup: `${network.group}-telemetry`,
    centralPid: network.centralPid,
    stop: () => Promise.resolve(),
  };
}

/** The bench's options, as parsed. */
type BenchConfig = ConfigOf<typeof benchConfig.options>;

/** What one run fixes at its start and the steps after share. */
interface Run {
  readonly config: BenchConfig;
  /** Drivers the fleet runs (`--drivers`, else one a CP). */
  readonly drivers: number;
  /** Threads the fleet runs on. */
  readonly threads: number;
  /** The machine's load average before anything started. */
  readonly loadBefore: string;
  /** Whether the network was given (`--central …`) rather than started here. */
  readonly given: boolean;
  /** Ends the dashboard event stream. */
  readonly events: AbortController;
  /** Intervals of the measurement: cleared at the end, however it ends. */
  readonly intervals: ReturnType<typeof setInterval>[];
  /** The fleet once started, so the end stops it however the run ends. */
  fleet?: FleetHandle;
}

/** The given network, checked before anything starts: a half-given one exits 2 (usage). */
async function givenOrExit(config: BenchConfig): Promise<Target | undefined> {
  try {
    const network = benchNetwork(config, Deno.env.get("KAFKA_BROKERS") !== undefined);
    return network.kind === "given" ? await givenTarget(network, config) : undefined;
  } catch (error) {
    say((error as Error).message);
    Deno.exit(2);
  }
}

/** The run's fixed facts, with logging on (an error the fleet logs counts as a fleet error). */
async function openRun(config: BenchConfig, given: boolean): Promise<Run> {
  const run: Run = {
    config,
    drivers: config.drivers ?? config.cps,
    threads: config.threads ?? defaultThreads(config.cps),
    loadBefore: await loadAverage(),
    given,
    events: new AbortController(),
    intervals: [],
  };
  await setupLogging({
    level: config.logLevel,
    stream: stderrStream(),
    isTerminal: false,
    extraSinks: [(r) => {
      if (r.level === "error" || r.level === "fatal") run.fleet?.noteError();
    }],
  });
  return run;
}

/** Starts an interval that the end of the run clears. */
function every(run: Run, fn: () => void, ms: number): ReturnType<typeof setInterval> {
  const id = setInterval(fn, ms);
  run.intervals.push(id);
  return id;
}

/**
 * Ctrl-C (and SIGTERM, and SIGHUP: a closed terminal must not leave them running) aborts the
 * run. Everything runs detached, so the signal reaches only this process. `interrupted`
 * rejects on it; `release` removes the listeners, only once everything is stopped, so that a
 * second Ctrl-C while they stop cannot end this process and leave them running.
 */
function interruptOnSignals() {
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort(new Error("interrupted"));
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  for (const sig of signals) Deno.addSignalListener(sig, onSignal);
  const interrupted = new Promise<never>((_, reject) =>
    interrupt.signal.addEventListener("abort", () => reject(interrupt.signal.reason))
  );
  interrupted.catch(() => {}); // awaited only once the measurement runs
  return {
    signal: interrupt.signal,
    interrupted,
    release: () => {
      for (const sig of signals) Deno.removeSignalListener(sig, onSignal);
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfig(benchConfig);
  const given = await givenOrExit(config);
  const run = await openRun(config, given !== undefined);
  const dir = await Deno.makeTempDir({ prefix: "evcharging-bench-" });
  say(`working in ${dir}; load average ${run.loadBefore}`);
  const interrupt = interruptOnSignals();
  try {
    await startAndMeasure(run, dir, given, interrupt);
  } finally {
    await stopLogging();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    interrupt.release();
  }
  if (interrupt.signal.aborted) {
    say("interrupted: everything this run started is stopped");
    Deno.exit(130);
  }
}

/**
 * Starts the broker and (unless given) the network, and measures until done or interrupted;
 * then stops what it started in order: the fleet, Central and the Registry, the broker.
 */
async function startAndMeasure(
  run: Run,
  dir: string,
  given: Target | undefined,
  interrupt: ReturnType<typeof interruptOnSignals>,
): Promise<void> {
  let kafka: LocalKafka | undefined;
  let target: Target | undefined;
  try {
    kafka = await startLocalKafka({
      port: 0,
      dataDir: join(dir, "kafka"),
      fresh: true,
      // It runs hot for minutes: worth the full JIT's slower start.
      tuning: "throughput",
      log: (line) => say(line),
      detached: true,
      signal: interrupt.signal,
    });
    say(`Kafka ${kafka.brokers.join(",")}${kafka.external ? " (KAFKA_BROKERS)" : ""}`);
    if (given === undefined) await buildWeb(); // the dashboard its Central serves
    target = given ?? await freshTarget(dir, kafka.brokers, run.config, interrupt.signal);
    say(
      `Central ${target.centralUrl} (its dashboard in Chromium: deno task bench:dashboard --url …)`,
    );
    const measuring = measure(run, kafka, target);
    measuring.catch(() => {}); // after an interrupt its failure is no news
    await Promise.race([measuring, interrupt.interrupted]);
  } catch (error) {
    if (!interrupt.signal.aborted) throw error;
  } finally {
    run.intervals.forEach(clearInterval);
    run.events.abort();
    await run.fleet?.stop();
    await target?.stop();
    await kafka?.stop();
  }
}

/**
 * Starts the fleet (into `run.fleet`, so the end stops it however the run ends) and waits for
 * its ramp; prints the counts every 5 s until `stopProgress`.
 */
async function rampFleet(
  run: Run,
  kafka: LocalKafka,
  target: Target,
  extra: Pick<FleetThreadsOptions, "onTelemetry" | "onKey" | "workers">,
) {
  const { config, drivers, threads } = run;
  say(`ramping a fleet to ${config.cps} CPs and ${drivers} drivers on ${threads} thread(s)`);
  const running = run.fleet = await startFleetThreads({
    threads,
    logLevel: config.logLevel,
    prefix: BENCH_PREFIX,
    cps: config.cps,
    drivers,
    brokers: kafka.brokers,
    central: target.central,
    registryUrl: target.registryUrl,
    caFile: target.caFile,
    registryAdminKey: target.registryAdminKey,
    credentialsDir: target.credentialsDir,
    speed: config.speed,
    durationMs: config.durationMs,
    loginConcurrency: config.loginConcurrency,
    engineLinks: config.engineLinks,
    ...extra,
  });
  const fleetStartedAt = Date.now(); // the first monitors start as startFleet returns
  // How late a 100 ms timer fires on this thread (the fleet's own loop when it has one thread).
  let lagMax = 0;
  let expected = Date.now() + 100;
  const lagTimer = every(run, () => {
    lagMax = Math.max(lagMax, Date.now() - expected);
    expected = Date.now() + 100;
  }, 100);
  const progress = every(run, () => {
    const c = running.counts();
    say(
      `logged in ${c.loggedIn}/${c.cps}, charging ${c.charging}, errors ${c.errors}, ` +
        `lost logins ${c.lostLogins} (${c.relogins} back), engine links lost ` +
        `${c.monitorLinkDrops}, main loop lag max ${lagMax} ms` +
        threadsLag(running),
    );
    lagMax = 0;
  }, 5000);
  // A CP that neither logs in nor gives up must not hold the benchmark forever.
  const rampLimitMs = 60_000 + config.cps * 500;
  // Its timer is cleared: it would keep the process alive for minutes after the run.
  await within(running.ramped, rampLimitMs, undefined);
  const ramp = rampFigures(fleetStartedAt, running.loginTimes);
  say(`ramp done: ${ramp.logins} logins in ${ramp.seconds.toFixed(1)} s`);
  const stopProgress = () => {
    clearInterval(progress);
    clearInterval(lagTimer);
  };
  return { running, ramp, stopProgress };
}

/** Where and when the run ran, as the result records it. */
async function machineFacts(run: Run): Promise<BenchResult["machine"]> {
  return {
    ...await machine(),
    loadAverageBefore: run.loadBefore,
    loadAverageAfter: await loadAverage(),
    date: new Date().toISOString(),
  };
}

/** Writes the JSON result to `out` and prints the table. */
async function writeResult(out: string, result: unknown, table: string): Promise<void> {
  await Deno.mkdir(join(out, ".."), { recursive: true });
  await Deno.writeTextFile(out, JSON.stringify(result, null, 2) + "\n");
  console.log(table);
  console.log(`\nresult written to ${out}`);
}

/** `--backlog N`: the fleet logs in, then bench_backlog.ts measures the drains. */
async function backlogRun(
  run: Run,
  kafka: LocalKafka,
  target: Target,
  count: number,
): Promise<void> {
  if (target.backlogCentral === undefined) {
    throw new Error("--backlog needs a network started here (no --central)");
  }
  const { config, drivers, threads } = run;
  const keys = new Map<string, { keyVersion: number; key: string }>();
  const supplies = new Map<string, TelemetrySupply>();
  const { running, ramp, stopProgress } = await rampFleet(run, kafka, target, {
    workers: true,
    onKey: (cpId, keyVersion, key) => keys.set(cpId, { keyVersion, key }),
    onTelemetry: (cpId, payload) => {
      if (payload.type === "SUPPLY") supplies.set(cpId, payload);
      else if (payload.type === "SUPPLY_END") supplies.delete(cpId);
    },
  });
  await sleep(SETTLE_MS);
  stopProgress();
  const counts = running.counts();
  const backlog = await measureBacklog({
    kafka: createKafka({ brokers: [...kafka.brokers], clientId: "bench-backlog" }),
    central: target.backlogCentral,
    fleet: running,
    keys,
    supplies,
    count,
    say,
  });
  const result = {
    machine: await machineFacts(run),
    params: { cps: config.cps, drivers, threads, backlog: count },
    ramp,
    backlog,
    summary: benchSummary({
      handledPerSecond: backlog.central.perSecond,
      rawPerSecond: backlog.raw.perSecond,
      lagMaxSeconds: null,
      authP99Ms: undefined,
      errors: counts.errors,
      losses: lossesBetween(counts, counts, []),
    }),
  };
  const out = config.out ??
    join(
      "data",
      "bench",
      `backlog-${count}-${config.cps}-${result.machine.date.replaceAll(":", "")}.json`,
    );
  await writeResult(out, result, renderBacklog(backlog, result.machine));
}

/** `--outage`: Central killed after the steady state, and its catch-up timed. */
function outageRun(
  admin: Admin,
  target: Target,
  running: FleetHandle,
  outageMs: number,
  samples: readonly SteadySample[],
) {
  if (target.backlogCentral === undefined) {
    throw new Error("--outage needs a network started here (no --central)");
  }
  return measureOutage({
    admin,
    central: target.backlogCentral,
    fleet: running,
    outageMs,
    producedPerSecond: steadyFigures(samples).producedPerSecond,
    limitMs: 120_000 + outageMs * 5,
    say,
  });
}

/** Raw kafkajs produce → consume on the run's broker, with telemetry-sized messages. */
async function rawFigures(run: Run, kafka: LocalKafka): Promise<BenchResult["raw"]> {
  const bytes = await telemetryValueBytes();
  say(`raw kafkajs: ${run.config.rawMessages} messages of ${bytes} B`);
  const raw = await rawThroughput(kafka.brokers, run.config.rawMessages, bytes);
  say(`raw kafkajs: ${raw.perSecond.toFixed(0)} msg/s`);
  return raw;
}

/**
 * Times telemetry sent → the dashboard event that shows it (dashboard_latency.ts), while its
 * `latency.timing` is on: the fleet notes each SUPPLY it sends, the SSE reader each event.
 */
function dashboardTimer(target: Target, client: Deno.HttpClient | undefined, run: Run) {
  const latency = new DashboardLatency();
  return {
    latency,
    onTelemetry: ((cpId, payload, at) => {
      if (payload.type === "SUPPLY") latency.sent(cpId, payload.kwh, at);
    }) satisfies FleetThreadsOptions["onTelemetry"],
    watched: watchEvents(target.centralUrl, client, run.events.signal, (type, data, at) => {
      if (type !== "telemetry" && type !== "cp") return;
      const view = data as { id?: string; kwh?: number | null };
      latency.shown(String(view.id), view.kwh, at);
    }),
  };
}

/** The dashboard latencies, or why there are none; waits at most 2 s for the reader to end. */
async function dashboardFigures(
  timer: ReturnType<typeof dashboardTimer>,
): Promise<BenchResult["sse"]> {
  const watched = await within<{ problem?: string; reconnects: number }>(
    timer.watched,
    2000,
    { reconnects: 0 },
  );
  const problem = "problem" in watched ? watched.problem : undefined;
  // Timed events count even when the stream failed later (Central killed by --outage).
  const { latencies } = timer.latency;
  return latencies.length > 0
    ? { ...latency(latencies), reconnects: watched.reconnects }
    : problem !== undefined
    ? { notAvailable: problem }
    : { notAvailable: "no dashboard event matched a telemetry message" };
}

/**
 * Holds the steady state for `--hold`, a sample a second, with the dashboard timed; returns the
 * samples, what was lost meanwhile, and where the fleet's latency lists stood at its start.
 */
async function holdSteady(
  run: Run,
  running: FleetHandle,
  sample: () => Promise<SteadySample>,
  dashboard: ReturnType<typeof dashboardTimer>,
) {
  say(`steady state: measuring for ${run.config.holdMs / 1000} s`);
  const from = {
    latency: running.authorizeLatenciesMs.length,
    phases: running.authorizePhases.length,
    tickets: running.tickets.length,
  };
  const countsBefore = running.counts();
  dashboard.latency.timing = true;
  const samples: SteadySample[] = [await sample()];
  const holdEnd = Date.now() + run.config.holdMs;
  while (Date.now() < holdEnd) {
    await sleep(1000);
    samples.push(await sample());
  }
  dashboard.latency.timing = false;
  const losses = lossesBetween(
    countsBefore,
    running.counts(),
    running.tickets.slice(from.tickets),
  );
  return { samples, losses, from };
}

/** The steady-state run: raw Kafka, the ramp, the hold (and `--outage`), the result written. */
async function measure(run: Run, kafka: LocalKafka, target: Target): Promise<void> {
  const { config } = run;
  if (config.backlog !== undefined) return await backlogRun(run, kafka, target, config.backlog);
  const raw = await rawFigures(run, kafka);
  // Central off loopback speaks HTTPS, trusted through the project CA like the Registry.
  using centralHttp = target.centralUrl.startsWith("https:")
    ? await httpsClient(target.caFile)
    : undefined;
  const dashboard = dashboardTimer(target, centralHttp, run);
  const { running, ramp, stopProgress } = await rampFleet(run, kafka, target, {
    onTelemetry: dashboard.onTelemetry,
  });
  await sleep(SETTLE_MS);

  const admin = createKafka({ brokers: [...kafka.brokers], clientId: "bench-lag" }).admin();
  await admin.connect();
  const sample = steadySampler(admin, kafka, target, centralHttp);
  const { samples, losses, from } = await holdSteady(run, running, sample, dashboard);
  const outage = config.outageMs === undefined
    ? undefined
    : await outageRun(admin, target, running, config.outageMs, samples);
  stopProgress();
  await admin.disconnect();
  const steady = steadyFigures(samples);
  const authorize = latency(running.authorizeLatenciesMs.slice(from.latency));
  const phases = running.authorizePhases.slice(from.phases);

  say("stopping the fleet");
  await running.stop(5000);
  run.events.abort();
  const sse = await dashboardFigures(dashboard);
  const counts = running.counts();
  const result: BenchResult = {
    machine: await machineFacts(run),
    params: {
      cps: config.cps,
      drivers: run.drivers,
      speed: config.speed,
      threads: run.threads,
      holdSeconds: config.holdMs / 1000,
      loginConcurrency: config.loginConcurrency ?? defaultLoginConcurrency(run.threads),
      engineLinks: config.engineLinks,
      kafka: kafka.external ? "KAFKA_BROKERS" : "fresh local broker",
      network: run.given ? target.centralUrl : "fresh",
    },
    ramp,
    steady,
    authorize,
    authorizePhases: {
      out: latency(phases.map((p) => p.outMs)),
      central: latency(phases.map((p) => p.centralMs)),
      back: latency(phases.map((p) => p.backMs)),
    },
    sse,
    raw,
    ratioToRaw: steady.handledPerSecond / raw.perSecond,
    losses,
    ...(outage === undefined ? {} : { outage }),
    summary: benchSummary({
      handledPerSecond: steady.handledPerSecond,
      rawPerSecond: raw.perSecond,
      lagMaxSeconds: steady.lagMaxSeconds,
      authP99Ms: authorize.p99,
      errors: counts.errors,
      losses,
    }),
    fleet: {
      tickets: counts.tickets,
      denials: counts.denials,
      denialReasons: running.denialReasons,
      errors: counts.errors,
    },
  };
  const out = config.out ??
    join("data", "bench", `bench-${config.cps}-${result.machine.date.replaceAll(":", "")}.json`);
  await writeResult(out, result, renderTable(result));
}

if (import.meta.main) await main();

/**
 * The fleet threads' largest loop lag and I/O round trip since the last progress line, and
 * whose (1-based): a thread whose sockets stall while its timers run shows here first.
 */
function threadsLag(running: FleetHandle): string {
  const lag = running.takeThreadLag?.();
  if (lag === undefined) return "";
  const { loop, io, ioNode } = lag;
  return `, fleet threads' ${loop.ms} ms (thread ${loop.thread + 1}), ` +
    `I/O ${io.ms} ms (thread ${io.thread + 1}), node:net ${ioNode.ms} ms (thread ${
      ioNode.thread + 1
    })`;
}
