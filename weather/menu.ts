/**
 * The terminal menu of the weather office, used when standard input and output are a terminal:
 * a status table redrawn in place after every round, the latest log lines under it, and one-key
 * commands (add, change, remove, set a simulated temperature, list, quit) that ask their
 * questions on a line of their own.
 *
 * {@link renderScreen} is pure (snapshot in, text out) and tested; {@link runMenu} is the thin
 * terminal edge around it.
 *
 * @module
 */
import { DEFAULT_LANG, formats, type Lang } from "../shared/i18n.ts";
import type { LogRecord, Sink } from "../shared/log.ts";
import {
  CLEAR_SCREEN,
  colours,
  enterScreen,
  leaveScreen,
  noColorRequested,
  paintFor,
  type ScreenOptions,
} from "../shared/terminal.ts";
import { MANUAL_TEMPERATURE_RANGE, type OfficeSnapshot } from "./api.ts";
import type { WeatherOffice } from "./office.ts";
import { oneLine } from "./http_util.ts";
import { LocationsFileError } from "./locations.ts";
import { weatherSay, type WeatherTextKey } from "./words.ts";

/** Log lines kept under the table. */
export const PANEL_LINES = 8;

/** The menu's hold on the terminal: the cursor stays, for the questions it asks. */
const SCREEN: ScreenOptions = { hideCursor: false };

/** Options of {@link renderScreen}. */
export interface RenderOptions {
  /** ANSI colours (a real terminal) or plain text. */
  readonly color: boolean;
  /** Latest log lines, oldest first. */
  readonly messages?: readonly string[];
  /** Language of the texts and numbers (default English). */
  readonly lang?: Lang;
}

/**
 * The whole screen: a header (provider, threshold, Central), the table of CPs with the city,
 * the temperature (blue below the threshold), the weather state, what Central holds and any
 * problem, then the commands and the latest messages.
 */
export function renderScreen(snapshot: OfficeSnapshot, options: RenderOptions): string {
  const paint = paintFor(options.color);
  const lang = options.lang ?? DEFAULT_LANG;
  const t = (key: WeatherTextKey, params?: Record<string, string | number>) =>
    weatherSay(lang, key, params);
  const f = formats(lang);
  const provider = snapshot.provider === "simulated" ? paint.yellow(t("simulated")) : "OpenWeather";
  const central = snapshot.central.reachable === false
    ? paint.red(t("notAnswering", { detail: snapshot.central.lastError ?? t("noDetail") }))
    : snapshot.central.reachable
    ? paint.green(t("answering"))
    : t("notContacted");
  const lines = [
    paint.bold(t("title")),
    t("providerLine", { provider, threshold: f.celsius(snapshot.thresholdC) }),
    t("centralLine", { url: snapshot.central.url, state: central }),
  ];
  if (snapshot.locationsProblem !== undefined) {
    lines.push(paint.red(t("locationsFile", { problem: snapshot.locationsProblem })));
  }
  lines.push("");

  const header = [t("cp"), t("city"), "°C", t("state"), t("central"), t("note")];
  const rows = snapshot.rows.map((row) => {
    const note = row.knownToCentral === false
      ? t("unknownToCentral")
      : row.lastError !== undefined
      ? `${row.lastError.kind}: ${oneLine(row.lastError.detail)}`
      : "";
    return {
      cells: [
        row.cpId,
        row.city,
        row.temperature === undefined ? "—" : f.number(row.temperature, 1),
        t(row.state),
        row.centralState === undefined ? "—" : t(row.centralState),
        note,
      ],
      state: row.state,
      cold: row.temperature !== undefined && row.temperature < snapshot.thresholdC,
      warn: note !== "",
    };
  });
  const widths = header.map((title, i) =>
    Math.min(30, Math.max(title.length, ...rows.map((r) => r.cells[i].length)))
  );
  const fit = (text: string, i: number) =>
    i === header.length - 1
      ? text
      : (text.length > widths[i] ? `${text.slice(0, widths[i] - 1)}…` : text).padEnd(widths[i]);
  lines.push(paint.bold(header.map(fit).join("  ").trimEnd()));
  if (rows.length === 0) lines.push(paint.dim(t("noCps")));
  for (const row of rows) {
    const cells = row.cells.map(fit);
    if (row.cold) cells[2] = paint.blue(cells[2]);
    const state = row.state;
    cells[3] = paint[state === "alert" ? "red" : state === "clear" ? "green" : "dim"](cells[3]);
    if (row.warn) cells[5] = paint.yellow(cells[5]);
    lines.push(cells.join("  ").trimEnd());
  }
  lines.push(
    "",
    t("keys"),
    "",
    ...(options.messages ?? []),
  );
  return `${lines.join("\n")}\n`;
}

