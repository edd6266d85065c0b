/**
 * `deno task bench --backlog N`: Central's capacity rather than the fleet's production. With the
 * fleet's CPs logged in, Central is killed (as a crash would end it) and the fleet cut off at
 * once; `cp.telemetry` is filled with N envelopes sealed under the CPs' real keys with real
 * sequence numbers (backlog.ts), and the same N records go to a copy topic. A raw consumer
 * (the project's `runConsumer`, Central's fetch settings, a handler that only counts) drains the
 * copy first, then Central is started and drains the real topic up to its committed offset;
 * each drain is timed from its first progress, sampled every 250 ms.
 *
 * @module
 */
import type { Kafka } from "kafkajs";
import { importCpKey } from "../shared/cp_key.ts";
import {
  createProducer,
  ensureTopics,
  fetchTopicEnds,
  type OutgoingMessage,
  TOPICS,
} from "../shared/kafka.ts";
import { runConsumer } from "../shared/kafka_consumer.ts";
import type { TelemetrySupply } from "../shared/messages.ts";
import { sleep } from "../shared/sleep.ts";
import {
  type BacklogCp,
  backlogMessages,
  type DrainFigures,
  drainFigures,
  type DrainSample,
} from "./backlog.ts";
import { cpuMsFromStat, kibFromStatus } from "./proc_figures.ts";
import type { FleetHandle } from "./fleet.ts";

/** How often a drain is sampled, ms. */
const SAMPLE_MS = 250;

/** Records sent to the broker per request while filling. */
const FILL_BATCH = 500;

/** Central, as the backlog benchmark stops and starts it. */
export interface BacklogCentral {
  /** Its `cp.telemetry` consumer group. */
  readonly telemetryGroup: string;
  /** Kills it (SIGKILL) and waits until it is gone. */
  kill(): Promise<void>;
  /** Starts it again; resolves once it answers (it may drain before that). */
  start(): Promise<void>;
  /** Its process id while it runs. */
  pid(): number | undefined;
  /** What its `GET /health` says it dropped, and how many sessions it holds open. */
  health(): Promise<CentralHealth>;
}

/** The part of Central's `GET /health` the backlog reports: did the envelopes count? */
export interface CentralHealth {
  readonly active_sessions: number;
  readonly dropped: {
    readonly duplicate_telemetry: number;
    readonly rejected_telemetry: number;
  };
}

/** What the backlog benchmark measured. */
export interface BacklogResult {
  /** Envelopes sealed into the backlog (and copied for the raw consumer). */
  readonly messages: number;
  /** CPs whose keys sealed them. */
  readonly cps: number;
  /** Of those, CPs with a session open (their backlog is `SUPPLY`, the others' `STATUS`). */
  readonly charging: number;
  /** Messages Central found waiting: the backlog plus what the fleet sent before it was cut off. */
  readonly centralMessages: number;
  /** Sealing and producing both copies. */
  readonly fill: { readonly seconds: number; readonly perSecond: number };
  /** The raw consumer's drain of the copy. */
  readonly raw: DrainFigures;
  /** Central's drain of `cp.telemetry`, up to its committed offset. */
  readonly central: DrainFigures;
  /** `central.perSecond ÷ raw.perSecond`. */
  readonly ratio: number;
  /**
   * Central once drained: envelopes it dropped as replays or rejected (0 and 0 when every
   * envelope went through its whole path) and the sessions it still holds open.
   */
  readonly centralAfter: CentralHealth;
}

/** What {@link measureBacklog} works with. */
export interface BacklogOptions {
  readonly kafka: Kafka;
  readonly central: BacklogCentral;
  /** The fleet whose CPs are logged in; it is abandoned. */
  readonly fleet: FleetHandle;
  /** Each CP's newest key, as its engine installed it. */
  readonly keys: ReadonlyMap<string, { readonly keyVersion: number; readonly key: string }>;
  /** Each charging CP's last `SUPPLY`. */
  readonly supplies: ReadonlyMap<string, TelemetrySupply>;
  /** Envelopes to seal. */
  readonly count: number;
  readonly say: (text: string) => void;
}

