/**
 * Central's consumer lag per topic: how many messages wait behind the last batch each of its
 * consumers handled, from kafkajs's own `END_BATCH_PROCESS` instrumentation (the batch's high
 * watermark minus its last offset), so reading it costs no request to the broker. A partition
 * that received nothing since keeps its last figure, which is then the lag it had when it was
 * last served.
 *
 * @module
 */
import type { Consumer } from "kafkajs";

/** Lag per topic and partition, as the consumers last reported it. */
export class ConsumerLag {
  readonly #lag = new Map<string, Map<number, number>>();

  /** Follows `consumer`'s handled batches. */
  watch(consumer: Consumer): void {
    consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
      const { topic, partition, offsetLag } = event.payload;
      this.note(topic, partition, Number(offsetLag));
    });
  }

  /** Notes that `partition` of `topic` had `lag` messages waiting (negative or NaN: none). */
  note(topic: string, partition: number, lag: number): void {
    let partitions = this.#lag.get(topic);
    if (partitions === undefined) this.#lag.set(topic, partitions = new Map());
    partitions.set(partition, Number.isFinite(lag) && lag > 0 ? lag : 0);
  }

  /** The lag summed over each topic's partitions. */
  byTopic(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [topic, partitions] of this.#lag) {
      out[topic] = [...partitions.values()].reduce((a, b) => a + b, 0);
    }
    return out;
  }
}
