/**
 * What the driver shows, as pure functions of its state and events: one log line per event,
 * the end-of-run summary, the interactive screen, and how a typed command reads. No I/O here;
 * `terminal.ts` and `main.ts` write the results.
 *
 * @module
 */

import { DEFAULT_LANG, formats, type Lang, translate } from "../shared/i18n.ts";
import type { CpListEntry, CpState } from "../shared/messages.ts";
import type { Paint } from "../shared/terminal.ts";
import { denyReasonText, endReasonText, stateName } from "../shared/vocabulary.ts";
import type { DriverEvent, DriverModel, IgnoreReason, Phase, Summary } from "./core.ts";
import { DRIVER_TEXT, type DriverTextKey } from "./words.ts";

// ---------------------------------------------------------------------------------------------
// Words and numbers

/** A screen text in `lang` with its `{placeholders}` filled. */
function say(lang: Lang, key: DriverTextKey, params?: Record<string, string | number>): string {
  return translate(DRIVER_TEXT, lang, key, params);
}

/** Energy for people: `1.235 kWh` (`1,235 kWh` in Spanish). */
function kwhText(kwh: number, lang: Lang): string {
  return formats(lang).kwh(kwh, 3);
}

/** Money for people: `€0.62` (`0,62 €` in Spanish). */
function eurText(eur: number, lang: Lang): string {
  return formats(lang).eur(eur);
}

/** Power for people: `22.0 kW`. */
function kwText(kw: number, lang: Lang): string {
  return formats(lang).kw(kw);
}

