/**
 * `deno task bench:kafka-clients [--rounds N] [--messages N] [--warmup N] [--json]`: kafkajs
 * against `@platformatic/kafka` on the same broker in one run (issue 20, item 3). Each round runs
 * both clients' raw produce and consume (fleet/kafka_clients.ts), in alternating order, so a
 * change in the machine's load hits both alike; then min/median/max per client. A broker of its
 * own (port 0, full JIT) unless `KAFKA_BROKERS` is set, as `deno task bench` does.
 *
 * @module
 */
import { join } from "node:path";
import { type LocalKafka, startLocalKafka } from "../infra/local_kafka.ts";
import { printHelpOrVersion, runOrExit } from "../shared/version.ts";
import { telemetryValueBytes } from "./bench_raw.ts";
import { loadAverage, machine } from "./bench_sample.ts";
import { type ClientName, CLIENTS, runTrial, type TrialFigures } from "./kafka_clients.ts";

const USAGE = `Usage: deno task bench:kafka-clients [options]

Measures kafkajs (through shared/kafka.ts) and @platformatic/kafka side by side on one broker:
raw produce (idempotent, acks -1, batches of 500 messages of a telemetry envelope's size) and
raw consume (one consumer in a new group from the topic's start, committing what it handled),
in alternating rounds, and prints min/median/max per client. Starts a broker of its own unless
KAFKA_BROKERS is set.

Options:
  --rounds <n>    Measured rounds, each running both clients (default 5)
  --messages <n>  Messages produced and consumed per client and round (default 30000)
  --warmup <n>    Messages of one unmeasured run per client first (default 5000, 0: none)
  --json          Print the figures as JSON instead of a table
  -h, --help      Show this help
  --version       Show the version

Environment:
  KAFKA_BROKERS <host:port,…>  Use this broker instead of starting one`;

/** The bench's options. */
export interface ClientsBenchOptions {
  /** Measured rounds. */
  readonly rounds: number;
  /** Messages per client and round. */
  readonly messages: number;
  /** Messages of the unmeasured first run per client (0: none). */
  readonly warmup: number;
  /** JSON instead of a table. */
  readonly json: boolean;
}

/**
 * Parses the bench's arguments.
 * @throws {RangeError} naming the first bad argument.
 */
export function parseClientsBenchArgs(args: readonly string[]): ClientsBenchOptions {
  const options = { rounds: 5, messages: 30_000, warmup: 5_000, json: false };
  const least = { rounds: 1, messages: 1_000, warmup: 0 };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const name = arg.slice(2) as keyof typeof least;
    if (arg === "--json") options.json = true;
    else if (arg.startsWith("--") && Object.hasOwn(least, name)) {
      const value = Number(args[++i]);
      // A warm-up, when there is one, is a whole trial: at least 1000 messages too.
      const ok = Number.isInteger(value) && value >= least[name] &&
        (name !== "warmup" || value === 0 || value >= 1_000);
      if (!ok) {
        const min = name === "warmup" ? "0 or at least 1000" : `at least ${least[name]}`;
        throw new RangeError(`${arg} needs a whole number, ${min}; got ${args[i]}`);
      }
      options[name] = value;
    } else throw new RangeError(`unknown argument ${arg} (see --help)`);
  }
  return options;
}

/** One client's run in one round: its figures, or why it failed. */
export interface RoundResult {
  /** Round number, from 1 (0: the warm-up). */
  readonly round: number;
  /** Which client. */
  readonly client: ClientName;
  /** Its figures, when it ran through. */
  readonly figures?: Omit<TrialFigures, "partitionOfKey">;
  /** The error it failed with. */
  readonly error?: string;
}

/** What one round's pair of runs showed beyond the figures. */
export interface RoundCheck {
  /** Round number. */
  readonly round: number;
  /** Keys read by both clients, and how many of them both found on the same partition. */
  readonly keysCompared: number;
  /** See {@link RoundCheck.keysCompared}. */
  readonly keysSamePartition: number;
}

