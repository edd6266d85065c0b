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
import { startFleetThreads } from "./threads.ts";
import { join } from "node:path";
import { startNetwork } from "../infra/network.ts";
import { buildWeb } from "../infra/web_build.ts";
import { sleep } from "../shared/sleep.ts";
import { httpsClient } from "../shared/tls.ts";
import { type LocalKafka, startLocalKafka } from "../infra/local_kafka.ts";
import { loadConfig } from "../shared/config.ts";
import { sealEnvelope } from "../shared/envelope.ts";
import {
  createKafka,
  createProducer,
  ensureTopics,
  type OutgoingMessage,
  runConsumer,
  TOPICS,
} from "../shared/kafka.ts";
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
  cpuMsFromStat,
  kibFromStatus,
  latency,
  machineTicks,
  rampFigures,
  renderTable,
  steadyFigures,
  type SteadySample,
} from "./bench_report.ts";
import { benchSummary, lossesBetween } from "./bench_summary.ts";

/** Starts every id the benchmark's fleet uses. */
const BENCH_PREFIX = "BENCH";

/** After the ramp, sessions start and settle this long before the steady state is measured. */
const SETTLE_MS = 10_000;

const say = (text: string) => quietly(() => console.error(`bench: ${text}`));

/** Standard error as a stream the logger may close at the end without closing stderr itself. */
function stderrStream(): WritableStream<Uint8Array> {
  return new WritableStream({ write: (chunk) => quietly(() => void Deno.stderr.writeSync(chunk)) });
}

/** The size of a real `cp.telemetry` value: a SUPPLY sealed in an envelope, as JSON. */
async function telemetryValueBytes(): Promise<number> {
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
    "encrypt",
    "decrypt",
  ]);
  const envelope = await sealEnvelope(
    key,
    { cp: "BENCH-CP-00001", kv: 1, seq: 1234, channel: TOPICS.cpTelemetry },
    {
      v: 1,
      type: "SUPPLY",
      sessionId: crypto.randomUUID(),
      kw: 22,
      kwh: 3.1415926535,
      eur: 1.2345678901,
      ts: new Date().toISOString(),
    },
  );
  return JSON.stringify(envelope).length;
}

/**
 * Raw kafkajs on the same broker: one idempotent producer sending batches of 500 (as the
 * fleet's batcher and Central's outbox do) to a new 3-partition topic, one consumer reading
 * them; messages per second from the first send to the last message read.
 */
async function rawThroughput(brokers: readonly string[], count: number, bytes: number) {
  const kafka = createKafka({ brokers: [...brokers], clientId: "bench-raw" });
  const topic = `bench.raw-${Date.now().toString(36)}`;
  await ensureTopics(kafka, [topic]);
  let read = 0;
  const all = Promise.withResolvers<number>();
  const consumer = await runConsumer({
    kafka,
    groupId: `${topic}-reader`,
    topics: [topic],
    fromBeginning: true,
    partitionsConsumedConcurrently: 3,
    handle: () => {
      if (++read === count) all.resolve(Date.now());
    },
  });
  const producer = await createProducer(kafka);
  const skeleton = JSON.stringify({ v: 1, pad: "" }).length;
  const value = { v: 1, pad: "x".repeat(Math.max(0, bytes - skeleton)) };
  const startedAt = Date.now();
  for (let i = 0; i < count; i += 500) {
    const batch: OutgoingMessage[] = [];
    for (let j = i; j < Math.min(count, i + 500); j++) {
      batch.push({ topic, key: `CP-${j % 1000}`, value });
    }
    await producer.sendBatch(batch);
  }
  const endedAt = await all.promise;
  await consumer.stop();
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [topic] }).catch(() => {});
  await admin.disconnect();
  return {
    messages: count,
    messageBytes: bytes,
    perSecond: count / ((endedAt - startedAt) / 1000),
  };
}

/**
 * Reads Central's `GET /events` until `signal` aborts, calling `onEvent` for each event, and
 * reconnects when the stream breaks (Central drops a client that falls behind): resolves with
 * why it could not read at all (no such endpoint, …), or with how often it reconnected.
 */
async function watchEvents(
  url: string,
  client: Deno.HttpClient | undefined,
  signal: AbortSignal,
  onEvent: (type: string, data: unknown, at: number) => void,
): Promise<{ readonly problem?: string; readonly reconnects: number }> {
  let reconnects = 0;
  for (;;) {
    const problem = await readEvents(url, client, signal, onEvent);
    if (signal.aborted) return { reconnects };
    if (problem.fatal) return { problem: problem.reason, reconnects };
    reconnects++;
    await sleep(500);
  }
}

/** One `GET /events` stream; fatal when the endpoint is not there at all. */
async function readEvents(
  url: string,
  client: Deno.HttpClient | undefined,
  signal: AbortSignal,
  onEvent: (type: string, data: unknown, at: number) => void,
): Promise<{ readonly fatal: boolean; readonly reason: string }> {
  let res: Response;
  try {
    res = await fetch(`${url}/events`, {
      client,
      signal,
      headers: { accept: "text/event-stream" },
    });
  } catch (error) {
    return { fatal: true, reason: `GET /events failed: ${(error as Error).message}` };
  }
  if (!res.ok || !res.headers.get("content-type")?.includes("text/event-stream")) {
    await res.body?.cancel();
    const type = res.headers.get("content-type") ?? "";
    return { fatal: true, reason: `GET /events answered ${res.status} ${type}`.trim() };
  }
  let buffer = "";
  try {
    for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
      const at = Date.now();
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let type = "message";
        const data: string[] = [];
        for (const line of frame.split("\n")) {
          if (line.startsWith("event:")) type = line.slice(6).trim();
          else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
        }
        if (data.length === 0) continue;
        try {
          onEvent(type, JSON.parse(data.join("\n")), at);
        } catch {
          // Not JSON: not an event this benchmark times.
        }
      }
    }
  } catch (error) {
    return { fatal: false, reason: (error as Error).message };
  }
  return { fatal: false, reason: "the stream ended" };
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

  async function measure(kafka: LocalKafka, target: Target): Promise<void> {
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
      onTelemetry: (cpId, payload, at) => {
        if (timing && payload.type === "SUPPLY") sentAt.set(`${cpId}|${payload.kwh}`, at);
      },
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
    clearInterval(progress);
    clearInterval(lagTimer);
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
      sse: sseProblem !== undefined
        ? { notAvailable: sseProblem }
        : sseLatencies.length === 0
        ? { notAvailable: "no dashboard event matched a telemetry message" }
        : { ...latency(sseLatencies), reconnects: watched.reconnects },
      raw,
      ratioToRaw: steady.handledPerSecond / raw.perSecond,
      losses,
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
