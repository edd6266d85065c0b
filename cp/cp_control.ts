/**
 * The pure part of `deno task cp` (cp/main.ts): the screen it shows while its engine is down
 * (the monitor lives on, reports the engine KO to Central, and its last log lines stay in view),
 * and how it reads its children's lines. Its keys are shared/cp_keys.ts.
 *
 * @module
 */

import { DEFAULT_LANG, type Lang } from "../shared/i18n.ts";
import { row } from "../shared/screen.ts";
import { packItems, type Paint } from "../shared/terminal.ts";
import { stateName } from "../shared/vocabulary.ts";
import { CP_TEXT, cpSay, type CpTextKey } from "./words.ts";
import { shownText } from "./terminal.ts";

/** The one-line key help of `deno task cp` in `lang`. */
export function cpKeysHelp(lang: Lang): string {
  return CP_TEXT[lang].cpKeys;
}

/** One child process as the screen shows it. */
export interface ChildView {
  /** Whether it runs. */
  readonly running: boolean;
  /** Its pid while it runs. */
  readonly pid?: number;
  /** How it ended last, e.g. `code 137 (SIGKILL)`, once it has. */
  readonly exit?: string;
  /** When it started (running) or ended (not running). */
  readonly since?: Date;
}

/** What {@link renderCpScreen} draws. */
export interface CpScreenView {
  /** The CP id. */
  readonly cpId: string;
  /** The engine process. */
  readonly engine: ChildView;
  /** The monitor process. */
  readonly monitor: ChildView;
  /** The monitor's last log lines, oldest first. */
  readonly monitorLines: readonly string[];
  /** Shown at the operator's `S` while the engine runs (its screen is paused): say how back. */
  readonly monitorView?: boolean;
}

/** ` at 12:00:01`: when a child started or ended (UTC, as the log lines show it). */
function clock(at: Date | undefined, lang: Lang): string {
  return at === undefined ? "" : cpSay(lang, "at", { time: at.toISOString().slice(11, 19) });
}

/**
 * The screen of `deno task cp` while its engine is down: the state of both children in colour
 * (red for a dead engine, since Central shows the CP BROKEN), the keys, and the monitor's last
 * lines.
 */
export function renderCpScreen(
  view: CpScreenView,
  paint: Paint,
  lang: Lang = DEFAULT_LANG,
): string[] {
  const t = (key: CpTextKey, params?: Record<string, string | number>) => cpSay(lang, key, params);
  const down = (key: "engineDown" | "monitorDown", child: ChildView) =>
    t(key, { exit: child.exit ?? "?", at: clock(child.since, lang) });
  const engine = view.engine.running
    ? paint.green(t("running", { pid: view.engine.pid ?? "?" }))
    : paint.red(down("engineDown", view.engine));
  const ko = paint.grey(t("reportsKo", { state: stateName("BROKEN", lang) }));
  const monitor = view.monitor.running
    ? paint.green(t("running", { pid: view.monitor.pid ?? "?" })) + (view.engine.running ? "" : ko)
    : paint.grey(down("monitorDown", view.monitor));
  return [
    paint.bold(t("cpTitle", { cp: view.cpId })),
    "",
    row(t("engine"), engine),
    row(t("monitor"), monitor),
    "",
    ...packItems(cpKeysHelp(lang)).map((l) => paint.grey(l)),
    ...(view.monitorView === true ? [paint.orange(t("monitorView"))] : []),
    "",
    paint.bold(t("monitorLog")),
    ...view.monitorLines.map((l) => paint.grey(`  ${l}`)),
  ];
}

/**
 * A child's JSON log line as `12:00:01 message` (UTC; the level named unless it is INFO), the
 * message in the operator's language when the record has it (cp/terminal.ts `SHOWN`), or
 * `undefined` when `line` is not a log record.
 */
export function logLineText(line: string): string | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const record = JSON.parse(line) as Record<string, unknown>;
    if (typeof record.message !== "string") return undefined;
    const time = typeof record["@timestamp"] === "string"
      ? record["@timestamp"].slice(11, 19)
      : "--:--:--";
    const level = typeof record.level === "string" && record.level !== "INFO"
      ? `${record.level} `
      : "";
    return `${time} ${level}${shownText(record.properties, record.message)}`;
  } catch {
    return undefined;
  }
}

/** `code 0`, `code 137 (SIGKILL)`: how a child ended. */
export function describeExit(status: Deno.CommandStatus): string {
  return `code ${status.code}${status.signal ? ` (${status.signal})` : ""}`;
}
