/**
 * What the benchmark reads off the running network while it measures: the CPU time and memory
 * of its processes from `/proc`, Central's outbox from `GET /health`, the `cp.telemetry` offsets
 * produced and committed by Central, and the machine it runs on.
 *
 * @module
 */
import type { Admin } from "kafkajs";
import type { LocalKafka } from "../infra/local_kafka.ts";
import { TOPICS } from "../shared/kafka.ts";
import type { SteadySample } from "./bench_report.ts";
import { cpuMsFromStat, kibFromStatus, machineTicks } from "./proc_figures.ts";

/** The parts of the network under test a sample reads. */
export interface SampledNetwork {
  /** Central's REST API (its `GET /health`). */
  readonly centralUrl: string;
  /** Central's `cp.telemetry` consumer group, whose committed offsets are "handled". */
  readonly telemetryGroup: string;
  /** Central's and the Registry's processes, when they run on this machine. */
  readonly centralPid?: number;
  readonly registryPid?: number;
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

/** The machine: cores, CPU model, memory. */
export async function machine() {
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

/** The 1, 5 and 15 minute load averages, as `/proc/loadavg` has them. */
export async function loadAverage(): Promise<string> {
  return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
}

/** One steady-state sample: Central's usage, the telemetry offsets, the other processes' CPU. */
export function steadySampler(
  admin: Admin,
  kafka: Pick<LocalKafka, "pid">,
  target: SampledNetwork,
  centralHttp: Deno.HttpClient | undefined,
): () => Promise<SteadySample> {
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
  return async () => {
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
}
