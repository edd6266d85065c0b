/**
 * `deno task cp`: one CP from one set of flags. Starts the engine and the monitor as two child
 * processes, so either can fail (or be killed by a failure test) while the other goes on, as a
 * real charger's controller and its supervisor would (ARCHITECTURE §Failures).
 *
 * The keys of shared/cp_keys.ts drive it: `p`, `u`, `f` reach the engine; `k` / `K` kill the
 * engine / the monitor (a crash, for a demo), `e` / `m` start a dead one again, `q` stops both.
 * With an operator (not `--headless`) the monitor's menu keys `R`, `D`, `A`, `M`, `S` (register,
 * deregister, authenticate again, maintenance on/off, status) reach the monitor; at a keyboard
 * `S` also shows the monitor's view here (its status and last lines) until `S` or Esc.
 * They come from the keyboard, or from a pipe (tests, and the local supervisor of
 * `deno task start`, which writes them to this process's input). `--headless` at a terminal
 * touches no input at all.
 *
 * At a keyboard the engine draws its status screen on the terminal while this process reads the
 * keys; the monitor's output goes to `<credentials-dir>/<cp-id>.log`. When the engine dies the
 * monitor lives on: it reports the engine KO to Central (BROKEN), and this process takes the
 * screen to show both children and the monitor's last lines until `e` brings the engine back on
 * its old port; the monitor hands it the current key, so the CP is ACTIVATED again without a new
 * login. Without a keyboard both outputs are prefixed and forwarded. A child that exits is
 * reported and not restarted by itself: that is the operator's (or the test's) move.
 *
 * Its own lines start with `[cp]`; the children's with `[engine]` / `[monitor]`. Each child's
 * pid is printed at each start.
 *
 * @module
 */

import { join } from "node:path";
import { type ConfigOf, loadConfig } from "../shared/config.ts";
import { makePrivateDir, PRIVATE_FILE_MODE } from "../shared/private_files.ts";
import { cpConfig } from "./config.ts";
import { paint } from "./terminal.ts";
import { readKeys, StatusScreen } from "../shared/screen.ts";
import {
  type ChildView,
  cpKeysHelp,
  describeExit,
  logLineText,
  renderCpScreen,
} from "./cp_control.ts";
import {
  CP_KEYS,
  type CpAction,
  cpKeyAction,
  ENGINE_SCREEN_PAUSE,
  ENGINE_SCREEN_RESUME,
} from "../shared/cp_keys.ts";

/** How long the children get to stop (the engine flushes telemetry) before they are killed. */
const STOP_GRACE_MS = 8000;
/** How many of the monitor's lines the screen keeps while the engine is down. */
const MONITOR_LINES = 10;

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
    ...(config.headless ? ["--headless"] : ["--keys-help", cpKeysHelp(config.lang)]),
    ...languageAndLogArgs(config, logFormat),
  ];
}

/** What the engine and the monitor are both told: the language, and how to log. */
function languageAndLogArgs(config: Config, logFormat: string): string[] {
  return ["--lang", config.lang, "--log-level", config.logLevel, "--log-format", logFormat];
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
    "--revoked-wait",
    `${config.revokedWaitMs}ms`,
    "--engine-secret-file",
    secretFile(config),
    // Its output is piped here, so it draws no screen either way; with an operator it reads
    // the menu keys this process hands on, and waits for them after giving up.
    ...(config.headless ? ["--headless"] : []),
    ...languageAndLogArgs(config, logFormat),
  ];
}

/** Where lines can be written at once: a standard stream or a log file. */
type LineSink = { writeSync(bytes: Uint8Array): number };

const encoder = new TextEncoder();

