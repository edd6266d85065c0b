/**
 * `deno task fleet --cps N --drivers M [--speed X] [--prefix P]`: wiring only. Loads the
 * config, sets up logging (an error count feeds the display), starts the fleet (`fleet.ts`)
 * and shows its progress: redrawn in place on a terminal, a plain line every 5 s otherwise.
 * Ctrl-C or SIGTERM drains for up to 15 s (open sessions get their tickets) and stops.
 *
 * @module
 */

// First: the Registry's schemas (imported by fleet.ts) must extend zod with `.openapi` before
// shared/messages.ts builds its schemas, as cp/monitor_main.ts and central/ also make sure.
import type { FleetHandle } from "./fleet.ts";
import { startFleetThreads } from "./threads.ts";
import { loadConfig } from "../shared/config.ts";
import { endOnSignals, type LogRecord, setupLogging } from "../shared/log.ts";
import { recentLines, StatusScreen } from "../shared/screen.ts";
import {
  defaultCredentialsDir,
  defaultThreads,
  findRegistryAdminKey,
  fleetConfig,
} from "./config.ts";
import { progressLine, progressLines, rates, type Sample } from "./core.ts";

/** How long a stop waits for open sessions to be ticketed. */
const STOP_DRAIN_MS = 15_000;
/** Plain progress lines this often when there is no terminal. */
const PLAIN_EVERY_MS = 5000;

const config = loadConfig(fleetConfig);
const onTerminal = Deno.stdout.isTerminal();
// Errors are counted from the first record on, the fleet's own display among them.
const errorCount = { to: undefined as FleetHandle | undefined };
const countErrors = (record: LogRecord) => {
  if (record.level === "error" || record.level === "fatal") errorCount.to?.noteError();
};
const recent = recentLines(6);
await setupLogging({
  level: config.logLevel,
  // On a terminal the screen owns standard output; log lines show under the figures.
  // Not Deno.stderr.writable itself: stopping the logger closes its stream.
  stream: onTerminal
    ? new WritableStream()
    : new WritableStream({ write: (chunk) => void Deno.stderr.writeSync(chunk) }),
  isTerminal: false,
  extraSinks: onTerminal ? [countErrors, recent] : [countErrors],
});

const registryAdminKey = await findRegistryAdminKey(config.registryAdminKey);
const startedAt = Date.now();
console.error(`fleet ${config.prefix}: starting ${config.cps} CPs and ${config.drivers} drivers`);
const running = await startFleetThreads({
  threads: config.threads ?? defaultThreads(config.cps),
  logLevel: config.logLevel,
  logToStderr: !onTerminal,
  prefix: config.prefix,
  cps: config.cps,
  drivers: config.drivers,
  brokers: config.brokers,
  central: config.central,
  registryUrl: config.registryUrl,
  caFile: config.caFile,
  registryAdminKey,
  credentialsDir: config.credentialsDir ?? defaultCredentialsDir(config.prefix),
  speed: config.speed,
  durationMs: config.durationMs,
  plugDelayMs: config.plugDelayMs,
  pauseMs: config.pauseMs,
  loginConcurrency: config.loginConcurrency,
  engineLinks: config.engineLinks,
});
errorCount.to = running;

let last: Sample = { at: Date.now(), counts: running.counts() };
let rate = { sent: 0, received: 0 };
const sample = () => {
  const now: Sample = { at: Date.now(), counts: running.counts() };
  rate = rates(last, now);
  last = now;
  return now;
};
const screen = onTerminal
  ? new StatusScreen(() => [
    ...progressLines(config.prefix, last.counts, rate, Date.now() - startedAt),
    "",
    ...recent.lines().map((l) => `  ${l}`),
  ])
  : undefined;
screen?.open();
let ticks = 0;
const sampler = setInterval(() => {
  const now = sample();
  if (!screen && ++ticks % (PLAIN_EVERY_MS / 1000) === 0) {
    console.log(progressLine(now.counts, rate, now.at - startedAt));
  }
}, 1000);

endOnSignals(async () => {
  clearInterval(sampler);
  screen?.close();
  console.error(
    `fleet ${config.prefix}: stopping (waiting up to ${STOP_DRAIN_MS / 1000} s for open sessions)`,
  );
  await running.stop(STOP_DRAIN_MS);
  console.log(progressLine(running.counts(), rate, Date.now() - startedAt));
});