/** Runs the backlog benchmark (see the module). */
export async function measureBacklog(o: BacklogOptions): Promise<BacklogResult> {
  const cps: BacklogCp[] = await Promise.all(
    [...o.keys].map(async ([cpId, { keyVersion, key }]) => ({
      cpId,
      keyVersion,
      key: await importCpKey(key),
      ...(o.supplies.has(cpId) ? { supply: o.supplies.get(cpId) } : {}),
    })),
  );
  o.say(`killing Central, then cutting the fleet off (${cps.length} CPs with keys)`);
  await o.central.kill();
  if (o.fleet.abandon === undefined) throw new Error("the backlog needs a fleet on worker threads");
  o.fleet.abandon();

  const admin = o.kafka.admin();
  await admin.connect();
  try {
    const copy = `bench.backlog-${Date.now().toString(36)}`;
    await ensureTopics(o.kafka, [copy]);
    const fill = await fillBacklog(o.kafka, cps, o.count, copy);
    o.say(`filled ${o.count} envelopes (and the copy) in ${fill.seconds.toFixed(1)} s`);

    const committedAt = async () => {
      const [partitions] = await admin.fetchOffsets({
        groupId: o.central.telemetryGroup,
        topics: [TOPICS.cpTelemetry],
      });
      return partitions.partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    };
    const ends = await fetchTopicEnds(admin, TOPICS.cpTelemetry);
    const end = ends.reduce((n, p) => n + Number(p.offset), 0);
    const before = await committedAt();
    const centralMessages = end - before;

    o.say("raw consumer: draining the copy");
    const raw = await rawDrain(o.kafka, copy, o.count);
    o.say(`raw consumer: ${raw.perSecond.toFixed(0)} msg/s`);
    await admin.deleteTopics({ topics: [copy] }).catch(() => {});

    o.say(`starting Central: ${centralMessages} messages wait for it`);
    const started = o.central.start();
    started.catch(() => {});
    const samples: DrainSample[] = [];
    const limit = Date.now() + 120_000 + centralMessages * 10;
    for (;;) {
      const [done, usage] = await Promise.all([committedAt(), processUsage(o.central.pid())]);
      samples.push({ at: Date.now(), done: done - before, ...usage });
      if (done - before >= centralMessages) break;
      if (Date.now() > limit) {
        throw new Error(`Central handled ${done - before} of ${centralMessages} in time`);
      }
      await sleep(SAMPLE_MS);
    }
    await started;
    const central = drainFigures(samples, centralMessages);
    const { active_sessions, dropped } = await o.central.health();
    return {
      messages: o.count,
      cps: cps.length,
      charging: cps.filter((cp) => cp.supply !== undefined).length,
      centralMessages,
      fill,
      raw,
      central,
      ratio: central.perSecond / raw.perSecond,
      centralAfter: { active_sessions, dropped },
    };
  } finally {
    await admin.disconnect();
  }
}

