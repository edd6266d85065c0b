/**
 * The terminal I/O the components' screens share: a synchronous write that a closed terminal
 * cannot turn into a crash, a full-screen status panel redrawn in place, single-key input, and
 * a log sink that keeps the last lines for a screen (on a terminal the screen owns the output,
 * so log lines are shown inside it instead of scrolling it away). The escape codes themselves
 * are the pure text of `shared/terminal.ts`.
 *
 * @module
 */

import type { LogRecord, Sink } from "./log.ts";
import { enterScreen, leaveScreen, quietly, redrawFrame } from "./terminal.ts";

const encoder = new TextEncoder();

/** Writes all of `text` to standard output synchronously (a redraw must not interleave). */
export function writeScreen(text: string): void {
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

  /** Switches to the alternate screen, hides the cursor and starts redrawing (once). */
  open(): void {
    if (this.#timer !== undefined) return;
    writeScreen(enterScreen());
    this.#timer = setInterval(() => this.update(), 1000);
    this.update();
  }

  /** Redraws now; does nothing unless the screen is open. */
  update(): void {
    if (this.#timer === undefined) return;
    writeScreen(redrawFrame(this.#render()));
  }

  /**
   * Stops redrawing but keeps the alternate screen, for another process to draw on it for a
   * while (`deno task cp` shows its monitor's view there); {@link open} draws again.
   */
  pause(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Stops redrawing and gives the terminal back (normal screen, cursor shown). */
  close(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    writeScreen(leaveScreen());
  }
}

/** Removes terminal escape sequences (arrow and function keys) from typed text. */
export function withoutEscapes(text: string): string {
  // deno-lint-ignore no-control-regex -- escape sequences are what is removed
  return text.replace(/\x1b(\[[0-9;?]*[ -/]*[@-~]|O.|.)?/g, "");
}

/**
 * Calls `onKey` with each character typed on standard input until it ends. On a terminal the
 * input is put in raw mode with `cbreak` (keys arrive one by one without Enter, Ctrl-C still
 * raises SIGINT) and restored when the returned function is called; escape sequences (arrow
 * keys) are dropped whole, while Esc alone arrives as `\x1b`. From a pipe (`deno task cp` forwarding keys) characters are taken as
 * they come. The end of input is not a quit: a process started with no input just has no keys.
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
        const text = decoder.decode(value, { stream: true });
        // A lone ESC is the Esc key; ESC with more is an arrow or function key, dropped whole.
        for (const key of raw && text !== "\x1b" ? withoutEscapes(text) : text) onKey(key);
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

/**
 * A LogTape sink that keeps the last `size` records as one-line texts for a screen. `format`
 * turns a record into its line, or `undefined` to leave it out; by default `12:00:01 text`
 * (UTC) with the level named unless it is `info`.
 */
export function recentLines(
  size: number,
  format: (record: LogRecord) => string | undefined = plainLine,
): Sink & { lines(): readonly string[] } {
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`recentLines: size must be a positive integer, got ${size}`);
  }
  const lines: string[] = [];
  const sink = (record: LogRecord) => {
    const line = format(record);
    if (line === undefined) return;
    lines.push(line);
    if (lines.length > size) lines.shift();
  };
  return Object.assign(sink, { lines: () => lines });
}

/** `12:00:01 WARNING text`: a record as a plain line (UTC time; no level for `info`). */
export function plainLine(record: LogRecord): string {
  const time = new Date(record.timestamp).toISOString().slice(11, 19);
  const level = record.level === "info" ? "" : `${record.level.toUpperCase()} `;
  return `${time} ${level}${renderMessage(record.message)}`;
}

/** LogTape's message is text parts with the placeholder values between them. */
export function renderMessage(parts: readonly unknown[]): string {
  return parts.map((part, i) => {
    if (i % 2 === 0 || typeof part === "string") return String(part);
    return part instanceof Error ? part.message : JSON.stringify(part) ?? String(part);
  }).join("");
}

/** Pads `label` to a column width, for aligned `label  value` rows. */
export function row(label: string, value: string): string {
  return `  ${label.padEnd(12)} ${value}`;
}
