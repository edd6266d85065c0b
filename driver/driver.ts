/**
 * The driver's Kafka edge: {@link startDriver} connects to the broker, feeds the pure core
 * (`core.ts`) with validated `driver.updates`, user commands and timer ticks, publishes the
 * requests it decides on, and logs every event (`view.ts` words them). Used by `main.ts` and by
 * tests, in-process.
 *
 * Delivery (docs/charging_loop.md §5): the driver reads `driver.updates` in its own consumer
 * group `driver-<driverId>` and skips other keys. The group's committed offsets are where a
 * restarted driver resumes, so what Central sent while it was down (a ticket, typically) is
 * delivered then. On the very first start the group is placed at the end of the topic before
 * anything is requested, so the first answer cannot slip past, and no other driver's history is
 * read. A process hosting many drivers (the fleet) passes a {@link DriverTransport} over one
 * shared client and one `driver.updates` consumer that dispatches by key instead.
 *
 * @module
 */

import type { Consumer, Kafka } from "kafkajs";
import {
  createKafka,
  createProducer,
  ensureTopics,
  fetchTopicEnds,
  type JsonProducer,
  TOPICS,
} from "../shared/kafka.ts";
import {
  type ConsumedMessage,
  type ConsumerHandle,
  type InvalidMessage,
  runConsumer,
} from "../shared/kafka_consumer.ts";
import type { Lang } from "../shared/i18n.ts";
import { getLogger, literal } from "../shared/log.ts";
import { driverUpdateSchema, parseMessage } from "../shared/messages.ts";
import { within } from "../shared/sleep.ts";
import {
  type DriverEvent,
  type DriverModel,
  dueAt,
  initialModel,
  type Input,
  step,
  type Summary,
} from "./core.ts";
import { describeEvent } from "./view.ts";

const log = getLogger(["evcharging", "driver"]);

/** How long {@link DriverHandle.stop} waits for requests still being sent. */
const SEND_FLUSH_MS = 5000;

/** What a {@link DriverTransport} delivers to its driver. */
export interface DriverInbox {
  /** A `driver.updates` record keyed by this driver, JSON but not yet validated. */
  update(message: ConsumedMessage): void;
  /** A `driver.updates` record keyed by this driver that is not JSON. */
  invalid(message: InvalidMessage): void;
  /** Kafka failed for good. */
  fail(error: unknown): void;
}

/** A driver's link to Kafka. */
export interface DriverTransport {
  /**
   * Starts delivering this driver's `driver.updates` to `inbox`; resolves once a request may
   * be sent (its answer is certain to be delivered).
   */
  start(inbox: DriverInbox): Promise<void>;
  /** Publishes one request on `driver.requests`, keyed by the driver id. */
  send(message: object): Promise<unknown>;
  /** Lets the update being handled finish and stops delivering. */
  stopReading(): Promise<void>;
  /** Releases the producer side (after the last send). */
  close(): Promise<void>;
}

/** Options of {@link startDriver}. */
export interface DriverOptions {
  /** Kafka bootstrap brokers, `host:port` (unused when `transport` is given). */
  readonly brokers: readonly string[];
  /** The link to Kafka; default: the driver's own ({@link ownDriverTransport}). */
  readonly transport?: DriverTransport;
  /** This driver's id: its Kafka key and, as `driver-<id>`, its consumer group. */
  readonly driverId: string;
  /** File mode: the CP ids to charge at, in order. Absent: requests come from {@link DriverHandle}. */
  readonly plan?: readonly string[];
  /** File mode: start again after the last CP id, until stopped. */
  readonly loop?: boolean;
  /** File mode: the pause after each ticket or denial, ms (default 4000). */
  readonly pauseMs?: number;
  /** The host's own address, sent with each request (audited as self-reported). */
  readonly originIp?: string;
  /** Language of the event lines people read (default English; log fields stay the same). */
  readonly lang?: Lang;
  /** Called with every event, in order, from the first (the file's first request) on. */
  readonly onEvent?: (event: DriverEvent) => void;
}

