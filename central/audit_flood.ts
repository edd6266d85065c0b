/**
 * Flood control for Central's audit log (ARCHITECTURE §Audit): what an attacker can repeat at
 * will is written once per group and window, not once per occurrence.
 *
 * @module
 */
import type { AuditOutcome, AuditParams } from "../shared/messages.ts";
import type { AuditEntry } from "./audit_chain.ts";

/** One occurrence of something an attacker can repeat at will (a rejected envelope, a failed login). */
export interface AuditOccurrence {
  /** Who it is attributed to (`cp:CP01`); part of the aggregation key. */
  readonly actor: string;
  /** What was attempted (`envelope.reject`); part of the aggregation key. */
  readonly action: string;
  /**
   * Machine-readable reason (`EnvelopeError.reason`: `tag`, `replay`, `unknown_kv`, …); part of
   * the aggregation key.
   */
  readonly reason: string;
  /** How it ended (usually `rejected` or `denied`). */
  readonly outcome: AuditOutcome;
  /** Further details, kept only in the first occurrence's record. */
  readonly params?: AuditParams;
  /** Where it came from, kept only in the first occurrence's record. */
  readonly originIp?: string;
}

/** Options of {@link AuditAggregator}. */
export interface AuditAggregatorOptions {
  /** Receives each record to write (Central: `(entry) => audit.append(entry)`). */
  readonly emit: (entry: AuditEntry) => void;
  /** Length of an aggregation window. Default 10 s. */
  readonly intervalMs?: number;
  /** Most keys tracked at once; further keys share one overflow bucket. Default 1000. */
  readonly maxKeys?: number;
  /** The actor of the overflow bucket's records. Default `central`. */
  readonly actor?: string;
  /** The clock, in milliseconds. Default `Date.now`. */
  readonly now?: () => number;
}

/** The state of one aggregation key. */
interface Bucket {
  readonly actor: string;
  readonly action: string;
  readonly reason: string;
  readonly outcome: AuditOutcome;
  /** When the current window closes (ms). */
  windowEnd: number;
  /** Occurrences suppressed in the current window, and when the first and last happened. */
  count: number;
  firstTs: string;
  lastTs: string;
}

/** Map key of the overflow bucket; `JSON.stringify` of a key array never yields it. */
const OVERFLOW_KEY = "";

/**
 * Flood control for audit records (ARCHITECTURE §Envelope: rejected messages are dropped and audited, and a
 * flood must not fill the disk or the log). Occurrences are grouped by (actor, action, reason).
 * The first of a group is emitted at once, in full. Later ones in the same window are only
 * counted; when the window closes a summary record is emitted with the same actor, action and
 * outcome and params `{reason, count, first_ts, last_ts}` (the suppressed occurrences), and a new
 * window opens. A window that closes with nothing suppressed forgets the group, so its next
 * occurrence is again emitted in full. A sustained flood thus costs one record per group per
 * interval.
 *
 * Memory is bounded: at most `maxKeys` groups are tracked. Occurrences of further groups go into
 * one overflow bucket, emitted the same way as actor `central`, action `audit.overflow`, reason
 * `too_many_keys`, with the outcome of the occurrence that opened it.
 *
 * Pure apart from `emit`: the clock is injected and there is no timer. Central calls
 * {@link AuditAggregator.tick} every second or so (windows close on time even when the flood
 * stops) and {@link AuditAggregator.flush} at shutdown.
 */
export class AuditAggregator {
  readonly #emit: (entry: AuditEntry) => void;
  readonly #intervalMs: number;
  readonly #maxKeys: number;
  readonly #actor: string;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  /** Creates an aggregator that emits through `options.emit`. */
  constructor(options: AuditAggregatorOptions) {
    this.#emit = options.emit;
    this.#intervalMs = options.intervalMs ?? 10_000;
    this.#maxKeys = options.maxKeys ?? 1000;
    this.#actor = options.actor ?? "central";
    this.#now = options.now ?? Date.now;
  }

  /** Groups tracked now, the overflow bucket included (at most `maxKeys` + 1). */
  get size(): number {
    return this.#buckets.size;
  }

  /** Takes one occurrence: emits it if it is the first of its group, else counts it. */
  offer(occurrence: AuditOccurrence): void {
    const now = this.#now();
    let key = JSON.stringify([occurrence.actor, occurrence.action, occurrence.reason]);
    this.#closeIfDue(key, now);
    if (!this.#buckets.has(key) && this.#groups() >= this.#maxKeys) {
      key = OVERFLOW_KEY;
      this.#closeIfDue(key, now);
    }
    const bucket = this.#buckets.get(key);
    if (bucket !== undefined) {
      const ts = new Date(now).toISOString();
      if (bucket.count === 0) bucket.firstTs = ts;
      bucket.count++;
      bucket.lastTs = ts;
      return;
    }
    const overflow = key === OVERFLOW_KEY;
    const opened: Bucket = {
      actor: overflow ? this.#actor : occurrence.actor,
      action: overflow ? "audit.overflow" : occurrence.action,
      reason: overflow ? "too_many_keys" : occurrence.reason,
      outcome: occurrence.outcome,
      windowEnd: now + this.#intervalMs,
      count: 0,
      firstTs: "",
      lastTs: "",
    };
    this.#buckets.set(key, opened);
    this.#emit(
      overflow
        ? {
          actor: opened.actor,
          action: opened.action,
          outcome: opened.outcome,
          params: { reason: opened.reason, max_keys: this.#maxKeys },
        }
        : {
          actor: occurrence.actor,
          action: occurrence.action,
          outcome: occurrence.outcome,
          params: { ...occurrence.params, reason: occurrence.reason },
          ...(occurrence.originIp === undefined ? {} : { originIp: occurrence.originIp }),
        },
    );
  }

  /** Closes every window that has run out: emits its summary, or forgets a quiet group. */
  tick(): void {
    const now = this.#now();
    for (const key of [...this.#buckets.keys()]) this.#closeIfDue(key, now);
  }

  /** Emits a summary for every group with suppressed occurrences and forgets all groups. */
  flush(): void {
    for (const bucket of this.#buckets.values()) {
      if (bucket.count > 0) this.#emitSummary(bucket);
    }
    this.#buckets.clear();
  }

  /** Groups tracked, not counting the overflow bucket. */
  #groups(): number {
    return this.#buckets.size - (this.#buckets.has(OVERFLOW_KEY) ? 1 : 0);
  }

  #closeIfDue(key: string, now: number): void {
    const bucket = this.#buckets.get(key);
    if (bucket === undefined || now < bucket.windowEnd) return;
    if (bucket.count === 0) {
      this.#buckets.delete(key);
      return;
    }
    this.#emitSummary(bucket);
    bucket.count = 0;
    bucket.windowEnd = now + this.#intervalMs;
  }

  #emitSummary(bucket: Bucket): void {
    this.#emit({
      actor: bucket.actor,
      action: bucket.action,
      outcome: bucket.outcome,
      params: {
        reason: bucket.reason,
        count: bucket.count,
        first_ts: bucket.firstTs,
        last_ts: bucket.lastTs,
      },
    });
  }
}
