/**
 * The driver's pure core: what a driver knows and decides, with no socket, timer or clock.
 *
 * One conversation at a time (docs/charging_loop.md §5):
 *
 * ```text
 * idle ─charge─▶ requested ─AUTHORIZED─▶ authorized ─SUPPLY─▶ supplying ─TICKET─▶ ticketed
 *                    │                        └──────────────TICKET (plug_timeout)──────▶ ticketed
 *                    └─DENIED─▶ denied                 (ticketed and denied accept a new charge)
 * ```
 *
 * Around it:
 * - Duplicates are dropped: answers (`AUTHORIZED`, `DENIED`, `CP_LIST`) by `requestId`, tickets
 *   by `sessionId`; live figures older than those shown are dropped as stale.
 * - Updates that belong to no conversation of this process (it restarted, and Central answered
 *   or ticketed while it was down) are still shown, and their tickets and denials counted: the
 *   money was spent. With no conversation of its own and no plan, the driver follows such a
 *   session until its ticket.
 * - File mode runs a plan: one request per CP id, {@link DEFAULT_PAUSE_MS} after each ticket or
 *   denial before the next, optionally looping. A request with no answer is never given up —
 *   Central answers every request once it is back — but a `waiting` event says so, at
 *   {@link FIRST_WAIT_NOTICE_MS} and then at growing intervals.
 * - The summary (tickets, denials with reasons, kWh, €) is kept as it goes.
 *
 * The core has the project's one shape, `step(model, input, context) → {model, effects}`: the
 * context carries the time (`now`, ms since the epoch) and a fresh id for a request the step may
 * send. The edge performs the returned effects in order and calls `step` with a `tick` at
 * {@link dueAt}.
 *
 * The model, inputs, events and effects are in `model.ts`; this module is the core's one entry
 * and re-exports them.
 *
 * @module
 */

import { isValidCpId } from "../shared/encoding.ts";
import {
  build,
  type DriverRequest,
  driverRequestSchema,
  type DriverUpdate,
} from "../shared/messages.ts";
import {
  DEDUPE_MEMORY,
  type DenialLine,
  type DriverContext,
  type DriverEvent,
  type DriverModel,
  type DriverStep,
  type Effect,
  type Figures,
  FIRST_WAIT_NOTICE_MS,
  type IgnoreReason,
  type Input,
  MAX_WAIT_NOTICE_GAP_MS,
  type Phase,
  type Plan,
  type TicketLine,
} from "./model.ts";

export * from "./model.ts";

/** An input with its time and fresh id, as the rules read it. */
type Stamped = Input & { readonly at: number; readonly requestId: string };

// ---------------------------------------------------------------------------------------------
// Rules

/** Applies one input. Pure: the same model, input and context always give the same step. */
export function step(model: DriverModel, input: Input, context: DriverContext): DriverStep {
  const effects: Effect[] = [];
  const stamped: Stamped = { ...input, at: context.now, requestId: context.freshId };
  return { model: apply(model, stamped, effects), effects };
}

/** When the edge must call `tick` next, or undefined if nothing is due. */
export function dueAt(state: DriverModel): number | undefined {
  const times = [
    state.plan?.resumeAt ?? undefined,
    state.phase.kind === "requested" ? state.phase.noticeAt : undefined,
  ].filter((t): t is number => t !== undefined);
  return times.length === 0 ? undefined : Math.min(...times);
}

/**
 * No conversation is open and no plan runs: a user may start a charge, and an update about a
 * session this process did not request (it restarted meanwhile) may become the one followed.
 */
export function isFree(state: DriverModel): boolean {
  return state.plan === null && !isBusy(state.phase);
}

/** A conversation is open (a request unanswered, or a session not yet ticketed). */
function isBusy(phase: Phase): boolean {
  return phase.kind === "requested" || phase.kind === "authorized" || phase.kind === "supplying";
}

function apply(state: DriverModel, input: Stamped, out: Effect[]): DriverModel {
  switch (input.type) {
    case "start":
      return state.plan === null
        ? state
        : requestNextInPlan(state, state.plan, input.at, input.requestId, out);
    case "charge":
      return chargeCommand(state, input, out);
    case "list":
      return listCommand(state, input, out);
    case "cancel":
      return cancelCommand(state, input, out);
    case "tick":
      return tick(state, input, out);
    case "invalid":
      return ignore(state, input.at, "invalid", input.reason, out);
    case "update":
      if (input.update.driverId !== state.driverId) {
        const detail = `${input.update.type} addressed to driver ${input.update.driverId}`;
        return ignore(state, input.at, "invalid", detail, out);
      }
      return onUpdate(state, input.update, input.at, out);
  }
}