/** Min, median and max of some figures. */
export interface Spread {
  readonly min: number;
  readonly median: number;
  readonly max: number;
}

/** Min, median (the mean of the middle two for an even count) and max; `undefined` for none. */
export function spread(values: readonly number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  const sorted = values.toSorted((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { min: sorted[0], median, max: sorted[sorted.length - 1] };
}

/** The figures a summary spreads. */
const FIGURES = [
  "producePerS",
  "consumePerS",
  "firstMessageMs",
  "produceCpuUs",
  "consumeCpuUs",
  "brokerProduceCpuUs",
  "brokerConsumeCpuUs",
] as const;

/** One client's figures over the measured rounds. */
export interface ClientSummary {
  /** Which client. */
  readonly client: ClientName;
  /** Rounds it ran through, and the errors of those it did not. */
  readonly ok: number;
  /** See {@link ClientSummary.ok}. */
  readonly errors: readonly string[];
  /** Each figure's spread over the rounds it ran through (absent figures left out). */
  readonly figures: Partial<Record<typeof FIGURES[number], Spread>>;
}

/** Each client's summary of the measured rounds (the warm-up, round 0, left out). */
export function summarize(results: readonly RoundResult[]): ClientSummary[] {
  return CLIENTS.map((client) => {
    const mine = results.filter((r) => r.client === client && r.round > 0);
    const ran = mine.flatMap((r) => r.figures === undefined ? [] : [r.figures]);
    const figures: ClientSummary["figures"] = {};
    for (const name of FIGURES) {
      const s = spread(ran.flatMap((f) => f[name] === undefined ? [] : [f[name]!]));
      if (s !== undefined) figures[name] = s;
    }
    return {
      client,
      ok: ran.length,
      errors: mine.flatMap((r) => r.error === undefined ? [] : [r.error]),
      figures,
    };
  });
}

const fmt = (v: number) => v >= 100 ? Math.round(v).toString() : v.toFixed(1);
const triple = (s: Spread | undefined) =>
  s === undefined ? "–" : `${fmt(s.min)} / ${fmt(s.median)} / ${fmt(s.max)}`;

/** The summaries as an aligned table, one row per client (figures min / median / max). */
export function renderClientsBench(summaries: readonly ClientSummary[]): string {
  const head = [
    "client",
    "rounds ok",
    "produce msg/s",
    "consume msg/s",
    "first msg ms",
    "CPU µs/msg produce",
    "CPU µs/msg consume",
    "broker µs/msg p / c (median)",
  ];
  const cells = summaries.map((s) => [
    s.client,
    `${s.ok}/${s.ok + s.errors.length}`,
    triple(s.figures.producePerS),
    triple(s.figures.consumePerS),
    triple(s.figures.firstMessageMs),
    triple(s.figures.produceCpuUs),
    triple(s.figures.consumeCpuUs),
    s.figures.brokerProduceCpuUs === undefined
      ? "–"
      : `${fmt(s.figures.brokerProduceCpuUs.median)} / ${
        fmt(s.figures.brokerConsumeCpuUs?.median ?? NaN)
      }`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    c.map((v, i) => i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i])).join("  ");
  const errors = summaries.flatMap((s) => s.errors.map((e) => `${s.client} failed: ${e}`));
  return [line(head), ...cells.map(line), ...errors].join("\n");
}

/** How a bench run is driven. */
export interface RoundsOptions {
  /** Bootstrap brokers. */
  readonly brokers: readonly string[];
  /** Rounds, messages and warm-up. */
  readonly bench: Omit<ClientsBenchOptions, "json">;
  /** Size of each value, bytes. */
  readonly bytes: number;
  /** The broker's process when it runs here. */
  readonly brokerPid?: number;
  /** Progress lines (default stderr). */
  readonly log?: (line: string) => void;
}

/** The message of an error, with its cause's when it has one (platformatic wraps errors). */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? ` (cause: ${describe(error.cause)})` : "";
  return `${error.name}: ${error.message}${cause}`;
}

/**
 * The warm-up (round 0) and the measured rounds: each runs both clients, kafkajs first in odd
 * rounds and last in even ones. A client that fails is noted and the next run goes on.
 */
export async function runRounds(
  o: RoundsOptions,
): Promise<{ results: RoundResult[]; checks: RoundCheck[] }> {
  const log = o.log ?? console.error;
  const results: RoundResult[] = [];
  const checks: RoundCheck[] = [];
  const first = o.bench.warmup > 0 ? 0 : 1;
  for (let round = first; round <= o.bench.rounds; round++) {
    const order = round % 2 === 1 ? CLIENTS : CLIENTS.toReversed();
    const messages = round === 0 ? o.bench.warmup : o.bench.messages;
    const seen = new Map<ClientName, ReadonlyMap<string, number>>();
    for (const client of order) {
      try {
        const { partitionOfKey, ...figures } = await runTrial(client, {
          brokers: o.brokers,
          messages,
          bytes: o.bytes,
          brokerPid: o.brokerPid,
        });
        seen.set(client, partitionOfKey);
        results.push({ round, client, figures });
        log(
          `round ${round} ${client}: produce ${Math.round(figures.producePerS)} msg/s, ` +
            `consume ${Math.round(figures.consumePerS)} msg/s, ` +
            `first message after ${Math.round(figures.firstMessageMs)} ms`,
        );
      } catch (error) {
        results.push({ round, client, error: describe(error) });
        log(`round ${round} ${client}: FAILED ${describe(error)}`);
      }
    }
    const [a, b] = CLIENTS.map((c) => seen.get(c));
    if (a !== undefined && b !== undefined) {
      const common = [...a.keys()].filter((key) => b.has(key));
      const same = common.filter((key) => a.get(key) === b.get(key)).length;
      checks.push({ round, keysCompared: common.length, keysSamePartition: same });
    }
  }
  return { results, checks };
}

/** Starts the broker unless `KAFKA_BROKERS` names one, runs the rounds and prints the result. */
async function main(args: string[]): Promise<void> {
  if (printHelpOrVersion("bench:kafka-clients", USAGE, args)) return;
  const options = parseClientsBenchArgs(args);
  const loadBefore = await loadAverage();
  const dir = await Deno.makeTempDir({ prefix: "evcharging-bench-clients-" });
  let kafka: LocalKafka | undefined;
  try {
    kafka = await startLocalKafka({
      port: 0,
      dataDir: join(dir, "kafka"),
      fresh: true,
      tuning: "throughput", // as `deno task bench`'s broker
    });
    const bytes = await telemetryValueBytes();
    const { results, checks } = await runRounds({
      brokers: kafka.brokers,
      bench: options,
      bytes,
      brokerPid: kafka.pid,
    });
    const loadAfter = await loadAverage();
    const summaries = summarize(results);
    const partitions = checks.map((c) => `${c.keysSamePartition}/${c.keysCompared}`).join(", ");
    if (options.json) {
      console.log(JSON.stringify(
        {
          machine: await machine(),
          deno: Deno.version.deno,
          broker: kafka.external ? "KAFKA_BROKERS" : "fresh local broker",
          loadBefore,
          loadAfter,
          messages: options.messages,
          bytes,
          summaries,
          checks,
          results,
        },
        null,
        2,
      ));
      return;
    }
    console.log(
      `${options.rounds} rounds of ${options.messages} messages of ${bytes} B per client ` +
        `(Deno ${Deno.version.deno}, ${kafka.external ? "KAFKA_BROKERS" : "fresh local broker"});` +
        ` load ${loadBefore} → ${loadAfter}; min / median / max`,
    );
    console.log(renderClientsBench(summaries));
    console.log(`keys on the same partition with both clients, per round: ${partitions || "–"}`);
  } finally {
    await kafka?.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await runOrExit("bench:kafka-clients", () => main(Deno.args), 2);
