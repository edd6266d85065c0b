/**
 * `deno run -A fleet/dashboard_probe.ts --url http://127.0.0.1:8080 [--seconds 60]`: how a
 * browser copes with a running network's dashboard. Debian's Chromium (playwright-core) opens
 * Central's dashboard and, for `--seconds`, measures what the operator feels:
 *
 * - the main thread's long tasks (`PerformanceObserver` `longtask`, every task over 50 ms):
 *   count, p95 and longest, all of them and those within the window alone (without the tasks
 *   of the probe's own tracing start and stop); and from a Chromium trace of the same window,
 *   the tasks over 50 ms of the thread's own CPU time (fleet/main_tasks.ts): on a busy machine
 *   a task that waited for a core is long on the wall but not in work;
 * - how long a one-line `page.evaluate` waits for its answer, once a second: p50, p95, longest;
 * - the renderer's CPU, as a share of one core (CDP `SystemInfo.getProcessInfo`, the renderer
 *   processes' CPU time over the window), and the page's JS heap;
 * - the main thread's busy share (all tasks; script, style, layout), and with `--profile` the
 *   page's heaviest functions by CPU profile;
 * - then whether it shows the same states as `GET /cps`: every page of the grid is read, and each
 *   CP whose state `/cps` gives alike before and after the read must show that state (one that
 *   does not is searched for again: `lagged` counts those that then agreed, `mismatches` the
 *   rest).
 *
 * Prints a JSON result (also written to `--out`, if given). Used by tests/dashboard_scale_test.ts
 * (correctness only, through `deno task bench:dashboard`) and for the figures in BENCHMARKS.md.
 *
 * @module
 */
import { type Browser, chromium, type Page } from "playwright-core";
import { printHelpOrVersion } from "../shared/version.ts";
import { type HotFunction, hotFunctions } from "./cpu_profile.ts";
import { type MainTasks, mainTasks, type TraceEvent } from "./main_tasks.ts";
import { setAutogroupNice } from "./browser_share.ts";

/** Chromium's path (`CHROMIUM_PATH`, default Debian's). */
export const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

/** Flags for a headless Chromium on a machine with no GPU and no internet. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A CP's id and state. */
export interface CpState {
  readonly id: string;
  readonly state: string;
}

/** How the page's states compare with `/cps`. */
export interface StateComparison {
  /** CPs on the page. */
  readonly shown: number;
  /** CPs in `/cps` (the later read). */
  readonly central: number;
  /** CPs whose state `/cps` gave alike before and after the page was read. */
  readonly stable: number;
  /** Stable CPs the page shows in another state, or not at all. */
  readonly mismatches: readonly { id: string; central: string; page: string | null }[];
}

/** Compares the page's states with two reads of `/cps` around it. */
export function compareStates(
  before: readonly CpState[],
  page: readonly CpState[],
  after: readonly CpState[],
): StateComparison {
  const earlier = new Map(before.map((c) => [c.id, c.state]));
  const shown = new Map(page.map((c) => [c.id, c.state]));
  let stable = 0;
  const mismatches: { id: string; central: string; page: string | null }[] = [];
  for (const { id, state } of after) {
    if (earlier.get(id) !== state) continue;
    stable++;
    const onPage = shown.get(id) ?? null;
    if (onPage !== state) mismatches.push({ id, central: state, page: onPage });
  }
  return { shown: shown.size, central: after.length, stable, mismatches };
}

/** The `q` quantile (0–1) of `values` by nearest rank; 0 for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** `GET /cps` as ids and states. */
export async function centralStates(url: string): Promise<CpState[]> {
  const res = await fetch(`${url}/cps`);
  if (!res.ok) throw new Error(`GET /cps: ${res.status}`);
  return ((await res.json()) as CpState[]).map(({ id, state }) => ({ id, state }));
}

// The page's code runs in the browser, whose DOM types this (Deno) file does not load.
type PageGlobal = {
  document: {
    querySelectorAll(s: string): ArrayLike<{ getAttribute(n: string): string | null }>;
    querySelector(s: string): { disabled?: boolean; click(): void } | null;
  };
};

