/**
 * `deno run -A central/dashboard_load_main.ts --cps 5000`: Central's dashboard under the load
 * of N CPs without their monitors, engines and Kafka (BENCHMARKS.md, "The dashboard at 5,000
 * CPs"). Everything the browser talks to is Central's own: its store, core and runtime, the
 * dashboard's tracker, live feed and operator trackers, the HTTP app with `GET /events`,
 * `/snapshot`, `/cps` and the console's reads, the feed's 300 ms flush and the clock's ticks.
 * Only the edges are replaced: the CPs and drivers of central/dashboard_load.ts hand their
 * logins, signs of life, requests and telemetry to the runtime as the monitor server and the
 * Kafka consumers would (telemetry as one batch every 100 ms, beats gathered every 200 ms), and
 * what Central publishes (commands, answers to drivers) goes back to them instead of to Kafka.
 *
 * Prints `ready <url>` once it serves, then `steady <url>` when every CP has logged in, the
 * drivers' first picks (spread over a session's cycle) are over and the sessions had `--settle`
 * (10 s, as the bench) more; runs until SIGINT or SIGTERM (or `--seconds`).
 * fleet/bench_dashboard.ts (`deno task bench:dashboard`) runs it and measures the page.
 *
 * @module
 */
import { join } from "node:path";
import { decimal, defineConfig, duration, integer, loadConfig, option } from "../shared/config.ts";
import { setupLogging, stopLogging } from "../shared/log.ts";
import {
  createMeasuredApp,
  flushFeedEvery,
  followForDashboard,
  openAudit,
  startClock,
  startRuntime,
  webLoader,
} from "./central.ts";
import { DEFAULT_CORE_CONFIG, type Input } from "./core.ts";
import { ADVANCE_MS, BENCH_LIKE, LoadFleet } from "./dashboard_load.ts";
import { CentralStore } from "./store.ts";
import { HealthMonitor, systemStatus } from "./system_health.ts";

/** How often the monitor server hands its gathered beats over (central/monitor_server.ts). */
const BEATS_MS = 200;
/** How often sent outbox rows are marked, as the publisher does after each send. */
const OUTBOX_MS = 100;
/** How often outbox rows done an hour ago are deleted. */
const PRUNE_MS = 10_000;

const dashboardLoadConfig = defineConfig({
  name: "central/dashboard_load_main.ts",
  summary: "Central's store, core, dashboard feed and HTTP app under the load of N simulated " +
    "CPs and drivers handed to it in process (no monitors, engines or Kafka); prints " +
    "`ready <url>`, then `steady <url>` once every CP is logged in.",
  options: {
    cps: option(integer(1, 100_000), { flag: "cps", default: 1000, help: "CPs" }),
    drivers: option(integer(0, 100_000), {
      flag: "drivers",
      optional: true,
      help: "drivers (default: one a CP, as the bench)",
    }),
    port: option(integer(0, 65_535), { flag: "port", default: 0, help: "HTTP port (0: any)" }),
    speed: option(decimal(0.01, 1_000_000), {
      flag: "speed",
      default: BENCH_LIKE.speed,
      help: "simulated time per wall time",
    }),
    durationMs: option(duration, {
      flag: "duration",
      default: BENCH_LIKE.durationMs,
      help: "simulated supply time of each session",
    }),
    rampPerSecond: option(integer(1, 100_000), {
      flag: "ramp",
      default: BENCH_LIKE.rampPerSecond,
      help: "logins a second while ramping",
    }),
    faultsPerCpHour: option(decimal(0, 3600), {
      flag: "faults",
      default: BENCH_LIKE.faultsPerCpHour,
      help: "engine faults (HEALTH KO) per CP per hour",
    }),
    faultMs: option(duration, {
      flag: "fault-time",
      default: BENCH_LIKE.faultMs,
      help: "how long a fault lasts",
    }),
    settleMs: option(duration, {
      flag: "settle",
      default: 10_000,
      help: "after the last login, how long sessions start and settle before `steady`",
    }),
    seconds: option(integer(0, 86_400), {
      flag: "seconds",
      default: 0,
      help: "stop after this long (0: at SIGINT or SIGTERM)",
    }),
  },
});

const config = loadConfig(dashboardLoadConfig);
// Central's warnings (a CP BROKEN at each fault) go to stderr: stdout says only ready and steady.
await setupLogging({
  level: "warning",
  stream: new WritableStream({ write: (chunk) => void Deno.stderr.writeSync(chunk) }),
  isTerminal: false,
});
const dir = await Deno.makeTempDir({ prefix: "evcharging-dashboard-load-" });
const stack = new AsyncDisposableStack();
stack.defer(() => Deno.remove(dir, { recursive: true }).catch(() => {}));
const store = CentralStore.open(join(dir, "central.db"));
stack.defer(() => store.close());
const { audit, floods } = await openAudit(stack, {}, store, dir);
const { runtime } = startRuntime(stack, store, DEFAULT_CORE_CONFIG, audit, floods);
const dashboard = followForDashboard(stack, runtime, audit);