/** A running driver. */
export interface DriverHandle {
  /** Its id. */
  readonly driverId: string;
  /** The core's current state (for screens). */
  state(): DriverModel;
  /** Asks Central to charge at `cpId`; refused (an event says why) while busy or in file mode. */
  charge(cpId: string): void;
  /** Asks Central for the list of CPs. */
  listCps(): void;
  /** Asks Central to end the open charge (ticket `driver_cancelled`); refused without one. */
  cancel(): void;
  /**
   * Settles when the run is over: with the summary once a file (without `--loop`) has been
   * gone through or {@link stop} was called; rejected if Kafka failed for good.
   */
  readonly done: Promise<Summary>;
  /**
   * Stops: handles and commits the update being read, lets requests in flight go out, leaves
   * the consumer group and disconnects. Idempotent; resolves like {@link done}.
   */
  stop(): Promise<Summary>;
}

/**
 * Connects to Kafka and starts the driver; in file mode the first request goes out at once.
 * Resolves once the driver is consuming `driver.updates`.
 * @throws if Kafka cannot be reached (after kafkajs' retries, about a minute).
 */
export async function startDriver(options: DriverOptions): Promise<DriverHandle> {
  const { driverId } = options;
  let state = initialModel({
    driverId,
    plan: options.plan,
    loop: options.loop,
    pauseMs: options.pauseMs,
    originIp: options.originIp,
  });
  const transport = options.transport ?? ownDriverTransport(options.brokers, driverId);

  /** `running` takes every input; `stopping` only updates (they are committed, so must count). */
  let lifecycle: "running" | "stopping" | "stopped" = "running";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const inFlight = new Set<Promise<void>>();
  const { promise: done, resolve, reject } = Promise.withResolvers<Summary>();
  // A caller that only calls stop() still sees a failure there; this keeps an unobserved
  // rejection from ending the process (the failure is logged where it happens).
  done.catch(() => {});

  const dispatch = (input: Input) => {
    const fromKafka = input.type === "update" || input.type === "invalid";
    if (lifecycle === "stopped" || (lifecycle === "stopping" && !fromKafka)) return;
    const next = step(state, input, { now: Date.now(), freshId: crypto.randomUUID() });
    state = next.model;
    for (const effect of next.effects) {
      if (effect.type === "send") publish(effect.message);
      else emit(effect.event);
    }
    schedule();
  };

  const publish = (message: object) => {
    const sending = transport.send(message).then(
      () => {},
      (error) => fail(error),
    );
    inFlight.add(sending);
    sending.finally(() => inFlight.delete(sending));
  };

  const emit = (event: DriverEvent) => {
    const line = describeEvent(event, options.lang);
    log[line.level](literal(line.text), line.properties);
    try {
      options.onEvent?.(event);
    } catch (error) {
      log.error("An event listener failed: {error}", { error });
    }
    if (event.kind === "finished") void stop();
  };

  /** Arms one timer for the core's next due time (a pause ending, a "still waiting" notice). */
  const schedule = () => {
    clearTimeout(timer);
    const due = dueAt(state);
    if (due === undefined || lifecycle !== "running") return;
    timer = setTimeout(() => {
      dispatch({ type: "tick" });
    }, Math.max(0, due - Date.now()));
  };

  const update = (message: ConsumedMessage) => {
    if (message.key !== driverId) return; // another driver's update
    const parsed = parseMessage(driverUpdateSchema, message.value);
    dispatch(
      parsed.ok
        ? { type: "update", update: parsed.value }
        : { type: "invalid", reason: `${where(message)}: ${parsed.reason}` },
    );
  };

  let stopping: Promise<Summary> | undefined;
  const shutdown = (error?: unknown): Promise<Summary> =>
    stopping ??= (async () => {
      lifecycle = "stopping";
      clearTimeout(timer);
      if (error !== undefined) log.error("Driver stopped by a Kafka failure: {error}", { error });
      // First the consumer, so the update being handled is counted before its offset commits.
      await transport.stopReading().catch((e) => log.warning("Consumer stop failed: {e}", { e }));
      lifecycle = "stopped";
      await within(Promise.all(inFlight), SEND_FLUSH_MS, []);
      await transport.close().catch((e) => log.warning("Producer stop failed: {e}", { e }));
      if (error === undefined) resolve(state.summary);
      else reject(error);
      return done;
    })();
  const fail = (error: unknown) => void shutdown(error);
  const stop = () => shutdown();

  await transport.start({
    update,
    invalid: (m) => {
      if (m.key !== driverId) return;
      // The parser's message may quote the value; the position is enough to find it.
      dispatch({ type: "invalid", reason: `${where(m)}: value is not JSON` });
    },
    fail,
  });
  log.info(literal(`Driver ${driverId} started`), { driverId, plan: options.plan?.length ?? 0 });

  dispatch({ type: "start" });
  return {
    driverId,
    state: () => state,
    charge: (cpId) => dispatch({ type: "charge", cpId }),
    listCps: () => dispatch({ type: "list" }),
    cancel: () => dispatch({ type: "cancel" }),
    done,
    stop,
  };
}

