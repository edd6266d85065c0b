/**
 * The driver's terminal edge: the interactive screen, a live status line for file mode, line
 * commands from a pipe, and log sinks that draw records for people. What is drawn comes from
 * `view.ts`; this module only reads keys and lines and writes bytes.
 *
 * @module
 */

import { DEFAULT_LANG, type Lang } from "../shared/i18n.ts";
import type { LogRecord, Sink } from "../shared/log.ts";
import {
  readKeys,
  recentLines as sharedRecentLines,
  renderMessage,
  writeScreen,
} from "../shared/screen.ts";
import {
  CLEAR_LINE,
  enterScreen,
  leaveScreen,
  type Paint,
  redrawFrame,
  type ScreenOptions,
} from "../shared/terminal.ts";
import type { DriverHandle } from "./driver.ts";
import { type Command, parseCommand, type ScreenView, statusLine } from "./view.ts";

/** The colour a driver event's log line gets, by its `kind` (other records by level). */
function colourOf(record: LogRecord, paint: Paint): (s: string) => string {
  const props = record.properties as { kind?: string; reason?: string };
  switch (props.kind) {
    case "ticket":
    case "authorized":
      return paint.green;
    case "denied":
      return paint.orange;
    case "supply":
      return paint.cyan;
    case "waiting":
      return paint.yellow;
    case "refused":
      return paint.red;
    case "ignored":
      return props.reason === "invalid" ? paint.red : paint.grey;
  }
  if (record.level === "error" || record.level === "fatal") return paint.red;
  if (record.level === "warning") return paint.yellow;
  return (s) => s;
}

/**
 * Whether a person watching the terminal wants `record`: the driver's own, and anything else
 * (Kafka client chatter) only from warnings up.
 */
function forPeople(record: LogRecord): boolean {
  return record.category[1] === "driver" || !["trace", "debug", "info"].includes(record.level);
}

/** `12:00:01 text`, coloured: one log record as a line for people. */
function recordLine(record: LogRecord, paint: Paint): string {
  const time = new Date(record.timestamp).toTimeString().slice(0, 8);
  const text = renderMessage(record.message);
  return `${paint.grey(time)} ${colourOf(record, paint)(text)}`;
}

/** A log sink that keeps the last `size` records as coloured lines, for the screen. */
export function recentLines(size: number, paint: Paint): Sink & { lines(): readonly string[] } {
  return sharedRecentLines(
    size,
    (record) => forPeople(record) ? recordLine(record, paint) : undefined,
  );
}

/**
 * File mode on a terminal: log records scroll up as coloured lines while the bottom line shows
 * the current conversation, redrawn in place every second.
 */
export class LiveLine {
  readonly #handle: () => DriverHandle | undefined;
  readonly #paint: Paint;
  readonly #lang: Lang;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** `handle` gives the driver once it is started (records may come before). */
  constructor(handle: () => DriverHandle | undefined, paint: Paint, lang: Lang = DEFAULT_LANG) {
    this.#handle = handle;
    this.#paint = paint;
    this.#lang = lang;
  }

  /** The sink that prints records above the live line. */
  readonly sink: Sink = (record) => {
    if (!forPeople(record)) return;
    writeScreen(`${CLEAR_LINE}${recordLine(record, this.#paint)}\n`);
    this.redraw();
  };

  /** Starts redrawing every second. */
  open(): void {
    this.#timer = setInterval(() => this.redraw(), 1000);
  }

  /** Redraws the live line now. */
  redraw(): void {
    const handle = this.#handle();
    if (handle === undefined || this.#timer === undefined) return;
    writeScreen(
      `${CLEAR_LINE}${statusLine(handle.state(), Date.now(), this.#paint, this.#lang)}`,
    );
  }

  /** Clears the live line and stops redrawing. */
  close(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    writeScreen(CLEAR_LINE);
  }
}

/** The screen's hold on the terminal: a long line (a CP list entry) is cut, not wrapped. */
const SCREEN: ScreenOptions = { noWrap: true };

/**
 * The interactive screen on the terminal's alternate screen: redrawn every second and on
 * {@link Screen.update}; typed characters edit the command line, Enter runs it.
 */
export class Screen {
  readonly #view: (input: string) => ScreenView;
  readonly #render: (view: ScreenView) => string[];
  readonly #onCommand: (command: Command) => void;
  #input = "";
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopKeys: (() => void) | undefined;

  /**
   * `view` gives what to show for the line being typed, `render` turns it into lines, and
   * `onCommand` runs each command typed (parsed against the CP list on screen).
   */
  constructor(
    view: (input: string) => ScreenView,
    render: (view: ScreenView) => string[],
    onCommand: (command: Command) => void,
  ) {
    this.#view = view;
    this.#render = render;
    this.#onCommand = onCommand;
  }

  /** Takes the terminal: alternate screen, no cursor, no line wrap, keys one by one. */
  open(): void {
    writeScreen(enterScreen(SCREEN));
    this.#timer = setInterval(() => this.update(), 1000);
    this.#stopKeys = readKeys((key) => this.#key(key));
    this.update();
  }

  /** Redraws now (does nothing once closed). */
  update(): void {
    if (this.#timer === undefined) return;
    writeScreen(redrawFrame(this.#render(this.#view(this.#input))));
  }

  /** Gives the terminal back as it was. */
  close(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#stopKeys?.();
    writeScreen(leaveScreen(SCREEN));
  }

  #key(key: string): void {
    if (key === "\r" || key === "\n") {
      const line = this.#input;
      this.#input = "";
      const view = this.#view(line);
      this.#onCommand(parseCommand(line, view.state.cpList?.cps ?? [], view.lang));
    } else if (key === "\x7f" || key === "\b") {
      this.#input = this.#input.slice(0, -1);
    } else if (key === "\x15") { // Ctrl-U
      this.#input = "";
    } else if (key >= " " && this.#input.length < 80) {
      this.#input += key;
    }
    this.update();
  }
}

/**
 * Calls `onLine` with each line read from standard input (a pipe or a file), until it ends.
 * The end of input is not a quit: a driver given no more commands still waits for its tickets.
 */
export async function readLines(onLine: (line: string) => void): Promise<void> {
  let pending = "";
  try {
    for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
      const lines = (pending + chunk).split(/\r?\n/);
      pending = lines.pop()!;
      lines.forEach(onLine);
    }
  } catch {
    return; // stdin closed at shutdown
  }
  if (pending !== "") onLine(pending);
}