/** Every CP the grid shows, page by page (it ends on the last page). */
export async function pageStates(page: Page): Promise<CpState[]> {
  const seen = new Map<string, string>();
  for (let i = 0; i < 10_000; i++) {
    const tiles = await page.evaluate(() =>
      Array.from(
        (globalThis as unknown as PageGlobal).document.querySelectorAll("[data-cp]"),
        (el) => ({ id: el.getAttribute("data-cp")!, state: el.getAttribute("data-state")! }),
      )
    );
    for (const t of tiles) seen.set(t.id, t.state);
    const next = page.locator('nav.pager button:has-text("Next")');
    if ((await next.count()) === 0 || await next.isDisabled()) break;
    const label = await page.getByTestId("cp-page").innerText();
    await next.click();
    await page.waitForFunction(
      (before) =>
        (globalThis as unknown as {
          document: { querySelector(s: string): { textContent: string } };
        })
          .document.querySelector('[data-testid="cp-page"]')?.textContent !== before,
      label,
    );
  }
  return [...seen].map(([id, state]) => ({ id, state }));
}

/** What the page shows for `id`, found with the grid's search box. */
async function searchState(page: Page, id: string): Promise<string | null> {
  const search = page.getByTestId("cp-search");
  await search.fill(id);
  const tile = page.locator(`[data-cp="${id}"]`);
  await tile.waitFor({ timeout: 5000 }).catch(() => {});
  const state = await tile.getAttribute("data-state", { timeout: 1000 }).catch(() => null);
  await search.fill("");
  return state;
}

/**
 * Reads every page of the grid between two reads of `/cps`, and compares; a mismatch is looked
 * at again (by search) until the page agrees with `/cps` or `tries` are used: on a loaded
 * machine the page may show a change a little after `/cps` does, which is lag, not an error.
 */
export async function checkStates(
  page: Page,
  url: string,
  tries = 3,
): Promise<StateComparison & { lagged: number }> {
  const before = await centralStates(url);
  const shown = await pageStates(page);
  const after = await centralStates(url);
  const first = compareStates(before, shown, after);
  const left = [];
  for (const m of first.mismatches) {
    let agreed = false;
    for (let i = 0; i < tries && !agreed; i++) {
      const central = (await centralStates(url)).find((c) => c.id === m.id)?.state;
      agreed = central !== undefined && await searchState(page, m.id) === central;
    }
    if (!agreed) left.push(m);
  }
  return { ...first, mismatches: left, lagged: first.mismatches.length - left.length };
}

/** A long task: when it began on the page's clock, and how long it took, in ms. */
export type LongTask = readonly [start: number, duration: number];

/** Long tasks summed up: how many, their p95, the longest and their total, in ms. */
export interface LongTaskFigures {
  readonly count: number;
  readonly p95_ms: number;
  readonly max_ms: number;
  readonly total_ms: number;
}

/** {@link LongTaskFigures} of `tasks`. */
export function longTaskFigures(tasks: readonly LongTask[]): LongTaskFigures {
  const durations = tasks.map(([, duration]) => duration);
  return {
    count: durations.length,
    p95_ms: Math.round(quantile(durations, 0.95)),
    max_ms: Math.round(Math.max(0, ...durations)),
    total_ms: Math.round(durations.reduce((s, d) => s + d, 0)),
  };
}

/** What {@link probe} measured. */
export interface ProbeResult {
  readonly url: string;
  readonly cps: number;
  readonly seconds: number;
  /** Every long task after the first render, the probe's tracing start and stop included. */
  readonly long_tasks: LongTaskFigures;
  /**
   * The long tasks that began between the window's first and last script: what the page did
   * while the probe only timed scripts, without its tracing, metrics and CPU reads at either end.
   */
  readonly long_tasks_window: LongTaskFigures;
  readonly evaluate_ms: { n: number; p50: number; p95: number; max: number };
  readonly renderer_cpu_cores: number;
  readonly js_heap_mib: number;
  /**
   * The states compared; with `error` (and nothing compared) when Central stopped answering
   * first, e.g. a bench whose short hold ended: the figures above still stand.
   */
  readonly states: StateComparison & { lagged: number; error?: string };
  /**
   * The main thread's busy time per second of the window (Chromium's `Performance.getMetrics`):
   * all tasks, and of it JavaScript, style recalculation and layout.
   */
  readonly main_thread_share: { task: number; script: number; style: number; layout: number };
  /** The main thread's tasks by wall and by own CPU time, from a trace of the window. */
  readonly main_tasks: MainTasks;
  /** With `--profile`: the functions the page's CPU profile found heaviest. */
  readonly hot?: readonly HotFunction[];
  /** With `browserNice`: the autogroup nice Chromium ran at (fleet/browser_share.ts). */
  readonly browser_nice?: number;
}

