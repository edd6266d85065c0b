/**
 * The dashboard over HTTPS in a real browser (Debian's Chromium driven by playwright-core):
 * Central serves its REST API, page and event stream over TLS on loopback (`restTls: "always"`,
 * the `--rest-tls always` flag), with a certificate of the test's CA, on a real Kafka broker
 * with a real Registry over HTTPS and monitors logged in over TLS.
 *
 * Chromium is not told to ignore certificate errors: it pins Central's public key
 * (`--ignore-certificate-errors-spki-list`, the base64 SHA-256 of the certificate's SPKI), so any
 * other key is still refused. A browser without the pin gets `ERR_CERT_AUTHORITY_INVALID`. The
 * pinned one shows the CP tiles and follows the event stream (`GET /events` over HTTPS): a CP
 * that logs in later appears, and an admin stop turns its tile to Out of Order.
 *
 * Needs Chromium at `CHROMIUM_PATH` (default /usr/bin/chromium): without it the test fails and
 * says how to install it, never skips.
 */
// First: registry/schemas.ts needs @hono/zod-openapi loaded before shared/messages.ts.
import { MonitorStub, startTestCentral, startTestRegistry } from "../central/test_support.ts";
import assert from "node:assert/strict";
import { createHash, createPublicKey } from "node:crypto";
import { Buffer } from "node:buffer";
import { testBrokers, uniqueName } from "./kafka_env.ts";
import { CHROMIUM_ARGS } from "../fleet/dashboard_probe.ts";
import { browserTest, launchChromium } from "./browser_test_support.ts";

/** What Chromium's `--ignore-certificate-errors-spki-list` takes: base64 SHA-256 of the SPKI. */
function spkiPin(certPem: string): string {
  const spki = createPublicKey(certPem).export({ type: "spki", format: "der" });
  return createHash("sha256").update(Buffer.from(spki)).digest("base64");
}

browserTest(
  "dashboard over HTTPS in Chromium: only with Central's key pinned; live tiles and " +
    "event-stream updates over TLS",
  "dashboard_https_",
  async (dir) => {
    const registry = await startTestRegistry(dir);
    const central = await startTestCentral(dir, registry, testBrokers(), {
      restTls: "always",
      group: uniqueName("dashboard-https"),
    });
    const api = Deno.createHttpClient({ caCerts: [registry.caCert] });
    const monitors: MonitorStub[] = [];
    const login = async (cpId: string) => {
      const bound = await registry.registerCp(cpId);
      const monitor = await MonitorStub.connect(central.tcpAddr, registry.caCert);
      monitors.push(monitor);
      assert.equal((await monitor.login(cpId, bound)).answer?.type, "AUTH_OK");
      monitor.keepAlive(300);
    };
    const [first, later] = [uniqueName("CP-TLS-A"), uniqueName("CP-TLS-B")];
    const unpinned = await launchChromium(CHROMIUM_ARGS);
    const pinned = await launchChromium([
      ...CHROMIUM_ARGS,
      `--ignore-certificate-errors-spki-list=${spkiPin(registry.tls.cert)}`,
    ]);
    try {
      assert.match(central.httpUrl, /^https:\/\/127\.0\.0\.1:\d+$/, "HTTPS on loopback");
      await assert.rejects(
        fetch(`http://127.0.0.1:${central.httpAddr.port}/health`).then((r) => r.text()),
        "plain HTTP gets no answer",
      );
      await login(first);

      const stranger = await unpinned.newPage();
      await assert.rejects(
        stranger.goto(central.httpUrl),
        /ERR_CERT_AUTHORITY_INVALID/,
        "a browser that neither trusts the CA nor pins the key refuses the page",
      );

      const page = await pinned.newPage({ viewport: { width: 1280, height: 800 } });
      const requested: string[] = [];
      page.on("request", (request) => requested.push(request.url()));
      const answer = await page.goto(central.httpUrl);
      assert.equal(answer?.status(), 200);
      assert.equal(await page.evaluate(() => location.protocol), "https:");
      await page.locator(`[data-cp="${first}"][data-state="ACTIVATED"]`).waitFor({
        timeout: 30_000,
      });

      // Both changes reach the page only through the event stream.
      await login(later);
      await page.locator(`[data-cp="${later}"][data-state="ACTIVATED"]`).waitFor({
        timeout: 30_000,
      });
      const stop = await fetch(`${central.httpUrl}/cps/${first}/stop`, {
        method: "POST",
        headers: {
          authorization: "Bearer test-central-admin-token-0123456789",
          "content-type": "application/json",
        },
        body: JSON.stringify({ reason: "dashboard HTTPS test" }),
        client: api,
      });
      assert.equal(stop.status, 200, await stop.text());
      const stopped = page.locator(`[data-cp="${first}"][data-state="STOPPED"]`);
      await stopped.waitFor({ timeout: 30_000 });
      assert.equal(await stopped.locator('[data-field="label"]').innerText(), "Out of Order");

      assert.ok(
        requested.some((url) => url.startsWith(`${central.httpUrl}/events`)),
        `the event stream over HTTPS: ${requested.join(" ")}`,
      );
      assert.deepEqual(
        requested.filter((url) => !url.startsWith("https://")),
        [],
        "no plain HTTP",
      );
    } finally {
      await pinned.close();
      await unpinned.close();
      for (const monitor of monitors) await monitor.close();
      api.close();
      await central.stop();
      await registry.close();
    }
  },
);
