/**
 * ARCHITECTURE §Revocation and status with real processes: an admin rotates, then revokes a CP's key mid-session, sets it
 * OUT_OF_SERVICE and finally REVOKED, through Central's REST API. The CP's own monitor and
 * engine (deno task cp) must react by themselves: log in again with a new key version after a
 * rotation or revocation, and stop for good, saying why, once the CP is REVOKED.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Service } from "../infra/network.ts";
import { uniqueName } from "./kafka_env.ts";
import {
  driverEvents,
  integrationTest,
  inTempDir,
  startTestNetwork,
} from "./network_test_support.ts";

interface AuditPage {
  items: {
    seq: number;
    actor: string;
    action: string;
    outcome: string;
    params: Record<string, unknown>;
  }[];
}

integrationTest(
  "security: rotate and revoke mid-session ticket the driver and the CP logs in again by " +
    "itself; OUT_OF_SERVICE denies; REVOKED stops the monitor for good; all audited",
  async () => {
    const id = uniqueName("CP-SEC");
    await inTempDir("network_security_", async (dir) => {
      const net = await startTestNetwork(dir, {
        cps: [{
          id,
          location: "Alicante",
          priceEurKwh: 0.5,
          powerKw: 22,
          args: ["--speed", "60", "--plug-delay", "300ms", "--target-kwh", "500"],
        }],
      });
      try {
        const file = join(dir, "plan.txt");
        await Deno.writeTextFile(file, `${id}\n`);
        /** Starts a one-charge driver and waits until the CP supplies it. */
        const charging = async (): Promise<Service> => {
          const driver = await net.startDriver({ id: uniqueName("D"), file });
          await net.waitForCp(id, (c) => c.state === "SUPPLYING" && (c.kwh ?? 0) > 0, 30_000);
          return driver;
        };
        const keyVersion = async () =>
          (await net.api.get<{ key_version: number | null }>(`/cps/${id}`)).key_version ?? 0;

        for (const action of ["rotate", "revoke"] as const) {
          const driver = await charging();
          const before = await keyVersion();
          await net.api.post(`/cps/${id}/keys/${action}`);
          assert.equal((await driver.waitForExit()).code, 0);
          const tickets = driverEvents(driver.records, "ticket");
          assert.equal(tickets.length, 1, `${action}: one ticket`);
          assert.equal(tickets[0].endReason, "key_lost");
          assert.ok(Number(tickets[0].kwh) > 0);
          const back = await net.waitForCp(
            id,
            (c) => c.state === "ACTIVATED" && (c.key_version ?? 0) > before,
            30_000,
          );
          assert.ok(back.key_version! > before, `${action}: a new key version`);
        }

        await net.api.post(`/cps/${id}/security`, { status: "OUT_OF_SERVICE", reason: "repairs" });
        await net.waitForCp(id, (c) => c.state === "STOPPED" && c.stop_reason === "out_of_service");
        const refused = await net.startDriver({ id: uniqueName("D"), file });
        assert.equal((await refused.waitForExit()).code, 0);
        assert.deepEqual(driverEvents(refused.records, "denied").map((d) => d.reason), [
          "out_of_service",
        ]);
        await net.api.post(`/cps/${id}/security`, { status: "ACTIVE", reason: "repaired" });
        await net.waitForCp(id, (c) => c.state === "ACTIVATED");

        await net.api.post(`/cps/${id}/security`, { status: "REVOKED", reason: "stolen" });
        const cp = net.cps.get(id)!;
        await cp.waitForLine("the monitor stopping for good", (l) => l.includes("monitor exited"));
        const said = await cp.waitForRecord(
          "the monitor's reason",
          (r) => r.source === "monitor" && r.level === "ERROR",
        );
        assert.match(String(said.message), /revoked/i);
        // The monitor has exited (above), so nothing can log the CP in again: Central shows it
        // DISCONNECTED, and no login of it follows the revocation in the audit.
        await net.waitForCp(id, (c) => c.state === "DISCONNECTED");

        const audit = await net.api.get<AuditPage>(`/audit?limit=1000`);
        const mine = audit.items.filter((r) => JSON.stringify(r.params).includes(id));
        const revokedAt = mine.find((r) =>
          r.action === "security.set" && r.params.status === "REVOKED" && r.outcome === "ok"
        )!.seq;
        assert.deepEqual(
          mine.filter((r) =>
            r.action === "cp.login" && r.outcome === "ok" && r.seq > revokedAt
          ),
          [],
          "no login after REVOKED",
        );
        for (const action of ["key.rotate", "key.revoke", "security.set", "session.ticket"]) {
          assert.ok(mine.some((r) => r.action === action), `audited: ${action}`);
        }
      } finally {
        await net.stop();
      }
    });
  },
);
