/**
 * What the driver shows, as pure functions of its state and events: one log line per event,
 * the end-of-run summary, the interactive screen, and how a typed command reads. No I/O here;
 * `terminal.ts` and `main.ts` write the results.
 *
 * @module
 */

import type { CpListEntry, CpState } from "../shared/messages.ts";
import type { Paint } from "../shared/terminal.ts";
import type { DriverEvent, DriverState, IgnoreReason, Phase, Summary } from "./core.ts";

// ---------------------------------------------------------------------------------------------
// Numbers

/** Energy for people: `1.235 kWh`. */
function kwhText(kwh: number): string {
  return `${kwh.toFixed(3)} kWh`;
}

/** Money for people: `0.62 €`. */
function eurText(eur: number): string {
  return `${eur.toFixed(2)} €`;
}

/** Power for people: `22.0 kW`. */
function kwText(kw: number): string {
  return `${kw.toFixed(1)} kW`;
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

/** Describes an event as one log line. */
export function describeEvent(event: DriverEvent): EventLine {
  const line = (level: EventLine["level"], text: string, fields: Record<string, unknown> = {}) => ({
    level,
    text,
    properties: { kind: event.kind, ...fields },
  });
  switch (event.kind) {
    case "requested": {
      const { cpId, requestId, step } = event;
      const where = step === undefined
        ? ""
        : ` (${step.index + 1} of ${step.of}${step.round > 1 ? `, round ${step.round}` : ""})`;
      return line("info", `Asked to charge at ${cpId}${where}`, {
        cpId,
        requestId,
        ...(step === undefined ? {} : { index: step.index + 1, of: step.of, round: step.round }),
      });
    }
    case "list_requested":
      return line("info", "Asked Central for the list of CPs", { requestId: event.requestId });
    case "authorized": {
      const { cpId, sessionId, requestId, followed } = event;
      const text = followed
        ? `Authorized at ${cpId}: plug the vehicle in (session ${sessionId})`
        : `Session ${sessionId} at ${cpId} was authorized for an earlier request; ` +
          "its ticket will be counted";
      return line("info", text, { cpId, sessionId, requestId, followed });
    }
    case "supply": {
      const { cpId, sessionId, kw, kwh, eur, first } = event;
      const figures = `${kwText(kw)}, ${kwhText(kwh)}, ${eurText(eur)}`;
      const text = first ? `Supplying at ${cpId}: ${figures}` : `${cpId}: ${figures}`;
      return line(first ? "info" : "debug", text, { cpId, sessionId, kw, kwh, eur });
    }
    case "ticket": {
      const t = event.ticket;
      const late = t.late ? " — a session from before this run" : "";
      return line(
        "info",
        `Ticket at ${t.cpId}: ${kwhText(t.kwh)}, ${eurText(t.eur)} in ${durationText(t.seconds)}` +
          ` (${t.endReason})${late}`,
        { ...t },
      );
    }
    case "denied": {
      const d = event.denial;
      const detail = d.detail === undefined ? "" : ` — ${d.detail}`;
      const late = d.late ? " (a request from before this run)" : "";
      return line("info", `Denied at ${d.cpId ?? "?"}: ${d.reason}${detail}${late}`, { ...d });
    }
    case "cp_list": {
      const available = event.cps.filter((cp) => cp.state === "ACTIVATED").length;
      return line("info", `${event.cps.length} CPs listed, ${available} available`, {
        cps: event.cps.length,
        available,
      });
    }
    case "waiting":
      return line(
        "warning",
        `No answer for ${event.cpId} after ${event.seconds} s; still waiting ` +
          "(Central answers every request once it is back)",
        { cpId: event.cpId, requestId: event.requestId, seconds: event.seconds },
      );
    case "paused": {
      const seconds = (event.until - event.at) / 1000;
      return line("info", `Next: ${event.nextCpId} in ${seconds} s`, {
        nextCpId: event.nextCpId,
        until: new Date(event.until).toISOString(),
      });
    }
    case "ignored":
      return line(IGNORED_LEVEL[event.reason], `Ignored (${event.reason}): ${event.detail}`, {
        reason: event.reason,
        detail: event.detail,
      });
    case "refused":
      return line("warning", `Not sent: ${event.detail}`, { detail: event.detail });
    case "finished": {
      const s = event.summary;
      return line("info", `Went through the file: ${totalsText(s)}`, summaryFields(s));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Summary

/** `3 tickets, 2 denials, 4.567 kWh, 2.28 €`. */
export function totalsText(summary: Summary): string {
  const n = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;
  return `${n(summary.tickets.length, "ticket")}, ${n(summary.denials.length, "denial")}, ` +
    `${kwhText(summary.kwh)}, ${eurText(summary.eur)}`;
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
export function summaryLines(driverId: string, summary: Summary, paint: Paint): string[] {
  const lines = [paint.bold(`Summary for driver ${driverId}: ${totalsText(summary)}`)];
  for (const t of summary.tickets) {
    const late = t.late ? paint.grey("  (from before this run)") : "";
    lines.push(
      `  ${paint.green("ticket")}  ${t.cpId.padEnd(12)} ${kwhText(t.kwh).padStart(14)} ` +
        `${eurText(t.eur).padStart(10)}  ${
          durationText(t.seconds).padEnd(11)
        } ${t.endReason}${late}`,
    );
  }
  for (const d of summary.denials) {
    const detail = d.detail === undefined ? "" : paint.grey(` — ${d.detail}`);
    const late = d.late ? paint.grey("  (from before this run)") : "";
    lines.push(
      `  ${paint.orange("denied")}  ${(d.cpId ?? "?").padEnd(12)} ${d.reason}${detail}${late}`,
    );
  }
  const reasons = denialsByReason(summary).map(([reason, n]) => `${reason} ×${n}`);
  if (reasons.length > 0) lines.push(`  denials by reason: ${reasons.join(", ")}`);
  const ignored = Object.entries(summary.ignored).filter(([, n]) => n > 0);
  if (ignored.length > 0) {
    lines.push(paint.grey(`  ignored updates: ${ignored.map(([r, n]) => `${n} ${r}`).join(", ")}`));
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// The interactive screen

/** What the screen shows besides the driver's state. */
export interface ScreenView {
  /** The driver's state. */
  readonly state: DriverState;
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
}

/** The one-line status of the current conversation. */
function phaseLine(phase: Phase, now: number, paint: Paint): string {
  switch (phase.kind) {
    case "idle":
      return paint.grey("no charge yet: type a CP id (or its number in the list) and Enter");
    case "requested":
      return paint.yellow(
        `asked to charge at ${phase.cpId}, waiting for Central… ` +
          durationText((now - phase.sentAt) / 1000),
      );
    case "authorized":
      return paint.green(`AUTHORIZED at ${phase.cpId}`) +
        ` — plug the vehicle in (waiting ${durationText((now - phase.at) / 1000)})`;
    case "supplying": {
      const f = phase.figures;
      const age = (now - f.at) / 1000;
      const stale = age >= 3 ? paint.yellow(`  (no figures for ${durationText(age)})`) : "";
      return paint.green(`SUPPLYING at ${phase.cpId}`) +
        `  ${paint.cyan(kwText(f.kw))}  ${paint.cyan(kwhText(f.kwh))}  ` +
        `${paint.cyan(eurText(f.eur))}  ${durationText((now - phase.since) / 1000)}${stale}`;
    }
    case "ticketed": {
      const t = phase.ticket;
      return paint.green(`TICKET at ${t.cpId}`) +
        `  ${kwhText(t.kwh)}  ${paint.bold(eurText(t.eur))}  ${durationText(t.seconds)}` +
        `  (${t.endReason})`;
    }
    case "denied": {
      const d = phase.denial;
      const detail = d.detail === undefined ? "" : ` — ${d.detail}`;
      return paint.orange(`DENIED at ${d.cpId ?? "?"}: ${d.reason}`) + detail;
    }
  }
}

/** {@link phaseLine}, then where a file run stands: `(2 of 5) · next CP-003 in 3s`. */
export function statusLine(state: DriverState, now: number, paint: Paint): string {
  const plan = state.plan;
  const line = phaseLine(state.phase, now, paint);
  if (plan === null) return line;
  const progress = paint.grey(
    `  (${plan.next} of ${plan.cpIds.length}` +
      `${plan.round > 1 ? `, round ${plan.round}` : ""})`,
  );
  const next = plan.resumeAt === null ? "" : paint.grey(
    ` · next ${plan.cpIds[plan.next]} in ${durationText(Math.ceil((plan.resumeAt - now) / 1000))}`,
  );
  return `${line}${progress}${next}`;
}

/** One CP of the list, numbered for quick choice. */
function cpLine(n: number, cp: CpListEntry, paint: Paint): string {
  return `  ${String(n).padStart(3)}  ${cp.id.padEnd(14)} ${cp.location.slice(0, 24).padEnd(24)} ` +
    `${cp.priceEurKwh.toFixed(2).padStart(6)} €/kWh ${kwText(cp.powerKw).padStart(9)}  ` +
    stateColour(cp.state, paint)(cp.state);
}

/** The interactive screen, top to bottom. */
export function screenLines(view: ScreenView, paint: Paint): string[] {
  const { state, now } = view;
  const lines = [
    paint.bold(`EVCharging · driver ${state.driverId}`) +
    paint.grey(`  · ${view.brokers.join(",")}`),
    "",
    `  ${statusLine(state, now, paint)}`,
    "",
  ];
  if (view.showSummary) {
    lines.push(...summaryLines(state.driverId, state.summary, paint));
  } else {
    const list = state.cpList;
    const pending = state.pendingLists.length > 0 ? paint.yellow("  asking Central…") : "";
    if (list === null) {
      lines.push(paint.bold("Charging points") + paint.grey("  (l to list them)") + pending);
    } else {
      const at = new Date(list.at).toTimeString().slice(0, 8);
      lines.push(paint.bold("Charging points") + paint.grey(`  as of ${at}`) + pending);
      list.cps.forEach((cp, i) => lines.push(cpLine(i + 1, cp, paint)));
      if (list.cps.length === 0) lines.push(paint.grey("  (none known to Central)"));
    }
  }
  lines.push("", paint.bold("Recent"), ...view.recent.map((l) => `  ${l}`));
  lines.push("", paint.grey(`  ${totalsText(state.summary)}`));
  lines.push(
    paint.grey("  l list · <n> or <cp id> charge · s summary · q quit"),
    `${paint.bold(">")} ${view.input}`,
  );
  return lines;
}

// ---------------------------------------------------------------------------------------------
// Commands

/** A typed command. */
export type Command =
  | { readonly type: "charge"; readonly cpId: string }
  | { readonly type: "list" }
  | { readonly type: "summary" }
  | { readonly type: "help" }
  | { readonly type: "quit" }
  | { readonly type: "none" }
  | { readonly type: "unknown"; readonly detail: string };

/** What the commands are, for `help`. */
export const HELP =
  "commands: l|list (CPs), <cp id> or c <cp id> or <n> (charge; n from the list), " +
  "s|summary, q|quit";

/**
 * Reads one typed line. A bare number picks from the last CP list; a bare word that is not a
 * command is taken as a CP id (the core checks it).
 */
export function parseCommand(line: string, cps: readonly CpListEntry[]): Command {
  const words = line.trim().split(/\s+/).filter((w) => w !== "");
  if (words.length === 0) return { type: "none" };
  const [head, ...rest] = words;
  const word = head.toLowerCase();
  if (rest.length === 0) {
    if (word === "l" || word === "list") return { type: "list" };
    if (word === "s" || word === "summary") return { type: "summary" };
    if (word === "h" || word === "?" || word === "help") return { type: "help" };
    if (word === "q" || word === "quit" || word === "exit") return { type: "quit" };
    if (word === "c" || word === "charge") {
      return { type: "unknown", detail: `${head} needs a CP id` };
    }
    if (/^\d+$/.test(head)) {
      const cp = cps[Number(head) - 1];
      return cp === undefined
        ? { type: "unknown", detail: `no CP number ${head} in the list (l lists them)` }
        : { type: "charge", cpId: cp.id };
    }
    return { type: "charge", cpId: head };
  }
  if ((word === "c" || word === "charge") && rest.length === 1) {
    const arg = rest[0];
    return /^\d+$/.test(arg) ? parseCommand(arg, cps) : { type: "charge", cpId: arg };
  }
  return { type: "unknown", detail: `unknown command "${line.trim()}"; ${HELP}` };
}
