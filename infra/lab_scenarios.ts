/**
 * The faults the lab can play, each a named step (`deno task lab --scenario NAME`), and the
 * checks after each: the scenario's own timings (how long each state change took, measured
 * from the moment the fault started or ended) and the charging loop's numbers
 * (`infra/lab_checks.ts`), plus the audit chain.
 *
 * Every wait is for an event, with a generous bound that only caps a hang; the fault's own
 * length (20 s, 30 s) is the one deliberate pause, since it is what is being played.
 *
 * @module
 */
import { join } from "node:path";
import {
  checkLoop,
  type CheckResult,
  type DriverAnswer,
  driverAnswers,
  type SessionRow,
} from "./lab_checks.ts";
import { HEARTBEAT_TIMEOUT_S, type Lab, LAB_CPS, LAB_DRIVERS } from "./lab_run.ts";
import type { Observer } from "./lab_observer.ts";
import type { Fault } from "./lab_net.ts";

/** What a scenario reports. */
export interface ScenarioReport {
  /** Its name. */
  readonly name: string;
  /** Its own measurements, in seconds or counts (names say which). */
  readonly timings: Record<string, number>;
  /** The charging loop's numbers after it. */
  readonly check: CheckResult;
  /** Whether `deno task audit:verify` accepted Central's audit chain. */
  readonly auditVerified: boolean;
  /** Everything that did not hold (empty: it passed). */
  readonly failures: readonly string[];
}

/** What a scenario's play gets. */
export interface ScenarioContext {
  readonly lab: Lab;
  readonly observer: Observer;
  readonly say: (text: string) => void;
  readonly signal?: AbortSignal;
  /** Measurements so far (the play adds to them). */
  readonly timings: Record<string, number>;
  /** Failures the play found (besides the checks'). */
  readonly failures: string[];
}

/** One fault the lab can play. */
export interface Scenario {
  readonly name: string;
  /** What it does and what it shows, one sentence. */
  readonly summary: string;
  /** Plays the fault and ends it (the checks follow). */
  play(ctx: ScenarioContext): Promise<void>;
}

/** Bounds (they cap a hang; the measured times are reported). */
const BOUND_MS = {
  /** A session to be under way before a fault. */
  supplying: 120_000,
  /** Every CP back in Central after a fault ends (monitor back-off is capped at 10 s). */
  reconnect: 90_000,
  /** The loop to settle: every ticket out, every request answered. */
  settle: 120_000,
  /** Central back after a restart. */
  central: 120_000,
};

/** Seconds between two instants, to a tenth. */
const seconds = (from: number, to: number) => Math.round((to - from) / 100) / 10;

const connected = (state: string) => state !== "DISCONNECTED";

/** Waits until some CP is supplying a driver; returns Central's active sessions then. */
async function waitForCharging(ctx: ScenarioContext): Promise<SessionRow[]> {
  const { observer } = ctx;
  await observer.waitFor(
    "a CP to supply a driver",
    () =>
      [...observer.cps.values()].some((cp) => cp.state === "SUPPLYING" && (cp.kwh ?? 0) > 0) ||
      undefined,
    BOUND_MS.supplying,
    ctx.signal,
  );
  return await observer.getOk<SessionRow[]>("/sessions?status=active&limit=1000");
}

/**
 * Waits until Central sees every CP `match`; records, under `name`, the longest time from
 * `since` to a CP's change (as the observer first saw it).
 */
async function timeAllCps(
  ctx: ScenarioContext,
  name: string,
  what: string,
  since: number,
  match: (state: string) => boolean,
  boundMs: number,
): Promise<void> {
  const { observer } = ctx;
  await observer.waitFor(
    `every CP ${what}`,
    () => LAB_CPS.every((cp) => match(observer.cps.get(cp.id)?.state ?? "")) || undefined,
    boundMs,
    ctx.signal,
  );
  const at = LAB_CPS.map((cp) => observer.changedAt(cp.id, since, match) ?? since);
  ctx.timings[name] = seconds(since, Math.max(...at));
  ctx.say(`every CP ${what}: the last ${ctx.timings[name]} s after the fault changed`);
}

/** Plays a network fault for `holdMs`, then heals it. */
async function hold(ctx: ScenarioContext, holdMs: number): Promise<void> {
  // The monotonic clock: the wall clock of a virtual machine may jump.
  const until = performance.now() + holdMs;
  while (performance.now() < until) {
    ctx.signal?.throwIfAborted();
    await new Promise((r) => setTimeout(r, Math.min(500, until - performance.now())));
  }
}

