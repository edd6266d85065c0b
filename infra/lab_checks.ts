/**
 * The lab's assertions, pure: from what crossed the driver topics and what Central's REST API
 * shows, the numbers that say whether the charging loop stayed whole through a fault, and the
 * failures among them.
 *
 * Kafka delivers at least once, so the same answer or ticket may cross the wire twice (Central
 * re-sends unsent outbox rows after a crash; a producer retries a lost acknowledgement): the
 * drivers drop those by id. What must never happen is a second, different answer to one request,
 * or a second, different ticket for one session; those are failures, identical copies are only
 * counted.
 *
 * @module
 */

/** A driver-topic message the lab counts, as the probe saw it. */
export interface SeenMessage {
  /** When the probe read it (ms since the epoch). */
  readonly at: number;
  /** The message. */
  readonly value: {
    readonly type: string;
    readonly requestId?: string;
    readonly sessionId?: string;
    readonly driverId?: string;
    readonly cpId?: string;
    readonly reason?: string;
    readonly kwh?: number;
    readonly eur?: number;
    readonly priceEurKwh?: number;
    readonly endReason?: string;
  };
}

/** A session as Central's `GET /sessions` shows it. */
export interface SessionRow {
  readonly id: string;
  readonly cp_id: string;
  readonly driver_id: string;
  readonly ended_at: string | null;
  readonly kwh: number;
  readonly eur: number;
  readonly end_reason: string | null;
}

/** A CP as Central's `GET /cps` shows it (the fields the checks read). */
export interface CpRow {
  readonly id: string;
  readonly state: string;
  readonly driver_id: string | null;
}

/** Everything the checks read. */
export interface CheckInput {
  /** Every counted driver-topic message since the topics began. */
  readonly messages: readonly SeenMessage[];
  /** Central's completed sessions. */
  readonly completed: readonly SessionRow[];
  /** Central's active sessions (read together with {@link cps}). */
  readonly active: readonly SessionRow[];
  /** Central's CPs, read together with {@link active}. */
  readonly cps: readonly CpRow[];
  /** Each CP's price as registered, €/kWh. */
  readonly prices: Readonly<Record<string, number>>;
  /** Requests sent before this moment (ms) must have been answered by now. */
  readonly answeredBy: number;
  /** How many `/cps` readings showed a CP `SUPPLYING` with no driver on it. */
  readonly supplyingWithoutDriver: number;
}

/** The numbers of one check. */
export interface CheckNumbers {
  /** Distinct `CHARGE_REQUEST`s. */
  requests: number;
  /** Of those, answered (`AUTHORIZED` or `DENIED`). */
  answered: number;
  /** Sent after {@link CheckInput.answeredBy}, not answered yet. */
  pending: number;
  /** Sent before it and still unanswered. */
  unanswered: number;
  /** Requests with two different answers. */
  answeredTwice: number;
  /** Identical answer copies on the wire (dropped by the drivers). */
  answerCopies: number;
  /** Sessions authorized. */
  authorized: number;
  /** Denials. */
  denied: number;
  /** Authorized sessions ended with exactly one ticket. */
  ticketed: number;
  /** Authorized sessions still charging (active in Central, no ticket yet). */
  charging: number;
  /** Authorized sessions neither ticketed nor active: lost. */
  lost: number;
  /** Sessions with two different tickets: billed twice. */
  billedTwice: number;
  /** Identical ticket copies on the wire (dropped by the drivers). */
  ticketCopies: number;
  /** Tickets for a session never authorized. */
  ticketsWithoutSession: number;
  /** Tickets whose € is not kWh × price, or whose price is not the CP's. */
  wrongBills: number;
  /** Tickets that disagree with Central's completed session. */
  ticketsUnlikeCentral: number;
  /** Central's completed sessions with no ticket on the wire. */
  completedWithoutTicket: number;
  /** CPs `SUPPLYING` with no active session on them (now), plus readings with no driver. */
  supplyingWithoutSession: number;
  /** kWh billed over all tickets. */
  kwhBilled: number;
}