/** How the driver takes one kind of input. */
type OnInput<T extends Stamped["type"]> = (
  state: DriverModel,
  input: Extract<Stamped, { type: T }>,
  out: Effect[],
) => DriverModel;

/** How the driver takes one kind of update from Central. */
type OnUpdate<T extends DriverUpdate["type"]> = (
  state: DriverModel,
  update: Extract<DriverUpdate, { type: T }>,
  at: number,
  out: Effect[],
) => DriverModel;

function onUpdate(state: DriverModel, update: DriverUpdate, at: number, out: Effect[]) {
  switch (update.type) {
    case "AUTHORIZED":
      return onAuthorized(state, update, at, out);
    case "DENIED":
      return onDenied(state, update, at, out);
    case "SUPPLY":
      return onSupply(state, update, at, out);
    case "TICKET":
      return onTicket(state, update, at, out);
    case "CP_LIST":
      return onCpList(state, update, at, out);
  }
}

const chargeCommand: OnInput<"charge"> = (state, input, out) => {
  const refuse = (detail: string) => {
    emit(out, { kind: "refused", at: input.at, detail });
    return state;
  };
  if (state.plan !== null) return refuse("a file of CP ids is running; charges follow the file");
  if (!isValidCpId(input.cpId)) {
    return refuse(`"${input.cpId}" is not a CP id (3–64 characters of A–Z, a–z, 0–9, _ or -)`);
  }
  const phase = state.phase;
  if (phase.kind === "requested") return refuse(`still waiting for the answer for ${phase.cpId}`);
  if (phase.kind === "authorized" || phase.kind === "supplying") {
    return refuse(`session ${phase.sessionId} at ${phase.cpId} is still open`);
  }
  return sendCharge(state, input.cpId, input.at, input.requestId, out);
};

/** `x`: asks Central to end the open session; refused while none is open. */
const cancelCommand: OnInput<"cancel"> = (state, input, out) => {
  const { at, requestId } = input;
  const phase = state.phase;
  if (phase.kind !== "authorized" && phase.kind !== "supplying") {
    emit(out, { kind: "refused", at, detail: "no charge to cancel" });
    return state;
  }
  const { cpId, sessionId } = phase;
  send(
    out,
    build(driverRequestSchema, "CANCEL_REQUEST", { ...stamp(state, requestId, at), sessionId }),
  );
  emit(out, { kind: "cancel_requested", at, requestId, cpId, sessionId });
  return state;
};

const listCommand: OnInput<"list"> = (state, input, out) => {
  const { at, requestId } = input;
  send(out, build(driverRequestSchema, "CP_LIST_REQUEST", stamp(state, requestId, at)));
  emit(out, { kind: "list_requested", at, requestId });
  return { ...state, pendingLists: [...state.pendingLists, requestId] };
};

const tick: OnInput<"tick"> = (state, input, out) => {
  const { at } = input;
  let next = state;
  const phase = next.phase;
  if (phase.kind === "requested" && at >= phase.noticeAt) {
    const waited = at - phase.sentAt;
    emit(out, {
      kind: "waiting",
      at,
      requestId: phase.requestId,
      cpId: phase.cpId,
      seconds: Math.floor(waited / 1000),
    });
    const gap = Math.min(waited, MAX_WAIT_NOTICE_GAP_MS);
    next = { ...next, phase: { ...phase, noticeAt: at + gap } };
  }
  const plan = next.plan;
  if (plan !== null && plan.resumeAt !== null && at >= plan.resumeAt) {
    next = requestNextInPlan(next, plan, at, input.requestId, out);
  }
  return next;
};

/** Sends the plan's next request. */
function requestNextInPlan(
  state: DriverModel,
  plan: Plan,
  at: number,
  requestId: string,
  out: Effect[],
): DriverModel {
  const index = plan.next;
  const round = index === 0 ? plan.round + 1 : plan.round;
  const planned = {
    ...state,
    plan: { ...plan, next: index + 1, round, resumeAt: null },
  };
  const cpId = plan.cpIds[index];
  return sendCharge(planned, cpId, at, requestId, out, { index, of: plan.cpIds.length, round });
}

