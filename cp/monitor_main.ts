/**
 * The CP monitor process: parses its command line, starts the monitor (`monitor.ts`), draws its
 * screen and reads its menu's keys (shared/cp_keys.ts `MONITOR_KEYS`: register, deregister,
 * authenticate again, maintenance on/off, status, quit), from the keyboard or from a pipe (`deno
 * task cp` hands its own keys on). With an operator (not `--headless`) it waits for them after
 * giving up, so a deregistered CP can be registered again from the menu; `--headless` keeps the
 * automatic flow and ends on giving up. `deno run -A cp/monitor_main.ts --help` lists the flags.
 *
 * @module
 */
// First: the Registry's schemas (imported by monitor.ts) must extend zod with `.openapi` before
// shared/messages.ts builds its schemas.
import { startMonitor } from "./monitor.ts";
import { loadConfig } from "../shared/config.ts";
import { getLogger, literal, stopLogging } from "../shared/log.ts";
import { type MonitorAction, monitorKeyAction } from "../shared/cp_keys.ts";
import { readKeys, StatusScreen } from "../shared/screen.ts";
import { defaultEngineSecretFile, monitorConfig } from "./config.ts";
import { monitorStatusLine, renderMonitorScreen } from "./monitor_screen.ts";
import { startProcessLogging } from "./terminal.ts";

async function main(): Promise<void> {
  const config = loadConfig(monitorConfig);
  const screenLines = await startProcessLogging(config);
  const monitor = await startMonitor({
    ...config,
    interactive: !config.headless,
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
  const log = getLogger(["evcharging", "cp", "monitor"]);
  const act = (action: MonitorAction) => {
    switch (action) {
      case "register":
        return void monitor.register();
      case "deregister":
        return void monitor.deregister();
      case "authenticate":
        return monitor.reauthenticate();
      case "maintenance":
        return void monitor.setMaintenance(monitor.view().shown?.maintenance !== true);
      case "status":
        return log.info(literal(monitorStatusLine(monitor.view(), config.lang)));
      case "quit":
        return void quit();
    }
  };
  // Headless at a terminal means nobody at the keyboard: input is not touched at all.
  if (!config.headless || !Deno.stdin.isTerminal()) {
    stopKeys = readKeys((key) => {
      const action = monitorKeyAction(key);
      if (action !== undefined) act(action);
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
