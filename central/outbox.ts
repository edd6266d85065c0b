/**
 * The outbox publisher (docs/charging_loop.md §6): sends the outbox rows that
 * `CentralStore.commit` wrote, in row order, and marks them sent. Commands for a CP are sealed
 * here, just before sending, with the CP's live key and the next sequence number, so every
 * envelope on `cp.commands` carries a fresh, increasing `seq`.
 *
 * A crash after sending and before marking sends those rows again at the next start; receivers
 * drop duplicates (by `requestId`, `sessionId`; commands are idempotent).
 *
 * @module
 */
import { type CpKeyring, sealEnvelope, SeqCounter } from "../shared/envelope.ts";
import type { OutgoingMessage } from "../shared/kafka.ts";
import { getLogger } from "../shared/log.ts";
import type { CentralStore, OutboxRow } from "./store.ts";

const log = getLogger(["evcharging", "central", "outbox"]);

/** Where the publisher sends: `JsonProducer` from shared/kafka.ts, or a test double. */
export interface OutboxSink {
  /** Sends the messages; resolves once the broker has them. */
  sendBatch(messages: readonly OutgoingMessage[]): Promise<unknown>;
}

/** Settings of {@link OutboxPublisher}. */
export interface OutboxPublisherOptions {
  /** Rows per batch (default 500, as a `SendBatcher` sends at most). */
  readonly batchSize?: number;
  /** How often to look for rows when nobody calls `wake` (default 1000 ms). */
  readonly pollMs?: number;
  /** Wait after a failed send before trying again (default 1000 ms). */
  readonly retryMs?: number;
  /** Done rows older than this are deleted (default 1 hour). */
  readonly keepDoneMs?: number;
}

/** Drains the outbox into Kafka, in order. */
export class OutboxPublisher {
  readonly #store: CentralStore;
  readonly #sink: OutboxSink;
  readonly #keyring: CpKeyring;
  readonly #seq = new SeqCounter();
  readonly #batchSize: number;
  readonly #pollMs: number;
  readonly #retryMs: number;
  readonly #keepDoneMs: number;
  #running = false;
  #wakeUp: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #lastPrune = 0;

  /** Reads rows from `store`, seals commands with `keyring`, sends to `sink`. */
  constructor(
    store: CentralStore,
    sink: OutboxSink,
    keyring: CpKeyring,
    options: OutboxPublisherOptions = {},
  ) {
    this.#store = store;
    this.#sink = sink;
    this.#keyring = keyring;
    this.#batchSize = options.batchSize ?? 500;
    this.#pollMs = options.pollMs ?? 1000;
    this.#retryMs = options.retryMs ?? 1000;
    this.#keepDoneMs = options.keepDoneMs ?? 3_600_000;
  }

  /** Starts draining. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  /** Rows were added: look now rather than at the next poll. */
  wake(): void {
    this.#wakeUp?.();
  }

  /**
   * Sends what is pending (waiting at most `flushMs`, default 5 s), then stops. Rows left are
   * sent at the next start.
   */
  async stop(flushMs = 5000): Promise<void> {
    if (!this.#running) return;
    const deadline = Date.now() + flushMs;
    while (this.#store.pendingCount() > 0 && Date.now() < deadline) {
      this.wake();
      await sleep(50);
    }
    this.#running = false;
    this.wake();
    // A send stuck on an unreachable broker is abandoned: disconnecting the producer ends it.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const giveUp = new Promise((resolve) =>
      timer = setTimeout(resolve, Math.max(100, deadline - Date.now()))
    );
    await Promise.race([this.#loop, giveUp]);
    clearTimeout(timer);
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const rows = this.#store.pendingOutbox(this.#batchSize);
      if (rows.length === 0) {
        this.#prune();
        await this.#idle(this.#pollMs);
        continue;
      }
      try {
        await this.#publish(rows);
      } catch (error) {
        log.error("Publishing {count} outbox rows failed; retrying: {error}", {
          count: rows.length,
          error,
        });
        await this.#idle(this.#retryMs);
      }
    }
  }

  async #publish(rows: readonly OutboxRow[]): Promise<void> {
    // Sealed concurrently (Web Crypto), in row order; the sequence numbers are taken in order.
    const messages: (OutgoingMessage | Promise<OutgoingMessage>)[] = [];
    const sent: number[] = [];
    const dropped: number[] = [];
    for (const row of rows) {
      if (row.sealFor === null) {
        messages.push({ topic: row.topic, key: row.key, value: row.payload as object });
        sent.push(row.id);
        continue;
      }
      const live = this.#keyring.live(row.sealFor);
      if (live === undefined) {
        // Its next login sends what matters again (a hold); anything else is moot without a key.
        log.warning("Command {type} for CP {cpId} dropped: the CP has no live key", {
          cpId: row.sealFor,
          type: (row.payload as { type?: string }).type,
        });
        dropped.push(row.id);
        continue;
      }
      const seq = this.#seq.next(row.sealFor, live.kv);
      const header = { cp: row.sealFor, kv: live.kv, seq, channel: row.topic };
      messages.push(
        sealEnvelope(live.key, header, row.payload).then((value) => ({
          topic: row.topic,
          key: row.key,
          value,
        })),
      );
      sent.push(row.id);
    }
    if (messages.length > 0) await this.#sink.sendBatch(await Promise.all(messages));
    const now = new Date();
    this.#store.markOutbox(sent, "sent", now);
    this.#store.markOutbox(dropped, "dropped", now);
  }

  #prune(): void {
    const now = Date.now();
    if (now - this.#lastPrune < 60_000) return;
    this.#lastPrune = now;
    this.#store.pruneOutbox(new Date(now - this.#keepDoneMs));
  }

  #idle(ms: number): Promise<void> {
    const { promise, resolve } = Promise.withResolvers<void>();
    const timer = setTimeout(resolve, ms);
    this.#wakeUp = resolve;
    return promise.finally(() => {
      clearTimeout(timer);
      this.#wakeUp = undefined;
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
