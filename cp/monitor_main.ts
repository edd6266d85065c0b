/**
 * The CP monitor process: parses its command line, starts the monitor (`monitor.ts`) and draws
 * its screen; `deno run -A cp/monitor_main.ts --help` lists the flags.
 *
 * @module
 */
// First: the Registry's schemas (imported by monitor.ts) must extend zod with `.openapi` before
// shared/messages.ts builds its schemas.
import { startMonitor } from "./monitor.ts";
import { loadConfig } from "../shared/config.ts";
import { stopLogging } from "../shared/log.ts";
import { readKeys, StatusScreen } from "../shared/screen.ts";
import { defaultEngineSecretFile, monitorConfig } from "./config.ts";
import { renderMonitorScreen } from "./monitor_screen.ts";
import { startProcessLogging } from "./terminal.ts";

async function main(): Promise<void> {
  const config = loadConfig(monitorConfig);
  const screenLines = await startProcessLogging({
    level: config.logLevel,
    format: config.logFormat,
    screen: !config.headless && Deno.stdout.isTerminal(),
  });
  const monitor = await startMonitor({
    ...config,
    engineSecret: {
      file: config.engineSecretFile ??
        defaultEngineSecretFile(config.credentialsDir, config.engine.port),
    },
  });
  const screen = screenLines
    ? new StatusScreen(() => renderMonitorScreen(monitor.view(), screenLines(), config.lang))
    : undefined;
  screen?.open();
  monitor.onChange(() => screen?.update());

  let stopKeys: (() => void) | undefined;
  const finish = async (code: number) => {
    stopKeys?.();
    screen?.close();
    await stopLogging(); // flush the last lines
    Deno.exit(code);
  };
  const quit = async () => {
    await monitor.stop();
    await finish(0);
  };
  if (screen) {
    stopKeys = readKeys((key) => {
      if (key === "q" || key === "Q" || key === "\x03") quit();
    });
  }
  Deno.addSignalListener("SIGINT", quit);
  Deno.addSignalListener("SIGTERM", quit);

  const outcome = await monitor.done;
  if (outcome.kind === "gave_up") {
    if (screen) {
      screen.close();
      // The log lines went to the screen, which is gone: say the operator's next step here.
      console.error(`monitor: ${outcome.message}`);
    }
    await monitor.stop();
    await finish(3);
  }
}

if (import.meta.main) await main();
