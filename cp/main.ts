/**
 * `deno task cp`: one CP from one set of flags. Starts the engine and the monitor as two child
 * processes, so either can fail (or be killed by a failure test) while the other goes on, as a
 * real charger's controller and its supervisor would (ARCHITECTURE §Failures). At a keyboard the engine gets
 * the terminal (its status screen; keys p, u, f, q) and the monitor's output goes to
 * `<credentials-dir>/<cp-id>.log`; otherwise both outputs are prefixed and forwarded, and key
 * presses on a pipe reach the engine. Both stop on the engine's `q`, Ctrl-C or SIGTERM. A child
 * that exits is reported and not restarted: restarting it is the operator's (or the test's) move.
 *
 * Its own lines start with `[cp]`; the children's with `[engine]` / `[monitor]`. Each child's
 * pid is printed at start, so a test can kill one of them.
 *
 * @module
 */

import { join } from "node:path";
import { type ConfigOf, loadConfig } from "../shared/config.ts";
import { makePrivateDir, PRIVATE_FILE_MODE } from "../shared/private_files.ts";
import { cpConfig } from "./config.ts";
import { paint } from "./terminal.ts";
import { readKeys } from "../shared/screen.ts";

/** How long the children get to stop (the engine flushes telemetry) before they are killed. */
const STOP_GRACE_MS = 8000;

const here = import.meta.dirname!; // a local file: always set
const repoConfig = join(here, "..", "deno.json");

type Config = ConfigOf<typeof cpConfig.options>;

/** The file the engine writes its monitor-link secret to at each start (read by the monitor). */
function secretFile(config: Config): string {
  return join(config.credentialsDir, `${config.cpId}.engine.secret`);
}

/** The engine's command line, derived from the shared flags. */
function engineArgs(config: Config, port: number, logFormat: string): string[] {
  return [
    "--broker",
    config.brokers.join(","),
    "--port",
    String(port),
    "--cp-id",
    config.cpId,
    "--state-dir",
    config.credentialsDir,
    "--secret-file",
    secretFile(config),
    "--power",
    String(config.powerKw),
    "--speed",
    String(config.speed),
    "--plug-delay",
    `${config.plugDelayMs}ms`,
    "--plug-timeout",
    `${config.plugTimeoutMs}ms`,
    ...(config.targetKwh === undefined ? [] : ["--target-kwh", String(config.targetKwh)]),
    ...(config.durationMs === undefined ? [] : ["--duration", `${config.durationMs}ms`]),
    ...(config.headless ? ["--headless"] : []),
    "--log-level",
    config.logLevel,
    "--log-format",
    logFormat,
  ];
}

/** The monitor's command line (the admin key goes through the environment, not `ps`). */
function monitorArgs(config: Config, port: number, logFormat: string): string[] {
  return [
    "--engine",
    `127.0.0.1:${port}`,
    "--central",
    String(config.central),
    "--cp-id",
    config.cpId,
    "--registry-url",
    config.registryUrl,
    ...(config.caFile === undefined ? [] : ["--ca", config.caFile]),
    ...(config.location === undefined ? [] : ["--location", config.location]),
    ...(config.priceEurKwh === undefined ? [] : ["--price", String(config.priceEurKwh)]),
    "--power",
    String(config.powerKw),
    "--credentials-dir",
    config.credentialsDir,
    "--engine-secret-file",
    secretFile(config),
    "--headless", // its output is piped here: no screen of its own
    "--log-level",
    config.logLevel,
    "--log-format",
    logFormat,
  ];
}

/** Where lines can be written at once: a standard stream or a log file. */
type LineSink = { writeSync(bytes: Uint8Array): number };

/** Copies `stream` line by line to `out`, each line behind `prefix`. */
async function forward(
  stream: ReadableStream<Uint8Array>,
  prefix: string,
  out: LineSink,
): Promise<void> {
  const encoder = new TextEncoder();
  let pending = "";
  const emit = (line: string) => out.writeSync(encoder.encode(`${prefix} ${line}\n`));
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const lines = (pending + chunk).split("\n");
    pending = lines.pop()!;
    lines.forEach(emit);
  }
  if (pending !== "") emit(pending);
}

