/**
 * The CP monitor's menu across real processes (issue 17): a network of real processes
 * (infra/network.ts: Registry over HTTPS, Central, a real Kafka broker) and a `deno task cp`
 * with an operator (not `--headless`) whose keys arrive on its input, as from a keyboard. `M`
 * puts the CP in maintenance: Central's REST (and the dashboard's snapshot) shows it STOPPED for
 * `maintenance`; `M` again brings it back ACTIVATED; the audit has both `cp.maintenance` records,
 * by the CP, from its monitor's address. `S` prints the monitor's status line, never the token.
 * `A` logs in again (a new key version); `D` deregisters the CP at the Registry and the monitor
 * waits; `R` registers it again and it is back ACTIVATED.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { LocalNetwork } from "../infra/network.ts";
import { waitUntil } from "../infra/service.ts";
import { centralGroupAtEnd, testBrokers } from "./kafka_env.ts";
import {
  integrationTest,
  inTempDir,
  readChildLines,
  startTestNetwork,
} from "./network_test_support.ts";

interface AuditItem {
  actor: string;
  action: string;
  origin_ip?: string;
  params: { cpId: string; on: boolean; state: string; stopReason: string | null };
}

/** Waits until Central shows the CP deregistered (`true`) or registered again. */
function waitForRegistration(net: LocalNetwork, id: string, deregistered: boolean) {
  return waitUntil(`${id} deregistered=${deregistered}`, async () => {
    const cp = await net.api.get<{ deregistered_at: string | null }>(`/cps/${id}`);
    return (cp.deregistered_at !== null) === deregistered || undefined;
  });
}

/** Waits until `done` holds (waitUntil's probe answers only with `true`). */
const waitFor = (done: () => boolean, what: string) => waitUntil(what, () => done() || undefined);

integrationTest(
  "monitor menu: maintenance on and off at Central (audited), status, authenticate again, deregister and register again",
  async () => {
    await inTempDir("monitor_menu_", async (dir) => {
      const net = await startTestNetwork(dir, {
        // Its own consumer groups, at the topics' end: another test's Central on the same broker
        // neither takes this one's partitions nor hands it a backlog.
        centralArgs: ["--group", await centralGroupAtEnd("monitor-menu")],
      });
      const lines: string[] = [];
      let cp: Deno.ChildProcess | undefined;
      try {
        const id = "CP-MENU-1";
        cp = new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            join(import.meta.dirname!, "..", "cp", "main.ts"),
            ...["--cp-id", id, "--broker", testBrokers().join(",")],
            ...["--central", net.centralTcp, "--registry-url", net.registryUrl],
            ...["--ca", net.caFile, "--location", "Madrid", "--price", "0.3", "--power", "11"],
            ...["--credentials-dir", join(dir, "cp"), "--lang", "en"],
          ],
          env: {
            REGISTRY_ADMIN_KEY: (await Deno.readTextFile(join(dir, "registry_admin.key"))).trim(),
          },
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const output = readChildLines(cp, (line) => lines.push(line));
        const input = cp.stdin.getWriter();
        const type = (key: string) => input.write(new TextEncoder().encode(key));
        const monitorSaid = (pattern: RegExp) =>
          lines.some((l) => l.startsWith("[monitor] ") && pattern.test(l));

        await net.waitForCp(id, (c) => c.state === "ACTIVATED", 60_000);
        await waitFor(() => monitorSaid(/Central shows ACTIVATED/), "the monitor told its state");

        await type("M");
        const held = await net.waitForCp(id, (c) => c.state === "STOPPED");
        assert.equal(held.stop_reason, "maintenance");
        // The dashboard draws the tile from its snapshot: orange "Out of Order (maintenance)".
        const snapshot = await net.api.get<{ cps: { id: string; stop_reason: string | null }[] }>(
          "/snapshot",
        );
        assert.equal(snapshot.cps.find((c) => c.id === id)?.stop_reason, "maintenance");
        await waitFor(
          () => monitorSaid(/Central shows STOPPED \(maintenance\), maintenance on/),
          "the monitor to hear of its maintenance",
        );

        await type("S");
        await waitFor(() => monitorSaid(/status: .*maintenance on/), "the status line");
        const status = lines.find((l) => l.startsWith("[monitor] ") && /status: /.test(l))!;
        assert.match(status, /key version \d+/);
        assert.match(status, /token expires/);
        assert.doesNotMatch(status, /eyJ/, "never the token itself");

        await type("M");
        const back = await net.waitForCp(id, (c) => c.state === "ACTIVATED");
        assert.equal(back.stop_reason, null);

        const audit = await net.api.get<{ items: AuditItem[] }>(
          "/audit?action=cp.maintenance&limit=10",
        );
        assert.deepEqual(
          audit.items.map((r) => [r.actor, r.params.on, r.params.state, r.params.stopReason]),
          [
            [`cp:${id}`, false, "ACTIVATED", null],
            [`cp:${id}`, true, "STOPPED", "maintenance"],
          ],
        );
        assert.ok(audit.items.every((r) => r.origin_ip === "127.0.0.1"), "from the monitor");

        // A: a fresh token and a new login, so a new key version.
        await type("A");
        await net.waitForCp(
          id,
          (c) => c.state === "ACTIVATED" && (c.key_version ?? 0) > (back.key_version ?? 0),
        );

        // D: deregistered at the Registry with the admin key; the monitor waits for the operator.
        await type("D");
        await waitFor(
          () => monitorSaid(/deregistered at the Registry \(menu: R registers it again/),
          "the monitor waiting after the deregistration",
        );
        await waitForRegistration(net, id, true);
        // R: registered again with new credentials, logged in, ACTIVATED.
        await type("R");
        await waitForRegistration(net, id, false);
        await net.waitForCp(id, (c) => c.state === "ACTIVATED");

        await type("q");
        assert.equal((await cp.status).code, 0);
        await output;
        cp = undefined;
      } finally {
        try {
          cp?.kill("SIGKILL");
          await cp?.status;
        } catch { /* already gone */ }
        await net.stop();
      }
    });
  },
);
