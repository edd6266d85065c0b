/**
 * The audit view of Central's terminal panel, the pure part: the latest audit records (time,
 * origin address, actor, action, parameters, outcome), newest first, optionally only those of
 * one CP, as one frame that redraws the screen in place. central/tui.ts shows it behind Tab and
 * reads the CP filter. Audit records hold no secret (central/audit_chain.ts refuses secret
 * fields), so the parameters are shown as they are.
 *
 * @module
 */
import { type Catalog, DEFAULT_LANG, formats, translate } from "../shared/i18n.ts";
import { paintFor, redrawFrame, type Style } from "../shared/terminal.ts";
import type { AuditRecord } from "./audit_chain.ts";
import { fit, pad, type RenderOptions } from "./panel.ts";

/** What one frame of the audit view shows. */
export interface AuditView {
  /** The clock in the title. */
  readonly now: Date;
  /** The records to show, newest first. */
  readonly records: readonly AuditRecord[];
  /** How many records match the filter in all. */
  readonly total: number;
  /** The CP the records are filtered by, or "" for every record. */
  readonly cpId: string;
  /** The filter being typed. */
  readonly input: string;
}

/** The audit view's fixed texts in both languages. */
export const AUDIT_VIEW_TEXT: Catalog<
  | "title"
  | "count"
  | "filtered"
  | "time"
  | "origin"
  | "actor"
  | "action"
  | "outcome"
  | "params"
  | "none"
  | "selfReported"
  | "help"
> = {
  en: {
    title: "EVCharging Central · audit log",
    count: "{shown} of {total} records, newest first",
    filtered: "CP {cp}",
    time: "TIME",
    origin: "ORIGIN",
    actor: "ACTOR",
    action: "ACTION",
    outcome: "OUTCOME",
    params: "PARAMETERS",
    none: "(no audit records)",
    selfReported: "self-reported",
    help: "type a CP id and Enter to filter (Enter alone: every CP) · Tab or Esc: back",
  },
  es: {
    title: "EVCharging Central · registro de auditoría",
    count: "{shown} de {total} registros, los más recientes primero",
    filtered: "punto {cp}",
    time: "HORA",
    origin: "ORIGEN",
    actor: "ACTOR",
    action: "ACCIÓN",
    outcome: "RESULTADO",
    params: "PARÁMETROS",
    none: "(ningún registro de auditoría)",
    selfReported: "autodeclarada",
    help: "escriba un id de punto e Intro para filtrar (Intro solo: todos) · Tab o Esc: volver",
  },
};

const OUTCOME_COLOR: Readonly<Record<string, Style>> = {
  failed: "red",
  rejected: "red",
  denied: "yellow",
};

/** `key=value` pairs of a record's parameters (strings bare, anything else as JSON). */
export function paramsText(params: AuditRecord["params"]): string {
  return Object.entries(params)
    .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join(" ");
}

/**
 * Renders one frame of the audit view: a title with the clock and the filter, one line per
 * record (cut to `width`), the filter prompt and the help line; the frame is cut to `height`.
 */
export function renderAuditView(view: AuditView, options: RenderOptions): string {
  const lang = options.lang ?? DEFAULT_LANG;
  const t = (key: keyof typeof AUDIT_VIEW_TEXT.en, params?: Record<string, string | number>) =>
    translate(AUDIT_VIEW_TEXT, lang, key, params);
  const f = formats(lang);
  const paint = paintFor(options.color);
  const { width } = options;
  const height = Math.max(options.height, 8);
  const rows = height - 6; // title, blank, header, …, blank, prompt, help
  const shown = view.records.slice(0, rows);
  const filter = view.cpId === "" ? "" : ` · ${t("filtered", { cp: view.cpId })}`;
  const title = `${t("title")}   ${f.time(view.now)}${filter}   ` +
    t("count", { shown: shown.length, total: view.total });
  const columns = (time: string, origin: string, actor: string, action: string, outcome: string) =>
    [pad(time, 20), pad(origin, 32), pad(actor, 16), pad(action, 18), pad(outcome, 9)].join(" ");
  const lines = [
    paint.bold(fit(title, width)),
    "",
    paint.dim(fit(
      `${columns(t("time"), t("origin"), t("actor"), t("action"), t("outcome"))} ${t("params")}`,
      width,
    )),
  ];
  if (shown.length === 0) lines.push(paint.grey(fit(t("none"), width)));
  for (const record of shown) {
    const self = record.params.origin === "self_reported" ? ` (${t("selfReported")})` : "";
    const origin = record.origin_ip === undefined ? "—" : `${record.origin_ip}${self}`;
    const text = fit(
      `${
        columns(
          f.dateTime(new Date(record.ts)),
          origin,
          record.actor,
          record.action,
          record.outcome,
        )
      } ${paramsText(record.params)}`,
      width,
    );
    const colour = OUTCOME_COLOR[record.outcome];
    lines.push(colour === undefined ? text : paint[colour](text));
  }
  lines.push("", fit(`> ${view.input}`, width), paint.dim(fit(t("help"), width)));
  return redrawFrame(lines.slice(0, height));
}
