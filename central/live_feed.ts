/**
 * The dashboard's event feed without any socket or timer: numbered events in a bounded ring,
 * per-key coalescing of fast-changing figures, and resuming from a client's `Last-Event-ID`.
 *
 * - Every event has the id `<boot>-<seq>`: `boot` is new at each start of Central, so an id from
 *   before a restart is recognised as foreign, and `seq` grows by one per event.
 * - Discrete events (a CP state change, a session start, a ticket, an audit record) go into a
 *   ring of the newest {@link DEFAULT_RING_CAPACITY}. Coalesced events (telemetry figures) are
 *   held per key until {@link LiveFeed.flush}, and only the newest published one per key is kept:
 *   it is a current value, not history.
 * - {@link LiveFeed.since} answers a reconnecting client with everything after its id (the ring's
 *   events and the current values published since, in id order), or `reset` when that cannot be
 *   complete (unknown boot, an id never issued, or events after it already evicted): the client
 *   then reloads the snapshot, so it never silently misses a ticket.
 *
 * @module
 */

/** One published event. */
export interface FeedEvent {
  /** `<boot>-<seq>`, the SSE `id`. */
  readonly id: string;
  /** Position in this boot's sequence (1, 2, …). */
  readonly seq: number;
  /** The SSE `event` name. */
  readonly type: string;
  /** The SSE `data`, serialized as JSON. */
  readonly data: unknown;
}

/** Why {@link LiveFeed.since} cannot resume. */
export type ResetReason = "no_id" | "unknown_boot" | "unknown_id" | "too_old";

/** What a reconnecting client gets. */
export type Resume =
  | { readonly kind: "events"; readonly events: readonly FeedEvent[] }
  | { readonly kind: "reset"; readonly reason: ResetReason };

/** Settings of {@link LiveFeed}. */
export interface LiveFeedOptions {
  /** This boot's id (default: random); no `-` in it. */
  readonly boot?: string;
  /** Discrete events kept for resuming (default {@link DEFAULT_RING_CAPACITY}). */
  readonly capacity?: number;
  /** Keys whose current value is kept (default {@link DEFAULT_LATEST_CAPACITY}). */
  readonly latestCapacity?: number;
}

/** Discrete events kept by default: minutes of a busy network, about 2 MiB. */
export const DEFAULT_RING_CAPACITY = 4096;
/** Current values kept by default (CPs, drivers, weather reports). */
export const DEFAULT_LATEST_CAPACITY = 20_000;

/** Called with each event as it is published. */
export type FeedListener = (event: FeedEvent) => void;

/** A random boot id: 12 hex digits. */
export function newBootId(): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(6)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
}

/** Splits `<boot>-<seq>`; undefined for anything else. */
export function parseEventId(id: string): { boot: string; seq: number } | undefined {
  const m = id.match(/^([0-9A-Za-z]{1,64})-(\d{1,15})$/);
  return m ? { boot: m[1], seq: Number(m[2]) } : undefined;
}

/** The ring, the coalescer and the listeners. Synchronous and single-threaded by design. */
export class LiveFeed {
  /** This boot's id. */
  readonly boot: string;
  readonly #capacity: number;
  readonly #latestCapacity: number;
  readonly #ring: (FeedEvent | undefined)[];
  #head = 0; // ring index of the oldest event
  #size = 0;
  #seq = 0;
  /** The newest seq no longer resumable (evicted, or superseded and then evicted). */
  #lostUpTo = 0;
  readonly #pending = new Map<string, { type: string; data: unknown }>();
  readonly #latest = new Map<string, FeedEvent>();
  readonly #listeners = new Set<FeedListener>();

  /** An empty feed. */
  constructor(options: LiveFeedOptions = {}) {
    this.boot = options.boot ?? newBootId();
    this.#capacity = Math.max(1, options.capacity ?? DEFAULT_RING_CAPACITY);
    this.#latestCapacity = Math.max(1, options.latestCapacity ?? DEFAULT_LATEST_CAPACITY);
    this.#ring = new Array(this.#capacity);
  }

  /** The id of the newest event (`<boot>-0` before the first). */
  get lastId(): string {
    return `${this.boot}-${this.#seq}`;
  }

  /** Coalesced values waiting for the next {@link flush}. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Publishes a discrete event at once. `supersedes`: the coalescing key this event makes stale
   * (a CP's new state carries its figures too), so a held or older value of it is dropped
   * rather than sent after it.
   */
  publish(type: string, data: unknown, supersedes?: string): FeedEvent {
    if (supersedes !== undefined) {
      this.#pending.delete(supersedes);
      this.#latest.delete(supersedes);
    }
    const event = this.#next(type, data);
    if (this.#size === this.#capacity) {
      this.#lostUpTo = Math.max(this.#lostUpTo, this.#ring[this.#head]!.seq);
      this.#head = (this.#head + 1) % this.#capacity;
      this.#size--;
    }
    this.#ring[(this.#head + this.#size) % this.#capacity] = event;
    this.#size++;
    this.#tell(event);
    return event;
  }

  /** Holds the newest value of `key` until the next {@link flush} (earlier ones are dropped). */
  coalesce(key: string, type: string, data: unknown): void {
    this.#pending.delete(key); // re-inserted last: flush order follows the latest change
    this.#pending.set(key, { type, data });
  }

  /** Publishes every held value, oldest change first; returns them. */
  flush(): FeedEvent[] {
    const out: FeedEvent[] = [];
    for (const [key, { type, data }] of this.#pending) {
      const event = this.#next(type, data);
      this.#latest.delete(key);
      this.#latest.set(key, event);
      if (this.#latest.size > this.#latestCapacity) {
        const [oldKey, old] = this.#latest.entries().next().value!;
        this.#latest.delete(oldKey);
        this.#lostUpTo = Math.max(this.#lostUpTo, old.seq);
      }
      out.push(event);
    }
    this.#pending.clear();
    for (const event of out) this.#tell(event);
    return out;
  }

  /** What a client that last saw `lastEventId` needs, or `reset` when that cannot be complete. */
  since(lastEventId: string | undefined): Resume {
    if (lastEventId === undefined || lastEventId === "") return { kind: "reset", reason: "no_id" };
    const parsed = parseEventId(lastEventId);
    if (parsed === undefined || parsed.boot !== this.boot) {
      return { kind: "reset", reason: "unknown_boot" };
    }
    if (parsed.seq > this.#seq) return { kind: "reset", reason: "unknown_id" };
    if (parsed.seq < this.#lostUpTo) return { kind: "reset", reason: "too_old" };
    const events: FeedEvent[] = [];
    for (let i = 0; i < this.#size; i++) {
      const event = this.#ring[(this.#head + i) % this.#capacity]!;
      if (event.seq > parsed.seq) events.push(event);
    }
    for (const event of this.#latest.values()) if (event.seq > parsed.seq) events.push(event);
    events.sort((a, b) => a.seq - b.seq);
    return { kind: "events", events };
  }

  /** Adds a listener of published events; returns the function that removes it. */
  subscribe(listener: FeedListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #next(type: string, data: unknown): FeedEvent {
    const seq = ++this.#seq;
    return { id: `${this.boot}-${seq}`, seq, type, data };
  }

  #tell(event: FeedEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}
