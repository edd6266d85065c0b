/**
 * `deno run -A central/kafka_edge_bench.ts [batches]`: Central's cost per `cp.telemetry`
 * message without Kafka (`--worker`: opened on a second thread, as Central does; `--openssl`:
 * through libcrypto.so.3, as `--libcrypto`): 300 logged-in CPs, each charging, and batches of 500 sealed SUPPLY
 * envelopes (as a fetch delivers them) through the real batch handler, core step and SQLite
 * store (a file). Each batch is sealed outside the timing. Prints CPU time per message (every
 * thread of the process: Web Crypto works on others) and wall time per message; on a shared
 * machine the CPU figure is the one to compare. BENCHMARKS.md has the figures.
 *
 * @module
 */
import process from "node:process";
import { join } from "node:path";
import { TOPICS } from "../shared/kafka.ts";
import { type ConsumedMessage } from "../shared/kafka_consumer.ts";
import { DEFAULT_CORE_CONFIG, EMPTY_MODEL } from "./core.ts";
import { telemetryBatchHandler } from "./kafka_edge.ts";
import {
  consumedBytes,
  freshVault,
  loginCharging,
  sealTelemetry,
  supplyReading,
} from "./kafka_edge_test_support.ts";
import { CentralRuntime } from "./runtime.ts";
import { CentralStore } from "./store.ts";
import { TelemetryOpener } from "./telemetry_opener.ts";

const CPS = 300;
const BATCH = Number(Deno.env.get("EDGE_BENCH_BATCH") ?? 500);

const dir = await Deno.makeTempDir({ prefix: "evcharging-edge-bench-" });
const store = CentralStore.open(join(dir, "central.db"));
const runtime = new CentralRuntime(store, EMPTY_MODEL, DEFAULT_CORE_CONFIG);
const vault = await freshVault();
const keys: { cpId: string; kv: number; key: CryptoKey }[] = [];
for (let i = 1; i <= CPS; i++) {
  const cpId = `BENCH-CP-${String(i).padStart(5, "0")}`;
  const login = await loginCharging(runtime, vault, {
    cpId,
    connection: i,
    requestId: `r-${cpId}`,
    driverId: `BENCH-DRV-${String(i).padStart(5, "0")}`,
    sessionId: `S-${cpId}`,
  }, { location: "Alicante", priceEurKwh: 0.35, powerKw: 22 });
  keys.push({ cpId, kv: login.keyVersion, key: login.key });
}

let n = 0;
const firstSeq = Date.now() * 1000;

/** The next batch as the consumer hands it over: `BATCH` SUPPLYs, the CPs in turn. */
async function nextBatch(): Promise<ConsumedMessage<Uint8Array>[]> {
  const batch: ConsumedMessage<Uint8Array>[] = [];
  for (let j = 0; j < BATCH; j++, n++) {
    const { cpId, kv, key } = keys[n % CPS];
    const kwh = 0.01 * (1 + Math.floor(n / CPS));
    const envelope = await sealTelemetry(
      key,
      cpId,
      kv,
      firstSeq + n,
      supplyReading(`S-${cpId}`, kwh, kwh * 0.35),
    );
    batch.push(consumedBytes(TOPICS.cpTelemetry, cpId, envelope));
  }
  return batch;
}

// `--worker`: batches are opened on a second thread (telemetry_opener.ts), as Central does.
const worker = Deno.args.includes("--worker");
const libcrypto = Deno.args.includes("--openssl") ? "libcrypto.so.3" : undefined;
// Without `--worker`, an opener only for its OpenSSL: every batch opens on this thread.
const opener = worker || libcrypto !== undefined
  ? TelemetryOpener.start({ libcrypto, minBatch: worker ? undefined : Infinity })
  : undefined;
const handle = telemetryBatchHandler(runtime, vault, opener);
const batches = Number(Deno.args.find((a) => !a.startsWith("--")) ?? 40);
await handle(await nextBatch()); // warm-up
let cpuUs = 0;
let mainUs = 0;
let wallMs = 0;
for (let b = 0; b < batches; b++) {
  const batch = await nextBatch();
  const cpu = process.cpuUsage();
  const main = threadCpuUs();
  const start = performance.now();
  await handle(batch);
  wallMs += performance.now() - start;
  mainUs += threadCpuUs() - main;
  const used = process.cpuUsage(cpu);
  cpuUs += used.user + used.system;
}
const messages = batches * BATCH;
opener?.close();
store.close();
await Deno.remove(dir, { recursive: true });
console.log(
  `${messages} messages in batches of ${BATCH}, ${CPS} CPs` +
    `${worker ? ", worker" : ""}${libcrypto ? ", OpenSSL" : ""}: ` +
    `CPU ${(cpuUs / messages).toFixed(1)} µs/msg (main thread ${
      (mainUs / messages).toFixed(1)
    }), wall ${(wallMs * 1000 / messages).toFixed(1)} µs/msg ` +
    `(${(messages / (wallMs / 1000)).toFixed(0)} msg/s); load average ${Deno.loadavg().join(" ")}`,
);

/** This thread's CPU time in µs (Linux: the scheduler's figure for the calling thread). */
function threadCpuUs(): number {
  return Number(Deno.readTextFileSync("/proc/thread-self/schedstat").split(" ")[0]) / 1000;
}
