/**
 * One consumer for many in-process owners (ARCHITECTURE §Kafka topics: "a process that hosts many simulated CPs
 * reads the topic once and dispatches in-process"). {@link KeyedRouter} hands each record to
 * the owner of its key, one at a time per key and in order, without one slow owner holding up
 * the others; {@link startKeyedConsumer} feeds it from a consumer group of its own.
 *
 * A record counts as delivered once it is queued for its owner: the hosting process holds
 * only simulated entities that start afresh with it, so it reads the topic from now on and has
 * no history to resume.
 *
 * @module
 */
import type { Kafka } from "kafkajs";
import {
  type ConsumedMessage,
  type InvalidMessage,
  runConsumer,
  type RunConsumerOptions,
} from "./kafka_consumer.ts";
import { getLogger } from "./log.ts";

const log = getLogger(["evcharging", "kafka", "keyed"]);

/** What an owner of a key receives. */
export interface KeyOwner {
  /** A record with a JSON value. */
  message(record: ConsumedMessage): void | Promise<void>;
  /** A record whose value is not JSON. */
  invalid?(record: InvalidMessage): void;
}

/** Routes records to the owners of their keys; per key in order, across keys concurrently. */
export class KeyedRouter {
  readonly #owners = new Map<string, { owner: KeyOwner; chain: Promise<void> }>();
  /** Records routed to an owner so far. */
  delivered = 0;
  /** Records whose key nobody here owns (other processes' entities). */
  skipped = 0;

  /** Makes `owner` receive the records keyed `key`; returns the function that removes it. */
  route(key: string, owner: KeyOwner): () => void {
    const entry = { owner, chain: Promise.resolve() };
    this.#owners.set(key, entry);
    return () => {
      if (this.#owners.get(key) === entry) this.#owners.delete(key);
    };
  }

  /**
   * Whether records keyed `key` have an owner here; the ones that do not are counted as
   * skipped (so a reader can leave them unparsed).
   */
  accepts(key: string | null): boolean {
    const owned = key !== null && this.#owners.has(key);
    if (!owned) this.skipped++;
    return owned;
  }

  /** Queues `record` for its key's owner; returns at once. */
  dispatch(record: ConsumedMessage): void {
    const entry = record.key === null ? undefined : this.#owners.get(record.key);
    if (entry === undefined) {
      this.skipped++;
      return;
    }
    this.delivered++;
    entry.chain = entry.chain.then(() => entry.owner.message(record)).catch((error) => {
      log.error("The owner of {owner} failed on {topic}@{offset}: {error}", {
        owner: record.key,
        topic: record.topic,
        offset: record.offset,
        error,
      });
    });
  }

  /** Hands a non-JSON record to its key's owner, if it has one and wants it. */
  dispatchInvalid(record: InvalidMessage): void {
    const entry = record.key === null ? undefined : this.#owners.get(record.key);
    entry?.owner.invalid?.(record);
  }
}

/** A running keyed consumer. */
export interface KeyedConsumer {
  /** Where records go. */
  readonly router: KeyedRouter;
  /** Leaves the group and disconnects. Idempotent. */
  stop(): Promise<void>;
}

/** How a keyed consumer fetches (shared/kafka.ts `RunConsumerOptions`). */
export type KeyedFetchOptions = Pick<RunConsumerOptions, "minBytes" | "maxWaitTimeInMs">;

/**
 * Joins a new consumer group (`<groupPrefix>-<random>`) on `topic`, positioned at its end, and
 * resolves after the first fetch: from then on every record produced is routed.
 */
export async function startKeyedConsumer(
  kafka: Kafka,
  groupPrefix: string,
  topic: string,
  fetch: KeyedFetchOptions = {},
): Promise<KeyedConsumer> {
  const router = new KeyedRouter();
  const groupId = `${groupPrefix}-${crypto.randomUUID().slice(0, 8)}`;
  const handle = await runConsumer({
    kafka,
    groupId,
    topics: [topic],
    fromBeginning: false,
    // Every partition at once: the handler only queues, so none waits for another.
    partitionsConsumedConcurrently: 16,
    ...fetch,
    // Other owners' records stay unparsed; the rest only queue, so a whole batch goes at once.
    accept: (key) => router.accepts(key),
    handleBatch: (records) => {
      for (const record of records) router.dispatch(record);
    },
    onInvalid: (record) => router.dispatchInvalid(record),
  });
  // A new group looks up "latest" at its first fetch; after it, nothing produced can slip by.
  await new Promise<void>((resolve) => {
    const off = handle.consumer.on(handle.consumer.events.FETCH, () => {
      off();
      resolve();
    });
  });
  log.info("Reading {topic} as {groupId}", { topic, groupId });
  return { router, stop: () => handle.stop() };
}
