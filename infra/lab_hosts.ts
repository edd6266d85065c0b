/**
 * The lab's edges to the operating system: running `ip`/`tc` command lines, and running the
 * network's processes inside a host's namespace exactly as a person would type them there
 * (`ip netns exec <pc> deno task …`), each with its output in a log file of its own.
 *
 * @module
 */
import { join } from "node:path";
import type { Cmd } from "./lab_net.ts";

/** The repository root: every `deno task` runs from here. */
export const ROOT = join(import.meta.dirname!, "..");

/** Runs one command line; throws with its error output when it fails. */
export async function run(cmd: Cmd): Promise<string> {
  const [program, ...args] = cmd;
  const out = await new Deno.Command(program, { args, stdin: "null" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`${cmd.join(" ")} failed (${out.code}): ${err}`);
  }
  return text;
}

/** Runs each command line in turn, ignoring failures (for teardown of what may be gone). */
export async function runAll(cmds: readonly Cmd[]): Promise<void> {
  for (const cmd of cmds) await run(cmd).catch(() => {});
}

/**
 * What is missing for the lab on this machine, in one line, or `undefined` when it can run:
 * Linux, root, and the `ip` and `tc` programs.
 */
export async function missingPrerequisite(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") {
    return `the lab needs Linux network namespaces (this is ${Deno.build.os})`;
  }
  if (Deno.uid() !== 0) {
    return "the lab needs root (network namespaces): run it as root, e.g. with sudo";
  }
  for (const program of ["ip", "tc"]) {
    try {
      await run([program, "-V"]);
    } catch {
      return `the lab needs \`${program}\` (Debian: apt-get install iproute2)`;
    }
  }
  return undefined;
}

/** Whether a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * Environment variables a child inherits; everything else (a `KAFKA_BROKERS` or `CENTRAL_URL`
 * of the caller's own network, say) stays out, so the flags alone say where things are.
 */
const INHERITED = [
  "PATH",
  "HOME",
  "USER",
  "LANG",
  "LC_ALL",
  "TMPDIR",
  "DENO_DIR",
  "XDG_CACHE_HOME",
  "JAVA_HOME",
  "MAVEN_OPTS",
  "CI",
];

/** How a {@link HostProcess} is started. */
export interface HostProcessSpec {
  /** Name for messages and the log file (`<logDir>/<name>.log`). */
  readonly name: string;
  /** The namespace it runs in. */
  readonly ns: string;
  /** Deno's arguments as typed after `deno` (`task`, `central`, …). */
  readonly args: readonly string[];
  /** Further environment (secrets go here, never in the arguments). */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * One `deno` command (mostly a `deno task`) running in a host's namespace, in a process group of its own (so a signal
 * reaches the task runner and the processes it started), its output appended to a log file.
 */
export class HostProcess {
  /** How it is started. */
  readonly spec: HostProcessSpec;
  /** Where its output goes. */
  readonly logFile: string;
  #child: Deno.ChildProcess | undefined;
  #exited: Promise<Deno.CommandStatus> | undefined;

  /** Prepares (does not start) the process. */
  constructor(spec: HostProcessSpec, logDir: string) {
    this.spec = spec;
    this.logFile = join(logDir, `${spec.name}.log`);
  }

  /** The command line as a person types it in that host's shell. */
  get commandLine(): string {
    return ["deno", ...this.spec.args].join(" ");
  }

  /** Whether it runs. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** Resolves with the exit status of the current run. */
  get exited(): Promise<Deno.CommandStatus> {
    if (this.#exited === undefined) throw new Error(`${this.spec.name} was never started`);
    return this.#exited;
  }

  /** Starts it (again, once it exited). */
  async start(): Promise<void> {
    if (this.#child !== undefined) throw new Error(`${this.spec.name} is already running`);
    // The file exists from the start, so its name can be printed and read at once.
    await Deno.writeTextFile(this.logFile, "", { append: true });
    const env: Record<string, string> = { NO_COLOR: "1" };
    for (const name of INHERITED) {
      const value = Deno.env.get(name);
      if (value !== undefined) env[name] = value;
    }
    const child = new Deno.Command("ip", {
      args: ["netns", "exec", this.spec.ns, Deno.execPath(), ...this.spec.args],
      cwd: ROOT,
      clearEnv: true,
      env: { ...env, ...this.spec.env },
      detached: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    // Two handles in append mode: the lines of both streams land whole, in arrival order.
    const output = Promise.all([child.stdout, child.stderr].map(async (stream) => {
      // Chunk by chunk (pipeTo holds the data back until the stream ends).
      const file = await Deno.open(this.logFile, { create: true, append: true });
      try {
        for await (const chunk of stream) file.writeSync(chunk);
      } finally {
        file.close();
      }
    }));
    this.#exited = child.status.then(async (status) => {
      await output;
      if (this.#child === child) this.#child = undefined;
      return status;
    });
  }

  /** Sends `signal` to its whole process group (no-op once it exited). */
  signal(signal: Deno.Signal): void {
    const child = this.#child;
    if (child === undefined) return;
    try {
      Deno.kill(-child.pid, signal);
    } catch {
      // Gone already.
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it is gone. */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.#child === undefined) return;
    this.signal("SIGTERM");
    const timer = setTimeout(() => this.signal("SIGKILL"), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL to the whole group, as a crash; resolves once it is gone. */
  async crash(): Promise<void> {
    if (this.#child === undefined) return;
    this.signal("SIGKILL");
    await this.exited;
  }
}

/**
 * Kills every process still inside namespace `ns` (`ip netns pids`): SIGTERM, then SIGKILL to
 * what is left after `graceMs`. Nothing started in a lab host survives its removal.
 */
export async function killNamespace(ns: string, graceMs = 5_000): Promise<void> {
  const pids = async () =>
    (await run(["ip", "netns", "pids", ns]).catch(() => "")).split("\n").map(Number).filter((p) =>
      p > 0
    );
  const signal = (pid: number, sig: Deno.Signal) => {
    try {
      Deno.kill(pid, sig);
    } catch {
      // Gone already.
    }
  };
  for (const pid of await pids()) signal(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && (await pids()).length > 0) {
    await new Promise((r) => setTimeout(r, 200));
  }
  for (const pid of await pids()) signal(pid, "SIGKILL");
}
