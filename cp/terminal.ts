/**
 * The terminal edge of the CP processes: their logging, kept for the status screen
 * (`shared/screen.ts`) when there is one, and their colours.
 *
 * @module
 */

import type { LogRecord } from "@logtape/logtape";
import { type LogFormat, type LogLevel, setupLogging } from "../shared/log.ts";
import { plainLine, recentLines } from "../shared/screen.ts";
import { noColorRequested, type Paint, paintFor } from "../shared/terminal.ts";

/** How many log lines a status screen shows under the panel. */
const SCREEN_LOG_LINES = 8;

/**
 * The log property holding a record's line in the operator's language when it differs from the
 * English message (the monitor under `--lang es`): the log stays English for whoever reads it
 * later, and the screens that show log lines show this one.
 */
export const SHOWN = "shown";

/** The line a screen shows for `properties`' record: {@link SHOWN}, else `message`. */
export function shownText(properties: unknown, message: string): string {
  const shown = (properties as Record<string, unknown> | undefined)?.[SHOWN];
  return typeof shown === "string" ? shown : message;
}

/** A record as a screen's plain line, in the operator's language when it has one. */
function screenLine(record: LogRecord): string {
  const shown = shownText(record.properties, "");
  return plainLine(shown === "" ? record : { ...record, message: [shown] });
}

/**
 * Sets up logging for a CP process from its config. A headless one, or one whose output is no
 * terminal, has no screen: log lines go to standard output (JSON lines, or pretty on a terminal).
 * Otherwise the screen owns the terminal: records are kept for it instead, and the returned
 * function gives the last few as text.
 */
export async function startProcessLogging(config: {
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly headless: boolean;
}): Promise<(() => readonly string[]) | undefined> {
  const level = config.logLevel;
  if (config.headless || !Deno.stdout.isTerminal()) {
    await setupLogging({ level, format: config.logFormat });
    return undefined;
  }
  const recent = recentLines(SCREEN_LOG_LINES, screenLine);
  await setupLogging({ level, stream: new WritableStream(), extraSinks: [recent] });
  return recent.lines;
}

/**
 * The shared ANSI styles (shared/terminal.ts) as the CP processes use them: the states of
 * ARCHITECTURE §CP states (green ACTIVATED, SUPPLYING and OK; orange STOPPED; red BROKEN and KO; grey
 * DISCONNECTED and secondary text) and bold headings; plain text when `NO_COLOR` is set.
 */
export const paint: Paint = paintFor(!noColorRequested());
