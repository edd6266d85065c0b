/**
 * `deno task driver <broker> <driver-id> [<file>]`: an EV driver.
 *
 * - With a file: asks for a charge at each CP id in it in turn (4 s after each ticket or denial),
 *   prints a summary and exits 0; `--loop` repeats the file until Ctrl-C or SIGTERM.
 * - Without: interactive. On a terminal, a screen lists the CPs, takes commands (a CP id or its
 *   number charges there) and shows live kW, kWh and € and the ticket. From a pipe, the same
 *   commands are read one per line.
 *
 * On a terminal, output is coloured and redrawn in place; otherwise it is structured logs (JSON
 * lines), ending with a `Summary` record. Ctrl-C or SIGTERM stops cleanly with the summary.
 *
 * @module
 */

import { type ConfigOf, hostPort, loadConfig } from "../shared/config.ts";
import { localAddressToward } from "../shared/local_address.ts";
import { getLogger, literal, setupLogging, type Sink, stopLogging } from "../shared/log.ts";
import { noColorRequested, paintFor } from "../shared/terminal.ts";
import { driverConfig } from "./config.ts";
import { type DriverEvent, parsePlanFile, type Summary } from "./core.ts";
import { type DriverHandle, startDriver } from "./driver.ts";
import { LiveLine, readLines, recentLines, Screen } from "./terminal.ts";
import { type Lang, translate } from "../shared/i18n.ts";
import { DRIVER_TEXT } from "./words.ts";
import {
  type Command,
  parseCommand,
  screenLines,
  summaryFields,
  summaryLines,
  totalsText,
} from "./view.ts";

/** Colours on a terminal, unless `NO_COLOR` is set; plain text into a pipe or file. */
const paint = paintFor(Deno.stdout.isTerminal() && !noColorRequested());

const log = getLogger(["evcharging", "driver"]);

/** Log lines kept on the interactive screen. */
const SCREEN_LOG_LINES = 8;

type Config = ConfigOf<typeof driverConfig.options>;

/** How one run talks to people. */
interface FrontEnd {
  /** Where log records go instead of standard output (on a terminal the front end draws them). */
  readonly sink?: Sink;
  /** Called with every driver event. */
  onEvent(event: DriverEvent): void;
  /** The driver is running. */
  open(driver: DriverHandle): void;
  /** The driver stopped: give the terminal back and show the summary. */
  close(driverId: string, summary: Summary | undefined): void;
}

/**
 * The interactive screen (standard input and output are terminals): the CP list, refreshed
 * after each outcome since a charge changes CP states, the live session, recent lines, and a
 * command line.
 */
function screenFrontEnd(config: Config): FrontEnd {
  let driver: DriverHandle | undefined;
  let showSummary = false;
  const recent = recentLines(SCREEN_LOG_LINES, paint);
  const screen = new Screen(
    (input) => ({
      state: driver!.state(), // the screen opens once the driver runs
      now: Date.now(),
      brokers: config.brokers,
      input,
      recent: recent.lines(),
      showSummary,
      lang: config.lang,
    }),
    (view) => screenLines(view, paint),
    (command) => runCommand(driver!, command, () => showSummary = !showSummary, config.lang),
  );
  return {
    sink: recent,
    onEvent: (event) => {
      if (event.kind === "ticket" || event.kind === "denied") {
        queueMicrotask(() => driver?.listCps()); // after the step that emitted this
      }
      screen.update();
    },
    open: (d) => {
      driver = d;
      screen.open();
      d.listCps(); // something to choose from straight away
    },
    close: (driverId, summary) => {
      screen.close();
      if (summary) console.log(summaryLines(driverId, summary, paint, config.lang).join("\n"));
    },
  };
}

/** File mode on a terminal: coloured lines scroll above a live status line. */
function liveLineFrontEnd(lang: Lang): FrontEnd {
  let driver: DriverHandle | undefined;
  const live = new LiveLine(() => driver, paint, lang);
  return {
    sink: live.sink,
    onEvent: () => live.redraw(),
    open: (d) => {
      driver = d;
      live.open();
    },
    close: (driverId, summary) => {
      live.close();
      if (summary) console.log(summaryLines(driverId, summary, paint, lang).join("\n"));
    },
  };
}

