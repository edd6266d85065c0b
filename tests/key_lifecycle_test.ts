/**
 * A CP's key lifecycle as an operator sees it, across real processes: a network started like
 * `deno task start` (infra/network.ts: a real Registry over TLS, Central, a `deno task cp` CP and
 * Kafka from `KAFKA_BROKERS`).
 *
 * - Revoke keys: Central's `GET /cps` marks the CP `key_revoked`; its monitor counts down its
 *   `--revoked-wait` (shortened to 3 s here) before it re-authenticates, which the audit's own
 *   timestamps show (the login is at least the wait after the revocation); then the CP is
 *   ACTIVATED again and the mark is gone.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startNetwork, waitUntil } from "../infra/network.ts";
import { testBrokers, uniqueName } from "./kafka_env.ts";

/** The monitor's wait after a revoked key in this test (`--revoked-wait`). */
const REVOKED_WAIT_MS = 3000;

interface AuditItem {
  readonly seq: number;
  readonly ts: string;
  readonly actor: string;
  readonly action: string;
  readonly outcome: string;
  readonly params: Record<string, unknown>;
}

interface CpJson {
  readonly state: string;
  readonly key_revoked: boolean;
  readonly key_revoked_at: string | null;
  readonly key_version: number | null;
}

Deno.test({
  name: "key lifecycle: a revoked key shows as key revoked, the monitor waits --revoked-wait " +
    "before it logs in again, and the mark clears",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "key_lifecycle_test_" });
    const id = uniqueName("KEY");
    const net = await startNetwork({
      dir,
      certsDir: join(dir, "certs"),
      brokers: testBrokers(),
      centralArgs: ["--group", uniqueName("key-lifecycle")],
      cps: [{
        id,
        location: "Valencia",
        priceEurKwh: 0.3,
        powerKw: 11,
        args: ["--revoked-wait", `${REVOKED_WAIT_MS}ms`],
      }],
    });
    const audit = async (action: string) =>
      (await net.api.get<{ items: AuditItem[] }>(
        `/audit?action=${action}&limit=100`,
      )).items.filter((r) => r.params.cpId === id).reverse(); // oldest first
    let failed = true;
    try {
      const before = await net.api.get<CpJson>(`/cps/${id}`);
      assert.deepEqual([before.state, before.key_revoked], ["ACTIVATED", false]);

      await net.api.post(`/cps/${id}/keys/revoke`, { reason: "lost tablet" });
      const marked = await net.api.get<CpJson>(`/cps/${id}`);
      assert.equal(marked.key_revoked, true, "Central shows the CP as key revoked at once");
      assert.notEqual(marked.key_revoked_at, null);
      assert.equal(marked.state, "DISCONNECTED");

      const back = await net.waitForCp(id, (cp) => cp.state === "ACTIVATED", 30_000);
      assert.equal(back.key_revoked, false, "the new login clears the mark");
      assert.ok(back.key_version !== null && back.key_version > before.key_version!);

      // Central's own timestamps: the login came no sooner than the wait after the revocation.
      const [revoked] = await audit("key.revoke");
      assert.equal(revoked.outcome, "ok");
      assert.equal(revoked.params.reason, "lost tablet");
      const login = await waitUntil(
        "the login after the revocation",
        async () =>
          (await audit("cp.login")).find((r) => r.outcome === "ok" && r.seq > revoked.seq),
      );
      const waitedMs = Date.parse(login.ts) - Date.parse(revoked.ts);
      assert.ok(waitedMs >= REVOKED_WAIT_MS, `logged in again after ${waitedMs} ms`);
      assert.ok(waitedMs < REVOKED_WAIT_MS + 15_000, `logged in again after ${waitedMs} ms`);

      // The monitor said so while it waited (its log, as `deno task cp` forwards it).
      const cpLog = net.cps.get(id)!.lines.join("\n");
      assert.match(cpLog, /key revoked by Central .*re-authenticating in 3 s/);
      assert.match(cpLog, /re-authenticating in 1 s/);
      failed = false;
    } finally {
      await net.stop();
      if (failed) console.error(`key_lifecycle_test: logs kept in ${join(dir, "logs")}`);
      else await Deno.remove(dir, { recursive: true });
    }
  },
});