/**
 * A temperature typed at the prompt: a number in °C, `null` for an empty line (let the city
 * drift again), `undefined` for anything else.
 */
export function parseTemperatureInput(text: string): number | null | undefined {
  const trimmed = text.trim().replace(",", ".");
  if (trimmed === "") return null;
  if (!/^-?\d+(\.\d+)?$/.test(trimmed)) return undefined;
  return Number(trimmed);
}

/** One log record as a panel line: time, level, message. */
export function formatLogLine(record: LogRecord, color: boolean): string {
  const time = new Date(record.timestamp).toISOString().slice(11, 19);
  const text = record.message.map((part, i) =>
    i % 2 === 0 ? String(part) : typeof part === "string" ? part : JSON.stringify(part)
  ).join("");
  const line = `${time} ${record.level.padEnd(7)} ${oneLine(text)}`;
  if (!color) return line;
  if (record.level === "error" || record.level === "fatal") return colours.red(line);
  return record.level === "warning" ? colours.yellow(line) : line;
}

/** A log sink feeding the menu's panel (pass it to `setupLogging({extraSinks})`). */
export function panelSink(): Sink & { lines: string[]; onRecord?: () => void } {
  const lines: string[] = [];
  const sink = Object.assign((record: LogRecord) => {
    lines.push(formatLogLine(record, !noColorRequested()));
    if (lines.length > PANEL_LINES) lines.splice(0, lines.length - PANEL_LINES);
    sink.onRecord?.();
  }, { lines, onRecord: undefined as (() => void) | undefined });
  return sink;
}

/** Keys and lines from a terminal's standard input. */
class TerminalInput {
  readonly #reader = Deno.stdin.readable.getReader();
  readonly #decoder = new TextDecoder();
  #pending = "";

  /** One key press (raw mode); `undefined` when input ends. */
  async key(): Promise<string | undefined> {
    Deno.stdin.setRaw(true);
    if (this.#pending === "") {
      const chunk = await this.#reader.read();
      if (chunk.done) return undefined;
      this.#pending = this.#decoder.decode(chunk.value);
    }
    // A key press arrives whole (an arrow key is one escape sequence): take it all.
    const key = this.#pending;
    this.#pending = "";
    return key;
  }

  /** One line, echoed and editable by the terminal (cooked mode); `undefined` when input ends. */
  async line(prompt: string): Promise<string | undefined> {
    Deno.stdin.setRaw(false);
    await Deno.stdout.write(new TextEncoder().encode(prompt));
    while (!this.#pending.includes("\n")) {
      const chunk = await this.#reader.read();
      if (chunk.done) return undefined;
      this.#pending += this.#decoder.decode(chunk.value);
    }
    const end = this.#pending.indexOf("\n");
    const line = this.#pending.slice(0, end).replace(/\r$/, "");
    this.#pending = this.#pending.slice(end + 1);
    return line;
  }

  /** Gives the terminal back in its normal mode. */
  release(): void {
    Deno.stdin.setRaw(false);
    this.#reader.releaseLock();
  }
}

/**
 * Runs the menu until the operator quits (q, Ctrl-C, end of input); then resolves. The caller
 * stops the office. `panel` is the sink the process's logging feeds.
 */
