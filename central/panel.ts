/**
 * Central's terminal panel, the pure part: {@link panelView} picks what to show from the model,
 * {@link renderPanel} turns it into one frame of text that redraws the screen in place (cursor
 * home, each line cleared to its end, the rest of the screen cleared: no scrolling), and
 * {@link parseCommand} reads the operator's commands. central/tui.ts is the terminal edge.
 *
 * State colours follow ARCHITECTURE §CP states: green ACTIVATED and SUPPLYING (with driver, kW, kWh, € live),
 * orange "Out of Order" with its reason for STOPPED, red BROKEN, grey DISCONNECTED.
 *
 * @module
 */
import type { CpState, StopReason } from "../shared/messages.ts";
import { paintFor, redrawFrame, type Style } from "../shared/terminal.ts";
import type { Model, RequestRecord, SecurityStatus } from "./core.ts";

/** One CP row. */
export interface PanelCp {
  /** CP id. */
  readonly id: string;
  /** Location. */
  readonly location: string;
  /** €/kWh. */
  readonly priceEurKwh: number;
  /** State. */
  readonly state: CpState;
  /** Hold reason, shown with STOPPED. */
  readonly stopReason: StopReason | null;
  /** Whether the Registry deregistered it (shown instead of its state). */
  readonly deregistered: boolean;
  /** Driver of the open session. */
  readonly driverId: string | null;
  /** Live figures of the open session. */
  readonly kw: number | null;
  /** Energy so far. */
  readonly kwh: number | null;
  /** Amount so far. */
  readonly eur: number | null;
}

/** A system message (a log record, for example). */
export interface PanelMessage {
  /** When (ISO). */
  readonly at: string;
  /** `debug`, `info`, `warning`, `error`, … */
  readonly level: string;
  /** The text. */
  readonly text: string;
}

/** Everything one frame shows. */
export interface PanelView {
  /** The clock in the title. */
  readonly now: Date;
  /** Every CP, by id. */
  readonly cps: readonly PanelCp[];
  /** Latest answered requests, newest first. */
  readonly requests: readonly RequestRecord[];
  /** Latest system messages, newest first. */
  readonly messages: readonly PanelMessage[];
  /** The command being typed. */
  readonly input: string;
  /** What the last command did (or why it failed). */
  readonly feedback: string;
}

/** Terminal size and whether to use colours. */
export interface RenderOptions {
  /** Columns. */
  readonly width: number;
  /** Rows. */
  readonly height: number;
  /** ANSI colours on. */
  readonly color: boolean;
}

/** A command typed at the panel. */
export type PanelCommand =
  | { readonly type: "stop"; readonly cpId?: string }
  | { readonly type: "resume"; readonly cpId?: string }
  /** Rotate (the CP logs in again at once) or revoke the CP's keys. */
  | { readonly type: "rotate" | "revoke"; readonly cpId: string }
  /** Set the CP's security status. */
  | { readonly type: "security"; readonly cpId: string; readonly status: SecurityStatus }
  | { readonly type: "quit" };

/** The commands, for the help line. */
export const PANEL_HELP = "s <id> stop · r <id> resume · S stop all · R resume all · " +
  "rotate/revoke <id> keys · oos/activate/ban <id> security · q quit";

/** Security verbs of the panel and the status each sets (`ban`: REVOKED, for good). */
const SECURITY_VERBS: Readonly<Record<string, SecurityStatus>> = {
  oos: "OUT_OF_SERVICE",
  activate: "ACTIVE",
  ban: "REVOKED",
};

const STATE_COLOR: Record<CpState, Style> = {
  ACTIVATED: "green",
  SUPPLYING: "green",
  STOPPED: "orange",
  BROKEN: "red",
  DISCONNECTED: "grey",
};

