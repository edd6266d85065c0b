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
import { rawThroughput, telemetryValueBytes } from "./bench_raw.ts";
import { join } from "node:path";
import { startNetwork } from "../infra/network.ts";
import { buildWeb } from "../infra/web_build.ts";
import { sleep } from "../shared/sleep.ts";
import { httpsClient } from "../shared/tls.ts";
import { type LocalKafka, startLocalKafka } from "../infra/local_kafka.ts";
import { loadConfig } from "../shared/config.ts";
import { createKafka, TOPICS } from "../shared/kafka.ts";
import { type LogLevel, setupLogging, stopLogging } from "../shared/log.ts";
import { quietly } from "../shared/terminal.ts";
import { type Address, address } from "../cp/config.ts";
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
import { cpuMsFromStat, kibFromStatus, machineTicks } from "./proc_figures.ts";
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

/** The CPU time of each named process now, ms. */
async function cpuOf(pids: Readonly<Record<string, number>>): Promise<Record<string, number>> {
  const entries = await Promise.all(
    Object.entries(pids).map(async ([name, pid]) =>
      [name, cpuMsFromStat(await Deno.readTextFile(`/proc/${pid}/stat`))] as const
    ),
  );
  return Object.fromEntries(entries);
}

/** Rows waiting in Central's outbox, from its `GET /health`. */
async function outboxPending(
  centralUrl: string,
  client: Deno.HttpClient | undefined,
): Promise<number> {
  const response = await fetch(`${centralUrl}/health`, { client });
  // 503 (a part Central needs is failing) still carries the counters.
  if (!response.ok && response.status !== 503) {
    throw new Error(`GET /health answered ${response.status}`);
  }
  return ((await response.json()) as { outbox_pending: number }).outbox_pending;
}

/** Central's CPU time and memory now, as a sample holds them. */
async function centralUsage(
  pid: number,
): Promise<Pick<SteadySample, "centralCpuMs" | "centralRssKib" | "centralPeakKib">> {
  const [stat, status] = await Promise.all([
    Deno.readTextFile(`/proc/${pid}/stat`),
    Deno.readTextFile(`/proc/${pid}/status`),
  ]);
  return {
    centralCpuMs: cpuMsFromStat(stat),
    centralRssKib: kibFromStatus(status, "VmRSS"),
    centralPeakKib: kibFromStatus(status, "VmHWM"),
  };
}

async function machine() {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo");
  const meminfo = await Deno.readTextFile("/proc/meminfo");
  return {
    nproc: navigator.hardwareConcurrency,
    cpu: cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1] ?? "unknown",
    memoryGib: kibFromMeminfo(meminfo) / 1024 / 1024,
  };
}

function kibFromMeminfo(meminfo: string): number {
  return Number(meminfo.match(/^MemTotal:\s+(\d+) kB/m)?.[1] ?? 0);
}