/** What every request of this driver carries: its id, the driver, its time, and `originIp` when
 * the host's address is known. */
function stamp(state: DriverModel, requestId: string, at: number) {
  const origin = state.originIp === undefined ? {} : { originIp: state.originIp };
  return { requestId, driverId: state.driverId, ...origin, ts: iso(at) };
}

function sendCharge(
  state: DriverModel,
  cpId: string,
  at: number,
  requestId: string,
  out: Effect[],
  planStep?: { index: number; of: number; round: number },
): DriverModel {
  send(out, build(driverRequestSchema, "CHARGE_REQUEST", { ...stamp(state, requestId, at), cpId }));
  emit(out, { kind: "requested", at, requestId, cpId, ...(planStep ? { step: planStep } : {}) });
  return {
    ...state,
    phase: { kind: "requested", requestId, cpId, sentAt: at, noticeAt: at + FIRST_WAIT_NOTICE_MS },
  };
}

const onAuthorized: OnUpdate<"AUTHORIZED"> = (state, update, at, out) => {
  const { requestId, cpId, sessionId } = update;
  if (state.answered.includes(requestId)) {
    return ignore(state, at, "duplicate", `AUTHORIZED for request ${requestId}`, out);
  }
  const answered = remember(state.answered, requestId);
  const phase = state.phase;
  const current = phase.kind === "requested" && phase.requestId === requestId;
  const followed = current || isFree(state);
  emit(out, { kind: "authorized", at, requestId, cpId, sessionId, followed });
  if (!followed) return { ...state, answered };
  return {
    ...state,
    answered,
    phase: { kind: "authorized", cpId, sessionId, at, requestedHere: current },
  };
};

const onDenied: OnUpdate<"DENIED"> = (state, update, at, out) => {
  const { requestId } = update;
  if (state.answered.includes(requestId)) {
    return ignore(state, at, "duplicate", `DENIED for request ${requestId}`, out);
  }
  const phase = state.phase;
  const current = phase.kind === "requested" && phase.requestId === requestId;
  const denial: DenialLine = {
    requestId,
    cpId: update.cpId,
    reason: update.reason,
    detail: update.detail,
    ts: update.ts,
    late: !current,
  };
  emit(out, { kind: "denied", at, denial });
  const counted: DriverModel = {
    ...state,
    answered: remember(state.answered, requestId),
    summary: { ...state.summary, denials: [...state.summary.denials, denial] },
  };
  if (!current) return counted;
  return conversationOver({ ...counted, phase: { kind: "denied", denial } }, at, out);
};

const onSupply: OnUpdate<"SUPPLY"> = (state, update, at, out) => {
  const { sessionId, cpId, kw, kwh, eur, ts } = update;
  if (state.ticketed.includes(sessionId)) {
    return ignore(state, at, "stale", `SUPPLY for session ${sessionId}, already ticketed`, out);
  }
  const phase = state.phase;
  const figures: Figures = { kw, kwh, eur, ts, at };
  const supply = (first: boolean) =>
    emit(out, { kind: "supply", at, cpId, sessionId, kw, kwh, eur, first });

  if (phase.kind === "supplying" && phase.sessionId === sessionId) {
    // Central may resend older rows after a crash: never let the figures run backwards.
    if (ts < phase.figures.ts) {
      return ignore(state, at, "stale", `SUPPLY for session ${sessionId} older than shown`, out);
    }
    supply(false);
    return { ...state, phase: { ...phase, figures } };
  }
  const current = phase.kind === "authorized" && phase.sessionId === sessionId;
  if (current || isFree(state)) {
    supply(true);
    const requestedHere = current && phase.requestedHere;
    return {
      ...state,
      phase: { kind: "supplying", cpId, sessionId, since: at, figures, requestedHere },
    };
  }
  return ignore(state, at, "other_session", `SUPPLY for session ${sessionId} at ${cpId}`, out);
};

