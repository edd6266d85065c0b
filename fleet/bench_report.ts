/**
 * The benchmark's arithmetic and its table, apart from any process, broker or clock: the
 * samples `bench.ts` takes go in, the figures of the issue come out.
 *
 * @module
 */
import { type BenchSummary, formatLosses, type Losses } from "./bench_summary.ts";
import type { OutageResult } from "./bench_outage.ts";
import { type EngineLinks, percentile } from "./core.ts";

/** One sample of the steady state, taken about once a second. */
export interface SteadySample {
  /** When, ms since the epoch. */
  readonly at: number;
  /**
   * Central's user + system CPU time so far, ms (from `/proc/<pid>/stat`); absent when Central
   * is not a process on this machine (a given network without `--central-pid`), as below.
   */
  readonly centralCpuMs?: number;
  /** Central's resident memory now, KiB (`VmRSS`). */
  readonly centralRssKib?: number;
  /** Central's peak resident memory so far, KiB (`VmHWM`). */
  readonly centralPeakKib?: number;
  /** CPU time so far of the other processes on the machine that take part (fleet, Kafka…), ms. */
  readonly otherCpuMs: Readonly<Record<string, number>>;
  /** The whole machine's CPU time so far (all cores, `machineTicks` in proc_figures.ts), ms: busy and total. */
  readonly machineCpuMs: { readonly busy: number; readonly total: number };
  /** Rows in Central's outbox waiting to be sent (`GET /health`). */
  readonly outboxPending: number;
  /** Sum of `cp.telemetry`'s end offsets: messages produced so far. */
  readonly telemetryProduced: number;
  /** Sum of Central's committed `cp.telemetry` offsets: messages fully handled so far. */
  readonly telemetryHandled: number;
}

/** Latency percentiles, ms; absent figures when nothing was measured. */
export interface Latency {
  /** How many were measured. */
  readonly count: number;
  /** Median. */
  readonly p50?: number;
  /** 95th percentile. */
  readonly p95?: number;
  /** 99th percentile. */
  readonly p99?: number;
  /** Largest. */
  readonly max?: number;
}

/** Percentiles of `values`. */
export function latency(values: readonly number[]): Latency {
  return {
    count: values.length,
    p50: percentile(values, 50),
    p95: percentile(values, 95),
    p99: percentile(values, 99),
    // A loop, not Math.max(...values): a long hold gathers more values than a call's arguments.
    max: values.length === 0 ? undefined : values.reduce((m, v) => v > m ? v : m, -Infinity),
  };
}

/** CP logins during the ramp. */
export interface RampFigures {
  /** CPs that logged in. */
  readonly logins: number;
  /** From the fleet's start to the last first login, s. */
  readonly seconds: number;
  /** Logins per second over the ramp. */
  readonly perSecond: number;
  /** Most logins in one wall-clock second. */
  readonly peakPerSecond: number;
}

/** Ramp figures from the fleet's start time and each CP's first login time. */
export function rampFigures(startedAt: number, loginTimes: readonly number[]): RampFigures {
  if (loginTimes.length === 0) return { logins: 0, seconds: 0, perSecond: 0, peakPerSecond: 0 };
  const seconds = Math.max(0.001, (Math.max(...loginTimes) - startedAt) / 1000);
  const perBucket = new Map<number, number>();
  for (const t of loginTimes) {
    const bucket = Math.floor((t - startedAt) / 1000);
    perBucket.set(bucket, (perBucket.get(bucket) ?? 0) + 1);
  }
  return {
    logins: loginTimes.length,
    seconds,
    perSecond: loginTimes.length / seconds,
    peakPerSecond: Math.max(...perBucket.values()),
  };
}

