/**
 * `deno task kafka`: runs a local Kafka broker in the foreground until Ctrl-C.
 *
 *     deno task kafka [--port 9092] [--data-dir data/kafka] [--fresh] [--fetch-only]
 *
 * With `KAFKA_BROKERS` set it only says that broker is used and exits.
 *
 * @module
 */
import { defineConfig, flag, loadConfig, option, portOrZero, text } from "../shared/config.ts";
import { brokersFromEnv } from "../shared/kafka.ts";
import { ensureKafkaJars, startLocalKafka } from "./local_kafka.ts";
import { runOrExit } from "../shared/version.ts";

/** The task's options. */
export const kafkaConfig = defineConfig({
  name: "deno task kafka",
  summary: "Runs a single-node KRaft Kafka broker until Ctrl-C: on 127.0.0.1, or for other " +
    "machines too with --advertise.",
  options: {
    port: option(portOrZero, {
      flag: "port",
      env: "KAFKA_PORT",
      default: 9092,
      help: "Client port (the controller uses port+1; 0 picks free ports)",
    }),
    advertisedHost: option(text, {
      flag: "advertise",
      env: "KAFKA_ADVERTISED_HOST",
      optional: true,
      help: "Serve other machines too, under this host name or IP (default: this machine only)",
    }),
    dataDir: option(text, {
      flag: "data-dir",
      env: "KAFKA_DATA_DIR",
      default: "data/kafka",
      help: "Where topics and offsets are kept",
    }),
    fresh: flag({ flag: "fresh", help: "Delete the data directory first (all topics are lost)" }),
    fetchOnly: flag({
      flag: "fetch-only",
      help: "Only fetch the broker jars into the cache (CI, offline preparation)",
    }),
  },
});

async function main(): Promise<number> {
  const config = loadConfig(kafkaConfig);
  const external = brokersFromEnv();
  if (external) {
    console.log(
      `KAFKA_BROKERS is set: using the broker at ${external.join(",")}; starting nothing.`,
    );
    return 0;
  }
  if (config.fetchOnly) {
    console.log(`Kafka jars are in ${await ensureKafkaJars()}`);
    return 0;
  }

  const kafka = await startLocalKafka(config);
  const { promise: signalled, resolve } = Promise.withResolvers<Deno.Signal>();
  for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, () => resolve(sig));

  console.log(`Kafka is up. Use it with:\n  KAFKA_BROKERS=${kafka.brokers.join(",")}`);
  console.log(`Broker log: ${kafka.logFile}. Ctrl-C stops it.`);
  const outcome = await Promise.race([signalled, kafka.exited]);
  if (typeof outcome === "string") {
    console.log(`${outcome}: stopping Kafka…`);
    await kafka.stop();
    console.log("Kafka stopped.");
    return 0;
  }
  console.error(
    `kafka: the broker exited unexpectedly (code ${outcome.code}); see ${kafka.logFile}`,
  );
  return 1;
}

if (import.meta.main) await runOrExit("kafka", async () => Deno.exit(await main()));