const onTicket: OnUpdate<"TICKET"> = (state, update, at, out) => {
  const { sessionId } = update;
  if (state.ticketed.includes(sessionId)) {
    return ignore(state, at, "duplicate", `TICKET for session ${sessionId}`, out);
  }
  const phase = state.phase;
  const current = (phase.kind === "authorized" || phase.kind === "supplying") &&
    phase.sessionId === sessionId;
  const ticket: TicketLine = {
    sessionId,
    cpId: update.cpId,
    kwh: update.kwh,
    eur: update.eur,
    seconds: update.seconds,
    endReason: update.endReason,
    priceEurKwh: update.priceEurKwh,
    ts: update.ts,
    late: !(current && phase.requestedHere),
  };
  emit(out, { kind: "ticket", at, ticket });
  const summary = state.summary;
  const counted: DriverModel = {
    ...state,
    ticketed: remember(state.ticketed, sessionId),
    summary: {
      ...summary,
      tickets: [...summary.tickets, ticket],
      kwh: summary.kwh + ticket.kwh,
      eur: summary.eur + ticket.eur,
    },
  };
  if (!current) return counted;
  return conversationOver({ ...counted, phase: { kind: "ticketed", ticket } }, at, out);
};

const onCpList: OnUpdate<"CP_LIST"> = (state, update, at, out) => {
  const { requestId, cps } = update;
  if (requestId !== undefined && state.answered.includes(requestId)) {
    return ignore(state, at, "duplicate", `CP_LIST for request ${requestId}`, out);
  }
  emit(out, { kind: "cp_list", at, cps });
  return {
    ...state,
    cpList: { cps, at },
    pendingLists: state.pendingLists.filter((id) => id !== requestId),
    answered: requestId === undefined ? state.answered : remember(state.answered, requestId),
  };
};

/** After the current conversation's ticket or denial: file mode pauses, or finishes. */
function conversationOver(state: DriverModel, at: number, out: Effect[]): DriverModel {
  const plan = state.plan;
  if (plan === null) return state;
  const last = plan.next >= plan.cpIds.length;
  if (last && !plan.loop) {
    emit(out, { kind: "finished", at, summary: state.summary });
    return { ...state, plan: { ...plan, finished: true } };
  }
  const next = last ? 0 : plan.next;
  const until = at + state.pauseMs;
  emit(out, { kind: "paused", at, until, nextCpId: plan.cpIds[next] });
  return { ...state, plan: { ...plan, next, resumeAt: until } };
}

function ignore(
  state: DriverModel,
  at: number,
  reason: IgnoreReason,
  detail: string,
  out: Effect[],
): DriverModel {
  emit(out, { kind: "ignored", at, reason, detail });
  const ignored = { ...state.summary.ignored, [reason]: state.summary.ignored[reason] + 1 };
  return { ...state, summary: { ...state.summary, ignored } };
}

/** Adds `id` to a bounded memory, forgetting the oldest beyond {@link DEDUPE_MEMORY}. */
function remember(ids: readonly string[], id: string): readonly string[] {
  const next = [...ids, id];
  return next.length > DEDUPE_MEMORY ? next.slice(next.length - DEDUPE_MEMORY) : next;
}

function send(out: Effect[], message: DriverRequest): void {
  out.push({ type: "send", message });
}

function emit(out: Effect[], event: DriverEvent): void {
  out.push({ type: "emit", event });
}

function iso(at: number): string {
  return new Date(at).toISOString();
}

// ---------------------------------------------------------------------------------------------
// The file of CP ids

/** A line of a CP file that is not a CP id. */
export interface PlanFileError {
  /** 1-based line number. */
  readonly line: number;
  /** The line's text without its comment, trimmed. */
  readonly text: string;
}

/** The result of {@link parsePlanFile}. */
export interface PlanFile {
  /** The valid CP ids, in file order (repeats allowed: charging twice at one CP is a plan). */
  readonly cpIds: readonly string[];
  /** Lines that are not CP ids. */
  readonly errors: readonly PlanFileError[];
}

/**
 * Reads a file of CP ids: one per line; blank lines and `#` comments (whole-line or trailing)
 * are ignored; anything else that is not a CP id is reported with its line number.
 */
export function parsePlanFile(text: string): PlanFile {
  const cpIds: string[] = [];
  const errors: PlanFileError[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") return;
    if (isValidCpId(line)) cpIds.push(line);
    else errors.push({ line: i + 1, text: line });
  });
  return { cpIds, errors };
}