/** The steady state's telemetry and Central figures. */
export interface SteadyFigures {
  /** How long the samples span, s. */
  readonly seconds: number;
  /** Telemetry messages produced per second (all CPs). */
  readonly producedPerSecond: number;
  /** Telemetry messages Central fully handled (decrypt, validate, state, commit) per second. */
  readonly handledPerSecond: number;
  /** Largest consumer lag seen, messages. */
  readonly lagMaxMessages: number;
  /** Mean consumer lag, messages. */
  readonly lagMeanMessages: number;
  /** Largest lag as time: messages behind ÷ the production rate, s. */
  readonly lagMaxSeconds: number;
  /** Lag at the last sample, messages (growing lag means Central does not keep up). */
  readonly lagEndMessages: number;
  /** Central's CPU over the span, % of one core (absent when not measured, as below). */
  readonly centralCpuPercent?: number;
  /** Central's busiest second, % of one core. */
  readonly centralCpuPeakPercent?: number;
  /** Central's peak resident memory, MiB. */
  readonly centralPeakMib?: number;
  /** CPU of each other process over the span, % of one core. */
  readonly otherCpuPercent: Readonly<Record<string, number>>;
  /** How busy the whole machine was, % of all its cores. */
  readonly machineBusyPercent: number;
  /** Most rows seen waiting in Central's outbox. */
  readonly outboxPendingMax: number;
  /** Mean rows waiting in Central's outbox. */
  readonly outboxPendingMean: number;
}

/** Steady-state figures from samples in time order (at least two). */
export function steadyFigures(samples: readonly SteadySample[]): SteadyFigures {
  if (samples.length < 2) throw new RangeError("the steady state needs at least two samples");
  const first = samples[0];
  const last = samples[samples.length - 1];
  const seconds = (last.at - first.at) / 1000;
  const producedPerSecond = (last.telemetryProduced - first.telemetryProduced) / seconds;
  const lags = samples.map((s) => Math.max(0, s.telemetryProduced - s.telemetryHandled));
  const lagMaxMessages = Math.max(...lags);
  return {
    seconds,
    producedPerSecond,
    handledPerSecond: (last.telemetryHandled - first.telemetryHandled) / seconds,
    lagMaxMessages,
    lagMeanMessages: lags.reduce((a, b) => a + b, 0) / lags.length,
    lagMaxSeconds: producedPerSecond > 0 ? lagMaxMessages / producedPerSecond : 0,
    lagEndMessages: lags[lags.length - 1],
    ...centralFigures(samples),
    otherCpuPercent: Object.fromEntries(
      Object.keys(first.otherCpuMs).map((name) => [
        name,
        ((last.otherCpuMs[name] ?? 0) - first.otherCpuMs[name]) / (last.at - first.at) * 100,
      ]),
    ),
    machineBusyPercent: (last.machineCpuMs.busy - first.machineCpuMs.busy) /
      Math.max(1, last.machineCpuMs.total - first.machineCpuMs.total) * 100,
    outboxPendingMax: Math.max(...samples.map((s) => s.outboxPending)),
    outboxPendingMean: samples.reduce((sum, s) => sum + s.outboxPending, 0) / samples.length,
  };
}

/** Central's CPU and memory figures, when every sample measured them. */
function centralFigures(samples: readonly SteadySample[]): Partial<SteadyFigures> {
  const measured = samples.flatMap(({ at, centralCpuMs, centralPeakKib }) =>
    centralCpuMs === undefined || centralPeakKib === undefined
      ? []
      : [{ at, cpuMs: centralCpuMs, peakKib: centralPeakKib }]
  );
  if (measured.length !== samples.length) return {};
  const first = measured[0];
  const last = measured[measured.length - 1];
  const perSecond = measured.slice(1).map((m, i) =>
    (m.cpuMs - measured[i].cpuMs) / Math.max(1, m.at - measured[i].at) * 100
  );
  return {
    centralCpuPercent: (last.cpuMs - first.cpuMs) / (last.at - first.at) * 100,
    centralCpuPeakPercent: Math.max(...perSecond),
    centralPeakMib: Math.max(...measured.map((m) => m.peakKib)) / 1024,
  };
}