/** Not a terminal: JSON log lines, a final `Summary` record, and commands from standard input. */
function headlessFrontEnd(readCommands: boolean, lang: Lang): FrontEnd {
  return {
    onEvent: () => {},
    open: (driver) => {
      if (!readCommands) return;
      readLines((line) =>
        runCommand(
          driver,
          parseCommand(line, driver.state().cpList?.cps ?? [], lang),
          () => logSummary(driver.driverId, driver.state().summary, lang),
          lang,
        )
      );
    },
    close: (driverId, summary) => {
      if (summary) logSummary(driverId, summary, lang);
    },
  };
}

/** Runs a typed command against the driver. */
function runCommand(
  driver: DriverHandle,
  command: Command,
  showSummary: () => void,
  lang: Lang,
): void {
  switch (command.type) {
    case "charge":
      return driver.charge(command.cpId);
    case "list":
      return driver.listCps();
    case "cancel":
      return driver.cancel();
    case "summary":
      return showSummary();
    case "help":
      return log.info(literal(DRIVER_TEXT[lang].help));
    case "quit":
      return void driver.stop();
    case "unknown":
      return log.warning(literal(command.detail));
    case "none":
      return;
  }
}

/** The summary as one structured record. */
function logSummary(driverId: string, summary: Summary, lang: Lang): void {
  const totals = totalsText(summary, lang);
  log.info(literal(translate(DRIVER_TEXT, lang, "summaryFor", { driver: driverId, totals })), {
    kind: "summary",
    driverId,
    ...summaryFields(summary),
  });
}

/** Reads and checks the file of CP ids; reports bad lines; exits 2 if none is usable. */
async function readPlan(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    fatal(`cannot read ${path}: ${error instanceof Error ? error.message : error}`);
  }
  const { cpIds, errors } = parsePlanFile(text);
  for (const e of errors) {
    log.warning(literal(`${path}:${e.line}: not a CP id, skipped: ${e.text}`), { path, ...e });
  }
  if (cpIds.length === 0) fatal(`${path} holds no CP ids (one per line, # for comments)`);
  return [...cpIds];
}

/** A command line that cannot run: say why, exit 2 (as shared/config.ts does). */
function fatal(message: string): never {
  console.error(`driver: ${message}`);
  Deno.exit(2);
}

/** Flushes the log stream (JSON lines are written asynchronously), then exits. */
async function exit(code: number): Promise<never> {
  await stopLogging();
  Deno.exit(code);
}

async function main(): Promise<void> {
  const config = loadConfig(driverConfig);
  if (config.loop && config.file === undefined) fatal("--loop needs --file");
  const terminal = Deno.stdout.isTerminal();
  const front = config.file !== undefined
    ? (terminal ? liveLineFrontEnd(config.lang) : headlessFrontEnd(false, config.lang))
    : (terminal && Deno.stdin.isTerminal()
      ? screenFrontEnd(config)
      : headlessFrontEnd(true, config.lang));

  await setupLogging({
    level: config.logLevel,
    // A front end that draws records gets them all; nothing else may write over its drawing.
    ...(front.sink ? { stream: new WritableStream(), extraSinks: [front.sink] } : {}),
  });
  const plan = config.file === undefined ? undefined : await readPlan(config.file);
  if (front.sink) console.log(paint.grey(`Connecting to Kafka at ${config.brokers.join(",")}…`));

  // The host's own address for the audit: said, not proven (requests cross Kafka).
  const originIp = config.originIp ?? await localAddressToward(hostPort(config.brokers[0]));
  let driver: DriverHandle;
  try {
    driver = await startDriver({
      brokers: config.brokers,
      driverId: config.driverId,
      originIp,
      lang: config.lang,
      plan,
      loop: config.loop,
      pauseMs: config.pauseMs,
      onEvent: (event) => front.onEvent(event),
    });
  } catch (error) {
    log.error("Cannot start: {error}", { error });
    console.error(`driver: cannot start: ${error instanceof Error ? error.message : error}`);
    return exit(1);
  }
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => void driver.stop());
  }
  front.open(driver);

  const summary = await driver.done.catch(() => undefined); // a failure is logged where it happens
  front.close(driver.driverId, summary);
  return exit(summary === undefined ? 1 : 0);
}

if (import.meta.main) await main();
