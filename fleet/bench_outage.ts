/**
 * `deno task bench --outage S`: after the steady state, Central is killed (as a crash ends it)
 * and started again S later, with the fleet running all along; this measures how long Central
 * then takes to catch up (its `cp.telemetry` lag back under a second of production) and how
 * long until every CP is logged in again, and what the outage cost in logins and links.
 *
 * @module
 */
import type { Admin } from "kafkajs";
import { TOPICS } from "../shared/kafka.ts";
import { sleep } from "../shared/sleep.ts";
import type { BacklogCentral } from "./bench_backlog.ts";
import { type Losses, lossesBetween } from "./bench_summary.ts";
import type { FleetHandle } from "./fleet.ts";

/** How often the catch-up is sampled, ms. */
const SAMPLE_MS = 500;

/** One look at the network after Central's restart. */
export interface CatchUpSample {
  /** Ms since Central was started again. */
  readonly sinceStartMs: number;
  /** Messages of `cp.telemetry` not yet committed by Central. */
  readonly lagMessages: number;
  /** CPs logged in. */
  readonly loggedIn: number;
}

/** What an outage cost. */
export interface OutageResult {
  /** How long Central was down, s. */
  readonly seconds: number;
  /** Messages waiting when it started again. */
  readonly backlog: number;
  /** Its lag at most after the restart, messages. */
  readonly lagMaxMessages: number;
  /** From the restart until the lag was under 1 s of production; null if it never was. */
  readonly catchUpSeconds: number | null;
  /** From the restart until every CP was logged in again; null if they never all were. */
  readonly loginsBackSeconds: number | null;
  /** From the kill to the end of the measurement. */
  readonly losses: Losses;
}

/**
 * The catch-up from samples taken after the restart: the first sample whose lag is under one
 * second of `producedPerSecond`, and the first with all `cps` logged in.
 */
export function catchUpFigures(
  samples: readonly CatchUpSample[],
  producedPerSecond: number,
  cps: number,
): Pick<OutageResult, "lagMaxMessages" | "catchUpSeconds" | "loginsBackSeconds"> {
  const caughtUp = samples.find((s) => s.lagMessages < producedPerSecond);
  const allIn = samples.find((s) => s.loggedIn >= cps);
  return {
    lagMaxMessages: Math.max(0, ...samples.map((s) => s.lagMessages)),
    catchUpSeconds: caughtUp === undefined ? null : caughtUp.sinceStartMs / 1000,
    loginsBackSeconds: allIn === undefined ? null : allIn.sinceStartMs / 1000,
  };
}

/** Runs the outage (see the module). `limitMs` bounds the wait after the restart. */
export async function measureOutage(o: {
  readonly admin: Admin;
  readonly central: BacklogCentral;
  readonly fleet: FleetHandle;
  readonly outageMs: number;
  readonly producedPerSecond: number;
  readonly limitMs: number;
  readonly say: (text: string) => void;
}): Promise<OutageResult> {
  const lag = async () => {
    const [ends, [committed]] = await Promise.all([
      o.admin.fetchTopicOffsets(TOPICS.cpTelemetry),
      o.admin.fetchOffsets({ groupId: o.central.telemetryGroup, topics: [TOPICS.cpTelemetry] }),
    ]);
    const sum = (ps: { offset: string }[]) =>
      ps.reduce((total, p) => total + Math.max(0, Number(p.offset)), 0);
    return sum(ends) - sum(committed.partitions);
  };
  const before = o.fleet.counts();
  const ticketsFrom = o.fleet.tickets.length;
  o.say(`outage: killing Central for ${o.outageMs / 1000} s`);
  const killedAt = Date.now();
  await o.central.kill();
  await sleep(Math.max(0, o.outageMs - (Date.now() - killedAt)));
  const backlog = await lag();
  o.say(`outage: starting Central again; ${backlog} messages wait`);
  const startedAt = Date.now();
  const started = o.central.start();
  started.catch(() => {});
  const samples: CatchUpSample[] = [];
  const cps = before.cps;
  for (;;) {
    samples.push({
      sinceStartMs: Date.now() - startedAt,
      lagMessages: await lag(),
      loggedIn: o.fleet.counts().loggedIn,
    });
    const figures = catchUpFigures(samples, o.producedPerSecond, cps);
    const done = figures.catchUpSeconds !== null && figures.loginsBackSeconds !== null;
    if (done || Date.now() - startedAt > o.limitMs) break;
    await sleep(SAMPLE_MS);
  }
  await started;
  return {
    seconds: (startedAt - killedAt) / 1000,
    backlog,
    ...catchUpFigures(samples, o.producedPerSecond, cps),
    losses: lossesBetween(before, o.fleet.counts(), o.fleet.tickets.slice(ticketsFrom)),
  };
}
