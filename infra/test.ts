/**
 * `deno task test [deno test args…]`: builds the dashboard (infra/web_build.ts), runs
 * `deno test -A --permit-no-files`
 * with one local Kafka broker for the whole run (unless `KAFKA_BROKERS` is
 * set), streams its output, stops the broker, and prints as the very last
 * line `tests: N passed, N failed[, N ignored]`, which CI looks for. A test that runs past
 * `TEST_HANG_MINUTES` stops the run: a hung test then fails it, naming itself, instead of
 * holding CI until its time is up.
 *
 * @module
 */
import { type LocalKafka, startLocalKafka } from "./local_kafka.ts";
import { brokersFromEnv } from "../shared/kafka.ts";
import { buildWeb } from "./web_build.ts";
import { noColorRequested } from "../shared/terminal.ts";
import { printHelpOrVersion } from "../shared/version.ts";

const USAGE = `Usage: deno task test [deno test arguments…]

Builds the dashboard, starts one local Kafka broker (unless KAFKA_BROKERS is set), runs
deno test -A with the arguments given (e.g. test files, --filter), stops the broker, and prints
"tests: N passed, N failed[, N ignored]" as the last line.

Environment:
  KAFKA_BROKERS <host:port,…>  Use this broker instead of starting one
  TEST_HANG_MINUTES <n>        Stop the run when one test has run this long (default 8)
  NO_COLOR                     No colour (also off when the output is not a terminal)

Options:
  -h, --help                   Show this help
  --version                    Show the version`;

/** Counts from the final line of `deno test`. */
export interface TestSummary {
  /** `ok` rather than `FAILED`. */
  ok: boolean;
  /** Tests passed (steps not counted). */
  passed: number;
  /** Tests failed. */
  failed: number;
  /** Tests ignored (0 when the line does not mention them). */
  ignored: number;
}

// deno test colours its output even into a pipe; the summary is parsed without them.
// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * Parses `deno test`'s final line, e.g. `ok | 5 passed (2 steps) | 0 failed |
 * 1 ignored (12ms)` or `FAILED | …`; `undefined` for any other line.
 */
export function parseSummaryLine(line: string): TestSummary | undefined {
  const text = line.replace(ANSI, "").trim();
  const m = text.match(/^(ok|FAILED) \| (\d+) passed\b.*\| (\d+) failed\b/);
  if (!m) return undefined;
  const ignored = text.match(/\| (\d+) ignored\b/);
  return {
    ok: m[1] === "ok",
    passed: Number(m[2]),
    failed: Number(m[3]),
    ignored: ignored ? Number(ignored[1]) : 0,
  };
}

/** Renders the runner's last line: `tests: N passed, N failed` plus `, N ignored` if any. */
export function formatSummary(s: TestSummary): string {
  return `tests: ${s.passed} passed, ${s.failed} failed` +
    (s.ignored > 0 ? `, ${s.ignored} ignored` : "");
}

/** A test deno test reports as still running, and for how long. */
export interface OverdueTest {
  /** The test's name. */
  name: string;
  /** How long it has run, in minutes, as deno test rounds it. */
  minutes: number;
}

/**
 * Reads deno test's warning `'NAME' has been running for over (8m0s)` (printed after 1, 2, 4, 8…
 * minutes), wherever it is in the line; `undefined` for any other line.
 */
export function parseOverdueLine(line: string): OverdueTest | undefined {
  const text = line.replace(ANSI, "");
  const m = text.match(/'(.*)' has been running for over \((?:(\d+)h)?(?:(\d+)m)?(?:\d+s)?\)/);
  if (!m) return undefined;
  return { name: m[1], minutes: Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0) };
}

/**
 * The minutes of `TEST_HANG_MINUTES` (default 8, twice the longest test on a loaded machine).
 * Throws a clear error for anything but a positive integer.
 */
export function hangMinutes(value: string | undefined): number {
  if (value === undefined || value === "") return 8;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`TEST_HANG_MINUTES must be a whole number of minutes ≥ 1, not "${value}"`);
  }
  return n;
}

/**
 * Copies `stream` to stdout as it comes and returns the last summary line seen; calls `onLine`
 * with each complete line.
 */
async function pump(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<TestSummary | undefined> {
  const decoder = new TextDecoder();
  let pending = "";
  let summary: TestSummary | undefined;
  const scan = (line: string) => {
    summary = parseSummaryLine(line) ?? summary;
    onLine(line);
  };
  for await (const chunk of stream) {
    await Deno.stdout.write(chunk);
    const lines = (pending + decoder.decode(chunk, { stream: true })).split("\n");
    pending = lines.pop()!;
    lines.forEach(scan);
  }
  scan(pending + decoder.decode());
  return summary;
}

/** SIGTERM, then SIGKILL if deno test is still there 10 s later. */
function stopChild(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGTERM");
  } catch { /* already exited */ }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
  }, 10_000);
  child.status.finally(() => clearTimeout(timer));
}

async function main(args: string[]): Promise<number> {
  if (printHelpOrVersion("test", USAGE, args)) return 0;
  let hangLimit: number;
  try {
    hangLimit = hangMinutes(Deno.env.get("TEST_HANG_MINUTES"));
  } catch (e) {
    console.error(`test: ${e instanceof Error ? e.message : e}`);
    return 2;
  }
  try {
    await buildWeb(); // the browser tests' Central serves the built dashboard
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    return 1;
  }
  let kafka: LocalKafka | undefined;
  let dataDir: string | undefined;
  if (!brokersFromEnv()) {
    dataDir = await Deno.makeTempDir({ prefix: "evcharging-test-kafka-" });
    try {
      kafka = await startLocalKafka({ port: 0, dataDir });
    } catch (e) {
      console.error(`test: could not start Kafka: ${e instanceof Error ? e.message : e}`);
      return 1;
    }
  }

  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--permit-no-files", ...args],
    env: {
      ...(kafka ? { KAFKA_BROKERS: kafka.brokers.join(",") } : {}),
      // Its output is piped through this process: colour only if ours goes to a terminal.
      ...(Deno.stdout.isTerminal() && !noColorRequested() ? {} : { NO_COLOR: "1" }),
    },
    stdin: "inherit",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();

  // Ctrl-C reaches the whole process group, but a SIGTERM from a supervisor
  // reaches only us: pass it on, then fall through to stop the broker.
  let interrupted = false;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, () => {
      interrupted = true;
      try {
        child.kill(sig);
      } catch { /* already exited */ }
    });
  }

  let hung: OverdueTest | undefined;
  const summary = await pump(child.stdout, (line) => {
    const overdue = parseOverdueLine(line);
    if (hung || !overdue || overdue.minutes < hangLimit) return;
    hung = overdue;
    console.error(
      `test: "${overdue.name}" has run for over ${overdue.minutes} min (TEST_HANG_MINUTES ` +
        `${hangLimit}); stopping the run`,
    );
    stopChild(child);
  });
  const { code } = await child.status;
  await kafka?.stop();
  if (dataDir) {
    // Keep the broker's log when something went wrong: it may explain why.
    if (code === 0) await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    else console.error(`test: the broker's data and log are kept in ${dataDir}`);
  }

  if (!summary) {
    const why = hung ? `, stopped: "${hung.name}" hung` : interrupted ? ", interrupted" : "";
    console.error(`test: no summary line from deno test (exit ${code}${why})`);
    return code === 0 ? 1 : code;
  }
  console.log(formatSummary(summary));
  return code;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
