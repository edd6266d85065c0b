/**
 * One thread of a fleet spread over threads (threads.ts): a Web Worker that runs
 * {@link startFleet} for the range it is sent and reports back by message. Its log records go
 * to standard error as JSON lines unless told not to; error records count as the fleet's errors.
 *
 * @module
 */

// First: the Registry's schemas (imported by fleet.ts) must extend zod with `.openapi` before
// shared/messages.ts builds its schemas, as fleet/main.ts also makes sure.
import { type FleetHandle, startFleet } from "./fleet.ts";
import { getLogger, type LogRecord, setupLogging, stopLogging } from "../shared/log.ts";
import { type FromThread, postsDriverEvent, type TelemetryNote, type ToThread } from "./threads.ts";
import { emptyCounts } from "./core.ts";
import { PeriodicLateness } from "../shared/loop_lag.ts";
import { IoProbe } from "./io_probe.ts";

const log = getLogger(["evcharging", "fleet", "thread"]);

/** How often the thread reports its counts. */
const COUNTS_EVERY_MS = 500;

/**
 * How often the telemetry its CPs sent goes to the main thread. One post per payload cost a tenth
 * of a busy thread's time (BENCHMARKS.md); the send time travels with each, so the wait
 * changes no latency the benchmark reports.
 */
const TELEMETRY_NOTES_EVERY_MS = 100;

// deno-lint-ignore no-explicit-any
const scope = self as any as {
  postMessage(message: FromThread): void;
  onmessage: ((e: MessageEvent<ToThread>) => void) | null;
  close(): void;
};
const post = (message: FromThread) => scope.postMessage(message);

let fleet: FleetHandle | undefined;
let countsTimer: ReturnType<typeof setInterval> | undefined;
let notesTimer: ReturnType<typeof setInterval> | undefined;
/** Telemetry the thread's CPs sent since the last post. */
let notes: TelemetryNote[] = [];
let seenLatencies = 0;
let seenPhases = 0;
let seenLogins = 0;
/** The counts timer's lateness: this thread's loop lag. */
const countsLateness = new PeriodicLateness(COUNTS_EVERY_MS, COUNTS_EVERY_MS);
/** How long this thread takes to hear a loopback socket, Deno's own and `node:net`. */
const ioProbes = [new IoProbe("deno"), new IoProbe("node")] as const;

/** Posts the telemetry gathered since the last time, if any. */
const postNotes = () => {
  if (notes.length === 0) return;
  post({ type: "telemetry", notes });
  notes = [];
};

/**
 * Sends what the fleet gathered since the last report, then its counts, its timer's `lateMs`
 * and its I/O probes' `ioMs` and `ioNodeMs`.
 */
const report = (running: FleetHandle, lateMs = 0, ioMs = 0, ioNodeMs = 0) => {
  postNotes();
  for (; seenLogins < running.loginTimes.length; seenLogins++) {
    post({ type: "login", at: running.loginTimes[seenLogins] });
  }
  for (; seenLatencies < running.authorizeLatenciesMs.length; seenLatencies++) {
    post({ type: "authorized", ms: running.authorizeLatenciesMs[seenLatencies] });
  }
  for (; seenPhases < running.authorizePhases.length; seenPhases++) {
    post({ type: "phases", phases: running.authorizePhases[seenPhases] });
  }
  post({ type: "counts", counts: running.counts(), lateMs, ioMs, ioNodeMs });
};

scope.onmessage = async (e: MessageEvent<ToThread>) => {
  const message = e.data;
  switch (message.type) {
    case "start": {
      await setupLogging({
        level: message.logLevel,
        stream: message.logToStderr
          ? new WritableStream({ write: (chunk) => void Deno.stderr.writeSync(chunk) })
          : new WritableStream(),
        isTerminal: false,
        extraSinks: [(record: LogRecord) => {
          if (record.level === "error" || record.level === "fatal") fleet?.noteError();
        }],
      });
      try {
        fleet = await startFleet({
          ...message.options,
          // Denials and tickets always: the handle's denial reasons and tickets come from them.
          onDriverEvent: (driverId, event) => {
            if (postsDriverEvent(message.driverEvents, event)) {
              post({ type: "driver", driverId, event });
            }
          },
          onTelemetry: message.telemetry
            ? (cpId, payload, at) => void notes.push({ cpId, payload, at })
            : undefined,
          onKey: message.keys
            ? (cpId, keyVersion, key) => post({ type: "key", cpId, keyVersion, key })
            : undefined,
        });
      } catch (error) {
        post({ type: "failed", message: error instanceof Error ? error.message : String(error) });
        return;
      }
      const running = fleet;
      post({ type: "started", cps: running.cps });
      countsLateness.started(Date.now());
      // Only the timer's own runs measure the lag: a report on drain or stop is not due.
      const probeErrors = await Promise.all(ioProbes.map((p) => p.start(message.ioProbePort)));
      for (const error of probeErrors.filter((e) => e !== undefined)) {
        log.warn("This thread's I/O probe is off: {error}", { error });
      }
      const [deno, node] = ioProbes;
      countsTimer = setInterval(
        () => report(running, countsLateness.ran(Date.now()), deno.take(), node.take()),
        COUNTS_EVERY_MS,
      );
      if (message.telemetry) notesTimer = setInterval(postNotes, TELEMETRY_NOTES_EVERY_MS);
      running.ramped.then(() => {
        report(running);
        post({ type: "ramped", counts: running.counts() });
      });
      break;
    }
    case "drain": {
      const ok = await fleet?.drain(message.timeoutMs) ?? true;
      if (fleet) report(fleet);
      post({ type: "drained", ok });
      break;
    }
    case "stop": {
      clearInterval(countsTimer);
      clearInterval(notesTimer);
      for (const probe of ioProbes) probe.stop();
      if (fleet) {
        await fleet.stop(message.drainMs);
        report(fleet);
      }
      post({ type: "stopped", counts: fleet?.counts() ?? emptyCounts(0, 0) });
      await stopLogging();
      break;
    }
  }
};
