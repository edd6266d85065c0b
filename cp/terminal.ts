/**
 * The terminal edge of the CP processes: their logging, kept for the status screen
 * (`shared/screen.ts`) when there is one, and their colours.
 *
 * @module
 */

import { type LogFormat, type LogLevel, setupLogging } from "../shared/log.ts";
import { recentLines } from "../shared/screen.ts";
import { noColorRequested, type Paint, paintFor } from "../shared/terminal.ts";

/** How many log lines a status screen shows under the panel. */
const SCREEN_LOG_LINES = 8;

/**
 * Sets up logging for a CP process. Without a screen, log lines go to standard output (JSON
 * lines, or pretty on a terminal). With one, the screen owns the terminal: records are kept for
 * it instead, and the returned function gives the last few as text.
 */
export async function startProcessLogging(options: {
  readonly level: LogLevel;
  readonly format: LogFormat;
  readonly screen: boolean;
}): Promise<(() => readonly string[]) | undefined> {
  if (!options.screen) {
    await setupLogging({ level: options.level, format: options.format });
    return undefined;
  }
  const recent = recentLines(SCREEN_LOG_LINES);
  await setupLogging({ level: options.level, stream: new WritableStream(), extraSinks: [recent] });
  return recent.lines;
}

/**
 * The shared ANSI styles (shared/terminal.ts) as the CP processes use them: the states of
 * ARCHITECTURE §CP states (green ACTIVATED, SUPPLYING and OK; orange STOPPED; red BROKEN and KO; grey
 * DISCONNECTED and secondary text) and bold headings; plain text when `NO_COLOR` is set.
 */
export const paint: Paint = paintFor(!noColorRequested());
