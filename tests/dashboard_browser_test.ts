/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) against a whole
 * network of real processes started like `deno task start` (infra/network.ts): five CPs in the
 * colours of ARCHITECTURE §CP states, live kWh, an admin stop through the UI that a driver then finds denied,
 * the CP manager stopping, starting and adding local CPs through the supervisor
 * (infra/supervisor_api.ts), and the offline banner while Central is down. Screenshots go to
 * `test-artifacts/`.
 *
 * Needs Chromium at `CHROMIUM_PATH` (default /usr/bin/chromium): without it the test fails and
 * says how to install it, never skips.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { LOCAL_CPS } from "../infra/start.ts";
import { uniqueName } from "./kafka_env.ts";
import {
  ARTIFACTS,
  browserTest,
  launchChromium,
  openDashboard,
  startDashboardNetwork,
} from "./browser_test_support.ts";
import { driverEvents } from "./network_test_support.ts";

const GREEN = "rgb(31, 157, 85)";
const ORANGE = "rgb(224, 123, 0)";

const tile = (page: Page, id: string) => page.locator(`[data-cp="${id}"]`);
const borderOf = (page: Page, id: string) =>
  tile(page, id).evaluate((el) =>
    // It runs in the page, whose DOM types this (Deno) file does not load.
    (globalThis as unknown as { getComputedStyle(e: unknown): { borderTopColor: string } })
      .getComputedStyle(el).borderTopColor
  );
const kwhOf = async (page: Page, id: string) =>
  Number((await tile(page, id).locator('[data-field="kwh"]').innerText()).split(" ")[0]);

browserTest(
  "dashboard in Chromium: 5 CPs in their colours, live kWh, an admin stop shows Out of " +
    "Order and denies a driver, local CPs stopped, started and added, and an offline banner " +
    "while Central is down",
  "dashboard_browser_",
  async (dir) => {
    const [charging, toStop, toRestart] = [LOCAL_CPS[0].id, LOCAL_CPS[1].id, LOCAL_CPS[2].id];
    const { net, supervisor } = await startDashboardNetwork(dir, "dashboard-browser", LOCAL_CPS);
    const browser = await launchChromium();
    try {
      const page = await openDashboard(browser, net.centralUrl, 5);
      assert.equal(await page.locator("[data-cp]").count(), 5);
      for (const cp of LOCAL_CPS) {
        assert.equal(await tile(page, cp.id).getAttribute("data-state"), "ACTIVATED");
        assert.equal(await borderOf(page, cp.id), GREEN, `${cp.id} is green`);
      }

      // A charge: the tile turns SUPPLYING and its kWh rises on screen, by SSE alone.
      const plan = join(dir, "charge.txt");
      await Deno.writeTextFile(plan, `${charging}\n`);
      await net.startDriver({ id: uniqueName("DRV"), file: plan });
      await page.locator(`[data-cp="${charging}"][data-state="SUPPLYING"]`).waitFor({
        timeout: 30_000,
      });
      await page.locator(`[data-cp="${charging}"] [data-field="kwh"]`).waitFor();
      const first = await kwhOf(page, charging);
      // The page itself watches the tile: this resolves at the first render past `first`.
      await page.waitForFunction(
        ([id, before]) => {
          // It runs in the page, whose DOM types this (Deno) file does not load.
          const win = globalThis as unknown as {
            document: { querySelector(s: string): { textContent: string | null } | null };
          };
          const kwh = win.document.querySelector(`[data-cp="${id}"] [data-field="kwh"]`);
          return Number((kwh?.textContent ?? "").split(" ")[0]) > before;
        },
        [charging, first] as const,
        { timeout: 30_000 },
      );
      assert.ok((await kwhOf(page, charging)) > first, "kWh rose on screen");
      assert.equal(await borderOf(page, charging), GREEN);
      await page.screenshot({ path: join(ARTIFACTS, "dashboard_charging.png"), fullPage: true });

      // Admin mode through the UI, then a stop from the tile.
      const token = (await Deno.readTextFile(net.adminTokenFile)).trim();
      await page.getByLabel("admin token").fill(token);
      await page.getByRole("button", { name: "Admin mode" }).click();
      await page.getByTestId("admin-bar").waitFor();
      await tile(page, toStop).locator('[data-action="stop"]').click();
      await page.getByTestId("confirm-ok").click(); // the in-page confirmation
      const stopped = page.locator(`[data-cp="${toStop}"][data-state="STOPPED"]`);
      await stopped.waitFor({ timeout: 10_000 });
      assert.equal(await stopped.locator('[data-field="state"]').innerText(), "STOPPED");
      assert.equal(await stopped.locator('[data-field="label"]').innerText(), "Out of Order");
      assert.equal(await stopped.locator('[data-field="reason"]').innerText(), "admin");
      assert.equal(await borderOf(page, toStop), ORANGE, "orange when stopped");
      await page.screenshot({
        path: join(ARTIFACTS, "dashboard_admin_stop.png"),
        fullPage: true,
      });

      const denyPlan = join(dir, "denied.txt");
      await Deno.writeTextFile(denyPlan, `${toStop}\n`);
      const driver = await net.startDriver({ id: uniqueName("DRV"), file: denyPlan });
      assert.equal((await driver.waitForExit()).code, 0, `driver log: ${driver.logFile}`);
      assert.deepEqual(driverEvents(driver.records, "denied").map((d) => d.reason), ["stopped"]);

      // The CP manager's local CPs: stop a CP's process, start it again, start a new one.
      const local = (id: string) => page.locator(`[data-local-cp="${id}"]`);
      await local(toRestart).locator('[data-action="local-stop"]').click();
      await page.getByTestId("confirm-ok").click();
      await page.locator(`[data-cp="${toRestart}"][data-state="DISCONNECTED"]`).waitFor({
        timeout: 30_000,
      });
      await page.locator(`[data-local-cp="${toRestart}"][data-running="false"]`).waitFor();
      assert.equal(net.cps.get(toRestart)!.running, false);
      await local(toRestart).locator('[data-action="local-start"]').click();
      await page.locator(`[data-cp="${toRestart}"][data-state="ACTIVATED"]`).waitFor({
        timeout: 60_000,
      });
      const added = "CP-006";
      const manager = page.getByTestId("local-cps");
      await manager.getByLabel("CP id").fill(added);
      await manager.getByLabel("city").fill("Murcia");
      await manager.getByRole("button", { name: "Start new CP" }).click();
      await page.locator(`[data-cp="${added}"][data-state="ACTIVATED"]`).waitFor({
        timeout: 60_000,
      });
      await local(added).waitFor();
      assert.equal(await page.locator("[data-cp]").count(), 6);
      await page.screenshot({ path: join(ARTIFACTS, "dashboard_local_cps.png"), fullPage: true });

      // Central down: the banner; Central back: gone, and the grid is live again.
      net.central.kill("SIGKILL");
      await net.central.waitForExit();
      await page.getByTestId("offline").waitFor({ timeout: 10_000 });
      await page.screenshot({ path: join(ARTIFACTS, "dashboard_offline.png"), fullPage: true });
      await net.restartCentral();
      await page.getByTestId("offline").waitFor({ state: "detached", timeout: 30_000 });
      await page.locator(`[data-cp="${toStop}"][data-state="STOPPED"]`).waitFor();
      assert.equal(await page.locator("[data-cp]").count(), 6);

      await page.setViewportSize({ width: 390, height: 844 });
      await page.screenshot({ path: join(ARTIFACTS, "dashboard_phone.png"), fullPage: true });
    } finally {
      await browser.close();
      await supervisor.shutdown();
      await net.stop();
    }
  },
);
