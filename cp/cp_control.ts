/**
 * The pure part of `deno task cp` (cp/main.ts): the screen it shows while its engine is down
 * (the monitor lives on, reports the engine KO to Central, and its last log lines stay in view),
 * and how it reads its children's lines. Its keys are shared/cp_keys.ts.
 *
 * @module
 */

import { row } from "../shared/screen.ts";
import type { Paint } from "../shared/terminal.ts";
import { CP_KEYS_HELP } from "../shared/cp_keys.ts";

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
}

/** `12:00:01`: a time of day (UTC), as the log lines show it. */
function clock(at: Date | undefined): string {
  return at === undefined ? "" : ` at ${at.toISOString().slice(11, 19)}`;
}

/**
 * The screen of `deno task cp` while its engine is down: the state of both children in colour
 * (red for a dead engine, since Central shows the CP BROKEN), the keys, and the monitor's last
 * lines.
 */
export function renderCpScreen(view: CpScreenView, paint: Paint): string[] {
  const engine = view.engine.running
    ? paint.green(`running (pid ${view.engine.pid})`)
    : paint.red(`DOWN: exited with ${view.engine.exit ?? "?"}${clock(view.engine.since)}`);
  const monitor = view.monitor.running
    ? paint.green(`running (pid ${view.monitor.pid})`) +
      (view.engine.running ? "" : paint.grey("  reports the engine KO: Central shows BROKEN"))
    : paint.grey(`down: exited with ${view.monitor.exit ?? "?"}${clock(view.monitor.since)}`);
  return [
    paint.bold(`EVCharging CP ${view.cpId}`),
    "",
    row("engine", engine),
    row("monitor", monitor),
    "",
    paint.grey(`  ${CP_KEYS_HELP}`),
    "",
    paint.bold("  monitor log"),
    ...view.monitorLines.map((l) => paint.grey(`  ${l}`)),
  ];
}

/**
 * A child's JSON log line as `12:00:01 message` (UTC; the level named unless it is INFO), or
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
    return `${time} ${level}${record.message}`;
  } catch {
    return undefined;
  }
}

/** `code 0`, `code 137 (SIGKILL)`: how a child ended. */
export function describeExit(status: Deno.CommandStatus): string {
  return `code ${status.code}${status.signal ? ` (${status.signal})` : ""}`;
}