/** The outcome of {@link checkLoop}. */
export interface CheckResult {
  /** The numbers. */
  readonly numbers: CheckNumbers;
  /** What went wrong, one sentence each (empty: all held). */
  readonly failures: readonly string[];
}

/** Money agrees to a hundredth of a cent (the engines bill at full precision). */
const EUR_TOLERANCE = 1e-4;

/** What crossed the driver topics, deduplicated: identical copies only counted. */
interface Wire {
  /** Each `CHARGE_REQUEST` id, with when it was first seen. */
  readonly requests: Map<string, number>;
  /** Each request's distinct answers (`AUTHORIZED <session>` or `DENIED <reason>`). */
  readonly answers: Map<string, Set<string>>;
  /** Each authorized session, with its CP. */
  readonly authorized: Map<string, { cpId?: string }>;
  /** Each ticketed session's distinct tickets, by their figures. */
  readonly tickets: Map<string, Map<string, SeenMessage["value"]>>;
  /** Distinct denials. */
  denied: number;
  /** Identical answer copies. */
  answerCopies: number;
  /** Identical ticket copies. */
  ticketCopies: number;
}

/** Checks the charging loop: answers, sessions, tickets, bills and CP states. */
export function checkLoop(input: CheckInput): CheckResult {
  const failures: string[] = [];
  const wire = readWire(input.messages);
  const answers = checkAnswers(wire, input.answeredBy, failures);
  const sessions = checkSessions(wire, input, failures);
  const tickets = checkTicketsAgainstCentral(wire, input.completed, failures);
  const supplyingWithoutSession = checkCpStates(input, failures);
  return {
    numbers: {
      requests: wire.requests.size,
      ...answers,
      answerCopies: wire.answerCopies,
      authorized: wire.authorized.size,
      denied: wire.denied,
      ticketed: sessions.ticketed,
      charging: sessions.charging,
      lost: sessions.lost,
      billedTwice: sessions.billedTwice,
      ticketCopies: wire.ticketCopies,
      ticketsWithoutSession: tickets.ticketsWithoutSession,
      wrongBills: sessions.wrongBills,
      ticketsUnlikeCentral: sessions.ticketsUnlikeCentral,
      completedWithoutTicket: tickets.completedWithoutTicket,
      supplyingWithoutSession,
      kwhBilled: Math.round(sessions.kwhBilled * 1000) / 1000,
    },
    failures,
  };
}

/** Reads the driver topics' messages into requests, answers, sessions and tickets. */
function readWire(messages: readonly SeenMessage[]): Wire {
  const wire: Wire = {
    requests: new Map(),
    answers: new Map(),
    authorized: new Map(),
    tickets: new Map(),
    denied: 0,
    answerCopies: 0,
    ticketCopies: 0,
  };
  for (const { at, value } of messages) {
    switch (value.type) {
      case "CHARGE_REQUEST":
        if (value.requestId && !wire.requests.has(value.requestId)) {
          wire.requests.set(value.requestId, at);
        }
        break;
      case "AUTHORIZED":
      case "DENIED":
        readAnswer(wire, value);
        break;
      case "TICKET": {
        if (!value.sessionId) break;
        const key = `${value.kwh}|${value.eur}|${value.endReason}`;
        const seen = wire.tickets.get(value.sessionId) ?? new Map();
        if (seen.has(key)) wire.ticketCopies++;
        else seen.set(key, value);
        wire.tickets.set(value.sessionId, seen);
        break;
      }
    }
  }
  return wire;
}

/** An `AUTHORIZED` or `DENIED`: a new answer to its request, or a copy of one. */
function readAnswer(wire: Wire, value: SeenMessage["value"]): void {
  if (!value.requestId) return;
  const key = value.type === "AUTHORIZED"
    ? `AUTHORIZED ${value.sessionId}`
    : `DENIED ${value.reason}`;
  const seen = wire.answers.get(value.requestId) ?? new Set();
  if (seen.has(key)) wire.answerCopies++;
  else {
    seen.add(key);
    if (value.type === "AUTHORIZED" && value.sessionId) {
      wire.authorized.set(value.sessionId, { cpId: value.cpId });
    } else if (value.type === "DENIED") wire.denied++;
  }
  wire.answers.set(value.requestId, seen);
}

