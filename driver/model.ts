/**
 * What the driver's core (`core.ts`) works on: its model (the conversation, the plan, the
 * summary), the inputs it takes, the context it reads, the events it tells and the effects it
 * asks of its edge, with {@link initialModel}. The rules that move between them are in
 * `core.ts`, which every other module imports them from.
 *
 * @module
 */

import type { CoreStep } from "../shared/core_step.ts";
import { isValidCpId } from "../shared/encoding.ts";
import type {
  CpListEntry,
  DenyReason,
  DriverRequest,
  DriverUpdate,
  EndReason,
} from "../shared/messages.ts";

/** The pause after each ticket or denial before a file's next request (ARCHITECTURE §Sessions). */
export const DEFAULT_PAUSE_MS = 4000;
/** How long a request waits for its answer before the driver says it is still waiting. */
export const FIRST_WAIT_NOTICE_MS = 10_000;
/** The longest gap between two "still waiting" notices (the gaps double up to this). */
export const MAX_WAIT_NOTICE_GAP_MS = 60_000;
/** How many answered request ids and ticketed session ids are remembered for dedupe. */
export const DEDUPE_MEMORY = 1000;

// ---------------------------------------------------------------------------------------------
// State

/** One ticket as the summary keeps it. */
export interface TicketLine {
  /** The session it closes. */
  readonly sessionId: string;
  /** Where the driver charged. */
  readonly cpId: string;
  /** Energy delivered. */
  readonly kwh: number;
  /** Amount billed. */
  readonly eur: number;
  /** Session duration. */
  readonly seconds: number;
  /** Why the session ended. */
  readonly endReason: EndReason;
  /** Price applied, €/kWh. */
  readonly priceEurKwh: number;
  /** When Central issued it. */
  readonly ts: string;
  /** It closes a session this process did not request (it was sent while the driver was down). */
  readonly late: boolean;
}

/** One denial as the summary keeps it. */
export interface DenialLine {
  /** The refused request. */
  readonly requestId: string;
  /** The CP asked for (absent only when Central found the request itself invalid). */
  readonly cpId: string | undefined;
  /** Central's reason. */
  readonly reason: DenyReason;
  /** Central's explanation, if any. */
  readonly detail: string | undefined;
  /** When Central answered. */
  readonly ts: string;
  /** It answers a request this process did not send (sent before a restart). */
  readonly late: boolean;
}

/** Why an update was not acted on. */
export type IgnoreReason =
  /** An answer or ticket already handled (a redelivery or Central's resend). */
  | "duplicate"
  /** It failed validation, or names another driver. */
  | "invalid"
  /** Live figures older than those shown, or of a session already ticketed. */
  | "stale"
  /** Live figures of a session the driver is not following (its ticket still counts). */
  | "other_session";

/** The end-of-run summary, kept up to date as updates arrive. */
export interface Summary {
  /** Every ticket received, in order. */
  readonly tickets: readonly TicketLine[];
  /** Every denial received, in order. */
  readonly denials: readonly DenialLine[];
  /** Total energy over all tickets. */
  readonly kwh: number;
  /** Total amount over all tickets. */
  readonly eur: number;
  /** Updates not acted on, by reason. */
  readonly ignored: Readonly<Record<IgnoreReason, number>>;
}

/** Live figures of the session being followed. */
export interface Figures {
  /** Current power. */
  readonly kw: number;
  /** Energy so far (cumulative for the session). */
  readonly kwh: number;
  /** Amount so far (cumulative for the session). */
  readonly eur: number;
  /** Central's `ts` of these figures: older ones are stale. */
  readonly ts: string;
  /** When they arrived (edge clock). */
  readonly at: number;
}