/** The main thread's busy time per wall second between two `Performance.getMetrics` reads. */
export function mainThreadShare(
  before: ReadonlyMap<string, number>,
  after: ReadonlyMap<string, number>,
  seconds: number,
): ProbeResult["main_thread_share"] {
  const share = (name: string) =>
    Math.round((((after.get(name) ?? 0) - (before.get(name) ?? 0)) / seconds) * 1000) / 1000;
  return {
    task: share("TaskDuration"),
    script: share("ScriptDuration"),
    style: share("RecalcStyleDuration"),
    layout: share("LayoutDuration"),
  };
}

/** Chromium's processes: their kind (`browser`, `renderer`, …), id and CPU seconds so far. */
async function processInfo(
  browser: Browser,
): Promise<{ type: string; id: number; cpuTime: number }[]> {
  const cdp = await browser.newBrowserCDPSession();
  const info = await cdp.send("SystemInfo.getProcessInfo") as {
    processInfo: { type: string; id: number; cpuTime: number }[];
  };
  await cdp.detach();
  return info.processInfo;
}

async function rendererCpuSeconds(browser: Browser): Promise<number> {
  return (await processInfo(browser)).filter((p) => p.type === "renderer")
    .reduce((s, p) => s + p.cpuTime, 0);
}

/** How {@link probe} runs, beyond its URL and window. */
export interface ProbeOptions {
  /** Also record the page's CPU profile over the window and write it here (`.cpuprofile`). */
  readonly profile?: string;
  /** Run Chromium's session at this autogroup nice (fleet/browser_share.ts). */
  readonly browserNice?: number;
}