/** The sessions of `before` that got a ticket, and those with more kWh than then. */
function throughFault(observer: Observer, before: readonly SessionRow[]) {
  const tickets = new Map(
    observer.messages.filter((m) => m.value.type === "TICKET").map((m) => [m.value.sessionId, m]),
  );
  const ended = before.filter((s) => tickets.has(s.id));
  const grew = before.filter((s) => (tickets.get(s.id)?.value.kwh ?? 0) > s.kwh);
  return { ended: ended.length, grew: grew.length };
}

/** A cut that disconnects every CP, as {@link cutAndHeal} plays it. */
interface Cut {
  /** How the cut is said (`… for 20 s (3 sessions under way)` follows). */
  readonly said: string;
  /** The links it cuts, each until the heal. */
  readonly faults: readonly Fault[];
  /** How long it lasts, from its start. */
  readonly holdMs: number;
  /** How the heal is said. */
  readonly healed: string;
  /** Checks `disconnected_s` once every CP is DISCONNECTED, before the hold. */
  readonly checkDisconnected?: () => void;
}

/**
 * The course of a cut, with sessions under way: the cut for its length, timing how long every
 * CP takes to turn DISCONNECTED (`disconnected_s`) and, once healed, to be back in Central
 * (`reconnected_s`); then the loop settles. Returns the sessions under way at the cut.
 */
async function cutAndHeal(ctx: ScenarioContext, cut: Cut): Promise<SessionRow[]> {
  const { lab } = ctx;
  const before = await waitForCharging(ctx);
  ctx.say(`${cut.said} for ${cut.holdMs / 1000} s (${before.length} sessions under way)`);
  const t0 = Date.now();
  for (const fault of cut.faults) await lab.fault(fault);
  await timeAllCps(ctx, "disconnected_s", "DISCONNECTED", t0, (s) => !connected(s), 30_000);
  cut.checkDisconnected?.();
  await hold(ctx, cut.holdMs - (Date.now() - t0));
  const t1 = Date.now();
  await lab.heal();
  ctx.say(cut.healed);
  await timeAllCps(ctx, "reconnected_s", "back in Central", t1, connected, BOUND_MS.reconnect);
  await settle(ctx, t1);
  return before;
}

const cutCps: Scenario = {
  name: "cut-cps",
  summary: "pc2 ↔ pc1 cut for 20 s: the CPs turn DISCONNECTED within the heartbeat timeout, " +
    "the engines keep supplying, every session reconciles and gets exactly one ticket",
  async play(ctx) {
    const before = await cutAndHeal(ctx, {
      said: "cutting pc2 ↔ pc1",
      faults: [{ kind: "cut", a: "pc2", b: "pc1" }],
      holdMs: 20_000,
      healed: "pc2 ↔ pc1 restored",
      checkDisconnected() {
        if (ctx.timings.disconnected_s > HEARTBEAT_TIMEOUT_S + 2) {
          ctx.failures.push(
            `the last CP turned DISCONNECTED ${ctx.timings.disconnected_s} s after the cut ` +
              `(heartbeat timeout ${HEARTBEAT_TIMEOUT_S} s, + 2 s to observe it)`,
          );
        }
      },
    });
    const { ended, grew } = throughFault(ctx.observer, before);
    ctx.timings.sessions_at_cut = before.length;
    ctx.timings.ended_meanwhile_ticketed = ended;
    ctx.timings.supplied_through_cut = grew;
    if (before.length > 0 && grew === 0) {
      ctx.failures.push("no session under way at the cut supplied more energy after it");
    }
  },
};

