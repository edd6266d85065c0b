/**
 * `deno task start`: the whole network on this machine with one command. The local Kafka
 * broker (unless `KAFKA_BROKERS` is set), development certificates if missing, the Registry,
 * Central, the weather office (simulated temperatures unless `OPENWEATHER_API_KEY` is set), 5
 * headless CPs in different cities with different prices and powers, and 3 drivers
 * charging in a loop from `driver/samples/`. Every part is a real process started as an operator
 * would start it (infra/network.ts); logs go to `<data-dir>/logs/`. The supervisor's control API
 * (infra/supervisor_api.ts, on 127.0.0.1 only) lets the dashboard, through Central, start and
 * stop these CPs and start new ones. On a terminal a status screen is redrawn in place; Ctrl-C
 * (or SIGTERM) stops everything, the broker last.
 *
 * @module
 */
import { join } from "node:path";
import {
  type ConfigOf,
  decimal,
  defineConfig,
  flag,
  langOption,
  loadConfig,
  oneOf,
  option,
  port,
  text,
} from "../shared/config.ts";
import { type Catalog, DEFAULT_LANG, formats, type Lang } from "../shared/i18n.ts";
import { LOG_LEVELS } from "../shared/log.ts";
import type { CpState, StopReason } from "../shared/messages.ts";
import {
  CP_STATE_WORDS,
  KEY_REVOKED_WORD,
  stateText as sharedStateText,
} from "../shared/vocabulary.ts";
import { makePrivateDir } from "../shared/private_files.ts";
import { colours, noColorRequested, type Paint, paintFor, quietly } from "../shared/terminal.ts";
import { StatusScreen } from "../shared/screen.ts";
import { startLocalKafka } from "./local_kafka.ts";
import { buildWeb } from "./web_build.ts";
import {
  DEMO_CHARGER_ID,
  START_OCPP_PORT,
  type StartedOcpp,
  startOcppGateway,
} from "./start_ocpp.ts";
import {
  type CpPlan,
  type CpView,
  type DriverPlan,
  type LocalNetwork,
  type NetworkOptions,
  startNetwork,
} from "./network.ts";
import { type RunningSupervisor, serveSupervisor, SUPERVISOR_PORT } from "./supervisor_api.ts";
import type { CpChildren } from "./local_cp_control.ts";
import { LOCAL_CP_ACTIONS } from "../shared/local_cps.ts";

/** `deno task start`'s options. */
export const startConfig = defineConfig({
  name: "deno task start",
  summary: "Starts a complete local network: Kafka, Registry, Central, the weather office, " +
    "5 CPs and 3 drivers.",
  options: {
    dataDir: option(text, {
      flag: "data-dir",
      default: "data/network",
      help: "folder of the databases, keys, credentials and logs (git-ignored under data/)",
    }),
    speed: option(decimal(0.01, 10_000), {
      flag: "speed",
      default: 60,
      help: "simulated time per wall time for every CP (60: a minute of charging a second)",
    }),
    fresh: flag({
      flag: "fresh",
      help:
        "forget the previous run first: databases, keys, credentials and the local broker's topics",
    }),
    supervisorPort: option(port, {
      flag: "supervisor-port",
      default: SUPERVISOR_PORT,
      help: "127.0.0.1 port of the API that starts and stops the local CPs (for Central)",
    }),
    noScreen: flag({ flag: "no-screen", help: "progress and changes as plain lines only" }),
    lang: langOption,
    ocpp: flag({
      flag: "ocpp",
      help: `also the OCPP 1.6J gateway on wss://localhost:${START_OCPP_PORT}/ocpp/<id>, with a ` +
        `demo charger ${DEMO_CHARGER_ID} registered`,
    }),
    logLevel: option(oneOf(LOG_LEVELS), {
      flag: "log-level",
      env: "LOG_LEVEL",
      default: "info",
      help: "lowest level written to the components' log files",
    }),
  },
});

