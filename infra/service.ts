/**
 * One child process of a local network ({@link Service}), started with the command line an
 * operator would type and its output kept in a log file, and {@link waitUntil}, the poll every
 * readiness check of infra/network.ts and the end-to-end tests uses.
 *
 * @module
 */
import { join } from "node:path";
import { PRIVATE_FILE_MODE } from "../shared/private_files.ts";
import { within } from "../shared/sleep.ts";

const ROOT = join(import.meta.dirname!, "..");
const CONFIG = join(ROOT, "deno.json");

/** How often {@link waitUntil} asks again. */
const POLL_MS = 100;

/**
 * Waits until `probe` returns a value other than `undefined`; throws after `timeoutMs`, or with
 * `signal`'s reason once it is aborted.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
  signal?: AbortSignal,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    signal?.throwIfAborted();
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
}

/** How a {@link Service} is started. */
export interface ServiceSpec {
  /** Name used in logs and for the log file. */
  readonly name: string;
  /** Script path relative to the repository root. */
  readonly script: string;
  /** Deno permission flags. */
  readonly permissions: readonly string[];
  /** Arguments after the script. */
  readonly args: readonly string[];
  /** Extra environment (secrets go here, never into `args`, so `ps` does not show them). */
  readonly env?: Readonly<Record<string, string>>;
  /** Run it in a session of its own (see {@link NetworkOptions.detached}). */
  readonly detached?: boolean;
  /** Keep a pipe to its input, for {@link Service.type} (a CP reads its keys there). */
  readonly keys?: boolean;
}

/** Most lines (and, apart, parsed records) a {@link Service} keeps in memory. */
const MAX_LINES = 20_000;

/** A JSON log record, with the `[child]` prefix `cp/main.ts` puts before its children's lines. */
const RECORD_LINE = /^(?:\[(\w+)\] )?(\{.*\})$/;

/**
 * One child process and its output: every line is appended to its log file and kept (the
 * newest {@link MAX_LINES}); lines that are JSON log records are also kept parsed, each with
 * `source` naming the child that wrote it when `cp/main.ts` forwarded it.
 */
export class Service {
  /** How it is started. */
  readonly spec: ServiceSpec;
  /** Where its output goes. */
  readonly logFile: string;
  /** Output lines seen so far, oldest first. */
  readonly lines: string[] = [];
  /** JSON log records seen so far, oldest first. */
  readonly records: Record<string, unknown>[] = [];
  #child: Deno.ChildProcess | undefined;
  #input: WritableStreamDefaultWriter<Uint8Array> | undefined;
  readonly #lineListeners: ((line: string) => void)[] = [];
  #exited: Promise<Deno.CommandStatus> | undefined;

  /** Prepares (does not start) the service. */
  constructor(spec: ServiceSpec, logDir: string) {
    this.spec = spec;
    this.logFile = join(logDir, `${spec.name}.log`);
  }

  /** The name. */
  get name(): string {
    return this.spec.name;
  }

  /** Whether a child is running. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** The running child's pid. */
  get pid(): number {
    if (this.#child === undefined) throw new Error(`${this.name} is not running`);
    return this.#child.pid;
  }

  /** Resolves with the exit status of the current child. */
  get exited(): Promise<Deno.CommandStatus> {
    if (this.#exited === undefined) throw new Error(`${this.name} was never started`);
    return this.#exited;
  }

  /**
   * Waits for the current child to exit, at most `timeoutMs`; then rejects naming the process and
   * its log, so that a test waiting on a child that never ends fails instead of hanging the run.
   */
  async waitForExit(timeoutMs = 180_000): Promise<Deno.CommandStatus> {
    const status = await within(this.exited, timeoutMs, undefined);
    if (status === undefined) {
      throw new Error(`${this.name} still running after ${timeoutMs} ms; see ${this.logFile}`);
    }
    return status;
  }

  /** Starts the child (again, after it exited). */
  async start(): Promise<void> {
    if (this.#child !== undefined) throw new Error(`${this.name} is already running`);
    const log = await Deno.open(this.logFile, {
      create: true,
      append: true,
      mode: PRIVATE_FILE_MODE,
    });
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        CONFIG,
        ...this.spec.permissions,
        join(ROOT, this.spec.script),
        ...this.spec.args,
      ],
      cwd: ROOT,
      env: { NO_COLOR: "1", ...this.spec.env },
      detached: this.spec.detached ?? false,
      stdin: this.spec.keys ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    this.#input = this.spec.keys ? child.stdin.getWriter() : undefined;
    const output = Promise.all([this.#copy(child.stdout, log), this.#copy(child.stderr, log)]);
    this.#exited = child.status.then(async (status) => {
      await output;
      log.close();
      if (this.#child === child) {
        this.#child = undefined;
        this.#input = undefined;
      }
      return status;
    });
  }

  /** Sends `signal` to the running child (no-op once it exited). */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      this.#child?.kill(signal);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error; // already gone
    }
  }

  /** Calls `listener` with every output line from now on, across restarts. */
  onLine(listener: (line: string) => void): void {
    this.#lineListeners.push(listener);
  }

  /** Types `keys` into the running child's input (a service started with `keys`). */
  async type(keys: string): Promise<void> {
    if (this.#input === undefined) throw new Error(`${this.name} takes no keys`);
    await this.#input.write(new TextEncoder().encode(keys));
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the child is gone. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.#child === undefined) return;
    this.kill("SIGTERM");
    const timer = setTimeout(() => this.kill("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Waits for an output line `match` accepts (already seen or still to come). */
  waitForLine(what: string, match: (line: string) => boolean, timeoutMs = 30_000): Promise<string> {
    return waitUntil(`${this.name}: ${what}`, () => this.lines.find(match), timeoutMs);
  }

  /** Waits for a JSON record `match` accepts (already seen or still to come). */
  waitForRecord(
    what: string,
    match: (record: Record<string, unknown>) => boolean,
    timeoutMs = 30_000,
  ): Promise<Record<string, unknown>> {
    return waitUntil(`${this.name}: ${what}`, () => this.records.find(match), timeoutMs);
  }

  async #copy(stream: ReadableStream<Uint8Array>, log: Deno.FsFile): Promise<void> {
    const encoder = new TextEncoder();
    let pending = "";
    const keep = <T>(list: T[], item: T) => {
      list.push(item);
      if (list.length > MAX_LINES) list.shift();
    };
    const line = (text: string) => {
      log.writeSync(encoder.encode(`${text}\n`));
      keep(this.lines, text);
      for (const listener of this.#lineListeners) listener(text);
      const m = text.match(RECORD_LINE);
      if (!m) return;
      try {
        keep(this.records, { ...JSON.parse(m[2]), ...(m[1] ? { source: m[1] } : {}) });
      } catch {
        // Not a record after all: it is in the file, which is enough.
      }
    };
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const lines = (pending + chunk).split("\n");
      pending = lines.pop()!;
      lines.forEach(line);
    }
    if (pending !== "") line(pending);
  }
}
