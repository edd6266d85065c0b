/**
 * The fleet's Kafka (ARCHITECTURE §Fleet): one client for all the CPs and drivers a thread
 * hosts, with one batching producer and one keyed consumer each for `cp.commands` and
 * `driver.updates`, and each engine's view of it.
 *
 * @module
 */
import type { EngineKafka } from "../cp/engine_kafka.ts";
import { startKeyedConsumer } from "../shared/keyed_consumer.ts";
import {
  createKafka,
  createProducer,
  ensureTopics,
  type JsonProducer,
  TOPICS,
} from "../shared/kafka.ts";
import { SendBatcher } from "../shared/send_batcher.ts";

/** The thread's one Kafka client, producer and keyed consumers. */
export interface FleetKafka {
  /** Drivers' requests, sent at once. */
  readonly requests: SendBatcher;
  /** CPs' telemetry, gathered for a few ms first. */
  readonly telemetry: SendBatcher;
  readonly commands: Awaited<ReturnType<typeof startKeyedConsumer>>;
  readonly updates: Awaited<ReturnType<typeof startKeyedConsumer>>;
  stop(): Promise<void>;
}

/**
 * Fetches that wait a little for more: `driver.updates` carries a SUPPLY a second for every
 * charging CP, and fetching each as it comes cost the broker and both ends a fetch per few
 * messages (BENCHMARKS.md). A command waits at most 25 ms more.
 */
const COMMANDS_FETCH = { minBytes: 16 * 1024, maxWaitTimeInMs: 25 };

/**
 * The same for drivers' updates, but at most 5 ms: an `AUTHORIZED` waited 25 ms behind the
 * SUPPLY traffic, half the request → `AUTHORIZED` latency the benchmark reports.
 */
const UPDATES_FETCH = { minBytes: 16 * 1024, maxWaitTimeInMs: 5 };

/**
 * A thread's thousand CPs report at moments spread over each second: sent as they came, nearly
 * every report was a produce request of its own. 20 ms gathers several; a report is a second's
 * figures, so 20 ms later costs nothing. Drivers' requests do not wait.
 */
const TELEMETRY_LINGER_MS = 20;

export async function startFleetKafka(
  brokers: readonly string[],
  prefix: string,
): Promise<FleetKafka> {
  const kafka = createKafka({ brokers: [...brokers], clientId: `fleet-${prefix}` });
  await ensureTopics(kafka);
  const producer: JsonProducer = await createProducer(kafka);
  const requests = new SendBatcher(producer);
  const telemetry = new SendBatcher(producer, { lingerMs: TELEMETRY_LINGER_MS });
  try {
    const [commands, updates] = await Promise.all([
      startKeyedConsumer(kafka, `fleet-${prefix}-commands`, TOPICS.cpCommands, COMMANDS_FETCH),
      startKeyedConsumer(kafka, `fleet-${prefix}-updates`, TOPICS.driverUpdates, UPDATES_FETCH),
    ]);
    return {
      requests,
      telemetry,
      commands,
      updates,
      stop: async () => {
        await Promise.all([commands.stop(), updates.stop()]);
        await producer.disconnect();
      },
    };
  } catch (error) {
    await producer.disconnect().catch(() => {});
    throw error;
  }
}

/** An engine's view of the shared Kafka: its own commands only, telemetry through the batch. */
export function engineKafka(hub: FleetKafka): EngineKafka {
  let unroute: (() => void) | undefined;
  return {
    connect: () => Promise.resolve(), // the hub is up before any engine starts
    sendTelemetry: (cpId, envelope) => hub.telemetry.send(TOPICS.cpTelemetry, cpId, envelope),
    subscribeCommands: (cpId, handle) => {
      unroute = hub.commands.router.route(cpId, { message: handle });
      return Promise.resolve({ ready: Promise.resolve() });
    },
    close: () => Promise.resolve(unroute?.()),
  };
}
