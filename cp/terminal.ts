/**
 * The terminal edge of the CP processes: a small status screen redrawn in place, single-key
 * input, and a log sink that keeps the last lines for the screen (on a terminal the screen owns
 * the output, so log lines are shown inside it instead of scrolling it away).
 *
 * @module
 */

import {
  type LogFormat,
  type LogLevel,
  type LogRecord,
  setupLogging,
  type Sink,
} from "../shared/log.ts";
import {
  colours,
  enterScreen,
  leaveScreen,
  type Paint,
  quietly,
  redrawFrame,
} from "../shared/terminal.ts";

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
 * DISCONNECTED and secondary text) and bold headings.
 */
export const paint: Paint = colours;

const encoder = new TextEncoder();

/** Writes all of `text` to standard output synchronously (a redraw must not interleave). */
function write(text: string): void {
  const bytes = encoder.encode(text);
  quietly(() => {
    for (let offset = 0; offset < bytes.length;) {
      offset += Deno.stdout.writeSync(bytes.subarray(offset));
    }
  });
}

/**
 * A full-screen status panel on the terminal's alternate screen, redrawn from `render` once a
 * second (live figures) and whenever {@link StatusScreen.update} is called. {@link
 * StatusScreen.close} restores the terminal as it was.
 */
export class StatusScreen {
  readonly #render: () => string[];
  #timer: ReturnType<typeof setInterval> | undefined;

  /** `render` returns the lines to show; it is called on every redraw. */
  constructor(render: () => string[]) {
    this.#render = render;
  }

  /** Switches to the alternate screen, hides the cursor and starts redrawing. */
  open(): void {
    write(enterScreen());
    this.#timer = setInterval(() => this.update(), 1000);
    this.update();
  }

  /** Redraws now; does nothing unless the screen is open. */
  update(): void {
    if (this.#timer === undefined) return;
    write(redrawFrame(this.#render()));
  }

  /** Stops redrawing and gives the terminal back (normal screen, cursor shown). */
  close(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    write(leaveScreen());
  }
}

/**
 * Calls `onKey` with each character typed on standard input until it ends. On a terminal the
 * input is put in raw mode with `cbreak` (keys arrive one by one without Enter, Ctrl-C still
 * raises SIGINT) and restored when the returned function is called. From a pipe (`deno task cp`
 * forwarding keys) characters are taken as they come. The end of input is not a quit: a process
 * started with no input just has no keys.
 */
export function readKeys(onKey: (key: string) => void): () => void {
  const raw = Deno.stdin.isTerminal();
  if (raw) Deno.stdin.setRaw(true, { cbreak: true });
  const reader = Deno.stdin.readable.getReader();
  const decoder = new TextDecoder();
  (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        for (const key of decoder.decode(value, { stream: true })) onKey(key);
      }
    } catch {
      // stdin closed under us at shutdown: nothing left to read
    }
  })();
  return () => {
    reader.cancel().catch(() => {});
    if (raw) Deno.stdin.setRaw(false);
  };
}

/** A LogTape sink that keeps the last `size` records as short one-line texts for a screen. */
export function recentLines(size: number): Sink & { lines(): readonly string[] } {
  const lines: string[] = [];
  const sink = (record: LogRecord) => {
    const time = new Date(record.timestamp).toISOString().slice(11, 19);
    const level = record.level === "info" ? "" : `${record.level.toUpperCase()} `;
    lines.push(`${time} ${level}${renderMessage(record.message)}`);
    if (lines.length > size) lines.shift();
  };
  return Object.assign(sink, { lines: () => lines });
}

/** LogTape's message is text parts with the placeholder values between them. */
function renderMessage(parts: readonly unknown[]): string {
  return parts.map((part, i) => {
    if (i % 2 === 0) return String(part);
    return typeof part === "string" ? part : JSON.stringify(part) ?? String(part);
  }).join("");
}

/**
 * Text to log as a message as it is: LogTape reads `{name}` in a message as a placeholder, and
 * event texts may quote an error from elsewhere (a Registry detail) that contains braces.
 */
export function literal(text: string): string {
  return text.replaceAll("{", "{{").replaceAll("}", "}}");
}

/** Pads `label` to a column width, for aligned `label  value` rows. */
export function row(label: string, value: string): string {
  return `  ${label.padEnd(12)} ${value}`;
}