/** Every request answered once, or still within its time to be. */
function checkAnswers(
  wire: Wire,
  answeredBy: number,
  failures: string[],
): Pick<CheckNumbers, "answered" | "pending" | "unanswered" | "answeredTwice"> {
  let answered = 0, pending = 0, unanswered = 0, answeredTwice = 0;
  for (const [requestId, at] of wire.requests) {
    const n = wire.answers.get(requestId)?.size ?? 0;
    if (n >= 1) answered++;
    if (n > 1) {
      answeredTwice++;
      failures.push(`request ${requestId} was answered ${n} different ways`);
    }
    if (n === 0 && at < answeredBy) {
      unanswered++;
      failures.push(`request ${requestId} (sent ${new Date(at).toISOString()}) was never answered`);
    } else if (n === 0) pending++;
  }
  return { answered, pending, unanswered, answeredTwice };
}

/** What {@link checkSessions} counts. */
type SessionNumbers =
  & Pick<
    CheckNumbers,
    "ticketed" | "charging" | "lost" | "billedTwice" | "wrongBills" | "ticketsUnlikeCentral"
  >
  & { kwhBilled: number };

/** Every authorized session charging, or ticketed once with a right bill Central agrees with. */
function checkSessions(wire: Wire, input: CheckInput, failures: string[]): SessionNumbers {
  const activeIds = new Set(input.active.map((s) => s.id));
  const completed = new Map(input.completed.map((s) => [s.id, s]));
  const n: SessionNumbers = {
    ticketed: 0,
    charging: 0,
    lost: 0,
    billedTwice: 0,
    wrongBills: 0,
    ticketsUnlikeCentral: 0,
    kwhBilled: 0,
  };
  for (const sessionId of wire.authorized.keys()) {
    const versions = [...(wire.tickets.get(sessionId)?.values() ?? [])];
    if (versions.length > 1) {
      n.billedTwice++;
      failures.push(`session ${sessionId} has ${versions.length} different tickets`);
    }
    if (versions.length === 0) {
      if (activeIds.has(sessionId)) n.charging++;
      else {
        n.lost++;
        failures.push(`session ${sessionId} is neither charging nor ticketed`);
      }
      continue;
    }
    if (versions.length === 1) n.ticketed++;
    const ticket = versions[0];
    n.kwhBilled += ticket.kwh ?? 0;
    if (!billRight(sessionId, ticket, input.prices, failures)) n.wrongBills++;
    if (!likeCentral(sessionId, ticket, completed.get(sessionId), failures)) {
      n.ticketsUnlikeCentral++;
    }
  }
  return n;
}

/** Whether a ticket's € is its kWh × its price, and its price the CP's; else says why. */
function billRight(
  sessionId: string,
  ticket: SeenMessage["value"],
  prices: CheckInput["prices"],
  failures: string[],
): boolean {
  const price = ticket.cpId === undefined ? undefined : prices[ticket.cpId];
  const expected = (ticket.kwh ?? NaN) * (ticket.priceEurKwh ?? NaN);
  if (
    Math.abs((ticket.eur ?? NaN) - expected) <= EUR_TOLERANCE &&
    (price === undefined || ticket.priceEurKwh === price)
  ) return true;
  failures.push(
    `session ${sessionId}: ${ticket.eur} € for ${ticket.kwh} kWh at ${ticket.priceEurKwh} €/kWh` +
      (price === undefined ? "" : ` (the CP's price is ${price})`),
  );
  return false;
}

/** Whether a ticket agrees with Central's completed session, if it has one; else says why. */
function likeCentral(
  sessionId: string,
  ticket: SeenMessage["value"],
  row: SessionRow | undefined,
  failures: string[],
): boolean {
  if (
    row === undefined ||
    !(Math.abs(row.eur - (ticket.eur ?? NaN)) > EUR_TOLERANCE ||
      Math.abs(row.kwh - (ticket.kwh ?? NaN)) > EUR_TOLERANCE)
  ) return true;
  failures.push(
    `session ${sessionId}: ticket ${ticket.kwh} kWh ${ticket.eur} € but Central has ` +
      `${row.kwh} kWh ${row.eur} €`,
  );
  return false;
}

