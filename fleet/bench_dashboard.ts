/**
 * `deno task bench:dashboard --cps 5000`: the dashboard in Chromium under the load of N CPs on a
 * machine that cannot run N real ones. It starts Central's dashboard load harness
 * (central/dashboard_load_main.ts: Central's real store, core, feed and HTTP app, fed by
 * simulated CPs and drivers in its process), waits until every CP is logged in and the sessions
 * settled, then reads `GET /events?batch=1` for `--stream-seconds` (fleet/stream_figures.ts) and
 * after it measures the page with the dashboard probe for `--seconds` (fleet/dashboard_probe.ts: long
 * tasks, script answers, renderer CPU, the states against `/cps`), and the harness's own CPU.
 * With `--url` it measures a Central already running instead (a real `deno task bench`), so the
 * two streams can be compared with the same reader. Prints the result as JSON.
 *
 * @module
 */
import { buildWeb } from "../infra/web_build.ts";
import {
  decimal,
  defineConfig,
  httpUrl,
  integer,
  loadConfig,
  option,
  text,
} from "../shared/config.ts";
import { probe, type ProbeResult } from "./dashboard_probe.ts";
import { browserNiceOption, browserNiceProblem, schedulingFacts } from "./browser_share.ts";
import { cpuMsFromStat } from "./proc_figures.ts";
import { loadAverage } from "./bench_sample.ts";
import { type SseFrame, SseFrames, type StreamFigures, streamFigures } from "./stream_figures.ts";

export const benchDashboardConfig = defineConfig({
  name: "deno task bench:dashboard",
  summary: "Measures the dashboard in Chromium under N CPs: Central's real feed and HTTP app " +
    "fed by simulated CPs in process (central/dashboard_load_main.ts), or a running Central " +
    "(--url); prints its stream's figures and the dashboard probe's as JSON.",
  options: {
    cps: option(integer(1, 100_000), { flag: "cps", default: 1000, help: "CPs to simulate" }),
    seconds: option(integer(1, 3600), {
      flag: "seconds",
      default: 60,
      help: "how long the probe measures the page",
    }),
    streamSeconds: option(integer(1, 3600), {
      flag: "stream-seconds",
      default: 30,
      help: "how long the event stream is read (just before the probe's window)",
    }),
    faults: option(decimal(0, 3600), {
      flag: "faults",
      default: 0,
      help: "engine faults per CP per hour in the simulation",
    }),
    url: option(httpUrl, {
      flag: "url",
      optional: true,
      help: "measure this running Central instead of starting the harness",
    }),
    profile: option(text, {
      flag: "profile",
      optional: true,
      help: "also record the page's CPU profile into this .cpuprofile file",
    }),
    browserNice: browserNiceOption,
    out: option(text, { flag: "out", optional: true, help: "also write the JSON result here" }),
  },
});

/** What one run measured. */
export interface DashboardBenchResult {
  readonly load_before: string;
  readonly load_after: string;
  readonly cps: number;
  readonly central: string;
  readonly stream: StreamFigures;
  /** The harness process's CPU over the probe's window, cores (none with `--url`). */
  readonly harness_cpu_cores?: number;
  readonly probe: ProbeResult;
}

/**
 * Reads `url`'s `GET /events?batch=1` for `seconds` by the clock, however busy: the frames read
 * and the seconds it read them for.
 */
export async function readStream(
  url: string,
  seconds: number,
): Promise<{ frames: SseFrame[]; seconds: number }> {
  const frames: SseFrame[] = [];
  const cutter = new SseFrames();
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const res = await fetch(`${url}/events?batch=1`, { signal: AbortSignal.timeout(seconds * 2000) });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  try {
    // The clock is read at each chunk: a timer may wait behind a stream that never runs dry.
    while (elapsed() < seconds) {
      const { value, done } = await reader.read();
      if (done) break;
      frames.push(...cutter.push(value));
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return { frames, seconds: elapsed() };
}

/** The harness, started: its URL once steady, and how to stop it. */
async function startHarness(
  config: ReturnType<typeof loadConfig<typeof benchDashboardConfig.options>>,
) {
  await buildWeb();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../central/dashboard_load_main.ts", import.meta.url).pathname,
      "--cps",
      String(config.cps),
      "--faults",
      String(config.faults),
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Its output is read to the end: a closed pipe would fail its next write.
  forwardProgress(child.stderr);
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  for (;;) {
    const { value, done } = await lines.read();
    if (done) throw new Error("the harness ended before it was steady");
    text += value;
    const steady = text.match(/^steady (\S+)$/m);
    if (steady) {
      (async () => {
        while (!(await lines.read()).done);
      })().catch(() => {});
      return {
        url: steady[1],
        pid: child.pid,
        stop: async () => {
          try {
            child.kill("SIGTERM");
          } catch {
            // It has ended already.
          }
          await child.status;
        },
      };
    }
  }
}

/** Passes on the harness's own lines (its progress, its failures), not Central's log records. */
function forwardProgress(stderr: ReadableStream<Uint8Array>): void {
  (async () => {
    let rest = "";
    for await (const text of stderr.pipeThrough(new TextDecoderStream())) {
      const lines = (rest + text).split("\n");
      rest = lines.pop()!;
      for (const line of lines) if (!line.startsWith("{")) console.error(line);
    }
  })().catch(() => {});
}

async function cpuMs(pid: number): Promise<number> {
  return cpuMsFromStat(await Deno.readTextFile(`/proc/${pid}/stat`));
}

async function main(): Promise<void> {
  const config = loadConfig(benchDashboardConfig);
  const problem = config.browserNice === undefined
    ? undefined
    : browserNiceProblem(config.browserNice, await schedulingFacts());
  if (problem !== undefined) {
    console.error(`${benchDashboardConfig.name}: ${problem}`);
    Deno.exit(2);
  }
  const loadBefore = await loadAverage();
  const harness = config.url === undefined ? await startHarness(config) : undefined;
  const url = (config.url ?? harness!.url).replace(/\/$/, "");
  console.error(`bench:dashboard: measuring ${url} (load ${loadBefore})`);
  try {
    // The stream first, then the page: reading it beside the probe, in this process, would
    // delay the probe's own timings.
    const read = await readStream(url, config.streamSeconds);
    const cpu0 = harness && await cpuMs(harness.pid);
    const t0 = performance.now();
    const result = await probe(url, config.seconds, {
      profile: config.profile,
      browserNice: config.browserNice,
    });
    const cpu1 = harness && await cpuMs(harness.pid);
    const elapsedS = (performance.now() - t0) / 1000;
    const { mismatches, ...states } = result.states;
    const out: DashboardBenchResult = {
      load_before: loadBefore,
      load_after: await loadAverage(),
      cps: result.cps,
      central: config.url === undefined ? `harness (${config.cps} simulated CPs)` : url,
      stream: streamFigures(read.frames, Math.round(read.seconds * 10) / 10),
      ...(cpu0 === undefined || cpu1 === undefined
        ? {}
        : { harness_cpu_cores: Math.round((cpu1 - cpu0) / elapsedS) / 1000 }),
      probe: { ...result, states: { ...states, mismatches: mismatches.slice(0, 5) } },
    };
    const json = JSON.stringify(out, null, 2);
    console.log(json);
    if (config.out !== undefined) await Deno.writeTextFile(config.out, json + "\n");
  } finally {
    await harness?.stop();
  }
}

if (import.meta.main) await main();