/** A duration for people: `45s`, `3m 07s`, `1h 02m 03s`. */
export function durationText(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m ${rest}s`;
  if (m > 0) return `${m}m ${rest}s`;
  return `${s}s`;
}

/** The colour of a CP state on a panel (ARCHITECTURE §CP states). */
function stateColour(state: CpState, paint: Paint): (s: string) => string {
  switch (state) {
    case "ACTIVATED":
    case "SUPPLYING":
      return paint.green;
    case "STOPPED":
      return paint.orange;
    case "BROKEN":
      return paint.red;
    case "DISCONNECTED":
      return paint.grey;
  }
}

// ---------------------------------------------------------------------------------------------
// One line per event

/** How an event is logged: level, human text, and the machine-readable fields. */
export interface EventLine {
  /** Log level. */
  readonly level: "debug" | "info" | "warning";
  /** One line of plain text for people. */
  readonly text: string;
  /** Structured fields for JSON logs (`kind` is always there). */
  readonly properties: Record<string, unknown>;
}

/** Log levels of ignored updates: only invalid ones deserve attention. */
const IGNORED_LEVEL: Record<IgnoreReason, EventLine["level"]> = {
  invalid: "warning",
  duplicate: "debug",
  stale: "debug",
  other_session: "debug",
};

/** Describes an event as one log line, its text in `lang`. */
export function describeEvent(event: DriverEvent, lang: Lang = DEFAULT_LANG): EventLine {
  const t = (key: DriverTextKey, params?: Record<string, string | number>) =>
    say(lang, key, params);
  const line = (level: EventLine["level"], text: string, fields: Record<string, unknown> = {}) => ({
    level,
    text,
    properties: { kind: event.kind, ...fields },
  });
  switch (event.kind) {
    case "requested": {
      const { cpId, requestId, step } = event;
      const where = step === undefined ? "" : t(step.round > 1 ? "stepRound" : "step", {
        index: step.index + 1,
        of: step.of,
        round: step.round,
      });
      return line("info", t("asked", { cp: cpId, step: where }), {
        cpId,
        requestId,
        ...(step === undefined ? {} : { index: step.index + 1, of: step.of, round: step.round }),
      });
    }
    case "list_requested":
      return line("info", t("askedList"), { requestId: event.requestId });
    case "cancel_requested": {
      const { cpId, sessionId, requestId } = event;
      return line("info", t("askedCancel", { cp: cpId, session: sessionId }), {
        cpId,
        sessionId,
        requestId,
      });
    }
    case "authorized": {
      const { cpId, sessionId, requestId, followed } = event;
      const text = t(followed ? "authorized" : "authorizedEarlier", {
        cp: cpId,
        session: sessionId,
      });
      return line("info", text, { cpId, sessionId, requestId, followed });
    }
    case "supply": {
      const { cpId, sessionId, kw, kwh, eur, first } = event;
      const figures = `${kwText(kw, lang)}, ${kwhText(kwh, lang)}, ${eurText(eur, lang)}`;
      const text = t(first ? "supplyingAt" : "figuresAt", { cp: cpId, figures });
      return line(first ? "info" : "debug", text, { cpId, sessionId, kw, kwh, eur });
    }
    case "ticket": {
      const ticket = event.ticket;
      const text = t("ticketLine", {
        cp: ticket.cpId,
        kwh: kwhText(ticket.kwh, lang),
        eur: eurText(ticket.eur, lang),
        duration: durationText(ticket.seconds),
        reason: endReasonText(ticket.endReason, lang),
        late: ticket.late ? t("ticketLate") : "",
      });
      return line("info", text, { ...ticket });
    }
    case "denied": {
      const d = event.denial;
      const detail = d.detail === undefined ? "" : ` — ${d.detail}`;
      const text = t("deniedLine", {
        cp: d.cpId ?? "?",
        reason: denyReasonText(d.reason, lang),
        detail,
        late: d.late ? t("deniedLate") : "",
      });
      return line("info", text, { ...d });
    }
    case "cp_list": {
      const available = event.cps.filter((cp) => cp.state === "ACTIVATED").length;
      return line("info", t("listed", { n: event.cps.length, available }), {
        cps: event.cps.length,
        available,
      });
    }
    case "waiting":
      return line(
        "warning",
        t("waiting", { cp: event.cpId, seconds: event.seconds }),
        { cpId: event.cpId, requestId: event.requestId, seconds: event.seconds },
      );
    case "paused": {
      const seconds = (event.until - event.at) / 1000;
      return line("info", t("next", { cp: event.nextCpId, seconds }), {
        nextCpId: event.nextCpId,
        until: new Date(event.until).toISOString(),
      });
    }
    case "ignored": {
      const text = t("ignored", { reason: event.reason, detail: event.detail });
      return line(IGNORED_LEVEL[event.reason], text, {
        reason: event.reason,
        detail: event.detail,
      });
    }
    case "refused":
      return line("warning", t("notSent", { detail: event.detail }), { detail: event.detail });
    case "finished": {
      const s = event.summary;
      return line("info", t("finished", { totals: totalsText(s, lang) }), summaryFields(s));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Summary

/** `3 tickets, 2 denials, 4.567 kWh, €2.28` (`3 tiques, 2 denegaciones, … 2,28 €`). */
export function totalsText(summary: Summary, lang: Lang = DEFAULT_LANG): string {
  const count = (n: number, one: DriverTextKey, many: DriverTextKey) =>
    say(lang, n === 1 ? one : many, { n });
  return say(lang, "totals", {
    tickets: count(summary.tickets.length, "ticketsOne", "ticketsMany"),
    denials: count(summary.denials.length, "denialsOne", "denialsMany"),
    kwh: kwhText(summary.kwh, lang),
    eur: eurText(summary.eur, lang),
  });
}

/** Denials counted by reason, most frequent first: `[["busy", 2], ["unknown_cp", 1]]`. */
export function denialsByReason(summary: Summary): [string, number][] {
  const counts = new Map<string, number>();
  for (const d of summary.denials) counts.set(d.reason, (counts.get(d.reason) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** The summary's numbers as structured log fields. */
export function summaryFields(summary: Summary): Record<string, unknown> {
  return {
    tickets: summary.tickets.length,
    denials: summary.denials.length,
    kwh: summary.kwh,
    eur: summary.eur,
    deniedBy: Object.fromEntries(denialsByReason(summary)),
    ignored: { ...summary.ignored },
  };
}

/** The end-of-run summary for a terminal: totals, then one line per ticket and denial. */
export function summaryLines(
  driverId: string,
  summary: Summary,
  paint: Paint,
  lang: Lang = DEFAULT_LANG,
): string[] {
  const t = (key: DriverTextKey, params?: Record<string, string | number>) =>
    say(lang, key, params);
  const totals = totalsText(summary, lang);
  const lines = [paint.bold(t("summaryFor", { driver: driverId, totals }))];
  for (const ticket of summary.tickets) {
    const late = ticket.late ? paint.grey(t("fromBefore")) : "";
    lines.push(
      `  ${paint.green(t("ticket"))}  ${ticket.cpId.padEnd(12)} ` +
        `${kwhText(ticket.kwh, lang).padStart(14)} ${eurText(ticket.eur, lang).padStart(10)}  ` +
        `${durationText(ticket.seconds).padEnd(11)} ${
          endReasonText(ticket.endReason, lang)
        }${late}`,
    );
  }
  for (const d of summary.denials) {
    const detail = d.detail === undefined ? "" : paint.grey(` — ${d.detail}`);
    const late = d.late ? paint.grey(t("fromBefore")) : "";
    lines.push(
      `  ${paint.orange(t("denied"))}  ${(d.cpId ?? "?").padEnd(12)} ` +
        `${denyReasonText(d.reason, lang)}${detail}${late}`,
    );
  }
  const reasons = denialsByReason(summary).map(([reason, n]) =>
    `${denyReasonText(reason, lang)} ×${n}`
  );
  if (reasons.length > 0) lines.push(t("byReason", { reasons: reasons.join(", ") }));
  const ignored = Object.entries(summary.ignored).filter(([, n]) => n > 0);
  if (ignored.length > 0) {
    const list = ignored.map(([r, n]) => `${n} ${r}`).join(", ");
    lines.push(paint.grey(t("ignoredUpdates", { list })));
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// The interactive screen

/** What the screen shows besides the driver's state. */
export interface ScreenView {
  /** The driver's state. */
  readonly state: DriverModel;
  /** Now, ms since the epoch (live timers). */
  readonly now: number;
  /** Kafka brokers, for the heading. */
  readonly brokers: readonly string[];
  /** The command line being typed. */
  readonly input: string;
  /** Recent log lines, oldest first. */
  readonly recent: readonly string[];
  /** Show the summary instead of the CP list. */
  readonly showSummary: boolean;
  /** Language of the screen (default English). */
  readonly lang?: Lang;
}

/** The one-line status of the current conversation. */
function phaseLine(phase: Phase, now: number, paint: Paint, lang: Lang): string {
  const t = (key: DriverTextKey, params?: Record<string, string | number>) =>
    say(lang, key, params);
  switch (phase.kind) {
    case "idle":
      return paint.grey(t("idle"));
    case "requested":
      return paint.yellow(
        t("requested", { cp: phase.cpId, duration: durationText((now - phase.sentAt) / 1000) }),
      );
    case "authorized":
      return paint.green(t("authorizedPhase", { cp: phase.cpId })) +
        t("plugIn", { duration: durationText((now - phase.at) / 1000) });
    case "supplying": {
      const f = phase.figures;
      const age = (now - f.at) / 1000;
      const stale = age >= 3 ? paint.yellow(t("noFigures", { duration: durationText(age) })) : "";
      return paint.green(
        t("supplyingPhase", { state: stateName("SUPPLYING", lang), cp: phase.cpId }),
      ) +
        `  ${paint.cyan(kwText(f.kw, lang))}  ${paint.cyan(kwhText(f.kwh, lang))}  ` +
        `${paint.cyan(eurText(f.eur, lang))}  ${durationText((now - phase.since) / 1000)}${stale}`;
    }
    case "ticketed": {
      const ticket = phase.ticket;
      return paint.green(t("ticketPhase", { cp: ticket.cpId })) +
        `  ${kwhText(ticket.kwh, lang)}  ${paint.bold(eurText(ticket.eur, lang))}  ` +
        `${durationText(ticket.seconds)}  (${endReasonText(ticket.endReason, lang)})`;
    }
    case "denied": {
      const d = phase.denial;
      const detail = d.detail === undefined ? "" : ` — ${d.detail}`;
      const reason = denyReasonText(d.reason, lang);
      return paint.orange(t("deniedPhase", { cp: d.cpId ?? "?", reason })) + detail;
    }
  }
}

/** {@link phaseLine}, then where a file run stands: `(2 of 5) · next CP-003 in 3s`. */
export function statusLine(
  state: DriverModel,
  now: number,
  paint: Paint,
  lang: Lang = DEFAULT_LANG,
): string {
  const plan = state.plan;
  const line = phaseLine(state.phase, now, paint, lang);
  if (plan === null) return line;
  const progress = paint.grey(say(lang, plan.round > 1 ? "progressRound" : "progress", {
    next: plan.next,
    of: plan.cpIds.length,
    round: plan.round,
  }));
  const next = plan.resumeAt === null ? "" : paint.grey(say(lang, "nextIn", {
    cp: plan.cpIds[plan.next],
    duration: durationText(Math.ceil((plan.resumeAt - now) / 1000)),
  }));
  return `${line}${progress}${next}`;
}

/** One CP of the list, numbered for quick choice, its state in the shared words. */
function cpLine(n: number, cp: CpListEntry, paint: Paint, lang: Lang): string {
  const price = formats(lang).pricePerKwh(cp.priceEurKwh);
  return `  ${String(n).padStart(3)}  ${cp.id.padEnd(14)} ${cp.location.slice(0, 24).padEnd(24)} ` +
    `${price.padStart(12)} ${kwText(cp.powerKw, lang).padStart(9)}  ` +
    stateColour(cp.state, paint)(stateName(cp.state, lang));
}

/** The interactive screen, top to bottom. */
export function screenLines(view: ScreenView, paint: Paint): string[] {
  const { state, now } = view;
  const lang = view.lang ?? DEFAULT_LANG;
  const t = (key: DriverTextKey, params?: Record<string, string | number>) =>
    say(lang, key, params);
  const lines = [
    paint.bold(t("title", { driver: state.driverId })) +
    paint.grey(`  · ${view.brokers.join(",")}`),
    "",
    `  ${statusLine(state, now, paint, lang)}`,
    "",
  ];
  if (view.showSummary) {
    lines.push(...summaryLines(state.driverId, state.summary, paint, lang));
  } else {
    const list = state.cpList;
    const pending = state.pendingLists.length > 0 ? paint.yellow(t("asking")) : "";
    if (list === null) {
      lines.push(paint.bold(t("chargingPoints")) + paint.grey(t("listHint")) + pending);
    } else {
      const at = formats(lang).time(new Date(list.at));
      lines.push(paint.bold(t("chargingPoints")) + paint.grey(t("asOf", { time: at })) + pending);
      list.cps.forEach((cp, i) => lines.push(cpLine(i + 1, cp, paint, lang)));
      if (list.cps.length === 0) lines.push(paint.grey(t("noneKnown")));
    }
  }
  lines.push("", paint.bold(t("recent")), ...view.recent.map((l) => `  ${l}`));
  lines.push("", paint.grey(`  ${totalsText(state.summary, lang)}`));
  lines.push(paint.grey(t("keys")), `${paint.bold(">")} ${view.input}`);
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Commands

/** A typed command. */
export type Command =
  | { readonly type: "charge"; readonly cpId: string }
  | { readonly type: "list" }
  | { readonly type: "cancel" }
  | { readonly type: "summary" }
  | { readonly type: "help" }
  | { readonly type: "quit" }
  | { readonly type: "none" }
  | { readonly type: "unknown"; readonly detail: string };

/**
 * Reads one typed line. A bare number picks from the last CP list; a bare word that is not a
 * command is taken as a CP id (the core checks it). Mistakes are explained in `lang`.
 */
export function parseCommand(
  line: string,
  cps: readonly CpListEntry[],
  lang: Lang = DEFAULT_LANG,
): Command {
  const words = line.trim().split(/\s+/).filter((w) => w !== "");
  if (words.length === 0) return { type: "none" };
  const [head, ...rest] = words;
  const word = head.toLowerCase();
  if (rest.length === 0) {
    if (word === "l" || word === "list") return { type: "list" };
    if (word === "x" || word === "cancel") return { type: "cancel" };
    if (word === "s" || word === "summary") return { type: "summary" };
    if (word === "h" || word === "?" || word === "help") return { type: "help" };
    if (word === "q" || word === "quit" || word === "exit") return { type: "quit" };
    if (word === "c" || word === "charge") {
      return { type: "unknown", detail: say(lang, "needsId", { command: head }) };
    }
    if (/^\d+$/.test(head)) {
      const cp = cps[Number(head) - 1];
      return cp === undefined
        ? { type: "unknown", detail: say(lang, "noNumber", { n: head }) }
        : { type: "charge", cpId: cp.id };
    }
    return { type: "charge", cpId: head };
  }
  if ((word === "c" || word === "charge") && rest.length === 1) {
    const arg = rest[0];
    return /^\d+$/.test(arg) ? parseCommand(arg, cps, lang) : { type: "charge", cpId: arg };
  }
  const help = DRIVER_TEXT[lang].help;
  return { type: "unknown", detail: say(lang, "unknown", { line: line.trim(), help }) };
}
