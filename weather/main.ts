/**
 * `deno task weather`: the weather office process (ARCHITECTURE §Processes and ports). Parses the config, starts
 * {@link startWeatherOffice}, and on a terminal runs the menu; otherwise (or with `--no-tui`) it
 * writes structured logs. Stops cleanly on SIGINT/SIGTERM or when the menu quits.
 *
 * @module
 */
import { loadConfig } from "../shared/config.ts";
import { endOnSignals, getLogger, setupLogging, stopLogging } from "../shared/log.ts";
import { TlsFileError } from "../shared/tls.ts";
import { weatherConfig } from "./config.ts";
import { LocationsFileError } from "./locations.ts";
import { panelSink, restoreTerminal, runMenu } from "./menu.ts";
import { OfficeStartError, startWeatherOffice, type WeatherOffice } from "./office.ts";

const config = loadConfig(weatherConfig);
const tui = !config.noTui && Deno.stdin.isTerminal() && Deno.stdout.isTerminal();
const panel = panelSink();
// With the menu, log lines go to its panel only: printed, they would scroll the table away.
await setupLogging(
  tui
    ? { level: config.logLevel, stream: new WritableStream(), extraSinks: [panel] }
    : { level: config.logLevel },
);
const log = getLogger(["evcharging", "weather"]);

let office: WeatherOffice;
try {
  office = await startWeatherOffice(config);
} catch (error) {
  const known = error instanceof OfficeStartError || error instanceof LocationsFileError ||
    error instanceof TlsFileError || error instanceof Deno.errors.AddrInUse;
  if (!known) throw error;
  await stopLogging();
  console.error(`weather: ${error.message}`); // plain text: an operator's next step, not a record
  Deno.exit(1);
}

const stop = endOnSignals(async () => {
  if (tui) restoreTerminal();
  log.info("weather office stopping");
  await office.stop();
});

if (tui) {
  await runMenu(office, panel, config.lang);
  await stop();
}