const slowDrivers: Scenario = {
  name: "slow-drivers",
  summary: "300 ms delay and 5 % loss on pc3 for 30 s: every request is answered exactly " +
    "once, no duplicate tickets",
  async play(ctx) {
    const { lab } = ctx;
    await waitForCharging(ctx);
    // The window is cut by log offsets, not clock readings: requests between the two.
    const start = await driverLogSizes(lab);
    const how = await lab.slowHost("pc3", { delayMs: 300, loss: 0.05 });
    ctx.say(`pc3: 300 ms delay and 5 % loss for 30 s (${how})`);
    await hold(ctx, 30_000);
    const end = await driverLogSizes(lab);
    const slow = () => driverLogAnswers(lab, start, end);
    const answered = await ctx.observer.waitFor(
      "a request asked while pc3 was slow to be answered",
      async () => {
        const done = (await slow()).filter((a) => a.answeredAt !== undefined);
        return done.length > 0 ? done : undefined;
      },
      BOUND_MS.settle,
      ctx.signal,
    );
    const t1 = Date.now();
    await lab.heal();
    ctx.say("pc3 is fast again");
    const times = answered.map((a) => (a.answeredAt! - a.askedAt) / 1000);
    ctx.timings.requests_while_slow = (await slow()).length;
    ctx.timings.answered_while_slow = answered.length;
    ctx.timings.answer_min_s = Math.min(...times);
    ctx.timings.answer_max_s = Math.max(...times);
    if (ctx.timings.answer_min_s < 0.3) {
      ctx.failures.push(`a request was answered in ${ctx.timings.answer_min_s} s: no 300 ms delay`);
    }
    await settle(ctx, t1);
  },
};

/** The length of each driver's log on pc3 now. */
async function driverLogSizes(lab: Lab): Promise<number[]> {
  return await Promise.all(
    LAB_DRIVERS.map(async (d) => (await Deno.stat(lab.process(`driver-${d.id}`).logFile)).size),
  );
}

/** The requests the drivers on pc3 logged between two {@link driverLogSizes}, with answers. */
async function driverLogAnswers(lab: Lab, start: number[], end: number[]): Promise<DriverAnswer[]> {
  const logs = await Promise.all(
    LAB_DRIVERS.map((d) => Deno.readFile(lab.process(`driver-${d.id}`).logFile)),
  );
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return logs.flatMap((log, i) => {
    const asked = new Set(
      driverAnswers(text(log.subarray(start[i], end[i]))).map((a) => a.requestId),
    );
    return driverAnswers(text(log.subarray(start[i]))).filter((a) => asked.has(a.requestId));
  });
}

const kafkaAway: Scenario = {
  name: "kafka-away",
  summary: "pc2 loses the broker (only port 9092) but not Central for 30 s: the CPs stay " +
    "connected, telemetry resumes and billing is correct",
  async play(ctx) {
    const { lab, observer } = ctx;
    await waitForCharging(ctx);
    const t0 = Date.now();
    ctx.say("pc2 cannot reach Kafka on pc1:9092 for 30 s (Central's :7000 still can)");
    await lab.fault({ kind: "port", client: "pc2", server: "pc1", port: 9092 });
    await hold(ctx, 30_000);
    const dropped = observer.changes.filter((c) => c.at >= t0 && c.state === "DISCONNECTED");
    ctx.timings.disconnects_while_away = dropped.length;
    if (dropped.length > 0) {
      ctx.failures.push(
        `CPs lost Central while only Kafka was away: ${dropped.map((c) => c.cpId).join(", ")}`,
      );
    }
    const kwhAtHeal = new Map([...observer.cps].map(([id, cp]) => [id, cp.kwh]));
    const ticketsAtHeal = countType(observer, "TICKET");
    const t1 = Date.now();
    await lab.heal();
    ctx.say("pc2 reaches Kafka again");
    const resumed = await observer.waitFor(
      "telemetry from pc2 to reach Central again",
      () => {
        const moved = [...observer.cps.values()].some((cp) =>
          cp.state === "SUPPLYING" && cp.kwh !== null && cp.kwh !== kwhAtHeal.get(cp.id)
        );
        return moved || countType(observer, "TICKET") > ticketsAtHeal ? Date.now() : undefined;
      },
      BOUND_MS.reconnect,
      ctx.signal,
    );
    ctx.timings.telemetry_resumed_s = seconds(t1, resumed);
    await settle(ctx, t1);
  },
};

const centralCrash: Scenario = {
  name: "central-crash",
  summary: "Central is killed (SIGKILL) on pc1 during charges and started again: no session " +
    "is lost or billed twice",
  async play(ctx) {
    const { lab, observer } = ctx;
    const before = await waitForCharging(ctx);
    ctx.say(`SIGKILL to Central (${before.length} sessions under way)`);
    const central = lab.process("central");
    const t0 = Date.now();
    await central.crash();
    await central.start();
    ctx.say("Central started again");
    const up = await observer.waitFor(
      "Central to answer again",
      () => observer.lastAnswerAt > t0 + 100 ? observer.lastAnswerAt : undefined,
      BOUND_MS.central,
      ctx.signal,
    );
    ctx.timings.central_back_s = seconds(t0, up);
    await timeAllCps(ctx, "cps_back_s", "back in Central", t0, connected, BOUND_MS.reconnect);
    await settle(ctx, up);
    ctx.timings.sessions_at_crash = before.length;
    ctx.timings.ticketed_after_crash = throughFault(observer, before).ended;
  },
};