/** Seals `count` envelopes and sends each to `cp.telemetry` and to `copy`. */
async function fillBacklog(kafka: Kafka, cps: readonly BacklogCp[], count: number, copy: string) {
  const producer = await createProducer(kafka);
  const startedAt = Date.now();
  try {
    // Above every seq the engines used: theirs were at most the clock × 1000 when they sent.
    const messages = backlogMessages(cps, count, Date.now() * 1000, Date.now());
    let batch: OutgoingMessage[] = [];
    for (const { cpId, envelope } of messages) {
      batch.push({ topic: TOPICS.cpTelemetry, key: cpId, value: envelope });
      batch.push({ topic: copy, key: cpId, value: envelope });
      if (batch.length >= 2 * FILL_BATCH) {
        await producer.sendBatch(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await producer.sendBatch(batch);
  } finally {
    await producer.disconnect();
  }
  const seconds = (Date.now() - startedAt) / 1000;
  return { seconds, perSecond: count / seconds };
}

/** A consumer that only counts, with Central's fetch settings, on `topic` from the start. */
async function rawDrain(kafka: Kafka, topic: string, count: number): Promise<DrainFigures> {
  let done = 0;
  const samples: DrainSample[] = [{ at: Date.now(), done: 0, ...await processUsage(Deno.pid) }];
  const consumer = await runConsumer({
    kafka,
    groupId: `${topic}-raw`,
    topics: [topic],
    fromBeginning: true,
    handleBatch: (messages) => void (done += messages.length),
    minBytes: 64 * 1024,
    maxWaitTimeInMs: 100,
  });
  try {
    const limit = Date.now() + 120_000 + count * 10;
    while (done < count && Date.now() < limit) {
      await sleep(SAMPLE_MS);
      samples.push({ at: Date.now(), done, ...await processUsage(Deno.pid) });
    }
  } finally {
    await consumer.stop();
  }
  return drainFigures(samples, count);
}

/** A process's CPU time and peak memory now, from `/proc` (nothing once it is gone). */
async function processUsage(
  pid: number | undefined,
): Promise<Pick<DrainSample, "cpuMs" | "mainCpuMs" | "peakKib">> {
  if (pid === undefined) return {};
  try {
    const [stat, main, status] = await Promise.all([
      Deno.readTextFile(`/proc/${pid}/stat`),
      Deno.readTextFile(`/proc/${pid}/task/${pid}/stat`), // the main thread's id is the pid
      Deno.readTextFile(`/proc/${pid}/status`),
    ]);
    return {
      cpuMs: cpuMsFromStat(stat),
      mainCpuMs: cpuMsFromStat(main),
      peakKib: kibFromStatus(status, "VmHWM"),
    };
  } catch {
    return {};
  }
}

/** The backlog result as a two-column table. */
export function renderBacklog(
  r: BacklogResult,
  machine: {
    readonly nproc: number;
    readonly cpu: string;
    readonly loadAverageBefore: string;
    readonly loadAverageAfter: string;
  },
): string {
  const drain = (d: DrainFigures) =>
    `${d.perSecond.toFixed(0)} msg/s (${d.messages} in ${d.seconds.toFixed(1)} s; ` +
    `${d.totalSeconds.toFixed(1)} s from its start)`;
  const usage = (d: DrainFigures) =>
    d.cpuPercent === undefined || d.cpuUsPerMessage === undefined || d.peakMib === undefined
      ? "not measured"
      : `${d.cpuPercent.toFixed(0)} % of a core (${d.cpuUsPerMessage.toFixed(0)} µs a message), ` +
        mainThread(d) + `peak memory ${d.peakMib.toFixed(0)} MiB`;
  const mainThread = (d: DrainFigures) =>
    d.mainCpuPercent === undefined || d.mainCpuUsPerMessage === undefined ? "" : (
      `main thread ${d.mainCpuPercent.toFixed(0)} % (${d.mainCpuUsPerMessage.toFixed(0)} µs), `
    );
  const rows: [string, string][] = [
    ["machine", `${machine.nproc} × ${machine.cpu}`],
    ["load average", `before ${machine.loadAverageBefore}; after ${machine.loadAverageAfter}`],
    ["backlog", `${r.messages} envelopes from ${r.cps} CPs (${r.charging} charging)`],
    [
      "filled",
      `in ${r.fill.seconds.toFixed(1)} s (${r.fill.perSecond.toFixed(0)} msg/s, both copies)`,
    ],
    ["raw consumer", drain(r.raw)],
    ["Central", `${drain(r.central)}; ${r.centralMessages} were waiting`],
    ["raw consumer's CPU", usage(r.raw)],
    ["Central's CPU, memory", usage(r.central)],
    ["Central ÷ raw", `${(r.ratio * 100).toFixed(1)} %`],
    [
      "Central after",
      `${r.centralAfter.dropped.rejected_telemetry} rejected, ` +
      `${r.centralAfter.dropped.duplicate_telemetry} replays dropped, ` +
      `${r.centralAfter.active_sessions} sessions open`,
    ],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
}