/** The view of `model` plus the panel's own lists. */
export function panelView(
  model: Model,
  extra: Omit<PanelView, "cps">,
): PanelView {
  const cps = [...model.cps.values()]
    .sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    .map((cp): PanelCp => {
      const session = cp.status.sessionId === null
        ? undefined
        : model.sessions.get(cp.status.sessionId);
      return {
        id: cp.id,
        location: cp.location,
        priceEurKwh: cp.priceEurKwh,
        state: cp.status.state,
        stopReason: cp.status.stopReason,
        deregistered: cp.securityInfo.deregisteredAt !== null,
        driverId: session?.driverId ?? null,
        kw: session?.kw ?? null,
        kwh: session?.kwh ?? null,
        eur: session?.eur ?? null,
      };
    });
  return { cps, ...extra };
}

/**
 * What the STATE column says: DEREGISTERED for a CP the Registry deregistered, "Out of Order
 * (reason)" for STOPPED, else the state.
 */
export function stateLabel(
  cp: Pick<PanelCp, "state" | "stopReason"> & Partial<Pick<PanelCp, "deregistered">>,
): string {
  if (cp.deregistered) return "DEREGISTERED";
  return cp.state === "STOPPED" ? `Out of Order (${cp.stopReason ?? "admin"})` : cp.state;
}

// Fixed column widths; the location takes what is left (between 8 and 32).
const COLUMNS = { id: 12, price: 6, state: 22, driver: 10, kw: 6, kwh: 8, eur: 8 } as const;
const FIXED = Object.values(COLUMNS).reduce((a, b) => a + b, 0) + 7; // 7 separating spaces

/**
 * Renders one frame: cursor home, every line followed by "clear to end of line", then "clear
 * to end of screen", so redrawing never scrolls and leaves nothing behind. Lines are cut to
 * `width` and the whole frame to `height`.
 */
export function renderPanel(view: PanelView, options: RenderOptions): string {
  const { width, color } = options;
  const height = Math.max(options.height, 12);
  const paint = paintFor(color);
  const line = (text: string, c?: Style) => {
    const cut = fit(text, width);
    return c ? paint[c](cut) : cut;
  };

  const supplying = view.cps.filter((cp) => cp.state === "SUPPLYING").length;
  const connected = view.cps.filter((cp) => cp.state !== "DISCONNECTED").length;
  const title = `EVCharging Central   ${clock(view.now)}   ${view.cps.length} CPs · ` +
    `${connected} connected · ${supplying} supplying`;

  const requestRows = Math.min(view.requests.length, 5);
  const messageRows = Math.min(view.messages.length, 6);
  // title, blank, header, blank, "Recent requests", blank, "Messages", prompt, help
  const cpRows = Math.max(1, height - 9 - Math.max(requestRows, 1) - Math.max(messageRows, 1));

  const locationWidth = Math.min(32, Math.max(8, width - FIXED));
  const row = (cells: string[]) => cells.join(" ");
  const header = row([
    pad("ID", COLUMNS.id),
    pad("LOCATION", locationWidth),
    padLeft("€/kWh", COLUMNS.price),
    pad("STATE", COLUMNS.state),
    pad("DRIVER", COLUMNS.driver),
    padLeft("kW", COLUMNS.kw),
    padLeft("kWh", COLUMNS.kwh),
    padLeft("€", COLUMNS.eur),
  ]);

  const lines: string[] = [line(title, "bold"), "", line(header, "dim")];
  if (view.cps.length === 0) lines.push(line("(no CP has logged in yet)", "grey"));
  const shown = view.cps.length > cpRows ? view.cps.slice(0, cpRows - 1) : view.cps;
  for (const cp of shown) {
    const before = row([
      pad(cp.id, COLUMNS.id),
      pad(cp.location, locationWidth),
      padLeft(cp.priceEurKwh.toFixed(2), COLUMNS.price),
    ]) + " ";
    const state = pad(stateLabel(cp), COLUMNS.state);
    const after = " " + row([
      pad(cp.driverId ?? "", COLUMNS.driver),
      padLeft(cp.kw === null ? "" : cp.kw.toFixed(1), COLUMNS.kw),
      padLeft(cp.kwh === null ? "" : cp.kwh.toFixed(3), COLUMNS.kwh),
      padLeft(cp.eur === null ? "" : cp.eur.toFixed(2), COLUMNS.eur),
    ]);
    // Cut before colouring, so the escape codes never count against the width.
    const visible = fit(before + state + after, width);
    const stateCut = visible.slice(before.length, before.length + state.length);
    lines.push(
      visible.slice(0, before.length) + paint[STATE_COLOR[cp.state]](stateCut) +
        visible.slice(before.length + state.length),
    );
  }
  if (shown.length < view.cps.length) {
    lines.push(line(`… and ${view.cps.length - shown.length} more`, "grey"));
  }

  lines.push("", line("Recent requests", "bold"));
  if (requestRows === 0) lines.push(line("(none yet)", "grey"));
  for (const r of view.requests.slice(0, requestRows)) {
    const answer = r.outcome === "DENIED" ? `DENIED ${r.reason ?? ""}` : r.outcome;
    const text = `${clock(new Date(r.at))} ${r.driverId} → ${r.cpId ?? "list"} ${answer}`;
    lines.push(line(text, r.outcome === "DENIED" ? "yellow" : undefined));
  }

  lines.push("", line("Messages", "bold"));
  if (messageRows === 0) lines.push(line("(none yet)", "grey"));
  for (const m of view.messages.slice(0, messageRows)) {
    const level = m.level === "warning" || m.level === "error" || m.level === "fatal"
      ? m.level.toUpperCase() + " "
      : "";
    const c: Style | undefined = level === ""
      ? undefined
      : m.level === "warning"
      ? "yellow"
      : "red";
    lines.push(line(`${clock(new Date(m.at))} ${level}${m.text}`, c));
  }

  const feedback = view.feedback === "" ? "" : `   ${view.feedback}`;
  lines.push(line(`> ${view.input}${feedback}`), line(PANEL_HELP, "dim"));

  return redrawFrame(lines.slice(0, height));
}