/** No ticket without an authorized session, and no completed session without a ticket. */
function checkTicketsAgainstCentral(
  wire: Wire,
  completed: readonly SessionRow[],
  failures: string[],
): Pick<CheckNumbers, "ticketsWithoutSession" | "completedWithoutTicket"> {
  let ticketsWithoutSession = 0;
  for (const sessionId of wire.tickets.keys()) {
    if (!wire.authorized.has(sessionId)) {
      ticketsWithoutSession++;
      failures.push(`ticket for session ${sessionId}, which was never authorized`);
    }
  }
  let completedWithoutTicket = 0;
  for (const id of new Set(completed.map((s) => s.id))) {
    if (!wire.tickets.has(id)) {
      completedWithoutTicket++;
      failures.push(`Central completed session ${id} but no ticket was sent`);
    }
  }
  return { ticketsWithoutSession, completedWithoutTicket };
}

/** No CP `SUPPLYING` without a session on it (now), nor readings of one without a driver. */
function checkCpStates(input: CheckInput, failures: string[]): number {
  const activeCps = new Set(input.active.map((s) => s.cp_id));
  let supplyingWithoutSession = input.supplyingWithoutDriver;
  if (input.supplyingWithoutDriver > 0) {
    failures.push(`${input.supplyingWithoutDriver} readings showed a CP SUPPLYING with no driver`);
  }
  for (const cp of input.cps) {
    if (cp.state === "SUPPLYING" && !activeCps.has(cp.id)) {
      supplyingWithoutSession++;
      failures.push(`CP ${cp.id} is SUPPLYING without an active session`);
    }
  }
  return supplyingWithoutSession;
}

/** One line of a check's numbers, for a person. */
export function numbersLine(n: CheckNumbers): string {
  return `requests ${n.requests} (answered ${n.answered}, pending ${n.pending}, ` +
    `unanswered ${n.unanswered}, answered twice ${n.answeredTwice}, copies ${n.answerCopies}); ` +
    `sessions ${n.authorized} (ticketed once ${n.ticketed}, charging ${n.charging}, lost ${n.lost}, ` +
    `billed twice ${n.billedTwice}, ticket copies ${n.ticketCopies}); denied ${n.denied}; ` +
    `wrong bills ${n.wrongBills}; tickets unlike Central ${n.ticketsUnlikeCentral}; ` +
    `completed without ticket ${n.completedWithoutTicket}; ` +
    `SUPPLYING without session ${n.supplyingWithoutSession}; ${n.kwhBilled} kWh billed`;
}

/** A request as a driver's log tells it: when it asked, and when the answer came. */
export interface DriverAnswer {
  readonly requestId: string;
  readonly askedAt: number;
  readonly answeredAt: number | undefined;
}

/**
 * The requests in a driver's JSON log (`deno task driver` with a file, not on a terminal): each
 * `requested` record and the `authorized` or `denied` record with the same request id.
 */
export function driverAnswers(log: string): DriverAnswer[] {
  const asked = new Map<string, { askedAt: number; answeredAt?: number }>();
  for (const line of log.split("\n")) {
    if (!line.startsWith("{")) continue;
    let record: { "@timestamp"?: string; properties?: { kind?: string; requestId?: string } };
    try {
      record = JSON.parse(line);
    } catch {
      continue;
    }
    const { kind, requestId } = record.properties ?? {};
    const at = Date.parse(record["@timestamp"] ?? "");
    if (!requestId || Number.isNaN(at)) continue;
    if (kind === "requested" && !asked.has(requestId)) asked.set(requestId, { askedAt: at });
    const entry = asked.get(requestId);
    if ((kind === "authorized" || kind === "denied") && entry && entry.answeredAt === undefined) {
      entry.answeredAt = at;
    }
  }
  return [...asked].map(([requestId, e]) => ({ requestId, ...e, answeredAt: e.answeredAt }));
}