/** Copies `stream` line by line to `out`, each line behind `prefix`, and shows it to `seen`. */
async function forward(
  stream: ReadableStream<Uint8Array>,
  prefix: string,
  out: LineSink,
  seen: (line: string) => void,
): Promise<void> {
  let pending = "";
  const emit = (line: string) => {
    out.writeSync(encoder.encode(`${prefix} ${line}\n`));
    seen(line);
  };
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

/** How a {@link Child} is started: everything but the arguments, which may change per start. */
interface ChildSpec {
  readonly name: "engine" | "monitor";
  readonly script: string;
  readonly permissions: readonly string[];
  /** The engine at a keyboard draws on the terminal; every other output is piped here. */
  readonly ownsTerminal: boolean;
  /** Keys reach it through its input (an engine with keys). */
  readonly keyInput: boolean;
}

/** Where the children's output and this process's own lines go. */
interface Output {
  readonly env: Record<string, string> | undefined;
  readonly prefix: (name: string) => string;
  readonly sink: (stream: "stdout" | "stderr") => LineSink;
  readonly say: (text: string) => void;
}

/** One child process that may die and be started again. */
class Child {
  readonly spec: ChildSpec;
  #process: Deno.ChildProcess | undefined;
  #input: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #exited: Promise<Deno.CommandStatus> = Promise.resolve({ success: true, code: 0, signal: null });
  #view: ChildView = { running: false };

  constructor(spec: ChildSpec) {
    this.spec = spec;
  }

  /** Its state for the screen. */
  get view(): ChildView {
    return this.#view;
  }

  /** Resolves when the current process ends. */
  get exited(): Promise<Deno.CommandStatus> {
    return this.#exited;
  }

  /** Starts it with `args`; `onExit` hears of its end. */
  start(
    args: readonly string[],
    output: Output,
    seen: (line: string) => void,
    onExit: (status: Deno.CommandStatus) => void,
  ): void {
    const { name, ownsTerminal } = this.spec;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--config",
        repoConfig,
        ...this.spec.permissions,
        join(here, this.spec.script),
        ...args,
      ],
      stdin: this.spec.keyInput ? "piped" : "null",
      stdout: ownsTerminal ? "inherit" : "piped",
      stderr: ownsTerminal ? "inherit" : "piped",
      env: output.env,
    }).spawn();
    this.#process = child;
    this.#input = this.spec.keyInput ? child.stdin.getWriter() : undefined;
    this.#view = { running: true, pid: child.pid, since: new Date() };
    const prefix = output.prefix(name);
    const copied = ownsTerminal ? Promise.resolve() : Promise.all([
      forward(child.stdout, prefix, output.sink("stdout"), seen),
      forward(child.stderr, prefix, output.sink("stderr"), seen),
    ]);
    output.say(`${name} started (pid ${child.pid})`);
    this.#exited = child.status.then(async (status) => {
      await copied;
      this.#process = undefined;
      this.#input = undefined;
      this.#view = { running: false, exit: describeExit(status), since: new Date() };
      output.say(`${name} exited with ${describeExit(status)}`);
      onExit(status);
      return status;
    });
  }

  /** Sends `signal` to the running process; false when none runs. */
  kill(signal: Deno.Signal): boolean {
    if (this.#process === undefined) return false;
    try {
      this.#process.kill(signal);
      return true;
    } catch {
      return false; // ended meanwhile
    }
  }

  /** Types `key` into its input (an engine with keys). */
  type(key: string): void {
    this.#input?.write(encoder.encode(key)).catch(() => {});
  }

  /** SIGTERM, then SIGKILL after the grace; resolves once it is gone. */
  async stop(say: (text: string) => void): Promise<void> {
    if (!this.kill("SIGTERM")) return;
    const grace = setTimeout(() => {
      say(`${this.spec.name} did not stop in ${STOP_GRACE_MS / 1000} s: killing it`);
      this.kill("SIGKILL");
    }, STOP_GRACE_MS);
    await this.#exited;
    clearTimeout(grace);
  }
}

/** Opens the side log (at a keyboard) and builds where every line goes. */
async function openOutput(config: Config, screen: boolean, terminal: boolean) {
  const sideLogPath = join(config.credentialsDir, `${config.cpId}.log`);
  const sideLog = screen
    ? await Deno.open(sideLogPath, { create: true, append: true, mode: PRIVATE_FILE_MODE })
    : undefined;
  const output: Output = {
    env: config.registryAdminKey === undefined
      ? undefined
      : { REGISTRY_ADMIN_KEY: config.registryAdminKey },
    prefix: (name) => terminal && !screen ? paint.grey(`[${name}]`) : `[${name}]`,
    sink: (stream) => sideLog ?? (stream === "stdout" ? Deno.stdout : Deno.stderr),
    say: (text) => {
      const line = `${terminal && !screen ? paint.bold("[cp]") : "[cp]"} ${text}\n`;
      (sideLog ?? Deno.stdout).writeSync(encoder.encode(line));
    },
  };
  return { output, sideLog, sideLogPath };
}

