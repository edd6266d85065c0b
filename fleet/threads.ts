/**
 * One fleet over several threads of the same process: each thread is a Web Worker
 * (`thread_worker.ts`) running {@link startFleet} for a consecutive range of the CPs and
 * drivers, with its own event loop, Kafka client and sockets. Past a few hundred CPs, one event
 * loop serving every CP's three sockets starts to read them seconds late (BENCHMARKS.md): the
 * monitors' 1.5 s health checks and Central's 3 s heartbeat timeout then fire although nothing
 * is wrong. Spreading the CPs over threads keeps each loop small.
 *
 * {@link startFleetThreads} returns the same {@link FleetHandle} as {@link startFleet}; the
 * workers report logins, latencies, driver events and counts back by message.
 *
 * @module
 */

import type { DriverEvent, TicketLine } from "../driver/core.ts";
import type { TelemetryPayload } from "../shared/messages.ts";
import type { LogLevel } from "../shared/log.ts";
import { within } from "../shared/sleep.ts";
import {
  addCounts,
  type CpSpec,
  defaultLoginConcurrency,
  emptyCounts,
  type FleetCounts,
  splitRange,
} from "./core.ts";
import {
  type AuthorizePhases,
  type FleetHandle,
  type FleetOptions,
  startFleet,
  type ThreadLag,
} from "./fleet.ts";
import { type EchoServer, startEchoServer } from "./io_probe.ts";

/** What a thread is started with: the fleet options that cross a thread boundary. */
export type ThreadFleetOptions = Omit<
  FleetOptions,
  "random" | "onDriverEvent" | "onTelemetry" | "onKey"
>;

/** Messages to a thread. */
export type ToThread =
  | {
    readonly type: "start";
    readonly options: ThreadFleetOptions;
    readonly logLevel: LogLevel;
    /** Whether the thread writes its log records to standard error (else only counts errors). */
    readonly logToStderr: boolean;
    readonly telemetry: boolean;
    /** Whether each CP's newest key is posted back (`FleetOptions.onKey`). */
    readonly keys: boolean;
    /**
     * Whether every driver event is posted back, or only denials and tickets (which the
     * handle gathers): a SUPPLY a second per charging CP is a lot of posting for nobody.
     */
    readonly driverEvents: boolean;
    /** The port of the main thread's echo for the thread's I/O probe (io_probe.ts). */
    readonly ioProbePort: number;
  }
  | { readonly type: "drain"; readonly timeoutMs: number }
  | { readonly type: "stop"; readonly drainMs: number };

/** One telemetry payload a thread's CP sent, and when. */
export interface TelemetryNote {
  readonly cpId: string;
  readonly payload: TelemetryPayload;
  readonly at: number;
}

/** Messages from a thread. */
export type FromThread =
  | { readonly type: "started"; readonly cps: readonly CpSpec[] }
  | { readonly type: "failed"; readonly message: string }
  /**
   * The thread's counts, every 500 ms; `lateMs`: how late that timer ran (its loop's lag);
   * `ioMs` and `ioNodeMs`: its I/O probes' longest round trips since the last counts, over
   * Deno's sockets and `node:net` (io_probe.ts).
   */
  | {
    readonly type: "counts";
    readonly counts: FleetCounts;
    readonly lateMs?: number;
    readonly ioMs?: number;
    readonly ioNodeMs?: number;
  }
  | { readonly type: "ramped"; readonly counts: FleetCounts }
  | { readonly type: "login"; readonly at: number }
  | { readonly type: "authorized"; readonly ms: number }
  | { readonly type: "phases"; readonly phases: AuthorizePhases }
  | { readonly type: "driver"; readonly driverId: string; readonly event: DriverEvent }
  /** What its CPs sent lately, in order: one post per payload cost a tenth of the thread. */
  | { readonly type: "telemetry"; readonly notes: readonly TelemetryNote[] }
  | {
    readonly type: "key";
    readonly cpId: string;
    readonly keyVersion: number;
    readonly key: string;
  }
  | { readonly type: "drained"; readonly ok: boolean }
  | { readonly type: "stopped"; readonly counts: FleetCounts };

/**
 * Whether a thread posts a driver's event back: every one when someone listens
 * (`everyEvent`), else only denials and tickets, which the handle gathers itself.
 */
export function postsDriverEvent(everyEvent: boolean, event: DriverEvent): boolean {
  return everyEvent || event.kind === "denied" || event.kind === "ticket";
}

/** The messages a thread sends at most once. */
const ONCE: ReadonlySet<FromThread["type"]> = new Set(["started", "failed", "ramped", "stopped"]);

/** How much longer than its own deadline a thread may take to answer a drain or a stop. */
const ANSWER_GRACE_MS = 15_000;

/** Settings of {@link startFleetThreads}. */
export interface FleetThreadsOptions extends FleetOptions {
  /**
   * Threads to spread the CPs and drivers over (1: {@link startFleet} in this thread, unless
   * {@link FleetThreadsOptions.workers}).
   */
  readonly threads: number;
  /** Run even one thread as a worker, so the fleet can be {@link FleetHandle.abandon}ed. */
  readonly workers?: boolean;
  /** The threads' log level (default `warning`). */
  readonly logLevel?: LogLevel;
  /**
   * Whether the threads write their log records to standard error as JSON lines (default true);
   * false when a status screen owns the terminal. Their error records count either way.
   */
  readonly logToStderr?: boolean;
}