/** The five CPs: one per city, prices and powers that differ, so tickets differ too. */
export const LOCAL_CPS: readonly Omit<CpPlan, "args">[] = [
  { id: "CP-001", location: "Alicante", priceEurKwh: 0.35, powerKw: 22 },
  { id: "CP-002", location: "Madrid", priceEurKwh: 0.42, powerKw: 50 },
  { id: "CP-003", location: "Bilbao", priceEurKwh: 0.29, powerKw: 11 },
  { id: "CP-004", location: "Oslo", priceEurKwh: 0.51, powerKw: 150 },
  { id: "CP-005", location: "Valencia", priceEurKwh: 0.38, powerKw: 7.4 },
];

/** The three drivers and the sample plan each loops over. */
export const LOCAL_DRIVERS: readonly { id: string; sample: string }[] = [
  { id: "DRV-001", sample: "commuter.txt" },
  { id: "DRV-002", sample: "taxi.txt" },
  { id: "DRV-003", sample: "tourist.txt" },
];

/** What the status screen shows. */
export interface StatusView {
  /** Central's REST base URL. */
  readonly centralUrl: string;
  /** The weather office's API, if it runs. */
  readonly weatherUrl?: string;
  /** The supervisor's control API (infra/supervisor_api.ts). */
  readonly supervisorUrl?: string;
  /** The OCPP gateway's URL prefix, if it runs. */
  readonly ocppUrl?: string;
  /** File holding the admin token. */
  readonly adminTokenFile: string;
  /** The components' log folder. */
  readonly logDir: string;
  /** CPs as Central shows them, or undefined while Central does not answer. */
  readonly cps: readonly CpView[] | undefined;
  /** A local CP's engine and monitor processes, for the demo column. */
  readonly children?: (id: string) => CpChildren | undefined;
  /** Language of the table (default English). */
  readonly lang?: Lang;
}

/** The status table's own words (the states are the shared vocabulary's). */
const START_TEXT: Catalog<"title" | "ctrlC" | "location" | "driver" | "state" | "noCentral"> = {
  en: {
    title: "EVCharging local network",
    ctrlC: "   Ctrl-C stops everything",
    location: "location",
    driver: "driver",
    state: "state",
    noCentral: "Central does not answer",
  },
  es: {
    title: "EVCharging red local",
    ctrlC: "   Ctrl-C lo para todo",
    location: "ubicación",
    driver: "conductor",
    state: "estado",
    noCentral: "la Central no responde",
  },
};

/** The demo command for `action` on `cpId` (infra/demo.ts). */
export function demoCommand(action: string, cpId: string): string {
  return `deno task demo ${action} ${cpId}`;
}

/** The demo line of `deno task start`: every action on one CP, as a command. */
export function demoLine(cpId: string): string {
  return `${demoCommand(LOCAL_CP_ACTIONS[0], cpId)}   (or ${LOCAL_CP_ACTIONS.slice(1).join(", ")})`;
}

/** A local CP's processes in a word or two: what is down, or that both run. */
export function processesText(children: CpChildren, paint: Paint = colours): string {
  const parts = [
    ...(children.engine.running ? [] : [paint.red("engine DOWN")]),
    ...(children.monitor.running ? [] : [paint.grey("monitor DOWN")]),
    ...(children.faulty ? [paint.red("fault ON")] : []),
  ];
  return parts.length === 0 ? paint.grey("engine+monitor up") : parts.join(" ");
}

/**
 * A CP state in its ARCHITECTURE §CP states colour (`paint`: {@link colours}, or plain text for
 * a pipe or `NO_COLOR`), in the shared words of `lang`, with the stop reason for STOPPED.
 */