/** Where the current conversation is. */
export type Phase =
  /** Nothing asked yet. */
  | { readonly kind: "idle" }
  /** A charge request is out; no answer yet. */
  | {
    readonly kind: "requested";
    readonly requestId: string;
    readonly cpId: string;
    readonly sentAt: number;
    /** When to say "still waiting" next. */
    readonly noticeAt: number;
  }
  /** Central opened a session; the vehicle is not plugged in yet. */
  | {
    readonly kind: "authorized";
    readonly cpId: string;
    readonly sessionId: string;
    readonly at: number;
    /** False for a session followed after a restart: its ticket is then `late`. */
    readonly requestedHere: boolean;
  }
  /** Energy is flowing. */
  | {
    readonly kind: "supplying";
    readonly cpId: string;
    readonly sessionId: string;
    readonly since: number;
    readonly figures: Figures;
    /** False for a session followed after a restart: its ticket is then `late`. */
    readonly requestedHere: boolean;
  }
  /** The last conversation ended with this ticket. */
  | { readonly kind: "ticketed"; readonly ticket: TicketLine }
  /** The last conversation ended with this denial. */
  | { readonly kind: "denied"; readonly denial: DenialLine };

/** File mode: the CP ids to charge at, in order. */
export interface Plan {
  /** The CP ids, in file order. */
  readonly cpIds: readonly string[];
  /** Start again at the first id after the last. */
  readonly loop: boolean;
  /** Index of the next id to request. */
  readonly next: number;
  /** Rounds started (1 during the first pass). */
  readonly round: number;
  /** When the next request goes out (after a pause), or null if none is scheduled. */
  readonly resumeAt: number | null;
  /** Every id was answered and `loop` is off. */
  readonly finished: boolean;
}

/** The last CP list Central sent. */
export interface CpListView {
  /** The CPs. */
  readonly cps: readonly CpListEntry[];
  /** When it arrived. */
  readonly at: number;
}

/** Everything the driver knows. */
export interface DriverModel {
  /** Whose driver this is; updates for anyone else are invalid. */
  readonly driverId: string;
  /** Pause after a ticket or denial in file mode, ms. */
  readonly pauseMs: number;
  /** The current conversation. */
  readonly phase: Phase;
  /** File mode's plan, or null in interactive mode. */
  readonly plan: Plan | null;
  /** The last CP list, if one came. */
  readonly cpList: CpListView | null;
  /** `CP_LIST_REQUEST`s without an answer yet. */
  readonly pendingLists: readonly string[];
  /** Answered request ids (most recent {@link DEDUPE_MEMORY}). */
  readonly answered: readonly string[];
  /** Ticketed session ids (most recent {@link DEDUPE_MEMORY}). */
  readonly ticketed: readonly string[];
  /** Totals so far. */
  readonly summary: Summary;
  /** The address this driver's host reports for itself with each request, if known. */
  readonly originIp?: string;
}

/** Options of {@link initialModel}. */
export interface CoreOptions {
  /** This driver's id. */
  readonly driverId: string;
  /** File mode: the CP ids to charge at; absent for interactive use. */
  readonly plan?: readonly string[];
  /** Repeat the plan forever. */
  readonly loop?: boolean;
  /** Pause after each ticket or denial in file mode (default {@link DEFAULT_PAUSE_MS}). */
  readonly pauseMs?: number;
  /** The host's own address, sent with each request (Central audits it as self-reported). */
  readonly originIp?: string;
}

/**
 * The state before anything happened. A plan must hold at least one valid CP id.
 * @throws {RangeError} for an empty plan or an invalid id in it (the file parser reports those).
 */