/** Everything one benchmark run measured. */
export interface BenchResult {
  /** Where and when. */
  readonly machine: {
    readonly nproc: number;
    readonly cpu: string;
    readonly memoryGib: number;
    readonly loadAverageBefore: string;
    readonly loadAverageAfter: string;
    readonly date: string;
  };
  /** What was run. */
  readonly params: {
    readonly cps: number;
    readonly drivers: number;
    readonly speed: number;
    /** Threads the fleet ran on (threads.ts). */
    readonly threads: number;
    readonly holdSeconds: number;
    readonly loginConcurrency: number;
    /** How the fleet joined monitors to engines (`--engine-links`). */
    readonly engineLinks: EngineLinks;
    readonly kafka: string;
    /** `fresh`, or the Central URL of the given network it ran against. */
    readonly network: string;
  };
  /** CP logins during the ramp. */
  readonly ramp: RampFigures;
  /** Telemetry and Central during the steady state. */
  readonly steady: SteadyFigures;
  /** Driver request → AUTHORIZED during the steady state, ms. */
  readonly authorize: Latency;
  /** Where that time went (fleet.ts `AuthorizePhases`), ms. */
  readonly authorizePhases: {
    /** The fleet's batcher → the broker has the request. */
    readonly out: Latency;
    /** The broker has it → Central produced `AUTHORIZED`. */
    readonly central: Latency;
    /** Central produced it → the fleet read it. */
    readonly back: Latency;
  };
  /**
   * Telemetry sent → dashboard SSE event, ms, and how often the stream had to be reopened
   * (Central drops a client that falls behind); or why it was not measured.
   */
  readonly sse: (Latency & { readonly reconnects: number }) | { readonly notAvailable: string };
  /** Raw kafkajs produce → consume on the same broker. */
  readonly raw: {
    readonly messages: number;
    readonly messageBytes: number;
    readonly perSecond: number;
  };
  /** Central's handled telemetry rate ÷ the raw rate. */
  readonly ratioToRaw: number;
  /** What the steady state lost: logins, engine links, sessions. */
  readonly losses: Losses;
  /** With `--outage`: Central's catch-up after it (bench_outage.ts). */
  readonly outage?: OutageResult;
  /** The figures the run is judged by (bench_summary.ts). */
  readonly summary: BenchSummary;
  /** Fleet-side counts at the end (errors, denials, tickets). */
  readonly fleet: {
    readonly tickets: number;
    readonly denials: number;
    readonly denialReasons: Readonly<Record<string, number>>;
    readonly errors: number;
  };
}

const NOT_MEASURED = "not measured (Central runs elsewhere; on this machine: --central-pid)";

const ms = (v: number | undefined) => v === undefined ? "–" : `${v.toFixed(1)} ms`;