async function main(): Promise<void> {
  const config = loadConfig(cpConfig);
  const terminal = Deno.stdout.isTerminal();
  const logFormat = terminal ? "pretty" : "json";
  // At a keyboard the engine draws its screen on the terminal; the monitor's lines and ours
  // would scroll over it, so they go to a log file beside the credentials.
  const screen = terminal && Deno.stdin.isTerminal() && !config.headless;
  // The engine's secret, replay marks and the side log live here: private from the start.
  await makePrivateDir(config.credentialsDir);
  const { output, sideLog, sideLogPath } = await openOutput(config, screen, terminal);
  const { say } = output;

  // With port 0 the engine picks a free port itself and writes it to a file for us. A port picked
  // here and handed to it could be picked by another CP starting at the same moment: then one
  // engine failed to listen and its monitor talked to the other CP's engine.
  const portDir = config.enginePort === 0
    ? await Deno.makeTempDir({ prefix: "evcharging-cp-" })
    : undefined;
  const portFile = portDir === undefined ? undefined : join(portDir, "engine_port");
  const { engine, monitor } = cpChildren(config, screen, portDir);

  const { cpScreen, monitorView, seenFromMonitor } = cpStatusScreen(
    config,
    screen,
    engine,
    monitor,
  );

  let stopping = false;
  // The engine's port, once it listens: a restarted engine gets the same one.
  const engineAt: { port?: number } = {};
  // Both gone with no keys to bring either back: nothing is left to do.
  const endIfBothGone = () => {
    if (stopping || stopKeys !== undefined || engine.view.running || monitor.view.running) return;
    Deno.exit(1);
  };
  const startEngine = (args: string[]) =>
    engine.start(args, output, () => {}, () => {
      if (stopping) return;
      say(`the monitor lives on and reports the engine KO; ${cpKeysHelp(config.lang)}`);
      monitorView.on = false; // no engine screen to go back to
      cpScreen?.open();
      endIfBothGone();
    });
  const startMonitor = () =>
    monitor.start(
      monitorArgs(config, engineAt.port!, screen ? "json" : logFormat),
      output,
      seenFromMonitor,
      () => {
        cpScreen?.update();
        endIfBothGone();
      },
    );

  const stop = async () => {
    if (stopping) return;
    stopping = true;
    stopKeys?.();
    cpScreen?.close();
    say("stopping the monitor, then the engine");
    // The monitor first: one that outlived its engine would see it go and report it KO.
    await monitor.stop(say);
    await engine.stop(say);
    if (sideLog) {
      sideLog.close();
      console.log(`CP ${config.cpId} stopped; its monitor's log is ${sideLogPath}`);
    }
    Deno.exit(0);
  };

  const { act, showMonitor } = cpActions({
    config,
    engine,
    monitor,
    engineAt,
    monitorView,
    cpScreen,
    logFormat,
    stopping: () => stopping,
    startEngine,
    startMonitor,
    stop,
  });
  // Headless at a terminal means nobody at the keyboard: input is not touched at all.
  const stopKeys = config.headless && Deno.stdin.isTerminal() ? undefined : readKeys((key) => {
    if (key === "\x1b") return showMonitor(false);
    const action = cpKeyAction(key);
    if (action !== undefined) act(action);
  });
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);

  startEngine([
    ...engineArgs(config, config.enginePort, logFormat),
    ...(portFile === undefined ? [] : ["--port-file", portFile]),
  ]);
  engineAt.port = portFile === undefined
    ? config.enginePort
    : await portFromFile(portFile, engine.exited);
  if (portDir !== undefined) await Deno.remove(portDir, { recursive: true }).catch(() => {});
  if (stopping) return; // stop() ends the process
  if (engineAt.port === undefined) {
    cpScreen?.close();
    say("the engine exited before it listened: no monitor without it");
    Deno.exit((await engine.exited).code || 1);
  }
  startMonitor();
  if (!config.headless || !Deno.stdin.isTerminal()) say(`keys: ${cpKeysHelp(config.lang)}`);
}

if (import.meta.main) await main();