export function initialModel(options: CoreOptions): DriverModel {
  const plan = options.plan;
  if (plan !== undefined) {
    if (plan.length === 0) throw new RangeError("a plan needs at least one CP id");
    const bad = plan.find((id) => !isValidCpId(id));
    if (bad !== undefined) throw new RangeError(`not a CP id: ${JSON.stringify(bad)}`);
  }
  return {
    driverId: options.driverId,
    ...(options.originIp === undefined ? {} : { originIp: options.originIp }),
    pauseMs: options.pauseMs ?? DEFAULT_PAUSE_MS,
    phase: { kind: "idle" },
    plan: plan === undefined ? null : {
      cpIds: [...plan],
      loop: options.loop ?? false,
      next: 0,
      round: 0,
      resumeAt: null,
      finished: false,
    },
    cpList: null,
    pendingLists: [],
    answered: [],
    ticketed: [],
    summary: {
      tickets: [],
      denials: [],
      kwh: 0,
      eur: 0,
      ignored: { duplicate: 0, invalid: 0, stale: 0, other_session: 0 },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Inputs, events, effects

/** What happens to the driver. Its time and a fresh request id come in the {@link DriverContext}. */
export type Input =
  /** The Kafka edge is up: file mode sends its first request. */
  | { readonly type: "start" }
  /** The user asks to charge at a CP (interactive mode). */
  | { readonly type: "charge"; readonly cpId: string }
  /** The user asks for the list of CPs. */
  | { readonly type: "list" }
  /** The user cancels the open charge (interactive mode). */
  | { readonly type: "cancel" }
  /** A valid `driver.updates` value keyed by this driver. */
  | { readonly type: "update"; readonly update: DriverUpdate }
  /** A `driver.updates` value keyed by this driver that failed validation. */
  | { readonly type: "invalid"; readonly reason: string }
  /** Time passed: the edge calls this at `dueAt` (core.ts). */
  | { readonly type: "tick" };

/** What a step may read besides its model and input. */
export interface DriverContext {
  /** Now, ms since the epoch: the time of the input. */
  readonly now: number;
  /** A fresh unique id, used at most once per step (the id of a request it sends). */
  readonly freshId: string;
}

/** Something to show or log. Every event carries the time it happened. */
export type DriverEvent =
  /** A charge request went out; `step` places it in file mode's plan. */
  | {
    readonly kind: "requested";
    readonly at: number;
    readonly requestId: string;
    readonly cpId: string;
    readonly step?: { readonly index: number; readonly of: number; readonly round: number };
  }
  /** A `CP_LIST_REQUEST` went out. */
  | { readonly kind: "list_requested"; readonly at: number; readonly requestId: string }
  /** A cancel of the open session went out; its ticket ends the conversation. */
  | {
    readonly kind: "cancel_requested";
    readonly at: number;
    readonly requestId: string;
    readonly cpId: string;
    readonly sessionId: string;
  }
  /** Central opened a session; `followed` is false when it is not the current conversation. */
  | {
    readonly kind: "authorized";
    readonly at: number;
    readonly requestId: string;
    readonly cpId: string;
    readonly sessionId: string;
    readonly followed: boolean;
  }
  /** Live figures of the followed session; `first` for the first of a session. */
  | {
    readonly kind: "supply";
    readonly at: number;
    readonly cpId: string;
    readonly sessionId: string;
    readonly kw: number;
    readonly kwh: number;
    readonly eur: number;
    readonly first: boolean;
  }
  /** A ticket (counted in the summary). */
  | { readonly kind: "ticket"; readonly at: number; readonly ticket: TicketLine }
  /** A denial (counted in the summary). */
  | { readonly kind: "denied"; readonly at: number; readonly denial: DenialLine }
  /** Central's list of CPs. */
  | { readonly kind: "cp_list"; readonly at: number; readonly cps: readonly CpListEntry[] }
  /** The current request has had no answer for `seconds`; the driver keeps waiting. */
  | {
    readonly kind: "waiting";
    readonly at: number;
    readonly requestId: string;
    readonly cpId: string;
    readonly seconds: number;
  }
  /** File mode pauses until `until`, then asks `nextCpId`. */
  | {
    readonly kind: "paused";
    readonly at: number;
    readonly until: number;
    readonly nextCpId: string;
  }
  /** An update was not acted on. */
  | {
    readonly kind: "ignored";
    readonly at: number;
    readonly reason: IgnoreReason;
    readonly detail: string;
  }
  /** A user command was not sent, and why. */
  | { readonly kind: "refused"; readonly at: number; readonly detail: string }
  /** File mode went through every id (no loop): the run is over. */
  | { readonly kind: "finished"; readonly at: number; readonly summary: Summary };

/** What the edge must do after a step, in order. */
export type Effect =
  /** Publish to `driver.requests`, keyed by the driver id. */
  | { readonly type: "send"; readonly message: DriverRequest }
  /** Show or log. */
  | { readonly type: "emit"; readonly event: DriverEvent };

/** The outcome of `step` (core.ts). */
export type DriverStep = CoreStep<DriverModel, Effect>;