/** A started thread and what it last reported. */
interface Thread {
  readonly worker: Worker;
  counts: FleetCounts;
  /** Resolves with the next message of this type. */
  next<T extends FromThread["type"]>(type: T): Promise<Extract<FromThread, { type: T }>>;
}

/**
 * Starts a fleet of `options.cps` CPs and `options.drivers` drivers over `options.threads`
 * threads (each with a consecutive range of both, and a share of the login concurrency).
 * Resolves once every thread has started its fleet; rejects if one could not.
 */
export async function startFleetThreads(options: FleetThreadsOptions): Promise<FleetHandle> {
  if (!Number.isInteger(options.threads) || options.threads < 1) {
    throw new RangeError(`threads must be a whole number of at least 1, got ${options.threads}`);
  }
  if (options.threads === 1 && !options.workers) return await startFleet(options);
  if (options.random !== undefined) {
    throw new TypeError("a fleet over threads cannot share a `random` function");
  }
  const threadCount = Math.min(options.threads, Math.max(1, options.cps));
  const split: ThreadSplit = {
    cpRanges: splitRange(options.cps, threadCount),
    driverRanges: splitRange(options.drivers, threadCount),
    loginConcurrency: Math.max(
      1,
      Math.round((options.loginConcurrency ?? defaultLoginConcurrency(threadCount)) / threadCount),
    ),
  };
  const gathered = gatherer(options);
  const echo = startEchoServer();
  const threads = Array.from(
    { length: threadCount },
    (_, i) => startThread(i, options, split, gathered, echo.port),
  );
  const outcomes = await Promise.all(
    threads.map((t) => Promise.race([t.next("started"), t.next("failed")])),
  );
  const failed = outcomes.find((o) => o.type === "failed");
  if (failed !== undefined) {
    threads.forEach((t) => t.worker.terminate());
    echo.close();
    throw new Error(`a fleet thread could not start: ${failed.message}`);
  }
  const cps = outcomes.flatMap((o) => o.type === "started" ? o.cps : []);
  return threadsHandle(threads, cps, gathered, echo);
}

/** How the CPs, the drivers and the login concurrency are shared among the threads. */
interface ThreadSplit {
  readonly cpRanges: ReturnType<typeof splitRange>;
  readonly driverRanges: ReturnType<typeof splitRange>;
  readonly loginConcurrency: number;
}

/**
 * What the threads report, gathered as one fleet would hold it; `onMessage` takes each message
 * and hands the caller's callbacks theirs.
 */
function gatherer(options: FleetThreadsOptions) {
  const gathered = {
    loginTimes: [] as number[],
    latencies: [] as number[],
    authorizePhases: [] as AuthorizePhases[],
    denialReasons: {} as Record<string, number>,
    tickets: [] as (TicketLine & { driverId: string })[],
    /** Errors no thread counted: a crashed thread, the process's own error records. */
    extraErrors: 0,
    /** The threads' worst loop lag and I/O probe since {@link FleetHandle.takeThreadLag}. */
    lag: noThreadLag(),
    onMessage: (message: FromThread, thread: number) => {
      switch (message.type) {
        case "login":
          gathered.loginTimes.push(message.at);
          break;
        case "counts":
          gathered.lag = {
            loop: worse(gathered.lag.loop, { ms: message.lateMs ?? 0, thread }),
            io: worse(gathered.lag.io, { ms: message.ioMs ?? 0, thread }),
            ioNode: worse(gathered.lag.ioNode, { ms: message.ioNodeMs ?? 0, thread }),
          };
          break;
        case "authorized":
          gathered.latencies.push(message.ms);
          break;
        case "phases":
          gathered.authorizePhases.push(message.phases);
          break;
        case "driver": {
          const { event, driverId } = message;
          if (event.kind === "denied") {
            const reason = event.denial.reason;
            gathered.denialReasons[reason] = (gathered.denialReasons[reason] ?? 0) + 1;
          } else if (event.kind === "ticket") {
            gathered.tickets.push({ ...event.ticket, driverId });
          }
          options.onDriverEvent?.(driverId, event);
          break;
        }
        case "telemetry":
          for (const { cpId, payload, at } of message.notes) {
            options.onTelemetry?.(cpId, payload, at);
          }
          break;
        case "key":
          options.onKey?.(message.cpId, message.keyVersion, message.key);
          break;
      }
    },
  };
  return gathered;
}