/** The port the engine wrote to `file` once it listened; `undefined` if it exited first. */
async function portFromFile(file: string, exited: Promise<unknown>): Promise<number | undefined> {
  let gone = false;
  exited.then(() => gone = true);
  while (!gone) {
    const text = await Deno.readTextFile(file).catch(() => undefined);
    if (text !== undefined) return Number(text);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return undefined;
}

async function main(): Promise<void> {
  const config = loadConfig(cpConfig);
  const terminal = Deno.stdout.isTerminal();
  const logFormat = terminal ? "pretty" : "json";
  // At a keyboard the engine owns the terminal (its status screen and keys); the monitor's lines
  // and ours would scroll over that screen, so they go to a log file beside the credentials.
  const screen = terminal && Deno.stdin.isTerminal() && !config.headless;
  const sideLogPath = join(config.credentialsDir, `${config.cpId}.log`);
  // The engine's secret, replay marks and the side log live here: private from the start.
  await makePrivateDir(config.credentialsDir);
  const sideLog = screen
    ? await Deno.open(sideLogPath, { create: true, append: true, mode: PRIVATE_FILE_MODE })
    : undefined;
  const encoder = new TextEncoder();
  const say = (text: string) => {
    const line = `${terminal && !screen ? paint.bold("[cp]") : "[cp]"} ${text}\n`;
    (sideLog ?? Deno.stdout).writeSync(encoder.encode(line));
  };
  const env = config.registryAdminKey === undefined
    ? undefined
    : { REGISTRY_ADMIN_KEY: config.registryAdminKey };

  const spawn = (name: string, script: string, args: string[], permissions: string[]) => {
    const ownsTerminal = screen && name === "engine";
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--config", repoConfig, ...permissions, join(here, script), ...args],
      stdin: ownsTerminal ? "inherit" : name === "engine" && !config.headless ? "piped" : "null",
      stdout: ownsTerminal ? "inherit" : "piped",
      stderr: ownsTerminal ? "inherit" : "piped",
      env,
    }).spawn();
    const prefix = terminal && !screen ? paint.grey(`[${name}]`) : `[${name}]`;
    const output = ownsTerminal ? Promise.resolve() : Promise.all([
      forward(child.stdout, prefix, sideLog ?? Deno.stdout),
      forward(child.stderr, prefix, sideLog ?? Deno.stderr),
    ]);
    say(`${name} started (pid ${child.pid})`);
    const exited = child.status.then(async (status) => {
      await output;
      say(`${name} exited with code ${status.code}${status.signal ? ` (${status.signal})` : ""}`);
      return status;
    });
    return { name, child, exited, running: true };
  };

  // With port 0 the engine picks a free port itself and writes it to a file for us. A port picked
  // here and handed to it could be picked by another CP starting at the same moment: then one
  // engine failed to listen and its monitor talked to the other CP's engine.
  const portDir = config.enginePort === 0
    ? await Deno.makeTempDir({ prefix: "evcharging-cp-" })
    : undefined;
  const portFile = portDir === undefined ? undefined : join(portDir, "engine_port");
  const engine = spawn(
    "engine",
    "engine.ts",
    [
      ...engineArgs(config, config.enginePort, logFormat),
      ...(portFile === undefined ? [] : ["--port-file", portFile]),
    ],
    [
      "--allow-net",
      "--allow-env",
      "--allow-read",
      `--allow-write=${[config.credentialsDir, ...(portDir ? [portDir] : [])].join(",")}`,
    ],
  );
  const children = [engine];
  engine.exited.then(() => engine.running = false);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    stopKeys?.();
    say("stopping the monitor, then the engine");
    // The monitor (started last) first: one that outlives its engine sees it go and reports it
    // KO to Central.
    for (const c of children.toReversed()) {
      if (!c.running) continue;
      c.child.kill("SIGTERM");
      const grace = setTimeout(() => {
        if (!c.running) return;
        say(`${c.name} did not stop in ${STOP_GRACE_MS / 1000} s: killing it`);
        c.child.kill("SIGKILL");
      }, STOP_GRACE_MS);
      await c.exited;
      clearTimeout(grace);
    }
    if (sideLog) {
      sideLog.close();
      console.log(`CP ${config.cpId} stopped; its monitor's log is ${sideLogPath}`);
    }
    Deno.exit(0);
  };
  // On its screen the engine reads the keys itself and its q ends the CP: the monitor follows.
  if (screen) engine.exited.then(() => stop());

  // Otherwise keys go to the engine (p, u, f) through its input; q here stops both. A Ctrl-C
  // that arrives as a byte (raw input without cbreak) stops both too.
  const engineInput = config.headless || screen ? undefined : engine.child.stdin.getWriter();
  const stopKeys = engineInput === undefined ? undefined : readKeys((key) => {
    if (key === "q" || key === "Q" || key === "\x03") return void stop();
    engineInput.write(new TextEncoder().encode(key)).catch(() => {});
  });
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);

  const port = portFile === undefined
    ? config.enginePort
    : await portFromFile(portFile, engine.exited);
  if (portDir !== undefined) await Deno.remove(portDir, { recursive: true }).catch(() => {});
  if (stopping) return; // stop() ends the process
  if (port === undefined) {
    say("the engine exited before it listened: no monitor without it");
    Deno.exit((await engine.exited).code || 1);
  }
  const monitor = spawn(
    "monitor",
    "monitor.ts",
    monitorArgs(config, port, screen ? "json" : logFormat),
    ["--allow-net", "--allow-env", "--allow-read", "--allow-write"],
  );
  children.push(monitor);
  monitor.exited.then(() => monitor.running = false);
  if (!config.headless) say("keys: p plug in, u unplug, f fault on/off, q quit");

  const [e, m] = await Promise.all([engine.exited, monitor.exited]);
  if (!stopping) {
    stopKeys?.();
    Deno.exit(Math.max(e.code, m.code));
  }
}

if (import.meta.main) await main();
