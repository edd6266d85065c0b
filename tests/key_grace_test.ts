/**
 * Retired key versions are forgotten after their grace period, across processes: a real broker,
 * a real Registry over TLS, a real Central (grace 1 s) and a stand-in CP on the framed
 * protocol. After a second login retires version 1 and the grace is over, version 1 is gone from
 * Central's database, telemetry sealed with it is rejected and audited as `expired_kv`, and the
 * live version still charges.
 */
// First: registry/schemas.ts needs @hono/zod-openapi loaded before shared/messages.ts.
import {
  logInMonitor,
  type MonitorStub,
  waitFor,
  withTestCentral,
} from "../central/test_support.ts";
import assert from "node:assert/strict";
import { uniqueName } from "./kafka_env.ts";
import { KafkaWire } from "./kafka_wire.ts";

Deno.test("key grace: a retired version is forgotten after the grace; its telemetry is rejected as expired_kv", async () => {
  await withTestCentral("key_grace_", {
    group: uniqueName("key-grace"),
    keyGraceMs: 1000,
  }, async ({ registry, central }) => {
    const driverId = uniqueName("D");
    const cpId = uniqueName("CP");
    const wire = await KafkaWire.open(driverId, [cpId]);
    const monitors: MonitorStub[] = [];
    try {
      let token = await registry.registerCp(cpId);
      const logIn = async () => {
        const cp = await logInMonitor(central, registry, cpId, token, { keepAliveMs: 300 });
        monitors.push(cp.monitor);
        token = await registry.freshToken(cpId); // each token logs in once
        return cp;
      };
      const first = await logIn();
      const second = await logIn(); // replaces the first: version 1 is retired now
      assert.equal(second.kv, first.kv + 1);

      const store = central.runtime.store;
      await waitFor(
        "version 1 to be forgotten",
        () => !store.keyStates(cpId).some((k) => k.keyVersion === first.kv),
      );
      assert.deepEqual(store.keyStates(cpId), [{ keyVersion: second.kv, state: "live" }]);

      await wire.telemetry(cpId, first.kv, first.key, { type: "STATUS", engine: "OK" });
      await waitFor(
        "the rejection in the audit",
        () =>
          central.runtime.auditPage({ action: "telemetry.reject", limit: 100 }).items
            .some((r) => r.params.cpId === cpId && r.params.reason === "expired_kv"),
      );

      // The live version is untouched: a charge under it is supplied.
      await wire.charge(driverId, "r1", cpId);
      await waitFor("AUTHORIZED", () => wire.of("AUTHORIZED").length === 1);
      const { sessionId } = wire.of("AUTHORIZED")[0];
      await wire.telemetry(cpId, second.kv, second.key, {
        type: "SUPPLY",
        sessionId,
        kw: 22,
        kwh: 1,
        eur: 0.35,
      });
      await waitFor("SUPPLY", () => wire.of("SUPPLY").length === 1);
      // Only this CP's rejections count: the shared broker's topic also holds other tests' telemetry.
      const rejected = central.runtime.auditPage({ action: "telemetry.reject", limit: 100 }).items
        .filter((r) => r.params.cpId === cpId);
      assert.equal(rejected.length, 1);
    } finally {
      for (const monitor of monitors) await monitor.close();
      await wire.close();
    }
  });
});