/**
 * The standalone driver's own Kafka: a client, an idempotent producer and a consumer in group
 * `driver-<driverId>` that reads the whole topic and resumes where the driver left off.
 */
export function ownDriverTransport(brokers: readonly string[], driverId: string): DriverTransport {
  const groupId = `driver-${driverId}`;
  const kafka = createKafka({ brokers: [...brokers], clientId: groupId });
  let producer: JsonProducer | undefined;
  let consumer: ConsumerHandle | undefined;
  return {
    async start(inbox) {
      await ensureTopics(kafka, [TOPICS.driverRequests, TOPICS.driverUpdates]);
      const fresh = await uncommittedEnds(kafka, groupId, TOPICS.driverUpdates);
      try {
        producer = await createProducer(kafka);
        consumer = await runConsumer({
          kafka,
          groupId,
          topics: [TOPICS.driverUpdates],
          handle: (m) => inbox.update(m),
          onInvalid: (m) => inbox.invalid(m),
        });
        if (fresh.length > 0) await startAtEnds(consumer.consumer, TOPICS.driverUpdates, fresh);
      } catch (error) {
        await consumer?.stop().catch(() => {});
        await producer?.disconnect().catch(() => {});
        throw error;
      }
      const events = consumer.consumer.events;
      consumer.consumer.on(events.CRASH, ({ payload }) => {
        if (!payload.restart) inbox.fail(payload.error);
      });
    },
    send(message) {
      // The producer exists before anything can send: start() makes it first.
      return producer!.send(TOPICS.driverRequests, driverId, message);
    },
    stopReading: () => consumer?.stop() ?? Promise.resolve(),
    close: () => producer?.disconnect() ?? Promise.resolve(),
  };
}

/** `driver.updates/1@42`: where a record is, for log lines. */
function where(m: { topic: string; partition: number; offset: string }): string {
  return `${m.topic}/${m.partition}@${m.offset}`;
}

/** A partition and an offset in it. */
type PartitionOffset = { partition: number; offset: string };

/**
 * The partitions of `topic` for which `groupId` has no committed offset, each with the topic's
 * end offset now. On a driver id's first start that is every partition; later, none.
 */
async function uncommittedEnds(
  kafka: Kafka,
  groupId: string,
  topic: string,
): Promise<PartitionOffset[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const missing = new Set(
      committed.partitions.filter((p) => Number(p.offset) < 0).map((p) => p.partition),
    );
    if (missing.size === 0) return [];
    const ends = await fetchTopicEnds(admin, topic);
    return ends
      .filter((p) => missing.has(p.partition))
      .map(({ partition, offset }) => ({ partition, offset }));
  } finally {
    await admin.disconnect();
  }
}

/**
 * A first start: commits the end offsets taken before the consumer joined, then waits for its
 * first fetch, by which time every partition's position is known. Why both:
 * - A consumer without a committed offset looks up "latest" lazily, at its first fetch; a
 *   request sent before that could have its answer land before the lookup and be skipped.
 *   After the first fetch, every later record is read.
 * - Until a record of this driver arrives its partition has no commit; a driver stopped in
 *   between would, on restart, look up "latest" again and miss what came meanwhile. The
 *   committed ends close that gap. They may be older than the position (another driver's
 *   records handled meanwhile): those are only read, and skipped, again after a restart.
 */
async function startAtEnds(
  consumer: Consumer,
  topic: string,
  ends: readonly PartitionOffset[],
): Promise<void> {
  const fetched = new Promise<void>((resolve) => {
    const off = consumer.on(consumer.events.FETCH, () => {
      off();
      resolve();
    });
  });
  await consumer.commitOffsets(ends.map((p) => ({ topic, ...p })));
  await fetched;
}