// Kafka and the Registry are replaced, and work: the health view says so.
const health = new HealthMonitor();
const status = () => {
  const now = Date.now();
  const facts = health.facts(store.pendingCount(), runtime.model);
  return systemStatus({
    ...facts,
    producerConnected: true,
    lastFetchMs: { requests: now, telemetry: now },
    registryOkMs: now,
  }, now);
};
const { app, streams } = createMeasuredApp(undefined, {
  operator: dashboard.operator,
  status,
  runtime,
  adminToken: crypto.randomUUID() + crypto.randomUUID(),
  weatherServiceKey: crypto.randomUUID() + crypto.randomUUID(),
  dashboard: {
    feed: dashboard.feed,
    status,
    web: webLoader(),
    registryAdmin: false,
  },
});
const http = Deno.serve(
  { hostname: "127.0.0.1", port: config.port, onListen: () => {} },
  (request, info) => app.fetch(request, info),
);
stack.defer(() => http.shutdown());
// Open event streams never end by themselves: closed first, or the shutdown waits for them.
stack.defer(() => streams.closeAll());
const url = `http://127.0.0.1:${http.addr.port}`;
flushFeedEvery(stack, 300, dashboard, status);
startClock(stack, DEFAULT_CORE_CONFIG.heartbeatTimeoutMs, runtime, floods);

const fleet = new LoadFleet(
  {
    ...BENCH_LIKE,
    cps: config.cps,
    drivers: config.drivers ?? config.cps,
    speed: config.speed,
    durationMs: config.durationMs,
    rampPerSecond: config.rampPerSecond,
    faultsPerCpHour: config.faultsPerCpHour,
    faultMs: config.faultMs,
  },
  Math.random,
  Date.now(),
);
wireFleet(stack, fleet);
console.log(`ready ${url}`);

let stopping: Promise<void> | undefined;
const stop = () =>
  stopping ??= (async () => {
    await stack.disposeAsync();
    await stopLogging();
    Deno.exit(0);
  })();
for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, stop);
if (config.seconds > 0) setTimeout(stop, config.seconds * 1000);

/**
 * Runs the fleet against the runtime: what Central publishes goes back to the fleet at its next
 * turn (as through Kafka, never inside a step), the outbox is marked sent, and the fleet's
 * logins, beats, requests and telemetry are dispatched as the real edges dispatch them.
 */
function wireFleet(stack: AsyncDisposableStack, fleet: LoadFleet): void {
  stack.defer(runtime.subscribe(({ effects }) => fleet.hear(effects)));
  const dispatch = (inputs: readonly Input[], now: number) => {
    try {
      runtime.dispatchAll(inputs.map((input) => ({ input })), now);
    } catch (error) {
      console.error(`dashboard_load: ${inputs[0].type} failed: ${error}`);
    }
  };
  let steadyAt: number | undefined;
  const advance = setInterval(() => {
    const now = Date.now();
    // Each group in a task of its own, as each comes from its own socket or fetch: what one
    // publishes reaches the dashboard as one SSE batch (api_dashboard.ts), as in Central.
    for (const inputs of fleet.turn(now, (cpId) => store.nextKeyVersion(cpId))) {
      setTimeout(() => dispatch(inputs, now), 0);
    }
    if (steadyAt === undefined && fleet.loggedIn === config.cps) {
      steadyAt = Math.max(now, fleet.phasedAt) + config.settleMs;
      console.error(`dashboard_load: ${config.cps} CPs logged in`);
    }
    if (steadyAt !== undefined && now >= steadyAt) {
      steadyAt = Infinity;
      console.log(`steady ${url}`);
    }
  }, ADVANCE_MS);
  let slot = 0;
  const beats = setInterval(() => {
    const input = fleet.heartbeats(Date.now(), slot++, BEATS_MS / 1000);
    if (input !== undefined) dispatch([input], Date.now());
  }, BEATS_MS);
  const outbox = setInterval(() => {
    const now = new Date();
    store.markOutbox(store.pendingOutbox(10_000).map((row) => row.id), "sent", now);
  }, OUTBOX_MS);
  const prune = setInterval(() => store.pruneOutbox(new Date(Date.now() - 3_600_000)), PRUNE_MS);
  const progress = setInterval(() => {
    console.error(
      `dashboard_load: logged in ${fleet.loggedIn}/${config.cps}, charging ${fleet.charging}`,
    );
  }, 5000);
  stack.defer(() => [advance, beats, outbox, prune, progress].forEach(clearInterval));
}