export function stateText(
  cp: Pick<CpView, "state" | "stop_reason">,
  paint: Paint = colours,
  lang: Lang = DEFAULT_LANG,
): string {
  const state = cp.state as CpState;
  const words = CP_STATE_WORDS[lang][state] === undefined
    ? cp.state
    : sharedStateText({ state, stopReason: cp.stop_reason as StopReason | null }, lang);
  switch (cp.state) {
    case "ACTIVATED":
    case "SUPPLYING":
      return paint.green(words);
    case "STOPPED":
      return paint.orange(words);
    case "BROKEN":
      return paint.red(words);
    default:
      return paint.grey(words);
  }
}

/** The status screen's lines, styled with `paint`. */
export function renderStatus(view: StatusView, paint: Paint = colours): string[] {
  const lang = view.lang ?? DEFAULT_LANG;
  const t = (key: keyof typeof START_TEXT.en) => START_TEXT[lang][key];
  const lines = [
    paint.bold(t("title")) + paint.grey(t("ctrlC")),
    "",
    `Dashboard     ${paint.bold(`${view.centralUrl}/`)}`,
    `Central REST  ${view.centralUrl}   (GET /cps, /sessions, /drivers, /docs)`,
    ...(view.weatherUrl ? [`Weather       ${view.weatherUrl}   (GET /locations)`] : []),
    ...(view.supervisorUrl
      ? [`Local CPs     ${view.supervisorUrl}   (for Central: start and stop these CPs)`]
      : []),
    ...(view.ocppUrl ? [`OCPP 1.6J     ${view.ocppUrl}/<chargePointId>   (Basic auth)`] : []),
    `Admin token   ${view.adminTokenFile}`,
    `Logs          ${view.logDir}`,
    "",
  ];
  if (view.cps === undefined) return [...lines, paint.red(t("noCentral"))];
  lines.push(paint.bold(
    `${"CP".padEnd(8)} ${t("location").padEnd(10)} ${t("driver").padEnd(8)} ${"kWh".padStart(8)} ${
      "€".padStart(8)
    }  ${t("state")}`,
  ));
  for (const cp of view.cps) {
    const local = view.children?.(cp.id);
    const figure = (n: number | null, digits: number) =>
      (n === null ? "" : formats(lang).number(n, digits)).padStart(8);
    lines.push(
      `${cp.id.padEnd(8)} ${(cp.location ?? "").slice(0, 10).padEnd(10)} ${
        (cp.driver_id ?? "").padEnd(8)
      } ${figure(cp.kwh, 3)} ${figure(cp.eur, 2)}  ${stateText(cp, paint, lang)}${
        local === undefined ? "" : `  ${processesText(local, paint)}`
      }`,
    );
  }
  if (view.children !== undefined) {
    lines.push(
      "",
      `Demo          deno task demo <${LOCAL_CP_ACTIONS.join("|")}> <CP id>`,
      paint.grey("              (the same per CP in the dashboard's admin mode)"),
    );
  }
  return lines;
}

/**
 * One line per CP whose state (or stop reason, driver or "key revoked" mark) differs from
 * `before`, for a log without a screen; `before` is updated to `now`.
 */
export function changeLines(
  before: Map<string, string>,
  now: readonly CpView[],
  paint: Paint = colours,
  lang: Lang = DEFAULT_LANG,
): string[] {
  const lines = [];
  for (const cp of now) {
    const driver = cp.driver_id === null ? "" : ` (${START_TEXT[lang].driver} ${cp.driver_id})`;
    const mark = cp.key_revoked ? ` · ${paint.orange(KEY_REVOKED_WORD[lang])}` : "";
    const shown = `${cp.state}${cp.stop_reason === null ? "" : ` ${cp.stop_reason}`}${driver}` +
      (cp.key_revoked ? " key_revoked" : "");
    if (before.get(cp.id) === shown) continue;
    before.set(cp.id, shown);
    lines.push(`${cp.id}: ${stateText(cp, paint, lang)}${driver}${mark}`);
  }
  return lines;
}

