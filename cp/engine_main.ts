/**
 * The CP engine process: parses its command line, starts the engine (`engine.ts`), draws its
 * screen and reads its keys (or, headless, `SIGUSR1` for the fault);
 * `deno run -A cp/engine_main.ts --help` lists the flags.
 *
 * @module
 */
import { loadConfig } from "../shared/config.ts";
import { endOnSignals } from "../shared/log.ts";
import { readKeys, StatusScreen } from "../shared/screen.ts";
import { ENGINE_SCREEN_PAUSE, ENGINE_SCREEN_RESUME } from "../shared/cp_keys.ts";
import { defaultEngineSecretFile, engineConfig } from "./config.ts";
import { startEngine } from "./engine.ts";
import { renderEngineScreen } from "./engine_screen.ts";
import { startProcessLogging } from "./terminal.ts";

async function main(): Promise<void> {
  const config = loadConfig(engineConfig);
  const screenLines = await startProcessLogging(config);
  const engine = await startEngine({
    ...config,
    linkSecretFile: config.secretFile ??
      ((port) => defaultEngineSecretFile(config.stateDir, port)),
  });
  if (config.portFile !== undefined) {
    // Renamed into place whole: a reader never sees half a number.
    await Deno.writeTextFile(`${config.portFile}.tmp`, String(engine.port));
    await Deno.rename(`${config.portFile}.tmp`, config.portFile);
  }

  const screen = screenLines
    ? new StatusScreen(() =>
      renderEngineScreen(engine.view(), screenLines(), config.keysHelp, config.lang)
    )
    : undefined;
  screen?.open();
  engine.onChange(() => screen?.update());

  const quit = endOnSignals(async () => {
    stopKeys?.();
    screen?.close();
    await engine.stop();
  });
  // Headless means nobody at the keyboard: stdin is not touched at all.
  const stopKeys = config.headless ? undefined : readKeys((key) => {
    switch (key.toLowerCase()) {
      case "p":
        return engine.plug();
      case "u":
        return engine.unplug();
      case "f":
      case "k":
        return engine.toggleFault();
      case "q":
      case "\x03": // Ctrl-C when the terminal delivers it as a key
        return void quit();
      case ENGINE_SCREEN_PAUSE: // `deno task cp` shows its monitor's view for a while
        return screen?.pause();
      case ENGINE_SCREEN_RESUME:
        return screen?.open();
    }
  });
  // With no keyboard, an operator (or a failure test) flips the fault with `kill -USR1 <pid>`.
  if (config.headless) Deno.addSignalListener("SIGUSR1", () => engine.toggleFault());
}

if (import.meta.main) await main();
