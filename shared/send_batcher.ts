/**
 * Many senders, one producer: {@link SendBatcher} gathers the messages handed to it while a
 * request is in flight and sends them together in the next one. A process hosting a thousand
 * CPs otherwise queues a thousand one-message produce requests a second behind an idempotent
 * producer that allows one in flight.
 *
 * @module
 */
import type { OutgoingMessage } from "./kafka.ts";

/** Where batches go: `JsonProducer` (shared/kafka.ts) or a test double. */
export interface BatchSink {
  /** Sends the messages, in order; resolves once the broker has them all. */
  sendBatch(messages: readonly OutgoingMessage[]): Promise<unknown>;
}

interface Pending {
  /** Replaced, while it waits, by a later {@link SendBatcher.sendLatest} of the same slot. */
  message: OutgoingMessage;
  readonly done: PromiseWithResolvers<void>;
  readonly slot?: string;
}

/** Settings of a {@link SendBatcher}. */
export interface SendBatcherOptions {
  /** Most messages a request carries (default 500). */
  readonly maxBatch?: number;
  /**
   * How long the first message of a batch waits for company when nothing is in flight, ms
   * (default 0: only the sends of the same turn). Worth it for steady streams, such as many
   * CPs' telemetry spread over each second, where every message would otherwise be a request.
   */
  readonly lingerMs?: number;
}

/**
 * Sends in arrival order, one batch at a time (at most `maxBatch` messages): each `send`
 * resolves when its batch is stored, or rejects with the batch's error.
 */
export class SendBatcher {
  readonly #sink: BatchSink;
  readonly #maxBatch: number;
  readonly #lingerMs: number;
  #queue: Pending[] = [];
  /** The waiting (not yet in flight) messages of {@link sendLatest}, by slot. */
  readonly #slots = new Map<string, Pending>();
  #running = false;
  /** Messages sent so far (for rates on a progress display). */
  sent = 0;

  /** Batches into `sink`; throws a RangeError for a bad option. */
  constructor(sink: BatchSink, options: SendBatcherOptions = {}) {
    const { maxBatch = 500, lingerMs = 0 } = options;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) {
      throw new RangeError(`maxBatch must be a whole number of at least 1, got ${maxBatch}`);
    }
    if (!(lingerMs >= 0 && lingerMs <= 60_000)) {
      throw new RangeError(`lingerMs must be 0–60000 ms, got ${lingerMs}`);
    }
    this.#sink = sink;
    this.#maxBatch = maxBatch;
    this.#lingerMs = lingerMs;
  }

  /** Queues one message; resolves once the broker has it. */
  send(topic: string, key: string, value: object): Promise<void> {
    return this.#push({ message: { topic, key, value }, done: Promise.withResolvers<void>() });
  }

  /**
   * {@link send} for a message that supersedes the last one of its `slot` (a driver's running
   * figures, say): while that one still waits, it takes its place in the queue and it is never
   * sent; both sends resolve once this one is stored. One in flight is not replaced, so the
   * broker gets at most one message a slot per batch and never loses the latest.
   */
  sendLatest(topic: string, key: string, value: object, slot: string): Promise<void> {
    const waiting = this.#slots.get(slot);
    if (waiting !== undefined) {
      waiting.message = { topic, key, value };
      return waiting.done.promise;
    }
    const pending = { message: { topic, key, value }, done: Promise.withResolvers<void>(), slot };
    this.#slots.set(slot, pending);
    return this.#push(pending);
  }

  #push(pending: Pending): Promise<void> {
    this.#queue.push(pending);
    if (!this.#running) {
      this.#running = true;
      // A microtask later at least, so the sends of the same turn go out together.
      if (this.#lingerMs > 0) setTimeout(() => this.#run(), this.#lingerMs);
      else queueMicrotask(() => this.#run());
    }
    return pending.done.promise;
  }

  /** Messages waiting for a batch. */
  get waiting(): number {
    return this.#queue.length;
  }

  async #run(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.slice(0, this.#maxBatch);
      this.#queue = this.#queue.slice(batch.length);
      for (const p of batch) if (p.slot !== undefined) this.#slots.delete(p.slot);
      try {
        await this.#sink.sendBatch(batch.map((p) => p.message));
        this.sent += batch.length;
        for (const p of batch) p.done.resolve();
      } catch (error) {
        for (const p of batch) p.done.reject(error);
      }
    }
    this.#running = false;
  }
}
