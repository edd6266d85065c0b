/**
 * The lab's observer, run by `deno task lab` inside pc1 (the lab itself lives outside every
 * namespace, so it cannot reach the /24): an operator's console on PC1 that reads only what any
 * client may read, and tells the lab as JSON lines on standard output.
 *
 * - every 250 ms Central's `GET /cps` → `{t: "cps", at, cps}` (or `{t: "cps", at, error}`);
 * - every `CHARGE_REQUEST` on `driver.requests` and every `AUTHORIZED`, `DENIED` and `TICKET` on
 *   `driver.updates`, from the start of the topics → `{t: "msg", at, value}`;
 * - a line `{id, path}` on standard input → `{t: "reply", id, status, body}` for `GET path`.
 *
 *     deno run -A infra/lab_probe.ts --central https://10.77.0.1:8080 --broker 10.77.0.1:9092 \
 *       --ca pc1/certs/ca.pem
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createKafka, ensureTopics, TOPICS } from "../shared/kafka.ts";
import { runConsumer } from "../shared/kafka_consumer.ts";
import { httpsClient } from "../shared/tls.ts";
import { runOrExit } from "../shared/version.ts";

/** Types of driver-topic messages the lab counts. */
const COUNTED = new Set(["CHARGE_REQUEST", "AUTHORIZED", "DENIED", "TICKET"]);
/** How often Central's CPs are read. */
const POLL_MS = 250;
/** Longest wait for one answer of Central. */
const REQUEST_TIMEOUT_MS = 3_000;

const encoder = new TextEncoder();
function emit(line: object): void {
  Deno.stdout.writeSync(encoder.encode(`${JSON.stringify(line)}\n`));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { central: { type: "string" }, broker: { type: "string" }, ca: { type: "string" } },
    strict: true,
  });
  const central = values.central, broker = values.broker, ca = values.ca;
  if (!central || !broker || !ca) throw new Error("--central, --broker and --ca are required");
  const client = central.startsWith("https:") ? await httpsClient(ca) : undefined;
  const get = async (path: string) => {
    const res = await fetch(`${central}${path}`, {
      client,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.text();
    return { status: res.status, body: text === "" ? null : JSON.parse(text) };
  };

  const kafka = createKafka({ brokers: broker.split(","), clientId: "lab-probe" });
  // Central creates them too; whichever comes first, the other finds them there.
  await ensureTopics(kafka);
  await runConsumer<{ type?: string }>({
    kafka,
    groupId: `lab-probe-${Deno.pid}-${Date.now()}`,
    topics: [TOPICS.driverRequests, TOPICS.driverUpdates],
    fromBeginning: true,
    handle: ({ value }) => {
      if (COUNTED.has(String(value?.type))) emit({ t: "msg", at: Date.now(), value });
    },
  });
  emit({ t: "ready", at: Date.now() });

  (async () => {
    const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
    let pending = "";
    for await (const chunk of lines) {
      const parts = (pending + chunk).split("\n");
      pending = parts.pop()!;
      for (const part of parts.filter((p) => p.trim() !== "")) {
        const { id, path } = JSON.parse(part) as { id: number; path: string };
        get(path).then(
          (reply) => emit({ t: "reply", id, ...reply }),
          (error) => emit({ t: "reply", id, status: 0, error: String(error) }),
        );
      }
    }
    // The lab is gone: so is its observer.
    Deno.exit(0);
  })();

  while (true) {
    const at = Date.now();
    try {
      const { status, body } = await get("/cps");
      emit(status === 200 ? { t: "cps", at, cps: body } : { t: "cps", at, error: `${status}` });
    } catch (error) {
      emit({ t: "cps", at, error: error instanceof Error ? error.message : String(error) });
    }
    await new Promise((r) => setTimeout(r, Math.max(0, POLL_MS - (Date.now() - at))));
  }
}

if (import.meta.main) await runOrExit("lab probe", main);