/** What the operator's actions work on (see {@link cpActions}). */
interface CpParts {
  readonly config: Config;
  readonly engine: Child;
  readonly monitor: Child;
  /** The engine's port, once it listens. */
  readonly engineAt: { port?: number };
  /** Whether the monitor's view is shown over the engine's screen. */
  readonly monitorView: { on: boolean };
  readonly cpScreen: StatusScreen | undefined;
  readonly logFormat: string;
  readonly stopping: () => boolean;
  readonly startEngine: (args: string[]) => void;
  readonly startMonitor: () => void;
  readonly stop: () => Promise<void>;
}

/** The engine and monitor child processes; the engine may write its port file in `portDir`. */
function cpChildren(config: Config, screen: boolean, portDir: string | undefined) {
  const engine = new Child({
    name: "engine",
    script: "engine_main.ts",
    ownsTerminal: screen,
    keyInput: !config.headless,
    permissions: [
      "--allow-net",
      "--allow-env",
      "--allow-read",
      `--allow-write=${[config.credentialsDir, ...(portDir ? [portDir] : [])].join(",")}`,
    ],
  });
  const monitor = new Child({
    name: "monitor",
    script: "monitor_main.ts",
    ownsTerminal: false,
    keyInput: !config.headless,
    permissions: ["--allow-net", "--allow-env", "--allow-read", "--allow-write"],
  });
  return { engine, monitor };
}

/**
 * The operator's actions (keys and the supervisor's demo actions) on the two children, and the
 * monitor's view over the engine's screen.
 */
function cpActions(parts: CpParts) {
  const { config, engine, monitor, engineAt, monitorView, cpScreen, logFormat } = parts;
  const { startEngine, startMonitor } = parts;
  const act = (action: CpAction) => {
    if (parts.stopping()) return;
    switch (action) {
      case "plug":
      case "unplug":
        return engine.type(action === "plug" ? "p" : "u");
      case "fault":
        // A headless engine reads no keys: the signal flips its fault.
        return config.headless ? void engine.kill("SIGUSR1") : engine.type("f");
      case "kill_engine":
        return void engine.kill("SIGKILL");
      case "kill_monitor":
        return void monitor.kill("SIGKILL");
      case "restart_engine":
        if (engine.view.running || engineAt.port === undefined) return;
        monitorView.on = false;
        cpScreen?.close();
        // Its old port: the monitor reconnects there, with the key it holds.
        return startEngine(engineArgs(config, engineAt.port, logFormat));
      case "restart_monitor":
        if (monitor.view.running || engineAt.port === undefined) return;
        return startMonitor();
      case "register":
      case "deregister":
      case "authenticate":
      case "maintenance":
        return monitor.type(CP_KEYS[action]);
      case "status":
        monitor.type(CP_KEYS.status);
        return showMonitor(!monitorView.on);
      case "quit":
        return void parts.stop();
    }
  };
  // The monitor's view over the engine's screen: the engine pauses drawing meanwhile.
  const showMonitor = (on: boolean) => {
    if (cpScreen === undefined || !engine.view.running || on === monitorView.on) return;
    monitorView.on = on;
    if (on) {
      engine.type(ENGINE_SCREEN_PAUSE);
      cpScreen.open();
    } else {
      cpScreen.close();
      engine.type(ENGINE_SCREEN_RESUME);
    }
  };
  return { act, showMonitor };
}

/**
 * While the engine is down at a keyboard, or at the operator's `S`, this process shows both
 * children and the monitor's last lines (`seenFromMonitor` keeps them); none without a screen.
 */
function cpStatusScreen(config: Config, screen: boolean, engine: Child, monitor: Child) {
  const monitorLines: string[] = [];
  const monitorView = { on: false };
  const cpScreen = screen
    ? new StatusScreen(() =>
      renderCpScreen(
        {
          cpId: config.cpId,
          engine: engine.view,
          monitor: monitor.view,
          monitorLines,
          monitorView: monitorView.on,
        },
        paint,
        config.lang,
      )
    )
    : undefined;
  const seenFromMonitor = (line: string) => {
    const text = logLineText(line) ?? line.trim();
    if (text === "") return;
    monitorLines.push(text);
    if (monitorLines.length > MONITOR_LINES) monitorLines.shift();
    cpScreen?.update();
  };
  return { cpScreen, monitorView, seenFromMonitor };
}