/** Starts thread `index` on its share of the fleet; its messages go to `gathered`. */
function startThread(
  index: number,
  options: FleetThreadsOptions,
  { cpRanges, driverRanges, loginConcurrency }: ThreadSplit,
  gathered: ReturnType<typeof gatherer>,
  ioProbePort: number,
): Thread {
  const worker = new Worker(new URL("./thread_worker.ts", import.meta.url), { type: "module" });
  const waiting = new Map<string, ((m: FromThread) => void)[]>();
  // Messages a thread sends once: asking after they came still gets them.
  const onceSeen = new Map<string, FromThread>();
  const thread: Thread = {
    worker,
    counts: emptyCounts(cpRanges[index].count, driverRanges[index].count),
    next: (type) =>
      new Promise((resolve) => {
        const once = onceSeen.get(type);
        if (once !== undefined) return resolve(once as never);
        const list = waiting.get(type) ?? [];
        list.push(resolve as (m: FromThread) => void);
        waiting.set(type, list);
      }),
  };
  const receive = (message: FromThread) => {
    if ("counts" in message) thread.counts = message.counts;
    if (ONCE.has(message.type)) onceSeen.set(message.type, message);
    gathered.onMessage(message, index);
    const list = waiting.get(message.type);
    if (list !== undefined) {
      waiting.delete(message.type);
      for (const resolve of list) resolve(message);
    }
  };
  worker.onmessage = (e: MessageEvent<FromThread>) => receive(e.data);
  worker.onerror = (e) => {
    e.preventDefault(); // counted, not fatal to the process
    gathered.extraErrors++;
    console.error(`fleet thread ${index + 1} failed: ${e.message}`);
    // A thread that dies while starting never says so itself.
    if (!onceSeen.has("started")) receive({ type: "failed", message: e.message });
  };
  const message: ToThread = {
    type: "start",
    options: {
      ...threadOptions(options),
      cps: cpRanges[index].count,
      cpOffset: (options.cpOffset ?? 0) + cpRanges[index].offset,
      drivers: driverRanges[index].count,
      driverOffset: (options.driverOffset ?? 0) + driverRanges[index].offset,
      loginConcurrency,
    },
    logLevel: options.logLevel ?? "warning",
    logToStderr: options.logToStderr ?? true,
    telemetry: options.onTelemetry !== undefined,
    keys: options.onKey !== undefined,
    driverEvents: options.onDriverEvent !== undefined,
    ioProbePort,
  };
  worker.postMessage(message);
  return thread;
}

/** The started threads as one fleet: summed counts, gathered lists, drain and stop for all. */
function threadsHandle(
  threads: readonly Thread[],
  cps: readonly CpSpec[],
  gathered: ReturnType<typeof gatherer>,
  echo: EchoServer,
): FleetHandle {
  const ramped = Promise.all(threads.map((t) => t.next("ramped"))).then(() => {});
  const sum = (): FleetCounts => {
    const total = threads.map((t) => t.counts).reduce(addCounts);
    return { ...total, errors: total.errors + gathered.extraErrors };
  };
  let stopping: Promise<void> | undefined;

  return {
    cps,
    loginTimes: gathered.loginTimes,
    authorizeLatenciesMs: gathered.latencies,
    authorizePhases: gathered.authorizePhases,
    denialReasons: gathered.denialReasons,
    tickets: gathered.tickets,
    ramped,
    noteError: () => void gathered.extraErrors++,
    counts: sum,
    takeThreadLag: () => {
      const lag = gathered.lag;
      gathered.lag = noThreadLag();
      return lag;
    },
    abandon: () => {
      stopping ??= Promise.resolve();
      threads.forEach((t) => t.worker.terminate());
      echo.close();
    },
    drain: async (timeoutMs) => {
      const answers = threads.map((t) => t.next("drained"));
      for (const t of threads) {
        t.worker.postMessage({ type: "drain", timeoutMs } satisfies ToThread);
      }
      const all = Promise.all(answers).then((a) => a.every((answer) => answer.ok));
      return await within(all, timeoutMs + ANSWER_GRACE_MS, false);
    },
    stop: (drainMs = 0) =>
      stopping ??= (async () => {
        const stopped = threads.map((t) => t.next("stopped"));
        for (const t of threads) t.worker.postMessage({ type: "stop", drainMs } satisfies ToThread);
        // A thread that crashed never answers: it is terminated all the same.
        await within(Promise.all(stopped), drainMs + ANSWER_GRACE_MS, []);
        threads.forEach((t) => t.worker.terminate());
        echo.close();
      })(),
  };
}

function noThreadLag(): ThreadLag {
  const none = { ms: 0, thread: 0 };
  return { loop: none, io: none, ioNode: none };
}

function worse(a: ThreadLag["loop"], b: ThreadLag["loop"]): ThreadLag["loop"] {
  return b.ms > a.ms ? b : a;
}

/** The options a thread can be sent: everything but functions. */
function threadOptions(options: FleetThreadsOptions): ThreadFleetOptions {
  const {
    random: _random,
    onDriverEvent: _onDriverEvent,
    onTelemetry: _onTelemetry,
    onKey: _onKey,
    threads: _threads,
    workers: _workers,
    logLevel: _logLevel,
    logToStderr: _logToStderr,
    ...rest
  } = options;
  // Plain data only: a parsed `--central` carries a toString that no thread could receive.
  return { ...rest, central: { host: rest.central.host, port: rest.central.port } };
}