/** The result as a two-column table. */
export function renderTable(r: BenchResult): string {
  const s = r.steady;
  const sse = "notAvailable" in r.sse
    ? `not available (${r.sse.notAvailable})`
    : `p50 ${ms(r.sse.p50)}, p99 ${ms(r.sse.p99)} (n=${r.sse.count}, ` +
      `${r.sse.reconnects} reconnects)`;
  const rows: [string, string][] = [
    ["machine", `${r.machine.nproc} × ${r.machine.cpu}, ${r.machine.memoryGib.toFixed(1)} GiB`],
    ["load average", `before ${r.machine.loadAverageBefore}; after ${r.machine.loadAverageAfter}`],
    [
      "network",
      r.params.network === "fresh"
        ? `fresh (Registry, Central; Kafka: ${r.params.kafka})`
        : `given: Central ${r.params.network}`,
    ],
    [
      "fleet",
      `${r.params.cps} CPs, ${r.params.drivers} drivers, speed ${r.params.speed}, ` +
      `${r.params.threads} thread${r.params.threads === 1 ? "" : "s"}, ` +
      `engine links ${r.params.engineLinks}`,
    ],
    [
      "ramp",
      `${r.ramp.logins} logins in ${r.ramp.seconds.toFixed(1)} s: ` +
      `${r.ramp.perSecond.toFixed(1)}/s (peak ${r.ramp.peakPerSecond}/s)`,
    ],
    ["steady state", `${s.seconds.toFixed(0)} s`],
    ["telemetry produced", `${s.producedPerSecond.toFixed(0)} msg/s`],
    ["telemetry handled", `${s.handledPerSecond.toFixed(0)} msg/s`],
    [
      "consumer lag",
      `max ${s.lagMaxMessages} msgs (≈ ${s.lagMaxSeconds.toFixed(2)} s), mean ` +
      `${s.lagMeanMessages.toFixed(0)}, at end ${s.lagEndMessages}`,
    ],
    [
      "authorize latency",
      `p50 ${ms(r.authorize.p50)}, p95 ${ms(r.authorize.p95)}, p99 ${ms(r.authorize.p99)} ` +
      `(n=${r.authorize.count})`,
    ],
    ...([
      ["out", r.authorizePhases.out, "fleet → broker has the request"],
      ["Central", r.authorizePhases.central, "broker → Central's AUTHORIZED record"],
      ["back", r.authorizePhases.back, "that record → the fleet"],
    ] as const).map(([name, l, what]): [string, string] => [
      `  ${name}`,
      `p50 ${ms(l.p50)}, p99 ${ms(l.p99)} (${what})`,
    ]),
    ["telemetry → SSE", sse],
    [
      "Central CPU",
      s.centralCpuPercent === undefined || s.centralCpuPeakPercent === undefined
        ? NOT_MEASURED
        : `${s.centralCpuPercent.toFixed(0)} % of a core (peak ${
          s.centralCpuPeakPercent.toFixed(0)
        } %)`,
    ],
    [
      "Central peak memory",
      s.centralPeakMib === undefined ? NOT_MEASURED : `${s.centralPeakMib.toFixed(0)} MiB`,
    ],
    [
      "others' CPU",
      Object.entries(s.otherCpuPercent).map(([name, p]) => `${name} ${p.toFixed(0)} %`).join(", ") +
      ` of a core; machine ${s.machineBusyPercent.toFixed(0)} % busy (all cores)`,
    ],
    [
      "Central's outbox",
      `max ${s.outboxPendingMax} rows waiting, mean ${s.outboxPendingMean.toFixed(0)}`,
    ],
    [
      "raw kafkajs",
      `${r.raw.perSecond.toFixed(0)} msg/s (${r.raw.messages} × ${r.raw.messageBytes} B)`,
    ],
    ["Central ÷ raw", `${(r.ratioToRaw * 100).toFixed(1)} %`],
    [
      "fleet",
      `${r.fleet.tickets} tickets, ${r.fleet.denials} denials` +
      (r.fleet.denials > 0
        ? ` (${Object.entries(r.fleet.denialReasons).map(([k, n]) => `${k} ${n}`).join(", ")})`
        : "") +
      `, ${r.fleet.errors} errors`,
    ],
    ["lost in the steady state", formatLosses(r.losses)],
    ...(r.outage === undefined ? [] : outageRows(r.outage)),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
}

/** The rows of an outage: how long, how much waited, how long until all was back. */
function outageRows(o: OutageResult): [string, string][] {
  const after = (s: number | null) => s === null ? "not within the wait" : `${s.toFixed(1)} s`;
  return [
    [
      "Central outage",
      `${o.seconds.toFixed(1)} s; ${o.backlog} messages waited (max lag ${o.lagMaxMessages})`,
    ],
    ["  caught up", `lag under 1 s of production ${after(o.catchUpSeconds)} after the restart`],
    ["  logins back", `every CP logged in ${after(o.loginsBackSeconds)} after the restart`],
    ["  lost", formatLosses(o.losses)],
  ];
}
