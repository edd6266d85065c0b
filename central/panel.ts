/**
 * Central's terminal panel, the pure part: {@link panelView} picks what to show from the model,
 * {@link renderPanel} turns it into one frame of text that redraws the screen in place (cursor
 * home, each line cleared to its end, the rest of the screen cleared: no scrolling), and
 * {@link parseCommand} reads the operator's commands. central/tui.ts is the terminal edge.
 *
 * State colours follow ARCHITECTURE §CP states: green ACTIVATED and SUPPLYING (with driver, kW, kWh, € live),
 * orange "Out of Order" with its reason for STOPPED, red BROKEN, grey DISCONNECTED. The words are
 * the shared vocabulary's (shared/vocabulary.ts), in English or Spanish (`--lang`), and numbers
 * and times are written the language's way (shared/i18n.ts).
 *
 * @module
 */
import { type Catalog, DEFAULT_LANG, formats, type Lang, translate } from "../shared/i18n.ts";
import type { CpState, StopReason } from "../shared/messages.ts";
import { paintFor, redrawFrame, type Style } from "../shared/terminal.ts";
import { denyReasonText, stateText } from "../shared/vocabulary.ts";
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
  /** The command being typed (or the reason a restore asks for). */
  readonly input: string;
  /** What the last command did (or why it failed). */
  readonly feedback: string;
  /** The label before the input while the panel asks for something (default `>`). */
  readonly prompt?: string | null;
  /** A secret to show this once, on lines of its own (a restore's new credentials). */
  readonly shownOnce?: string | null;
}

/** Terminal size and whether to use colours. */
export interface RenderOptions {
  /** Columns. */
  readonly width: number;
  /** Rows. */
  readonly height: number;
  /** ANSI colours on. */
  readonly color: boolean;
  /** Language of the words and numbers (default English). */
  readonly lang?: Lang;
}

/** A command typed at the panel. */
export type PanelCommand =
  | { readonly type: "stop"; readonly cpId?: string }
  | { readonly type: "resume"; readonly cpId?: string }
  /** Rotate (the CP logs in again at once) or revoke the CP's keys. */
  | { readonly type: "rotate" | "revoke"; readonly cpId: string }
  /** Set the CP's security status. */
  | { readonly type: "security"; readonly cpId: string; readonly status: SecurityStatus }
  /** Restore a REVOKED CP with new credentials (the panel asks for a reason first). */
  | { readonly type: "restore"; readonly cpId: string }
  | { readonly type: "quit" };

/** The panel's fixed texts in both languages. */
export const PANEL_TEXT: Catalog<
  | "title"
  | "summary"
  | "id"
  | "location"
  | "state"
  | "driver"
  | "noCps"
  | "more"
  | "requests"
  | "messages"
  | "none"
  | "list"
  | "AUTHORIZED"
  | "DENIED"
  | "CP_LIST"
  | "CANCELLED"
  | "help"
  | "unknown"
  | "tooMany"
  | "which"
  | "noCp"
  | "done"
  | "all"
> = {
  en: {
    title: "EVCharging Central",
    summary: "{cps} CPs · {connected} connected · {supplying} supplying",
    id: "ID",
    location: "LOCATION",
    state: "STATE",
    driver: "DRIVER",
    noCps: "(no CP has logged in yet)",
    more: "… and {n} more",
    requests: "Recent requests",
    messages: "Messages",
    none: "(none yet)",
    list: "list",
    AUTHORIZED: "AUTHORIZED",
    DENIED: "DENIED",
    CP_LIST: "CP LIST",
    CANCELLED: "CANCELLED",
    help: "s <id> stop · r <id> resume · S stop all · R resume all · " +
      "rotate/revoke <id> keys · oos/activate/ban <id> security · restore <id> · Tab audit · " +
      "q quit",
    unknown: "unknown command: {help}",
    tooMany: "too many words: {help}",
    which: "{verb} which CP? e.g. {verb} CP-001",
    noCp: "no CP {id}",
    done: "{command} {id}: {state}, security {security}",
    all: "all",
  },
  es: {
    title: "EVCharging Central",
    summary: "{cps} puntos · {connected} conectados · {supplying} suministrando",
    id: "ID",
    location: "UBICACIÓN",
    state: "ESTADO",
    driver: "CONDUCTOR",
    noCps: "(aún no se ha conectado ningún punto)",
    more: "… y {n} más",
    requests: "Peticiones recientes",
    messages: "Mensajes",
    none: "(ninguno aún)",
    list: "lista",
    AUTHORIZED: "AUTORIZADO",
    DENIED: "DENEGADO",
    CP_LIST: "LISTA DE PUNTOS",
    CANCELLED: "CANCELADA",
    help: "s <id> parar · r <id> reanudar · S parar todos · R reanudar todos · " +
      "rotate/revoke <id> claves · oos/activate/ban <id> seguridad · restore <id> restaurar · " +
      "Tab auditoría · q salir",
    unknown: "orden desconocida: {help}",
    tooMany: "demasiadas palabras: {help}",
    which: "¿{verb} qué punto? p. ej. {verb} CP-001",
    noCp: "no existe el punto {id}",
    done: "{command} {id}: {state}, seguridad {security}",
    all: "todos",
  },
};

