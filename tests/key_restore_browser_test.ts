/**
 * A CP's key lifecycle from the dashboard, in Chromium (playwright-core) against real processes:
 * a network like `deno task start`'s (infra/network.ts, with the local supervisor's API) with one
 * CP. On the CP's page in admin mode: _Revoke keys_ shows it "key revoked" until its monitor,
 * after its `--revoked-wait`, logs in again; _Revoke for good_ logs it out; _Restore_, confirmed
 * in the page's dialog, brings it back ACTIVATED with the new credentials the supervisor handed
 * it, so the page shows no credentials to copy. Every wait is for a page element.
 *
 * Needs Chromium at `CHROMIUM_PATH` (default /usr/bin/chromium).
 */
import { uniqueName } from "./kafka_env.ts";
import assert from "node:assert/strict";
import { browserTest, launchChromium } from "./browser_test_support.ts";
import { startSupervisedNetwork } from "./network_test_support.ts";

browserTest(
  "key restore in Chromium: revoke keys shows key revoked until the CP logs in again; " +
    "revoke for good, then Restore brings a local CP back ACTIVATED",
  "key_restore_browser_",
  async (dir) => {
    const id = uniqueName("CP-RST");
    const { net, supervisor, adminToken: token } = await startSupervisedNetwork(dir, {
      centralArgs: ["--group", uniqueName("key-restore-browser")],
      cps: [{
        id,
        location: "Murcia",
        priceEurKwh: 0.3,
        powerKw: 11,
        args: ["--revoked-wait", "3s"],
      }],
    });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
      await page.goto(`${net.centralUrl}/#/cp/${id}`);
      const cpPage = page.locator(`[data-cp-page="${id}"]`);
      const inState = (state: string) =>
        page.locator(`[data-cp-page="${id}"][data-state="${state}"]`).waitFor({
          timeout: 30_000,
        });
      await inState("ACTIVATED");
      await page.getByLabel("admin token").fill(token);
      await page.getByRole("button", { name: "Admin mode" }).click();
      await cpPage.getByText("more", { exact: true }).click();

      await cpPage.getByRole("button", { name: "Revoke keys" }).click();
      await page.getByTestId("confirm-ok").click();
      await cpPage.locator('[data-field="key-revoked"]').waitFor();
      await inState("ACTIVATED");
      await cpPage.locator('[data-field="key-revoked"]').waitFor({ state: "detached" });

      await cpPage.getByRole("button", { name: "Revoke for good" }).click();
      await page.getByTestId("confirm-reason").fill("stolen");
      await page.getByTestId("confirm-ok").click();
      await inState("DISCONNECTED");
      await cpPage.locator('[data-field="security"]', { hasText: "REVOKED" }).waitFor();

      await cpPage.locator('[data-action="restore"]').click();
      await page.getByTestId("confirm-reason").fill("found again");
      await page.getByTestId("confirm-ok").click();
      await inState("ACTIVATED");
      await cpPage.locator('[data-field="security"]', { hasText: "ACTIVE" }).waitFor();
      assert.equal(
        await page.getByTestId("restored-credentials").count(),
        0,
        "a local CP got them: nothing to copy",
      );
    } finally {
      await browser.close();
      await supervisor.shutdown();
      await net.stop();
    }
  },
);
