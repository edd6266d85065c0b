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
  readonly message: OutgoingMessage;
  readonly done: PromiseWithResolvers<void>;
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
    const done = Promise.withResolvers<void>();
    this.#queue.push({ message: { topic, key, value }, done });
    if (!this.#running) {
      this.#running = true;
      // A microtask later at least, so the sends of the same turn go out together.
      if (this.#lingerMs > 0) setTimeout(() => this.#run(), this.#lingerMs);
      else queueMicrotask(() => this.#run());
    }
    return done.promise;
  }

  /** Messages waiting for a batch. */
  get waiting(): number {
    return this.#queue.length;
  }

  async #run(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.slice(0, this.#maxBatch);
      this.#queue = this.#queue.slice(batch.length);
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
