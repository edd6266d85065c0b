/**
 * Deregistration takes effect at once, with real processes: a Registry over HTTPS with a test
 * CA, Central, a real Kafka broker and a real CP (`deno task cp`: engine + monitor) charging a
 * real driver. A `DELETE /cp/{id}` at the Registry, or the dashboard's CP manager through
 * Central, reaches Central over the Registry's change feed: the monitor is logged out with
 * `deregistered` and stops for good, saying why; the session is ticketed (`deregistered`); the
 * keys are revoked; `GET /cps` and `GET /security` show it. A deregistration made while Central
 * is down is applied when it comes back. The id registers again with new credentials and
 * charges again, its history kept.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { CpPlan, LocalNetwork, Service } from "../infra/network.ts";
import { createRegistryClient, type RegistryClient } from "../registry/client.ts";
import { uniqueName } from "./kafka_env.ts";
import { integrationTest, inTempDir, startTestNetwork } from "./network_test_support.ts";

interface CpWithRegistration {
  state: string;
  key_version: number | null;
  deregistered_at: string | null;
}

const isTicket = (r: Record<string, unknown>) =>
  r.logger === "evcharging.driver" &&
  (r.properties as Record<string, unknown> | undefined)?.kind === "ticket";

/** Starts a one-charge driver for `cpId` and waits until the CP supplies it. */
async function charging(net: LocalNetwork, dir: string, cpId: string): Promise<Service> {
  const file = join(dir, `plan-${cpId}.txt`);
  await Deno.writeTextFile(file, `${cpId}\n`);
  const driver = await net.startDriver({ id: uniqueName("D"), file });
  await net.waitForCp(cpId, (c) => c.state === "SUPPLYING" && (c.kwh ?? 0) > 0, 30_000);
  return driver;
}

/** Waits for the driver's ticket and returns its end reason. */
async function ticketReason(driver: Service): Promise<string> {
  const record = await driver.waitForRecord("the driver's ticket", isTicket, 20_000);
  return String((record.properties as Record<string, unknown>).endReason);
}

/** Waits until the CP's monitor says it stops for good because the CP was deregistered. */
async function monitorGaveUp(cp: Service): Promise<void> {
  const said = await cp.waitForRecord(
    "the monitor's reason",
    (r) => r.source === "monitor" && r.level === "ERROR" && /deregistered/.test(String(r.message)),
    20_000,
  );
  assert.match(String(said.message), /not retrying/);
  await cp.waitForLine("the monitor exiting", (l) => l.includes("monitor exited"), 20_000);
}

/** Registers the CP again: a fresh start without its old credentials file. */
async function registerAgain(net: LocalNetwork, dir: string, plan: CpPlan): Promise<Service> {
  await net.cps.get(plan.id)?.stop();
  await Deno.remove(join(dir, "cp", `${plan.id}.credentials`));
  const cp = await net.startCp(plan);
  await net.waitForCp(
    plan.id,
    (c) => c.state === "ACTIVATED" && (c as unknown as CpWithRegistration).deregistered_at === null,
    30_000,
  );
  return cp;
}

async function deregisteredView(net: LocalNetwork, id: string): Promise<CpWithRegistration> {
  return await net.waitForCp(
    id,
    (c) => (c as unknown as CpWithRegistration).deregistered_at !== null,
    20_000,
  ) as unknown as CpWithRegistration;
}

integrationTest(
  "deregistration: a Registry DELETE or the CP manager logs the CP out and tickets its " +
    "session within seconds, also after Central was down; the id registers again",
  async () => {
    const id = uniqueName("CP-DEREG");
    await inTempDir("deregistration_", async (dir) => {
      const plan: CpPlan = {
        id,
        location: "Valencia",
        priceEurKwh: 0.4,
        powerKw: 22,
        args: ["--speed", "60", "--plug-delay", "300ms", "--target-kwh", "500"],
      };
      const net = await startTestNetwork(dir, {
        cps: [plan],
      });
      let registry: RegistryClient | undefined;
      try {
        registry = await createRegistryClient({
          url: net.registryUrl,
          caFile: net.caFile,
          adminKey: (await Deno.readTextFile(join(dir, "registry_admin.key"))).trim(),
        });

        // 1. Directly at the Registry, while charging.
        let driver = await charging(net, dir, id);
        const keyBefore = (await net.api.get<CpWithRegistration>(`/cps/${id}`)).key_version;
        assert.ok(keyBefore !== null);
        const deleted = performance.now();
        await registry.deregister(id);
        assert.equal(await ticketReason(driver), "deregistered");
        const ticketedMs = performance.now() - deleted;
        const view = await deregisteredView(net, id);
        assert.equal(view.state, "DISCONNECTED");
        assert.equal(view.key_version, null, "its keys are revoked");
        const security = await net.api.get<{ deregistered_at: string | null; revoked_at: string }>(
          `/security/${id}`,
        );
        assert.equal(security.deregistered_at, view.deregistered_at);
        assert.ok(security.revoked_at !== null);
        await monitorGaveUp(net.cps.get(id)!);
        console.log(`deregistration: DELETE → ticket in ${Math.round(ticketedMs)} ms`);

        // 2. The same id registers again with new credentials and charges.
        await registerAgain(net, dir, plan);
        driver = await charging(net, dir, id);

        // 3. Deregistered while Central is down: applied when it is back.
        net.central.kill("SIGKILL");
        await net.central.waitForExit();
        await registry.deregister(id);
        await net.restartCentral();
        const caughtUp = await deregisteredView(net, id);
        assert.equal(caughtUp.key_version, null);
        const sessions = await net.api.get<{ cp_id: string; end_reason: string }[]>(
          "/sessions?status=completed&limit=100",
        );
        assert.deepEqual(
          sessions.filter((s) => s.cp_id === id).map((s) => s.end_reason),
          ["deregistered", "deregistered"],
          "the session open while Central was down is ticketed too",
        );
        assert.equal(await ticketReason(driver), "deregistered");

        // 4. Through the dashboard's CP manager (Central → Registry), after registering again.
        await registerAgain(net, dir, plan);
        driver = await charging(net, dir, id);
        await net.api.post(`/registry/cps/${id}/deregister`);
        assert.equal(await ticketReason(driver), "deregistered");
        await deregisteredView(net, id);
        await monitorGaveUp(net.cps.get(id)!);

        // The Registry kept the whole history; Central audited each deregistration.
        const history = (await registry.changes(0)).changes.filter((c) => c.cp_id === id);
        assert.deepEqual(history.map((c) => c.action), [
          "registered",
          "deregistered",
          "registered",
          "deregistered",
          "registered",
          "deregistered",
        ]);
        const audit = await net.api.get<{ items: { action: string; params: { cpId?: string } }[] }>(
          "/audit?action=cp.deregistered&limit=100",
        );
        assert.equal(audit.items.filter((r) => r.params.cpId === id).length, 3);
        const list = await net.api.get<{ id: string }[]>("/cps");
        assert.ok(list.some((c) => c.id === id), "shown as deregistered, not forgotten");
      } finally {
        registry?.close();
        await net.stop();
      }
    });
  },
);
