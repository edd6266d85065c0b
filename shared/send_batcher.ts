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

/**
 * Sends in arrival order, one batch at a time (at most `maxBatch` messages): each `send`
 * resolves when its batch is stored, or rejects with the batch's error.
 */
export class SendBatcher {
  readonly #sink: BatchSink;
  readonly #maxBatch: number;
  #queue: Pending[] = [];
  #running = false;
  /** Messages sent so far (for rates on a progress display). */
  sent = 0;

  /** Batches into `sink`, at most `maxBatch` (default 500) messages a request. */
  constructor(sink: BatchSink, maxBatch = 500) {
    this.#sink = sink;
    this.#maxBatch = maxBatch;
  }

  /** Queues one message; resolves once the broker has it. */
  send(topic: string, key: string, value: object): Promise<void> {
    const done = Promise.withResolvers<void>();
    this.#queue.push({ message: { topic, key, value }, done });
    if (!this.#running) {
      this.#running = true;
      // A microtask later, so the sends of the same turn go out together.
      queueMicrotask(() => this.#run());
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