const partition: Scenario = {
  name: "partition",
  summary: "pc1 isolated from pc2 and pc3 for 30 s, then healed: every CP turns DISCONNECTED " +
    "and comes back, every session ends once",
  async play(ctx) {
    const before = await cutAndHeal(ctx, {
      said: "pc1 isolated",
      faults: [{ kind: "cut", a: "pc1", b: "pc2" }, { kind: "cut", a: "pc1", b: "pc3" }],
      holdMs: 30_000,
      healed: "pc1 rejoined",
    });
    ctx.timings.sessions_at_partition = before.length;
    ctx.timings.ticketed_after_partition = throughFault(ctx.observer, before).ended;
  },
};

/** Every scenario, in the order `--scenario all` plays them. */
export const SCENARIOS: readonly Scenario[] = [
  cutCps,
  slowDrivers,
  kafkaAway,
  centralCrash,
  partition,
];

/** How many messages of `type` the observer saw. */
function countType(observer: Observer, type: string): number {
  return observer.messages.filter((m) => m.value.type === type).length;
}

/** The last check of a scenario, kept by {@link settle}. */
const lastCheck = new WeakMap<ScenarioContext, CheckResult>();

/**
 * Waits until the loop holds again: every request sent before `since` answered, every session
 * Central completed ticketed, and so on; records how long that took. The last check is kept for
 * the report even if it never held.
 */
async function settle(ctx: ScenarioContext, since: number): Promise<void> {
  const deadline = Date.now() + BOUND_MS.settle;
  while (true) {
    const check = await runCheck(ctx.lab, ctx.observer, since);
    lastCheck.set(ctx, check);
    if (check.failures.length === 0 || Date.now() > deadline) break;
    ctx.signal?.throwIfAborted();
    await new Promise((r) => setTimeout(r, 1_000));
  }
  ctx.timings.settled_s = seconds(since, Date.now());
}

/** One check of the charging loop against Central's REST API and the driver topics now. */
export async function runCheck(
  _lab: Lab,
  observer: Observer,
  answeredBy: number,
): Promise<CheckResult> {
  const [completed, active, cps] = await Promise.all([
    observer.getOk<SessionRow[]>("/sessions?status=completed&limit=1000"),
    observer.getOk<SessionRow[]>("/sessions?status=active&limit=1000"),
    observer.getOk<{ id: string; state: string; driver_id: string | null }[]>("/cps"),
  ]);
  return checkLoop({
    messages: observer.messages,
    completed,
    active,
    cps,
    prices: Object.fromEntries(LAB_CPS.map((cp) => [cp.id, cp.price])),
    answeredBy,
    supplyingWithoutDriver: observer.supplyingWithoutDriver,
  });
}

/** Plays `scenario` on `lab` and checks the loop and the audit chain after it. */
export async function playScenario(
  lab: Lab,
  scenario: Scenario,
  say: (text: string) => void,
  signal?: AbortSignal,
): Promise<ScenarioReport> {
  const observer = lab.observer!;
  const ctx: ScenarioContext = { lab, observer, say, signal, timings: {}, failures: [] };
  say(`— scenario ${scenario.name}: ${scenario.summary}`);
  try {
    await scenario.play(ctx);
  } catch (error) {
    await lab.heal();
    if (signal?.aborted) throw error;
    ctx.failures.push(error instanceof Error ? error.message : String(error));
  }
  const check = lastCheck.get(ctx) ?? await runCheck(lab, observer, Date.now() - 60_000);
  const auditVerified = await verifyAudit(lab);
  const failures = [
    ...ctx.failures,
    ...check.failures,
    ...(auditVerified ? [] : ["deno task audit:verify rejected Central's audit chain"]),
  ];
  return { name: scenario.name, timings: ctx.timings, check, auditVerified, failures };
}

/** Runs `deno task audit:verify` on Central's audit file, on pc1. */
async function verifyAudit(lab: Lab): Promise<boolean> {
  const file = join(lab.hostDir("pc1"), "data", "audit.jsonl");
  const p = await lab.spawn("pc1", "audit-verify", ["audit:verify", file]);
  return (await p.exited).success;
}
