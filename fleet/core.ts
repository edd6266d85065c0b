/**
 * The fleet's pure parts: who its CPs and drivers are, which CP a driver picks, and what the
 * progress display says. No socket, timer or clock: `fleet.ts` passes times and randomness in.
 *
 * @module
 */

/** Cities a fleet's CPs are spread over (the weather office can look each one up). */
export const CITIES = [
  "Alicante",
  "Madrid",
  "Barcelona",
  "Valencia",
  "Sevilla",
  "Bilbao",
  "Zaragoza",
  "Murcia",
] as const;

/** Charger powers a fleet's CPs have, kW. */
export const POWERS_KW = [7.4, 11, 22, 50] as const;

/** One simulated CP: what its monitor registers. */
export interface CpSpec {
  /** `<prefix>-CP-00001`. */
  readonly id: string;
  /** One of {@link CITIES}. */
  readonly location: string;
  /** 0.25–0.60 €/kWh, to the cent. */
  readonly priceEurKwh: number;
  /** One of {@link POWERS_KW}. */
  readonly powerKw: number;
}

/** A prefix that keeps every id within the 3–64 characters of `[A-Za-z0-9_-]`. */
export const PREFIX_PATTERN = /^[A-Za-z0-9_-]{1,40}$/;

/** The id of CP number `i` (from 1) of a fleet. */
export function cpIdFor(prefix: string, i: number): string {
  return `${prefix}-CP-${String(i).padStart(5, "0")}`;
}

/** The id of driver number `i` (from 1) of a fleet. */
export function driverIdFor(prefix: string, i: number): string {
  return `${prefix}-DRV-${String(i).padStart(5, "0")}`;
}

/** CP number `i` of a fleet, its city, price and power drawn from `random` (in [0, 1)). */
export function cpSpecFor(prefix: string, i: number, random: () => number): CpSpec {
  return {
    id: cpIdFor(prefix, i),
    location: CITIES[Math.floor(random() * CITIES.length)],
    priceEurKwh: Math.round(25 + random() * 35) / 100,
    powerKw: POWERS_KW[Math.floor(random() * POWERS_KW.length)],
  };
}

/** The `p`-th percentile (0–100, nearest rank) of `values`; undefined when there are none. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = values.toSorted((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** Cumulative counts a fleet keeps. */
export interface FleetCounts {
  /** CPs hosted. */
  readonly cps: number;
  /** Drivers hosted. */
  readonly drivers: number;
  /** CPs with Registry credentials (stored before, or registered in this run). */
  readonly registered: number;
  /** CPs logged in to Central now. */
  readonly loggedIn: number;
  /** CPs supplying or holding an authorized session now. */
  readonly charging: number;
  /** Charge requests sent. */
  readonly requests: number;
  /** Tickets received. */
  readonly tickets: number;
  /** Denials received. */
  readonly denials: number;
  /** Error records logged, monitors that gave up, drivers that failed. */
  readonly errors: number;
  /** Kafka messages sent (telemetry, requests). */
  readonly sent: number;
  /** Kafka messages received for this fleet's CPs and drivers (commands, updates). */
  readonly received: number;
  /**
   * Logins lost: a logged-in CP's monitor stopped being logged in to Central (a LOGOUT, a
   * dropped connection, a heartbeat timeout) while the fleet was running, not stopping.
   */
  readonly lostLogins: number;
  /** Logins after a CP's first: each lost login that came back. */
  readonly relogins: number;
  /** Times a monitor's link to its engine went down while the fleet was running. */
  readonly monitorLinkDrops: number;
}

/** Counts of a fleet that has not reported yet: its size, nothing else. */
export function emptyCounts(cps: number, drivers: number): FleetCounts {
  return {
    cps,
    drivers,
    registered: 0,
    loggedIn: 0,
    charging: 0,
    requests: 0,
    tickets: 0,
    denials: 0,
    errors: 0,
    sent: 0,
    received: 0,
    lostLogins: 0,
    relogins: 0,
    monitorLinkDrops: 0,
  };
}

/** The counts of two parts of one fleet together. */
export function addCounts(a: FleetCounts, b: FleetCounts): FleetCounts {
  const sum: { -readonly [K in keyof FleetCounts]: number } = { ...a };
  for (const key of Object.keys(b) as (keyof FleetCounts)[]) sum[key] = a[key] + b[key];
  return sum;
}

/**
 * Splits `total` items into `parts` consecutive ranges whose sizes differ by at most one (the
 * larger first): 10 over 3 is 0–3, 4–6, 7–9.
 */
export function splitRange(
  total: number,
  parts: number,
): { readonly offset: number; readonly count: number }[] {
  if (!Number.isInteger(parts) || parts < 1) {
    throw new RangeError(`parts must be a whole number of at least 1, got ${parts}`);
  }
  if (!Number.isInteger(total) || total < 0) {
    throw new RangeError(`total must be a whole number of at least 0, got ${total}`);
  }
  const base = Math.floor(total / parts);
  const larger = total % parts;
  const ranges: { offset: number; count: number }[] = [];
  let offset = 0;
  for (let i = 0; i < parts; i++) {
    const count = base + (i < larger ? 1 : 0);
    ranges.push({ offset, count });
    offset += count;
  }
  return ranges;
}