/** What a charger or simulator needs, in one line. */
export function ocppLine(ocpp: StartedOcpp): string {
  const password = ocpp.credentialsFile === undefined
    ? "registered by an earlier run whose credential file is gone: start with --fresh"
    : `password = "credentials" in ${ocpp.credentialsFile}`;
  return `OCPP 1.6J gateway: a charger connects to ${ocpp.url}/<id> (subprotocol ocpp1.6, CA ` +
    `certs/ca.pem, HTTP Basic auth id:password); demo charger ${ocpp.chargerId} (${password})`;
}

/** `deno task start`'s options, as parsed. */
type StartConfig = ConfigOf<typeof startConfig.options>;
/** A progress line, on the terminal. */
type Say = (line: string) => void;

/**
 * What `startNetwork` starts for `deno task start`: the local ports, the five CPs at the chosen
 * speed with different targets, and the three drivers looping over their samples.
 */
function localNetworkOptions(
  config: Pick<StartConfig, "dataDir" | "logLevel" | "speed">,
  brokers: string[],
  supervisorUrl: string,
  progress: Say,
  signal: AbortSignal,
): NetworkOptions {
  const samples = join(import.meta.dirname!, "..", "driver", "samples");
  return {
    dir: config.dataDir,
    certsDir: "certs",
    brokers,
    registryPort: 8443,
    centralTcpPort: 7000,
    centralHttpPort: 8080,
    logLevel: config.logLevel,
    progress,
    detached: true,
    signal,
    supervisorUrl,
    weather: { port: 8090 },
    cps: LOCAL_CPS.map((cp, i) => ({
      ...cp,
      // Different targets, so sessions end at different times.
      args: ["--speed", String(config.speed), "--target-kwh", String(4 + 2 * i)],
    })),
    drivers: LOCAL_DRIVERS.map((d): DriverPlan => ({
      id: d.id,
      file: join(samples, d.sample),
      loop: true,
    })),
  };
}

/**
 * A Ctrl-C (SIGINT), SIGTERM or SIGHUP aborts the returned signal. Every process the start runs
 * is in a session of its own, so a Ctrl-C at the terminal reaches only this one, which stops them
 * in order with the broker last; a closed terminal must not leave CPs and drivers running
 * without their network.
 */
function interruptOnSignals(): AbortController {
  const interrupt = new AbortController();
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    Deno.addSignalListener(sig, () => interrupt.abort());
  }
  return interrupt;
}

/** Says where everything is and how to use the demo actions. */
function announce(net: LocalNetwork, supervisor: RunningSupervisor, say: Say): void {
  say(`up: the dashboard is at ${net.centralUrl}/, the admin token in ${net.adminTokenFile}`);
  say(`local CPs are started and stopped through ${supervisor.url} (Central's admin token)`);
  say("demo actions per local CP, without a pid (also in the dashboard's admin mode):");
  for (const id of net.cps.keys()) say(`  ${demoLine(id)}`);
}

/** The OCPP gateway when asked for; a failure to start it is said and the rest runs on. */
async function maybeOcpp(
  config: StartConfig,
  net: LocalNetwork,
  say: Say,
  complain: Say,
): Promise<StartedOcpp | undefined> {
  if (!config.ocpp) return undefined;
  try {
    const ocpp = await startOcppGateway(net, config.dataDir, config.logLevel);
    say(ocppLine(ocpp));
    return ocpp;
  } catch (error) {
    complain(`no OCPP gateway: ${error instanceof Error ? error.message : error}`);
    return undefined;
  }
}

/**
 * Reads Central's CPs every second: on a terminal into a status screen redrawn in place, else as
 * a line per change. Returns what stops it.
 */
