/**
 * The scenarios of docs/DEMO.md on a real network (infra/network.ts: real processes, a real
 * broker, TLS to the project CA): each step is done as the guide says, through the keys of
 * `deno task cp` (the same the local supervisor types), and what an evaluator would see is read
 * from Central's REST API and the dashboard's snapshot.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type CpPlan, type LocalNetwork, type Service, startNetwork } from "../infra/network.ts";
import { serveSupervisor } from "../infra/supervisor_api.ts";
import { freePort } from "../shared/ports.ts";
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

/** A network run as `deno task start` runs it: with the supervisor API Central forwards to. */
async function supervisedNetwork(dir: string, cps: CpPlan[]) {
  const supervisorPort = freePort();
  const net = await startNetwork({
    dir,
    certsDir: join(dir, "certs"),
    brokers: testBrokers(),
    centralArgs: ["--group", uniqueName("demo")],
    supervisorUrl: `http://127.0.0.1:${supervisorPort}`,
    cps,
  });
  const token = (await Deno.readTextFile(net.adminTokenFile)).trim();
  const supervisor = serveSupervisor(supervisorPort, { host: net, adminToken: token });
  /** A dashboard admin button: `POST /local/cps/{id}/<action>` at Central. */
  const click = async (id: string, action: string) => {
    const res = await fetch(`${net.centralUrl}/local/cps/${id}/${action}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    const body = await res.json();
    assert.equal(res.status, 200, `${action}: ${JSON.stringify(body)}`);
    return body as Record<string, unknown>;
  };
  /** The newest audit records of `action`. */
  const audit = async (action: string) =>
    (await net.api.get<{ items: Record<string, unknown>[] }>(
      `/audit?action=${encodeURIComponent(action)}`,
    )).items;
  const stop = async () => {
    await supervisor.shutdown();
    await net.stop();
  };
  return { net, click, audit, stop };
}

Deno.test({
  name: "demo: the dashboard's buttons fault and repair a CP, and a killed monitor leaves the " +
    "engine supplying under DISCONNECTED until its restart picks the session up",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    inTempDir(async (dir) => {
      const id = uniqueName("CP-DEMO");
      // 22 kW at speed 60: 0.37 kWh a second; 30 kWh lasts the whole scenario.
      const { net, click, audit, stop } = await supervisedNetwork(dir, [
        cp(id, ["--target-kwh", "30"]),
      ]);
      try {
        await net.waitForCp(id, (c) => c.state === "ACTIVATED");

        assert.equal((await click(id, "fault")).faulty, true);
        await net.waitForCp(id, (c) => c.state === "BROKEN");
        assert.equal((await snapshotCp(net, id)).state, "BROKEN");
        assert.equal((await click(id, "repair")).faulty, false);
        await net.waitForCp(id, (c) => c.state === "ACTIVATED");
        const faults = await audit("local_cp.fault");
        assert.equal(faults.length, 1);
        assert.deepEqual([faults[0].actor, faults[0].outcome], ["admin", "ok"]);
        assert.deepEqual(faults[0].params, { cpId: id });

        const file = join(dir, "plan.txt");
        await Deno.writeTextFile(file, `${id}\n`);
        const driverId = uniqueName("DRV");
        await net.startDriver({ id: driverId, file });
        const supplying = await net.waitForCp(id, (c) => c.state === "SUPPLYING" && !!c.kwh);

        assert.equal((await click(id, "kill-monitor")).monitor_running, false);
        const cut = await net.waitForCp(id, (c) => c.state === "DISCONNECTED");
        // Telemetry goes on over Kafka: the engine keeps supplying the same driver.
        await net.waitForCp(
          id,
          (c) => c.state === "DISCONNECTED" && (c.kwh ?? 0) > (cut.kwh ?? 0),
        );

        assert.equal((await click(id, "restart-monitor")).monitor_running, true);
        const back = await net.waitForCp(id, (c) => c.state === "SUPPLYING");
        assert.equal(back.driver_id, driverId, "the same session, reconciled");
        assert.ok((back.kwh ?? 0) > (supplying.kwh ?? 0));
        assert.equal((await snapshotCp(net, id)).state, "SUPPLYING");
        assert.equal((await audit("local_cp.kill_monitor")).length, 1);
      } finally {
        await stop();
      }
    }),
});