/** Counts at a moment, for rates. */
export interface Sample {
  /** When, ms. */
  readonly at: number;
  /** The counts then. */
  readonly counts: FleetCounts;
}

/** Messages per second between two samples, sent and received. */
export function rates(from: Sample, to: Sample): { sent: number; received: number } {
  const seconds = Math.max(0.001, (to.at - from.at) / 1000);
  return {
    sent: (to.counts.sent - from.counts.sent) / seconds,
    received: (to.counts.received - from.counts.received) / seconds,
  };
}

/** The progress display: a title and one labelled line per figure. */
export function progressLines(
  prefix: string,
  counts: FleetCounts,
  rate: { sent: number; received: number },
  elapsedMs: number,
): string[] {
  const c = counts;
  return [
    `EVCharging fleet ${prefix}: ${c.cps} CPs, ${c.drivers} drivers, up ${
      formatDuration(elapsedMs)
    }`,
    "",
    `  registered   ${c.registered}/${c.cps}`,
    `  logged in    ${c.loggedIn}/${c.cps}`,
    `  charging     ${c.charging}`,
    `  requests     ${c.requests}`,
    `  tickets      ${c.tickets}`,
    `  denials      ${c.denials}`,
    `  errors       ${c.errors}`,
    `  lost logins  ${c.lostLogins} (${c.relogins} logged in again), engine links lost ${c.monitorLinkDrops}`,
    `  messages/s   ${rate.sent.toFixed(0)} out, ${rate.received.toFixed(0)} in`,
    "",
    "  Ctrl-C stops",
  ];
}

/** The same figures on one line, for a log or a pipe. */
export function progressLine(
  counts: FleetCounts,
  rate: { sent: number; received: number },
  elapsedMs: number,
): string {
  const c = counts;
  return `fleet ${formatDuration(elapsedMs)}: registered ${c.registered}/${c.cps} ` +
    `logged in ${c.loggedIn}/${c.cps} charging ${c.charging} tickets ${c.tickets} ` +
    `denials ${c.denials} errors ${c.errors} lost logins ${c.lostLogins} ` +
    `relogins ${c.relogins} engine links lost ${c.monitorLinkDrops} msgs/s ${
      rate.sent.toFixed(0)
    } out ` +
    `${rate.received.toFixed(0)} in`;
}

/** `1h02m03s`, `2m05s`, `7s`. */
export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m${String(sec).padStart(2, "0")}s`;
  if (m > 0) return `${m}m${String(sec).padStart(2, "0")}s`;
  return `${sec}s`;
}

/** A set with O(1) add, delete and uniform random pick (the CPs free to charge at). */
export class RandomSet<T> {
  readonly #items: T[] = [];
  readonly #index = new Map<T, number>();

  /** How many items it holds. */
  get size(): number {
    return this.#items.length;
  }

  /** Whether `item` is in it. */
  has(item: T): boolean {
    return this.#index.has(item);
  }

  /** Adds `item` (no-op if present). */
  add(item: T): void {
    if (this.#index.has(item)) return;
    this.#index.set(item, this.#items.length);
    this.#items.push(item);
  }

  /** Removes `item` (no-op if absent): the last item takes its place. */
  delete(item: T): void {
    const i = this.#index.get(item);
    if (i === undefined) return;
    const last = this.#items.pop()!;
    this.#index.delete(item);
    if (i < this.#items.length) {
      this.#items[i] = last;
      this.#index.set(last, i);
    }
  }

  /** One item at random (`random` in [0, 1)), or undefined when empty. */
  pick(random: () => number): T | undefined {
    return this.#items.length === 0
      ? undefined
      : this.#items[Math.floor(random() * this.#items.length)];
  }
}

/** How a fleet joins each CP's monitor to its engine (see `FleetOptions.engineLinks`). */
export type EngineLinks = "tcp" | "memory";

/** The ways {@link EngineLinks} can be, for option parsers. */
export const ENGINE_LINKS: readonly EngineLinks[] = ["tcp", "memory"];

/** Logins at once a fleet thread takes by default (see {@link defaultLoginConcurrency}). */
export const LOGIN_TURNS_PER_THREAD = 4;

/** The fewest logins at once a fleet takes by default, whatever its threads. */
export const MIN_DEFAULT_LOGIN_CONCURRENCY = 8;

/**
 * CPs logging in at once across a fleet of `threads` threads when `--login-concurrency` is not
 * given: {@link LOGIN_TURNS_PER_THREAD} a thread, at least {@link MIN_DEFAULT_LOGIN_CONCURRENCY}.
 * At 3,000 CPs on 6 threads, one turn a thread (8 in all) ramped at 1.9–2.2 logins a second and
 * lost 364–706 logins on the way; four (24) ramped at 5.4–7.1 and lost 13–363 (BENCHMARKS.md).
 * Up to two threads (1,000 CPs) it is 8, as before.
 */
export function defaultLoginConcurrency(threads: number): number {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new RangeError(`threads must be a whole number of at least 1, got ${threads}`);
  }
  return Math.max(MIN_DEFAULT_LOGIN_CONCURRENCY, LOGIN_TURNS_PER_THREAD * threads);
}
