/**
 * The benchmark's verdict figures, apart from how they are measured: what a steady state lost
 * (logins, engine links, sessions) and the one-line summary every `data/bench/` result carries
 * under the same names, whichever mode produced it (`--cps`, `--backlog`, `--outage`).
 *
 * @module
 */
import type { EndReason } from "../shared/messages.ts";
import type { FleetCounts } from "./core.ts";

/**
 * Why a session that a failure cut short ended: the CP's status or key was lost, the engine
 * reported a fault, or the vehicle was never plugged in because `AUTHORIZE` came too late. A
 * session its driver unplugged, that reached its target or that an operator or the weather
 * stopped ended as it should.
 */
export const LOST_END_REASONS: ReadonlySet<EndReason> = new Set([
  "status_lost",
  "key_lost",
  "fault",
  "plug_timeout",
]);

/** What went wrong between two moments of a run. */
export interface Losses {
  /** Logged-in CPs that stopped being logged in (see {@link FleetCounts.lostLogins}). */
  readonly lostLogins: number;
  /** Logins after a CP's first: forced re-logins. */
  readonly relogins: number;
  /** Monitor ↔ engine links that went down. */
  readonly monitorLinkDrops: number;
  /** Sessions ticketed with a {@link LOST_END_REASONS} reason. */
  readonly lostSessions: number;
  /** {@link Losses.lostSessions} by end reason. */
  readonly lostSessionReasons: Readonly<Record<string, number>>;
}

/** The losses between the counts `before` and `after`, given the tickets issued in between. */
export function lossesBetween(
  before: FleetCounts,
  after: FleetCounts,
  tickets: readonly { readonly endReason: EndReason }[],
): Losses {
  const lostSessionReasons: Record<string, number> = {};
  for (const { endReason } of tickets) {
    if (LOST_END_REASONS.has(endReason)) {
      lostSessionReasons[endReason] = (lostSessionReasons[endReason] ?? 0) + 1;
    }
  }
  return {
    lostLogins: after.lostLogins - before.lostLogins,
    relogins: after.relogins - before.relogins,
    monitorLinkDrops: after.monitorLinkDrops - before.monitorLinkDrops,
    lostSessions: Object.values(lostSessionReasons).reduce((a, b) => a + b, 0),
    lostSessionReasons,
  };
}

/** The figures a run is judged by, in the names the JSON result gives them. */
export interface BenchSummary {
  /** `cp.telemetry` messages Central committed per second (steady state, or backlog drain). */
  readonly handled_per_s: number;
  /** A raw consumer's rate on the same broker (the same backlog, for `--backlog`). */
  readonly raw_per_s: number;
  /** `handled_per_s ÷ raw_per_s`. */
  readonly ratio: number;
  /** Central's largest consumer lag, in seconds of production (null when nothing was produced). */
  readonly lag_max_s: number | null;
  /** Driver request → `AUTHORIZED`, p99 ms (null when no request was authorized). */
  readonly auth_p99_ms: number | null;
  /** Error records, monitors that gave up, drivers that failed. */
  readonly errors: number;
  /** See {@link Losses.lostSessions}. */
  readonly lost_sessions: number;
  /** See {@link Losses.lostLogins}. */
  readonly lost_logins: number;
  /** See {@link Losses.relogins}. */
  readonly relogins: number;
  /** See {@link Losses.monitorLinkDrops}. */
  readonly monitor_link_drops: number;
}

/** The summary of a run from its parts. */
export function benchSummary(parts: {
  readonly handledPerSecond: number;
  readonly rawPerSecond: number;
  readonly lagMaxSeconds: number | null;
  readonly authP99Ms: number | undefined;
  readonly errors: number;
  readonly losses: Losses;
}): BenchSummary {
  const { handledPerSecond, rawPerSecond, losses } = parts;
  return {
    handled_per_s: handledPerSecond,
    raw_per_s: rawPerSecond,
    ratio: rawPerSecond > 0 ? handledPerSecond / rawPerSecond : 0,
    lag_max_s: parts.lagMaxSeconds,
    auth_p99_ms: parts.authP99Ms ?? null,
    errors: parts.errors,
    lost_sessions: losses.lostSessions,
    lost_logins: losses.lostLogins,
    relogins: losses.relogins,
    monitor_link_drops: losses.monitorLinkDrops,
  };
}

/** The losses as one line of the printed table. */
export function formatLosses(losses: Losses): string {
  const reasons = Object.entries(losses.lostSessionReasons).map(([k, n]) => `${k} ${n}`);
  return `${losses.lostLogins} lost logins (${losses.relogins} logged in again), ` +
    `${losses.monitorLinkDrops} engine links lost, ${losses.lostSessions} lost sessions` +
    (reasons.length > 0 ? ` (${reasons.join(", ")})` : "");
}
