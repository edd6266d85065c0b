/**
 * `deno task central`: the Central process (ARCHITECTURE §Processes and ports). Parses the config, sets up logging,
 * starts {@link startCentral} and, on a terminal without `--no-tui`, the live panel (logs then
 * go to the panel's message list and a file, never over the table). Stops cleanly on
 * SIGINT/SIGTERM or the panel's `q`.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { loadConfig } from "../shared/config.ts";
import { makePrivateDir, PRIVATE_FILE_MODE } from "../shared/private_files.ts";
import { getLogger, setupLogging, stopLogging } from "../shared/log.ts";
import { loadTlsFiles } from "../shared/tls.ts";
import { startCentral } from "./central.ts";
import { centralConfig } from "./config.ts";
import { TerminalPanel } from "./tui.ts";

const config = loadConfig(centralConfig);
const dataDir = dirname(config.db);
const log = getLogger(["evcharging", "central"]);

let panel: TerminalPanel | undefined;
let central: Awaited<ReturnType<typeof startCentral>> | undefined;
let stopping: Promise<void> | undefined;

/** Time a clean stop may take (a broker that went away can stall Kafka's goodbyes). */
const STOP_TIMEOUT_MS = 15_000;

const stop = (code: number) =>
  stopping ??= (async () => {
    setTimeout(() => {
      console.error("central: stopping took too long; exiting anyway");
      Deno.exit(code === 0 ? 1 : code);
    }, STOP_TIMEOUT_MS);
    await panel?.stop();
    await central?.stop();
    await stopLogging();
    Deno.exit(code);
  })();

if (!config.noTui && Deno.stdout.isTerminal() && Deno.stdin.isTerminal()) {
  const logFile = config.logFile ?? join(dataDir, "central.log");
  await makePrivateDir(dirname(logFile));
  const file = await Deno.open(logFile, { create: true, append: true, mode: PRIVATE_FILE_MODE });
  panel = new TerminalPanel(() => stop(0), config.lang);
  await setupLogging({
    level: config.logLevel,
    format: "json",
    stream: file.writable,
    isTerminal: false,
    extraSinks: [panel.sink],
  });
} else {
  await setupLogging({ level: config.logLevel });
}

for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, () => stop(0));

try {
  central = await startCentral({
    dbPath: config.db,
    brokers: config.brokers,
    registryUrl: config.registryUrl,
    caFile: config.ca,
    tls: await loadTlsFiles({ certFile: config.cert, keyFile: config.key }),
    hostname: config.host,
    restTls: config.restTls,
    tcpPort: config.tcpPort,
    maxUnauthenticatedPerAddress: config.maxUnauthenticatedPerAddress,
    monitorLoginTimeoutMs: config.monitorLoginTimeoutMs,
    httpPort: config.httpPort,
    heartbeatTimeoutMs: config.heartbeatTimeoutMs,
    stopWaitMs: config.stopWaitMs,
    keyGraceMs: config.keyGraceMs,
    plugWaitMs: config.plugWaitMs,
    masterKeyFile: config.masterKeyFile,
    auditCheckpointKeyFile: config.auditCheckpointKeyFile,
    adminToken: config.adminToken,
    weatherServiceKey: config.weatherServiceKey,
    weatherServiceKeyFile: config.weatherServiceKeyFile,
    group: config.group,
    libcrypto: config.libcrypto,
    registryAdminKey: config.registryAdminKey,
    registryFeedKey: config.registryFeedKey,
    registryFeedKeyFile: config.registryFeedKeyFile,
    supervisorUrl: config.supervisorUrl,
  });
} catch (error) {
  log.fatal("Central could not start: {error}", { error });
  await stopLogging();
  // Plain text too: an operator's next step, and the panel never started.
  console.error(`central: ${error instanceof Error ? error.message : error}`);
  Deno.exit(1);
}
panel?.start(central.runtime, central.restorer);
