/**
 * The scenarios of docs/DEMO.md on a real network (infra/network.ts: real processes, a real
 * broker, TLS to the project CA): each step is done as the guide says, through the keys of
 * `deno task cp` (the same the local supervisor types), and what an evaluator would see is read
 * from Central's REST API and the dashboard's snapshot.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type CpPlan, type LocalNetwork, type Service, startNetwork } from "../infra/network.ts";
import { testBrokers, uniqueName } from "./kafka_env.ts";

function cp(id: string, args: string[] = []): CpPlan {
  return {
    id,
    location: "Alicante",
    priceEurKwh: 0.4,
    powerKw: 22,
    args: ["--speed", "60", "--plug-delay", "300ms", ...args],
  };
}

async function inTempDir(test: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "demo_" });
  let failed = true;
  try {
    await test(dir);
    failed = false;
  } finally {
    if (failed) console.error(`demo_test: logs kept in ${join(dir, "logs")}`);
    else await Deno.remove(dir, { recursive: true });
  }
}

/** The CP as the dashboard's snapshot shows it. */
async function snapshotCp(net: LocalNetwork, id: string): Promise<Record<string, unknown>> {
  const snapshot = await net.api.get<{ cps: Record<string, unknown>[] }>("/snapshot");
  const found = snapshot.cps.find((c) => c.id === id);
  assert.ok(found, `${id} in the snapshot`);
  return found;
}

/** Count of `[cp] <name> <what>` lines `deno task cp` printed so far. */
function cpLines(service: Service, name: string, what: string): number {
  return service.lines.filter((l) => l.startsWith(`[cp] ${name} ${what}`)).length;
}

Deno.test({
  name: "demo: under deno task cp a killed engine turns the CP red within 2 s, the monitor " +
    "lives on, and a restarted engine makes it green again without a new login",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    inTempDir(async (dir) => {
      const id = uniqueName("CP-DEMO");
      const net = await startNetwork({
        dir,
        certsDir: join(dir, "certs"),
        brokers: testBrokers(),
        cps: [cp(id)],
      });
      try {
        const service = net.cps.get(id)!;
        const before = await net.waitForCp(id, (c) => c.state === "ACTIVATED");
        const monitorStarts = cpLines(service, "monitor", "started");

        await service.type("k");
        await service.waitForLine("the engine's end", (l) => l.startsWith("[cp] engine exited"));
        const died = Date.now();
        await net.waitForCp(id, (c) => c.state === "BROKEN", 2000);
        const redAfterMs = Date.now() - died;
        assert.ok(redAfterMs <= 2000, `BROKEN after ${redAfterMs} ms`);
        assert.equal((await snapshotCp(net, id)).state, "BROKEN");
        assert.equal(cpLines(service, "monitor", "exited"), 0, "the monitor lives on");

        await service.type("e");
        const after = await net.waitForCp(id, (c) => c.state === "ACTIVATED");
        assert.equal(after.key_version, before.key_version, "the same key: no new login");
        assert.equal(cpLines(service, "monitor", "started"), monitorStarts, "the same monitor");
        assert.equal((await snapshotCp(net, id)).state, "ACTIVATED");
      } finally {
        await net.stop();
      }
    }),
});
