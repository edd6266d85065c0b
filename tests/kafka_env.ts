/**
 * Helpers for tests that need a real Kafka broker.
 *
 * @module
 */
import { brokersFromEnv } from "../shared/kafka.ts";

/**
 * The brokers named by `KAFKA_BROKERS`. Throws, rather than skipping, so that
 * a Kafka test never passes without having run.
 */
export function testBrokers(): string[] {
  const brokers = brokersFromEnv();
  if (!brokers) {
    throw new Error(
      "Kafka tests need a broker: run them with `deno task test`, which starts one, or set KAFKA_BROKERS",
    );
  }
  return brokers;
}

/**
 * A topic or group name no other test (or earlier run against the same
 * broker) uses: `<prefix>-<time>-<random>`, valid as a Kafka topic name.
 */
export function uniqueName(prefix: string): string {
  const random = crypto.getRandomValues(new Uint32Array(1))[0].toString(36);
  return `${prefix}-${Date.now().toString(36)}-${random}`;
}