function watchCps(
  config: StartConfig,
  parts: { net: LocalNetwork; supervisor: RunningSupervisor; ocpp?: StartedOcpp },
  paint: Paint,
  say: Say,
): () => void {
  const { net, supervisor, ocpp } = parts;
  const useScreen = !config.noScreen && Deno.stdout.isTerminal();
  let cps: CpView[] | undefined;
  const shown = new Map<string, string>();
  const poll = setInterval(async () => {
    try {
      cps = await net.api.get<CpView[]>("/cps");
      if (!useScreen) changeLines(shown, cps, paint, config.lang).forEach(say);
    } catch {
      if (!useScreen && cps !== undefined) say(paint.red("Central does not answer"));
      cps = undefined;
    }
  }, 1000);
  const screen = useScreen
    ? new StatusScreen(() =>
      renderStatus({
        centralUrl: net.centralUrl,
        weatherUrl: net.weatherUrl,
        supervisorUrl: supervisor.url,
        ocppUrl: ocpp?.url,
        adminTokenFile: net.adminTokenFile,
        logDir: join(config.dataDir, "logs"),
        cps,
        children: (id) => net.cpChildren(id),
        lang: config.lang,
      }, paint)
    )
    : undefined;
  screen?.open();
  return () => {
    clearInterval(poll);
    screen?.close();
  };
}

async function main(): Promise<number> {
  const config = loadConfig(startConfig);
  // Colour only on a terminal, and never with NO_COLOR set.
  const paint = paintFor(Deno.stdout.isTerminal() && !noColorRequested());
  const say = (line: string) => quietly(() => console.log(`${paint.grey("[start]")} ${line}`));
  const complain = (line: string) => quietly(() => console.error(`start: ${line}`));
  try {
    await buildWeb(); // Central serves the built dashboard
  } catch (error) {
    complain(error instanceof Error ? error.message : String(error));
    return 1;
  }
  // Listening from here on means a Ctrl-C while the parts start stops what has started and
  // leaves nothing running.
  const interrupt = interruptOnSignals();
  const failed = (error: unknown): number => {
    if (interrupt.signal.aborted) {
      say("interrupted while starting; what had started is stopped");
      return 130;
    }
    complain(error instanceof Error ? error.message : String(error));
    return 1;
  };
  if (config.fresh) await Deno.remove(config.dataDir, { recursive: true }).catch(() => {});
  await makePrivateDir(config.dataDir); // databases, keys, tokens and logs: the user's only

  say("starting Kafka (set KAFKA_BROKERS to use a running broker instead)");
  let kafka: Awaited<ReturnType<typeof startLocalKafka>>;
  try {
    // Its own broker data: a fresh network must not meet an older network's backlog.
    kafka = await startLocalKafka({
      port: 9092,
      dataDir: join(config.dataDir, "kafka"),
      log: say,
      detached: true,
      signal: interrupt.signal,
    });
  } catch (error) {
    return failed(error);
  }
  // Central learns the supervisor's address at its start, before the API is served.
  const supervisorUrl = `http://127.0.0.1:${config.supervisorPort}`;
  let net: LocalNetwork;
  try {
    net = await startNetwork(
      localNetworkOptions(config, kafka.brokers, supervisorUrl, say, interrupt.signal),
    );
  } catch (error) {
    await kafka.stop();
    return failed(error);
  }
  let supervisor: RunningSupervisor;
  try {
    supervisor = serveSupervisor(config.supervisorPort, {
      host: net,
      adminToken: (await Deno.readTextFile(net.adminTokenFile)).trim(),
      newCpArgs: ["--speed", String(config.speed)],
    });
  } catch (error) {
    complain(
      `no control API on ${supervisorUrl}: ${error instanceof Error ? error.message : error}`,
    );
    await net.stop();
    await kafka.stop();
    return 1;
  }
  announce(net, supervisor, say);
  const ocpp = await maybeOcpp(config, net, say, complain);
  const stopWatching = watchCps(config, { net, supervisor, ocpp }, paint, say);

  if (!interrupt.signal.aborted) {
    await new Promise((resolve) => interrupt.signal.addEventListener("abort", resolve));
  }
  stopWatching();
  say("stopping drivers, CPs, Central, the Registry, then Kafka…");
  await supervisor.shutdown();
  await ocpp?.service.stop();
  await net.stop();
  await kafka.stop();
  say("stopped");
  return 0;
}

if (import.meta.main) Deno.exit(await main());