/**
 * Reads a command line: `s <id>` / `stop <id>`, `r <id>` / `resume <id>`, `S` / `stop all`,
 * `R` / `resume all`, `rotate <id>`, `revoke <id>`, `oos <id>`, `activate <id>`, `ban <id>`,
 * `q` / `quit`.
 */
export function parseCommand(input: string): PanelCommand | { readonly error: string } {
  const words = input.trim().split(/\s+/).filter((w) => w !== "");
  if (words.length === 0) return { error: "" };
  const [verb, arg, ...rest] = words;
  if (rest.length > 0) return { error: `too many words: ${PANEL_HELP}` };
  if (verb === "q" || verb === "quit") return arg === undefined ? { type: "quit" } : bad();
  if (verb === "S" || verb === "R") {
    return arg === undefined ? { type: verb === "S" ? "stop" : "resume" } : bad();
  }
  if (verb === "rotate" || verb === "revoke" || Object.hasOwn(SECURITY_VERBS, verb)) {
    // One CP at a time: these are not undone by a resume.
    if (arg === undefined || arg === "all") {
      return { error: `${verb} which CP? e.g. ${verb} CP-001` };
    }
    return verb === "rotate" || verb === "revoke"
      ? { type: verb, cpId: arg }
      : { type: "security", cpId: arg, status: SECURITY_VERBS[verb] };
  }
  const type = verb === "s" || verb === "stop"
    ? "stop"
    : verb === "r" || verb === "resume"
    ? "resume"
    : undefined;
  if (type === undefined) return bad();
  if (arg === undefined) return { error: `${type} which CP? e.g. ${verb} CP-001` };
  return arg === "all" ? { type } : { type, cpId: arg };

  function bad() {
    return { error: `unknown command: ${PANEL_HELP}` };
  }
}

// deno-lint-ignore no-control-regex -- removing control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028-\u202e\u2066-\u2069]/g;

/** `text` without control characters, cut to `width` with an ellipsis. */
function fit(text: string, width: number): string {
  const clean = text.replace(UNSAFE, "?");
  return clean.length <= width ? clean : clean.slice(0, Math.max(0, width - 1)) + "…";
}

function pad(text: string, width: number): string {
  return fit(text, width).padEnd(width);
}

function padLeft(text: string, width: number): string {
  return fit(text, width).padStart(width);
}

/** `HH:MM:SS` in the local time zone: the operator's wall clock. */
export function clock(d: Date): string {
  return d.toTimeString().slice(0, 8);
}