export async function runMenu(
  office: WeatherOffice,
  panel: ReturnType<typeof panelSink>,
  lang: Lang = DEFAULT_LANG,
): Promise<void> {
  const t = (key: WeatherTextKey, params?: Record<string, string | number>) =>
    weatherSay(lang, key, params);
  const encoder = new TextEncoder();
  // The menu runs only on a terminal: colours unless NO_COLOR is set.
  const color = !noColorRequested();
  const input = new TerminalInput();
  let prompting = false;
  let pendingRedraw: ReturnType<typeof setTimeout> | undefined;

  const draw = () => {
    if (prompting) return;
    // Home and clear, then the screen: the table is redrawn in place, not scrolled.
    const screen = renderScreen(office.snapshot(), { color, messages: panel.lines, lang });
    Deno.stdout.writeSync(encoder.encode(`${CLEAR_SCREEN}${screen}`));
  };
  const redrawSoon = () => {
    clearTimeout(pendingRedraw);
    pendingRedraw = setTimeout(draw, 50);
  };
  const say = (message: string) => {
    panel.lines.push(oneLine(message));
    if (panel.lines.length > PANEL_LINES) panel.lines.splice(0, panel.lines.length - PANEL_LINES);
  };

  const ask = async (question: string): Promise<string | undefined> => {
    const answer = await input.line(question);
    return answer?.trim();
  };

  /** Runs a change and reports its result or its refusal in the panel. */
  const attempt = async (change: () => Promise<string>) => {
    try {
      say(await change());
    } catch (error) {
      if (error instanceof LocationsFileError || error instanceof RangeError) {
        say(t("refused", { detail: error.message }));
      } else throw error;
    }
  };

  const commands = menuCommands({ office, lang, t, ask, say, attempt });

  const unsubscribe = office.subscribe(redrawSoon);
  panel.onRecord = redrawSoon;
  // The alternate screen: the operator's shell comes back intact when the menu ends.
  Deno.stdout.writeSync(encoder.encode(enterScreen(SCREEN)));
  try {
    for (;;) {
      draw();
      const key = await input.key();
      if (key === undefined || key === "q" || key === "\x03" || key === "\x04") return;
      const command = commands[key.toLowerCase()];
      if (command === undefined) continue;
      prompting = true;
      try {
        await command();
      } finally {
        prompting = false;
      }
    }
  } finally {
    unsubscribe();
    panel.onRecord = undefined;
    clearTimeout(pendingRedraw);
    input.release();
    restoreTerminal();
  }
}

/** Leaves raw mode and the alternate screen: for a stop (a signal) in the middle of the menu. */
export function restoreTerminal(): void {
  Deno.stdin.setRaw(false);
  Deno.stdout.writeSync(new TextEncoder().encode(leaveScreen(SCREEN)));
}

/** What the menu's commands use: the office, the words, a question, the panel. */
interface MenuIo {
  readonly office: WeatherOffice;
  readonly lang: Lang;
  readonly t: (key: WeatherTextKey, params?: Record<string, string | number>) => string;
  readonly ask: (question: string) => Promise<string | undefined>;
  readonly say: (message: string) => void;
  /** Runs a change and reports its result or its refusal in the panel. */
  readonly attempt: (change: () => Promise<string>) => Promise<void>;
}

/** The menu's commands by key: add, change, remove a CP; a manual temperature; the list. */
function menuCommands(io: MenuIo): Record<string, () => Promise<void>> {
  const { office, lang, t, ask, say, attempt } = io;
  /** Asks for a CP and its city: one not watched yet (add), or one watched already (change). */
  const setCity =
    (watched: boolean, texts: Record<"cp" | "refused" | "city", WeatherTextKey>) => async () => {
      const cpId = await ask(t(texts.cp));
      if (!cpId) return;
      if (office.snapshot().rows.some((r) => r.cpId === cpId) !== watched) {
        return say(t(texts.refused, { cp: cpId }));
      }
      const city = await ask(t(texts.city, { cp: cpId }));
      if (!city) return;
      await attempt(async () => `${cpId}: ${await office.setLocation(cpId, city)} (${city})`);
    };
  return {
    a: setCity(false, { cp: "askAdd", refused: "alreadyWatched", city: "askCity" }),
    c: setCity(true, { cp: "askChange", refused: "notWatched", city: "askNewCity" }),
    r: async () => {
      const cpId = await ask(t("askRemove"));
      if (!cpId) return;
      await attempt(async () => {
        const city = await office.removeLocation(cpId);
        return city === undefined
          ? t("notWatched", { cp: cpId })
          : t("removed", { cp: cpId, city });
      });
    },
    t: async () => {
      const simulated = office.simulated;
      if (simulated === undefined) {
        return say(t("manualOnlySimulated"));
      }
      const city = await ask(t("askCityOnly"));
      if (!city) return;
      const answer = await ask(t("askTemperature", { city }));
      if (answer === undefined) return;
      const temperature = parseTemperatureInput(answer);
      const { min, max } = MANUAL_TEMPERATURE_RANGE;
      if (temperature === undefined) return say(t("notTemperature", { text: answer }));
      if (temperature !== null && (temperature < min || temperature > max)) {
        return say(t("range", { min, max }));
      }
      if (temperature === null) {
        say(t(simulated.clearTemperature(city) ? "drifts" : "noManual", { city }));
      } else {
        simulated.setTemperature(city, temperature);
        say(t("held", { city, temperature: formats(lang).celsius(temperature) }));
      }
      office.poke();
    },
    l: () => Promise.resolve(), // the table is the list: the loop redraws it
  };
}
