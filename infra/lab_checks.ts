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

/** Checks the charging loop: answers, sessions, tickets, bills and CP states. */
export function checkLoop(input: CheckInput): CheckResult {
  const failures: string[] = [];
  const requests = new Map<string, number>();
  const answers = new Map<string, Set<string>>();
  const authorized = new Map<string, { cpId?: string }>();
  const tickets = new Map<string, Map<string, SeenMessage["value"]>>();
  let denied = 0, answerCopies = 0, ticketCopies = 0;

  for (const { at, value } of input.messages) {
    switch (value.type) {
      case "CHARGE_REQUEST":
        if (value.requestId && !requests.has(value.requestId)) requests.set(value.requestId, at);
        break;
      case "AUTHORIZED":
      case "DENIED": {
        if (!value.requestId) break;
        const key = value.type === "AUTHORIZED"
          ? `AUTHORIZED ${value.sessionId}`
          : `DENIED ${value.reason}`;
        const seen = answers.get(value.requestId) ?? new Set();
        if (seen.has(key)) answerCopies++;
        else {
          seen.add(key);
          if (value.type === "AUTHORIZED" && value.sessionId) {
            authorized.set(value.sessionId, { cpId: value.cpId });
          } else if (value.type === "DENIED") denied++;
        }
        answers.set(value.requestId, seen);
        break;
      }
      case "TICKET": {
        if (!value.sessionId) break;
        const key = `${value.kwh}|${value.eur}|${value.endReason}`;
        const seen = tickets.get(value.sessionId) ?? new Map();
        if (seen.has(key)) ticketCopies++;
        else seen.set(key, value);
        tickets.set(value.sessionId, seen);
        break;
      }
    }
  }

  let answered = 0, pending = 0, unanswered = 0, answeredTwice = 0;
  for (const [requestId, at] of requests) {
    const n = answers.get(requestId)?.size ?? 0;
    if (n >= 1) answered++;
    if (n > 1) {
      answeredTwice++;
      failures.push(`request ${requestId} was answered ${n} different ways`);
    }
    if (n === 0 && at < input.answeredBy) {
      unanswered++;
      failures.push(`request ${requestId} (sent ${new Date(at).toISOString()}) was never answered`);
    } else if (n === 0) pending++;
  }

  const activeIds = new Set(input.active.map((s) => s.id));
  const completed = new Map(input.completed.map((s) => [s.id, s]));
  let ticketed = 0, charging = 0, lost = 0, billedTwice = 0, wrongBills = 0, unlike = 0;
  let kwhBilled = 0;
  for (const sessionId of authorized.keys()) {
    const versions = [...(tickets.get(sessionId)?.values() ?? [])];
    if (versions.length > 1) {
      billedTwice++;
      failures.push(`session ${sessionId} has ${versions.length} different tickets`);
    }
    if (versions.length === 0) {
      if (activeIds.has(sessionId)) charging++;
      else {
        lost++;
        failures.push(`session ${sessionId} is neither charging nor ticketed`);
      }
      continue;
    }
    if (versions.length === 1) ticketed++;
    const ticket = versions[0];
    kwhBilled += ticket.kwh ?? 0;
    const price = ticket.cpId === undefined ? undefined : input.prices[ticket.cpId];
    const expected = (ticket.kwh ?? NaN) * (ticket.priceEurKwh ?? NaN);
    if (
      !(Math.abs((ticket.eur ?? NaN) - expected) <= EUR_TOLERANCE) ||
      (price !== undefined && ticket.priceEurKwh !== price)
    ) {
      wrongBills++;
      failures.push(
        `session ${sessionId}: ${ticket.eur} € for ${ticket.kwh} kWh at ${ticket.priceEurKwh} €/kWh` +
          (price === undefined ? "" : ` (the CP's price is ${price})`),
      );
    }
    const row = completed.get(sessionId);
    if (
      row !== undefined &&
      (Math.abs(row.eur - (ticket.eur ?? NaN)) > EUR_TOLERANCE ||
        Math.abs(row.kwh - (ticket.kwh ?? NaN)) > EUR_TOLERANCE)
    ) {
      unlike++;
      failures.push(
        `session ${sessionId}: ticket ${ticket.kwh} kWh ${ticket.eur} € but Central has ` +
          `${row.kwh} kWh ${row.eur} €`,
      );
    }
  }
  let ticketsWithoutSession = 0;
  for (const sessionId of tickets.keys()) {
    if (!authorized.has(sessionId)) {
      ticketsWithoutSession++;
      failures.push(`ticket for session ${sessionId}, which was never authorized`);
    }
  }
  let completedWithoutTicket = 0;
  for (const sessionId of completed.keys()) {
    if (!tickets.has(sessionId)) {
      completedWithoutTicket++;
      failures.push(`Central completed session ${sessionId} but no ticket was sent`);
    }
  }
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

  return {
    numbers: {
      requests: requests.size,
      answered,
      pending,
      unanswered,
      answeredTwice,
      answerCopies,
      authorized: authorized.size,
      denied,
      ticketed,
      charging,
      lost,
      billedTwice,
      ticketCopies,
      ticketsWithoutSession,
      wrongBills,
      ticketsUnlikeCentral: unlike,
      completedWithoutTicket,
      supplyingWithoutSession,
      kwhBilled: Math.round(kwhBilled * 1000) / 1000,
    },
    failures,
  };
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