/** The commands, for the help line (English). */
export const PANEL_HELP = PANEL_TEXT.en.help;

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

// Fixed column widths; the state and the location share what is left (state 22–42, location
// 8–32), so a wide terminal shows a stopped CP's label too.
const COLUMNS = { id: 12, price: 6, driver: 10, kw: 6, kwh: 8, eur: 8 } as const;
const FIXED = Object.values(COLUMNS).reduce((a, b) => a + b, 0) + 7; // 7 separating spaces
const clamp = (n: number, min: number, max: number) => Math.min(max, Math.max(min, n));

/**
 * Renders one frame: cursor home, every line followed by "clear to end of line", then "clear
 * to end of screen", so redrawing never scrolls and leaves nothing behind. Lines are cut to
 * `width` and the whole frame to `height`.
 */
export function renderPanel(view: PanelView, options: RenderOptions): string {
  const { width, color } = options;
  const lang = options.lang ?? DEFAULT_LANG;
  const t = (key: keyof typeof PANEL_TEXT.en, params?: Record<string, string | number>) =>
    translate(PANEL_TEXT, lang, key, params);
  const f = formats(lang);
  const height = Math.max(options.height, 12);
  const paint = paintFor(color);
  const line = (text: string, c?: Style) => {
    const cut = fit(text, width);
    return c ? paint[c](cut) : cut;
  };

  const supplying = view.cps.filter((cp) => cp.state === "SUPPLYING").length;
  const connected = view.cps.filter((cp) => cp.state !== "DISCONNECTED").length;
  const title = `${t("title")}   ${f.time(view.now)}   ` +
    t("summary", { cps: view.cps.length, connected, supplying });

  const requestRows = Math.min(view.requests.length, 5);
  const messageRows = Math.min(view.messages.length, 6);
  // title, blank, header, blank, "Recent requests", blank, "Messages", prompt, help
  const cpRows = Math.max(1, height - 9 - Math.max(requestRows, 1) - Math.max(messageRows, 1));

  const stateWidth = clamp(width - FIXED - 20, 22, 42);
  const locationWidth = clamp(width - FIXED - stateWidth, 8, 32);
  const stateOf = (cp: PanelCp) => {
    const full = stateText(cp, lang);
    return full.length <= stateWidth ? full : stateText(cp, lang, true);
  };
  const row = (cells: string[]) => cells.join(" ");
  const header = row([
    pad(t("id"), COLUMNS.id),
    pad(t("location"), locationWidth),
    padLeft("€/kWh", COLUMNS.price),
    pad(t("state"), stateWidth),
    pad(t("driver"), COLUMNS.driver),
    padLeft("kW", COLUMNS.kw),
    padLeft("kWh", COLUMNS.kwh),
    padLeft("€", COLUMNS.eur),
  ]);

  const lines: string[] = [line(title, "bold"), "", line(header, "dim")];
  if (view.cps.length === 0) lines.push(line(t("noCps"), "grey"));
  const shown = view.cps.length > cpRows ? view.cps.slice(0, cpRows - 1) : view.cps;
  for (const cp of shown) {
    const before = row([
      pad(cp.id, COLUMNS.id),
      pad(cp.location, locationWidth),
      padLeft(f.number(cp.priceEurKwh, 2), COLUMNS.price),
    ]) + " ";
    const state = pad(stateOf(cp), stateWidth);
    const after = " " + row([
      pad(cp.driverId ?? "", COLUMNS.driver),
      padLeft(cp.kw === null ? "" : f.number(cp.kw, 1), COLUMNS.kw),
      padLeft(cp.kwh === null ? "" : f.number(cp.kwh, 3), COLUMNS.kwh),
      padLeft(cp.eur === null ? "" : f.number(cp.eur, 2), COLUMNS.eur),
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
    lines.push(line(t("more", { n: view.cps.length - shown.length }), "grey"));
  }

  lines.push("", line(t("requests"), "bold"));
  if (requestRows === 0) lines.push(line(t("none"), "grey"));
  for (const r of view.requests.slice(0, requestRows)) {
    const answer = r.outcome === "DENIED" && r.reason !== null
      ? `${t("DENIED")} ${denyReasonText(r.reason, lang)}`
      : t(r.outcome);
    const text = `${f.time(new Date(r.at))} ${r.driverId} → ${r.cpId ?? t("list")} ${answer}`;
    lines.push(line(text, r.outcome === "DENIED" ? "yellow" : undefined));
  }

  lines.push("", line(t("messages"), "bold"));
  if (messageRows === 0) lines.push(line(t("none"), "grey"));
  for (const m of view.messages.slice(0, messageRows)) {
    const level = m.level === "warning" || m.level === "error" || m.level === "fatal"
      ? m.level.toUpperCase() + " "
      : "";
    const c: Style | undefined = level === ""
      ? undefined
      : m.level === "warning"
      ? "yellow"
      : "red";
    lines.push(line(`${f.time(new Date(m.at))} ${level}${m.text}`, c));
  }

  const feedback = view.feedback === "" ? "" : `   ${view.feedback}`;
  const tail = [line(`${view.prompt ?? ">"} ${view.input}${feedback}`)];
  // A secret is cut into lines, never cut off (the operator copies it from the screen), and the
  // prompt, the secret and the help are kept whole when the frame is cut to the height.
  const secret = view.shownOnce ?? "";
  const step = Math.max(1, width);
  for (let i = 0; i < secret.length; i += step) tail.push(line(secret.slice(i, i + step), "bold"));
  tail.push(line(t("help"), "dim"));
  const kept = lines.slice(0, Math.max(0, height - tail.length));
  return redrawFrame([...kept, ...tail].slice(0, height));
}

/**
 * Reads a command line: `s <id>` / `stop <id>`, `r <id>` / `resume <id>`, `S` / `stop all`,
 * `R` / `resume all`, `rotate <id>`, `revoke <id>`, `oos <id>`, `activate <id>`, `ban <id>`,
 * `restore <id>`, `q` / `quit`.
 */
export function parseCommand(
  input: string,
  lang: Lang = DEFAULT_LANG,
): PanelCommand | { readonly error: string } {
  const t = (key: keyof typeof PANEL_TEXT.en, params?: Record<string, string | number>) =>
    translate(PANEL_TEXT, lang, key, { help: PANEL_TEXT[lang].help, ...params });
  const words = input.trim().split(/\s+/).filter((w) => w !== "");
  if (words.length === 0) return { error: "" };
  const [verb, arg, ...rest] = words;
  if (rest.length > 0) return { error: t("tooMany") };
  if (verb === "q" || verb === "quit") return arg === undefined ? { type: "quit" } : bad();
  if (verb === "S" || verb === "R") {
    return arg === undefined ? { type: verb === "S" ? "stop" : "resume" } : bad();
  }
  if (
    verb === "rotate" || verb === "revoke" || verb === "restore" ||
    Object.hasOwn(SECURITY_VERBS, verb)
  ) {
    // One CP at a time: these are not undone by a resume.
    if (arg === undefined || arg === "all") return { error: t("which", { verb }) };
    return verb === "rotate" || verb === "revoke" || verb === "restore"
      ? { type: verb, cpId: arg }
      : { type: "security", cpId: arg, status: SECURITY_VERBS[verb] };
  }
  const type = verb === "s" || verb === "stop"
    ? "stop"
    : verb === "r" || verb === "resume"
    ? "resume"
    : undefined;
  if (type === undefined) return bad();
  if (arg === undefined) return { error: t("which", { verb }) };
  return arg === "all" ? { type } : { type, cpId: arg };

  function bad() {
    return { error: t("unknown") };
  }
}

// deno-lint-ignore no-control-regex -- removing control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028-\u202e\u2066-\u2069]/g;

/** `text` without control characters, cut to `width` with an ellipsis. */
export function fit(text: string, width: number): string {
  const clean = text.replace(UNSAFE, "?");
  return clean.length <= width ? clean : clean.slice(0, Math.max(0, width - 1)) + "…";
}

/** {@link fit}, padded with spaces to `width`. */
export function pad(text: string, width: number): string {
  return fit(text, width).padEnd(width);
}

function padLeft(text: string, width: number): string {
  return fit(text, width).padStart(width);
}
