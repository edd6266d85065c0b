/**
 * Helpers for the tests that run real processes, sockets and the broker, most a whole local
 * network (infra/network.ts, as `deno task start` does).
 *
 * @module
 */
import { join } from "node:path";
import {
  type CpPlan,
  type LocalNetwork,
  type NetworkOptions,
  startNetwork,
} from "../infra/network.ts";
import { type RunningSupervisor, serveSupervisor } from "../infra/supervisor_api.ts";
import { freePort } from "../shared/ports.ts";
import { testBrokers } from "./kafka_env.ts";

/**
 * A test over real processes, sockets and the broker, with Deno's op and resource sanitizers off:
 * child processes' pipes and the Kafka clients' timers outlive their stop by a tick. Each test
 * stops what it started itself, in its own `finally`.
 */
export function integrationTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, fn, sanitizeOps: false, sanitizeResources: false });
}

/**
 * Runs `test` in a new temporary folder (`prefix` names it). The folder goes once the test
 * passes; when it fails, the folder stays and its `logs/` are named on stderr, for the
 * processes' logs are what tell why.
 */
export async function inTempDir(
  prefix: string,
  test: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix });
  let failed = true;
  try {
    await test(dir);
    failed = false;
  } finally {
    if (failed) console.error(`${prefix}: logs kept in ${join(dir, "logs")}`);
    else await Deno.remove(dir, { recursive: true });
  }
}

/** A CP's arguments that make its charges take seconds: a simulated minute a second, a 300 ms plug. */
export const FAST_CP_ARGS = ["--speed", "60", "--plug-delay", "300ms"] as const;

/** A CP in Alicante, 22 kW at `priceEurKwh`, charging fast ({@link FAST_CP_ARGS}), `args` after. */
export function fastCp(id: string, args: readonly string[] = [], priceEurKwh = 0.4): CpPlan {
  return { id, location: "Alicante", priceEurKwh, powerKw: 22, args: [...FAST_CP_ARGS, ...args] };
}

/** The structured events of `kind` among a driver's log records (`net.startDriver`'s). */
export function driverEvents(
  records: readonly Record<string, unknown>[],
  kind: string,
): Record<string, unknown>[] {
  return records
    .filter((r) => r.logger === "evcharging.driver")
    .map((r) => r.properties as Record<string, unknown>)
    .filter((p) => p.kind === kind);
}

/**
 * Hands each whole line a child writes, on standard output or error, to `onLine` as it comes;
 * resolves once both have ended. Both are read to their end: a pipe left unread would block the
 * child's later writes.
 */
export async function readChildLines(
  child: Deno.ChildProcess,
  onLine: (line: string) => void,
): Promise<void> {
  const read = async (stream: ReadableStream<Uint8Array>) => {
    let pending = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (pending + chunk).split("\n");
      pending = parts.pop()!;
      parts.forEach(onLine);
    }
  };
  await Promise.all([read(child.stdout), read(child.stderr)]);
}

/** A test network with the local supervisor's control API, and Central's admin token. */
export interface SupervisedNetwork {
  readonly net: LocalNetwork;
  readonly supervisor: RunningSupervisor;
  readonly adminToken: string;
}

/**
 * A test network (`startTestNetwork`) run as `deno task start` runs it: with the local
 * supervisor's API that Central forwards the dashboard's stop, start and add of CPs to. A CP
 * added there is started with `newCpArgs`. The caller shuts the supervisor down, then the net.
 */
export async function startSupervisedNetwork(
  dir: string,
  options: Omit<NetworkOptions, "dir" | "certsDir" | "brokers" | "supervisorUrl">,
  newCpArgs?: readonly string[],
): Promise<SupervisedNetwork> {
  const port = freePort();
  const net = await startTestNetwork(dir, {
    ...options,
    supervisorUrl: `http://127.0.0.1:${port}`,
  });
  const adminToken = (await Deno.readTextFile(net.adminTokenFile)).trim();
  const supervisor = serveSupervisor(port, { host: net, adminToken, newCpArgs });
  return { net, supervisor, adminToken };
}

/**
 * Starts a local network whose data and certificates are in `dir` (certificates in `certs/`),
 * on the test broker unless `options.brokers` names another.
 */
export function startTestNetwork(
  dir: string,
  options: Omit<NetworkOptions, "dir" | "certsDir" | "brokers"> & {
    readonly brokers?: readonly string[];
  } = {},
): Promise<LocalNetwork> {
  return startNetwork({ dir, certsDir: join(dir, "certs"), brokers: testBrokers(), ...options });
}