/** Opens Central's dashboard at `url` and measures it for `seconds`. */
export async function probe(
  url: string,
  seconds: number,
  { profile, browserNice }: ProbeOptions = {},
): Promise<ProbeResult> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    if (browserNice !== undefined) {
      const main = (await processInfo(browser)).find((p) => p.type === "browser");
      if (main === undefined) throw new Error("Chromium named no browser process");
      await setAutogroupNice(main.id, browserNice);
    }
    const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
    await page.addInitScript(() => {
      const g = globalThis as unknown as {
        __longTasks: LongTask[];
        PerformanceObserver: new (
          cb: (list: { getEntries(): { startTime: number; duration: number }[] }) => void,
        ) => {
          observe(o: unknown): void;
        };
      };
      g.__longTasks = [];
      new g.PerformanceObserver((list) => {
        for (const e of list.getEntries()) g.__longTasks.push([e.startTime, e.duration]);
      }).observe({ type: "longtask", buffered: true });
    });
    await page.goto(url);
    await page.locator("[data-cp]").first().waitFor({ timeout: 120_000 });
    // The snapshot's first render is a one-off: measure the steady state after it.
    await page.evaluate(() =>
      (globalThis as unknown as { __longTasks: LongTask[] }).__longTasks = []
    );
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Performance.enable");
    const readMetrics = async () =>
      new Map((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]));
    if (profile !== undefined) {
      await cdp.send("Profiler.enable");
      await cdp.send("Profiler.start");
    }
    await browser.startTracing(page, { categories: ["disabled-by-default-devtools.timeline"] });
    const metrics0 = await readMetrics();
    const cpu0 = await rendererCpuSeconds(browser);
    const t0 = performance.now();
    const answers: number[] = [];
    // The window on the page's clock, from its first script's run to the end of its last second.
    const pageNow = () => page.evaluate(() => performance.now());
    let from: number | undefined;
    while (performance.now() - t0 < seconds * 1000) {
      const asked = performance.now();
      const ran = await pageNow();
      answers.push(performance.now() - asked);
      from ??= ran;
      await new Promise((r) => setTimeout(r, 1000));
    }
    const to = await pageNow();
    const elapsed = (performance.now() - t0) / 1000;
    const cpu1 = await rendererCpuSeconds(browser);
    const metrics1 = await readMetrics();
    const trace = JSON.parse(new TextDecoder().decode(await browser.stopTracing())) as {
      traceEvents: TraceEvent[];
    };
    let hot: HotFunction[] | undefined;
    if (profile !== undefined) {
      const recorded = (await cdp.send("Profiler.stop")).profile;
      await Deno.writeTextFile(profile, JSON.stringify(recorded));
      hot = hotFunctions(recorded);
    }
    const longTasks = await page.evaluate(() =>
      (globalThis as unknown as { __longTasks: LongTask[] }).__longTasks
    );
    const heap = metrics1.get("JSHeapUsedSize") ?? 0;
    const states = await checkStates(page, url).catch((error) => ({
      ...compareStates([], [], []),
      lagged: 0,
      error: error instanceof Error ? error.message : String(error),
    }));
    return {
      url,
      cps: states.central,
      seconds: Math.round(elapsed),
      long_tasks: longTaskFigures(longTasks),
      long_tasks_window: longTaskFigures(
        longTasks.filter(([start]) => from !== undefined && start >= from && start <= to),
      ),
      evaluate_ms: {
        n: answers.length,
        p50: Math.round(quantile(answers, 0.5) * 10) / 10,
        p95: Math.round(quantile(answers, 0.95) * 10) / 10,
        max: Math.round(Math.max(...answers) * 10) / 10,
      },
      renderer_cpu_cores: Math.round(((cpu1 - cpu0) / elapsed) * 1000) / 1000,
      js_heap_mib: Math.round(heap / 1048576),
      states,
      main_thread_share: mainThreadShare(metrics0, metrics1, elapsed),
      main_tasks: mainTasks(trace.traceEvents),
      ...(hot === undefined ? {} : { hot }),
      ...(browserNice === undefined ? {} : { browser_nice: browserNice }),
    };
  } finally {
    await browser.close();
  }
}

function arg(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at < 0 ? undefined : args[at + 1];
}

const USAGE = `Usage: deno run -A fleet/dashboard_probe.ts --url <Central's URL> [options]

Opens Central's dashboard in Chromium and measures its long tasks, script answer times, renderer
CPU and heap, then compares the states it shows with GET /cps; prints the result as JSON.

Options:
  --url <url>                  Central's http(s) URL (required)
  --seconds <n>                How long to measure (default 60)
  --out <file.json>            Also write the result there
  --profile <file.cpuprofile>  Record the page's CPU profile over the window, write it there
                               and name its heaviest functions in the result
  -h, --help                   Show this help
  --version                    Show the version`;

async function main(args: string[]): Promise<number> {
  if (printHelpOrVersion("dashboard_probe", USAGE, args)) return 0;
  const url = arg(args, "--url");
  const seconds = Number(arg(args, "--seconds") ?? 60);
  if (url === undefined || !/^https?:\/\//.test(url)) {
    console.error("dashboard_probe: --url must be Central's http(s) URL");
    return 2;
  }
  if (!Number.isFinite(seconds) || seconds < 1) {
    console.error("dashboard_probe: --seconds must be a number ≥ 1");
    return 2;
  }
  const result = await probe(url.replace(/\/$/, ""), seconds, { profile: arg(args, "--profile") });
  const { mismatches, ...states } = result.states;
  const text = JSON.stringify(
    {
      ...result,
      states: { ...states, mismatches: mismatches.length, first: mismatches.slice(0, 5) },
    },
    null,
    2,
  );
  console.log(text);
  const out = arg(args, "--out");
  if (out !== undefined) await Deno.writeTextFile(out, text + "\n");
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
