/**
 * A CP's key lifecycle as an operator sees it, across real processes: a network started like
 * `deno task start` (infra/network.ts: a real Registry over TLS, Central, a `deno task cp` CP and
 * Kafka from `KAFKA_BROKERS`).
 *
 * - Revoke keys: Central's `GET /cps` marks the CP `key_revoked`; its monitor counts down its
 *   `--revoked-wait` (shortened to 3 s here) before it re-authenticates, which the audit's own
 *   timestamps show (the login is at least the wait after the revocation); then the CP is
 *   ACTIVATED again and the mark is gone.
 * - Revoke for good (REVOKED): the monitor is logged out and stops; started again (through the
 *   supervisor's API, infra/supervisor_api.ts) its login is refused. Restore: the Registry issues
 *   new credentials, the supervisor writes them to the CP's credentials file and starts the
 *   monitor, which logs in with them; the audit records the restore, and neither the audit nor
 *   any process's log holds the new credentials.
 */
import assert from "node:assert/strict";
import { startNetwork, waitUntil } from "../infra/network.ts";
import { readCredentials } from "../shared/cp_credentials.ts";
import { uniqueName } from "./kafka_env.ts";
import { integrationTest, inTempDir, startSupervisedNetwork } from "./network_test_support.ts";

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

integrationTest(
  "key lifecycle: a revoked key shows as key revoked, the monitor waits --revoked-wait " +
    "before it logs in again, and the mark clears; a CP revoked for good is refused until a " +
    "restore gives it new credentials, and it logs in with them",
  async () => {
    await inTempDir("key_lifecycle_test_", async (dir) => {
      const id = uniqueName("KEY");
      const { net, supervisor, adminToken: token } = await startSupervisedNetwork(dir, {
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

        await checkBanAndRestore(net, id, token, audit);
      } finally {
        await supervisor.shutdown();
        await net.stop();
      }
    });
  },
);

/** REVOKED: logged out, refused when the monitor tries again; restored: back with new credentials. */
async function checkBanAndRestore(
  net: Awaited<ReturnType<typeof startNetwork>>,
  id: string,
  token: string,
  audit: (action: string) => Promise<AuditItem[]>,
): Promise<void> {
  const post = (path: string, body: unknown) =>
    fetch(`${net.centralUrl}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const monitorStopped = () =>
    // `|| undefined`: waitUntil takes any value but undefined as the answer, false included.
    waitUntil(
      "the monitor to stop",
      () => net.cpChildren(id)?.monitor.running === false || undefined,
    );
  const oldCredentials = (await readCredentials(net.credentialsFile(id), id))?.credentials;
  assert.ok(oldCredentials);

  const banned = await post(`/cps/${id}/security`, { status: "REVOKED", reason: "stolen" });
  assert.equal(banned.status, 200, await banned.text());
  await net.waitForCp(id, (cp) => cp.state === "DISCONNECTED");
  await monitorStopped();
  // Started again, its login is refused: REVOKED.
  const again = await post(`/local/cps/${id}/restart-monitor`, {});
  assert.equal(again.status, 200, await again.text());
  await waitUntil(
    "the refused login",
    async () =>
      (await audit("cp.login")).find((r) =>
        r.outcome === "denied" && r.params.reason === "revoked"
      ),
  );
  await monitorStopped();
  assert.equal((await net.api.get<CpJson>(`/cps/${id}`)).state, "DISCONNECTED");

  const restored = await post(`/cps/${id}/restore`, { reason: "found again" });
  const text = await restored.text();
  assert.equal(restored.status, 200, text);
  assert.equal(restored.headers.get("cache-control"), "no-store");
  const body = JSON.parse(text);
  assert.deepEqual([body.status, body.delivered], ["ACTIVE", true], body.delivery);
  const credentials: string = body.credentials;
  assert.ok(credentials.length >= 32 && credentials !== oldCredentials);
  assert.equal(
    (await readCredentials(net.credentialsFile(id), id))?.credentials,
    credentials,
    "the local CP's credentials file holds the new ones",
  );

  const back = await net.waitForCp(id, (cp) => cp.state === "ACTIVATED", 60_000);
  assert.equal(back.key_revoked, false);
  const [record] = await audit("security.restore");
  assert.deepEqual([record.outcome, record.params.previous, record.params.reason], [
    "ok",
    "REVOKED",
    "found again",
  ]);
  const login = (await audit("cp.login")).find((r) => r.outcome === "ok" && r.seq > record.seq);
  assert.ok(login, "logged in with the new credentials after the restore");

  // Shown once: in no audit record and in no process's log.
  const everything = await net.api.get<{ items: AuditItem[] }>("/audit?limit=1000");
  assert.ok(!JSON.stringify(everything).includes(credentials), "no credential in the audit");
  for (const service of [net.central, net.registry, net.cps.get(id)!]) {
    assert.ok(!service.lines.join("\n").includes(credentials), `not in ${service.name}'s log`);
  }
}