async function loadAverage(): Promise<string> {
  return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
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
  config: { logLevel: LogLevel; profileCentral?: string },
  signal: AbortSignal,
): Promise<Target> {
  const group = `bench-${Date.now().toString(36)}`;
  const net = await startNetwork({
    dir,
    certsDir: join(dir, "certs"),
    brokers,
    centralArgs: ["--group", group],
    centralDenoFlags: config.profileCentral === undefined
      ? []
      : ["--cpu-prof", `--cpu-prof-dir=${config.profileCentral}`],
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

async function main(): Promise<void> {
  const config = loadConfig(benchConfig);
  // Checked before anything starts: a half-given network is a usage error, not a failed run.
  let given: Target | undefined;
  try {
    const network = benchNetwork(config, Deno.env.get("KAFKA_BROKERS") !== undefined);
    if (network.kind === "given") given = await givenTarget(network, config);
  } catch (error) {
    say((error as Error).message);
    Deno.exit(2);
  }
  const drivers = config.drivers ?? config.cps;
  const threads = config.threads ?? defaultThreads(config.cps);
  let fleet: FleetHandle | undefined;
  await setupLogging({
    level: config.logLevel,
    stream: stderrStream(),
    isTerminal: false,
    extraSinks: [(r) => {
      if (r.level === "error" || r.level === "fatal") fleet?.noteError();
    }],
  });
  const loadBefore = await loadAverage();
  const dir = await Deno.makeTempDir({ prefix: "evcharging-bench-" });
  say(`working in ${dir}; load average ${loadBefore}`);

  // Ctrl-C: stop everything this run started, in order: the fleet, then Central and the
  // Registry, then the broker. They run detached, so the Ctrl-C reaches only this process.
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort(new Error("interrupted"));
  // SIGHUP too: a closed terminal must not leave them running.
  const signals = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
  for (const sig of signals) Deno.addSignalListener(sig, onSignal);
  const interrupted = new Promise<never>((_, reject) =>
    interrupt.signal.addEventListener("abort", () => reject(interrupt.signal.reason))
  );
  interrupted.catch(() => {}); // awaited only once the measurement runs
  const events = new AbortController();
  // Intervals of the measurement: cleared at the end, however it ends.
  const intervals: ReturnType<typeof setInterval>[] = [];
  const timers = {
    interval: (fn: () => void, ms: number) => {
      const id = setInterval(fn, ms);
      intervals.push(id);
      return id;
    },
  };
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
    target = given ?? await freshTarget(dir, kafka.brokers, config, interrupt.signal);
    say(`Central ${target.centralUrl} (its dashboard: fleet/dashboard_probe.ts --url …)`);
    const measuring = measure(kafka, target);
    measuring.catch(() => {}); // after an interrupt its failure is no news
    await Promise.race([measuring, interrupted]);
  } catch (error) {
    if (!interrupt.signal.aborted) throw error;
  } finally {
    intervals.forEach(clearInterval);
    events.abort();
    await fleet?.stop();
    await target?.stop();
    await kafka?.stop();
    await stopLogging();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    // Only now: a second Ctrl-C while they stop must not end this process and leave them running.
    for (const sig of signals) Deno.removeSignalListener(sig, onSignal);
  }
  if (interrupt.signal.aborted) {
    say("interrupted: everything this run started is stopped");
    Deno.exit(130);
  }

  /**
   * Starts the fleet (into `fleet`, so the end stops it however the run ends) and waits for its
   * ramp; prints the counts every 5 s until `stopProgress`.
   */
  async function rampFleet(
    kafka: LocalKafka,
    target: Target,
    extra: Pick<FleetThreadsOptions, "onTelemetry" | "onKey" | "workers">,
  ) {
    say(`ramping a fleet to ${config.cps} CPs and ${drivers} drivers on ${threads} thread(s)`);
    fleet = await startFleetThreads({
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
      ...extra,
    });
    const running = fleet;
    const fleetStartedAt = Date.now(); // the first monitors start as startFleet returns
    // How late a 100 ms timer fires on this thread (the fleet's own loop when it has one thread).
    let lagMax = 0;
    let expected = Date.now() + 100;
    const lagTimer = timers.interval(() => {
      lagMax = Math.max(lagMax, Date.now() - expected);
      expected = Date.now() + 100;
    }, 100);
    const progress = timers.interval(() => {
      const c = running.counts();
      say(
        `logged in ${c.loggedIn}/${c.cps}, charging ${c.charging}, errors ${c.errors}, ` +
          `lost logins ${c.lostLogins} (${c.relogins} back), engine links lost ` +
          `${c.monitorLinkDrops}, main loop lag max ${lagMax} ms`,
      );
      lagMax = 0;
    }, 5000);
    // A CP that neither logs in nor gives up must not hold the benchmark forever.
    const rampLimitMs = 60_000 + config.cps * 500;
    // Not a bare sleep: its timer would keep the process alive for minutes after the run.
    const rampLimit = new AbortController();
    await Promise.race([running.ramped, sleep(rampLimitMs, rampLimit.signal)]);
    rampLimit.abort();
    const ramp = rampFigures(fleetStartedAt, running.loginTimes);
    say(`ramp done: ${ramp.logins} logins in ${ramp.seconds.toFixed(1)} s`);
    const stopProgress = () => {
      clearInterval(progress);
      clearInterval(lagTimer);
    };
    return { running, ramp, stopProgress };
  }

  /** `--backlog N`: the fleet logs in, then bench_backlog.ts measures the drains. */
  async function backlogRun(kafka: LocalKafka, target: Target, count: number): Promise<void> {
    if (target.backlogCentral === undefined) {
      throw new Error("--backlog needs a network started here (no --central)");
    }
    const keys = new Map<string, { keyVersion: number; key: string }>();
    const supplies = new Map<string, TelemetrySupply>();
    const { running, ramp, stopProgress } = await rampFleet(kafka, target, {
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
      machine: {
        ...await machine(),
        loadAverageBefore: loadBefore,
        loadAverageAfter: await loadAverage(),
        date: new Date().toISOString(),
      },
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
    await Deno.mkdir(join(out, ".."), { recursive: true });
    await Deno.writeTextFile(out, JSON.stringify(result, null, 2) + "\n");
    console.log(renderBacklog(backlog, result.machine));
    console.log(`\nresult written to ${out}`);
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

  async function measure(kafka: LocalKafka, target: Target): Promise<void> {
    if (config.backlog !== undefined) return await backlogRun(kafka, target, config.backlog);
    const bytes = await telemetryValueBytes();
    say(`raw kafkajs: ${config.rawMessages} messages of ${bytes} B`);
    const raw = await rawThroughput(kafka.brokers, config.rawMessages, bytes);
    say(`raw kafkajs: ${raw.perSecond.toFixed(0)} msg/s`);

    // Telemetry send times during the steady state, to time each dashboard event against.
    let timing = false;
    const sentAt = new Map<string, number>();
    const sseLatencies: number[] = [];
    // Central off loopback speaks HTTPS, trusted through the project CA like the Registry.
    using centralHttp = target.centralUrl.startsWith("https:")
      ? await httpsClient(target.caFile)
      : undefined;
    const sse = watchEvents(target.centralUrl, centralHttp, events.signal, (type, data, at) => {
      if (!timing || (type !== "telemetry" && type !== "cp")) return;
      const view = data as { id?: string; kwh?: number | null };
      const key = `${view.id}|${view.kwh}`;
      const sent = sentAt.get(key);
      if (sent === undefined) return;
      sentAt.delete(key);
      sseLatencies.push(at - sent);
    });

    const { running, ramp, stopProgress } = await rampFleet(kafka, target, {
      onTelemetry: (cpId, payload, at) => {
        if (timing && payload.type === "SUPPLY") sentAt.set(`${cpId}|${payload.kwh}`, at);
      },
    });
    await sleep(SETTLE_MS);

    const admin = createKafka({ brokers: [...kafka.brokers], clientId: "bench-lag" }).admin();
    await admin.connect();
    const telemetryOffsets = async () => {
      const [ends, [committed]] = await Promise.all([
        admin.fetchTopicOffsets(TOPICS.cpTelemetry),
        admin.fetchOffsets({ groupId: target.telemetryGroup, topics: [TOPICS.cpTelemetry] }),
      ]);
      const sum = (ps: { offset: string }[]) =>
        ps.reduce((total, p) => total + Math.max(0, Number(p.offset)), 0);
      return { produced: sum(ends), handled: sum(committed.partitions) };
    };
    // The fleet is this process (its threads included); a KAFKA_BROKERS broker is elsewhere.
    const others = {
      fleet: Deno.pid,
      ...(target.registryPid === undefined ? {} : { registry: target.registryPid }),
      ...(kafka.pid === undefined ? {} : { kafka: kafka.pid }),
    };
    const sample = async (): Promise<SteadySample> => {
      const [usage, offsets, otherCpuMs, procStat, pending] = await Promise.all([
        target.centralPid === undefined ? {} : centralUsage(target.centralPid),
        telemetryOffsets(),
        cpuOf(others),
        Deno.readTextFile("/proc/stat"),
        outboxPending(target.centralUrl, centralHttp),
      ]);
      return {
        at: Date.now(),
        ...usage,
        otherCpuMs,
        machineCpuMs: machineTicks(procStat),
        outboxPending: pending,
        telemetryProduced: offsets.produced,
        telemetryHandled: offsets.handled,
      };
    };

    say(`steady state: measuring for ${config.holdMs / 1000} s`);
    const latencyFrom = running.authorizeLatenciesMs.length;
    const phasesFrom = running.authorizePhases.length;
    const ticketsFrom = running.tickets.length;
    const countsBefore = running.counts();
    timing = true;
    const samples: SteadySample[] = [await sample()];
    const holdEnd = Date.now() + config.holdMs;
    while (Date.now() < holdEnd) {
      await sleep(1000);
      samples.push(await sample());
    }
    timing = false;
    const losses = lossesBetween(
      countsBefore,
      running.counts(),
      running.tickets.slice(ticketsFrom),
    );
    const outage = config.outageMs === undefined
      ? undefined
      : await outageRun(admin, target, running, config.outageMs, samples);
    stopProgress();
    await admin.disconnect();
    const steady = steadyFigures(samples);
    const authorize = latency(running.authorizeLatenciesMs.slice(latencyFrom));
    const phases = running.authorizePhases.slice(phasesFrom);
    const authorizePhases = {
      out: latency(phases.map((p) => p.outMs)),
      central: latency(phases.map((p) => p.centralMs)),
      back: latency(phases.map((p) => p.backMs)),
    };

    say("stopping the fleet");
    await running.stop(5000);
    events.abort();
    const sseLimit = new AbortController();
    const watched = await Promise.race([
      sse,
      sleep(2000, sseLimit.signal).then(() => ({ reconnects: 0 })),
    ]);
    sseLimit.abort();
    const sseProblem = "problem" in watched ? watched.problem : undefined;
    const counts = running.counts();
    const result: BenchResult = {
      machine: {
        ...await machine(),
        loadAverageBefore: loadBefore,
        loadAverageAfter: await loadAverage(),
        date: new Date().toISOString(),
      },
      params: {
        cps: config.cps,
        drivers,
        speed: config.speed,
        threads,
        holdSeconds: config.holdMs / 1000,
        loginConcurrency: config.loginConcurrency,
        kafka: kafka.external ? "KAFKA_BROKERS" : "fresh local broker",
        network: given === undefined ? "fresh" : target.centralUrl,
      },
      ramp,
      steady,
      authorize,
      authorizePhases,
      // Timed events count even when the stream failed later (Central killed by --outage).
      sse: sseLatencies.length > 0
        ? { ...latency(sseLatencies), reconnects: watched.reconnects }
        : sseProblem !== undefined
        ? { notAvailable: sseProblem }
        : { notAvailable: "no dashboard event matched a telemetry message" },
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
    await Deno.mkdir(join(out, ".."), { recursive: true });
    await Deno.writeTextFile(out, JSON.stringify(result, null, 2) + "\n");
    console.log(renderTable(result));
    console.log(`\nresult written to ${out}`);
  }
}

if (import.meta.main) await main();
