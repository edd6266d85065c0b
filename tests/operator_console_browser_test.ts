/**
 * The operator console in a real browser (Debian's Chromium driven by playwright-core) against a
 * whole network of real processes (infra/network.ts: Kafka, the Registry over TLS, Central, CPs
 * of engine and monitor, drivers): the status pills and headline figures; the grid's search and
 * its city and state filters; the history filtered by CP, driver and date with its CSV downloaded
 * and parsed (RFC 4180); a CP's page reached from its tile by keyboard, with its chart, sessions,
 * security and audit, and its actions (stop, resume, rotate) in admin mode; and an alarm that
 * appears when a CP's engine is killed and clears when the CP comes back. Every wait is for a
 * page element or a process's line, never a fixed time. Screenshots go to `test-artifacts/`.
 *
 * Needs Chromium at `CHROMIUM_PATH` (default /usr/bin/chromium): without it the test fails and
 * says how to install it, never skips.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { type CpPlan, type LocalNetwork } from "../infra/network.ts";
import { parseCsv } from "../shared/csv.ts";
import { uniqueName } from "./kafka_env.ts";
import { ARTIFACTS, browserTest, launchChromium, openDashboard } from "./browser_test_support.ts";
import { startTestNetwork } from "./network_test_support.ts";

const CSV_HEADER = [
  "id",
  "cp_id",
  "driver_id",
  "started_at",
  "ended_at",
  "kwh",
  "eur",
  "end_reason",
];

/** The pid `cp/main.ts` printed for its engine. */
async function enginePid(net: LocalNetwork, cpId: string): Promise<number> {
  const line = await net.cps.get(cpId)!.waitForLine(
    "engine pid",
    (l) => l.includes("engine started (pid "),
  );
  return Number(line.match(/pid (\d+)/)![1]);
}

/** The session ids of the history table, in order. */
const tableIds = (page: Page) =>
  page.locator('[data-testid="history-table"] tbody tr').evaluateAll((rows) =>
    rows.map((r) => (r as unknown as { dataset: { session: string } }).dataset.session)
  );

/** Applies the history filters and waits for the table (or "no session") of the answer. */
async function showHistory(page: Page, fill: Record<string, string>, count: number) {
  const form = page.getByRole("form", { name: "session filters" });
  for (const [name, value] of Object.entries(fill)) {
    await form.locator(`[name="${name}"]`).fill(value);
  }
  await form.getByRole("button", { name: "Show" }).click();
  const text = `${count} session${count === 1 ? "" : "s"}`;
  await page.getByTestId("history-count").filter({ hasText: new RegExp(`^${text}$`) }).waitFor();
}

/** Downloads the history's CSV and parses it. */
async function downloadCsv(page: Page): Promise<string[][]> {
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByTestId("history-csv").click(),
  ]);
  assert.equal(download.suggestedFilename(), "sessions.csv");
  const text = await Deno.readTextFile(await download.path());
  assert.ok(text.endsWith("\r\n"), "records end with CRLF");
  const rows = parseCsv(text);
  assert.deepEqual(rows[0], CSV_HEADER);
  return rows.slice(1);
}

/** The grid's search box, city and state filters narrow the tiles; no match says so. */
async function checkFind(page: Page, a: string, b: string, c: string) {
  const shown = async (ids: string[]) => {
    await page.waitForFunction(
      `document.querySelectorAll('[data-testid="cp-grid"] [data-cp]').length === ${ids.length}`,
    );
    const tiles = page.locator('[data-testid="cp-grid"] [data-cp]');
    const onPage = await tiles.evaluateAll((els) => els.map((e) => e.getAttribute("data-cp")));
    assert.deepEqual(onPage.sort(), [...ids].sort());
  };
  const search = page.getByTestId("cp-search");
  await search.fill(b.toLowerCase());
  await shown([b]);
  await search.fill("sevil");
  await shown([c]);
  await search.fill("");
  await page.getByTestId("cp-city").selectOption("Madrid");
  await shown([a]);
  await page.getByTestId("cp-city").selectOption("");
  const state = await page.locator(`[data-cp="${b}"]`).getAttribute("data-state");
  await page.getByTestId("cp-state").selectOption(state!);
  const same = await page.locator(`[data-testid="cp-grid"] [data-state="${state}"]`)
    .evaluateAll((els) => els.map((e) => e.getAttribute("data-cp")!));
  assert.ok(same.includes(b), `${b} is shown under its own state ${state}`);
  await page.getByTestId("cp-state").selectOption("");
  await search.fill("no-such-cp");
  await page.locator("p.empty", { hasText: "No CP matches" }).waitFor();
  await search.fill("");
  await shown([a, b, c]);
}

async function checkHistory(page: Page, a: string, b: string, driverB: string) {
  // Two a page (the hash's limit): "More" follows the cursor to the third.
  await page.goto(`${page.url().split("#")[0]}#/history?limit=2`);
  const count = page.getByTestId("history-count");
  await count.filter({ hasText: /^2 sessions so far$/ }).waitFor();
  await page.getByTestId("history-more").click();
  await count.filter({ hasText: /^3 sessions$/ }).waitFor();
  assert.equal(await page.getByTestId("history-more").count(), 0, "no page after the last");
  assert.equal((await downloadCsv(page)).length, 3, "the CSV: every match, not one page");

  // Filtered by CP: the filters go to the hash, the table and the CSV agree.
  await page.goto(`${page.url().split("#")[0]}#/history`);
  await count.filter({ hasText: /^3 sessions$/ }).waitFor();
  await showHistory(page, { cp: a }, 2);
  const shown = await tableIds(page);
  assert.match(decodeURIComponent(page.url()), new RegExp(`#/history\\?.*cp=${a}`));
  const rows = await downloadCsv(page);
  assert.deepEqual(rows.map((r) => r[0]), shown, "the CSV holds the sessions the table shows");
  assert.ok(rows.every((r) => r[1] === a && r[4] !== "" && Number(r[5]) > 0), "CP A's, ended");
  const started = await page.locator('[data-testid="history-table"] tbody tr td').nth(3)
    .innerText();
  assert.match(started, /^\d{2}\/\d{2}\/\d{4}, \d{2}:\d{2}:\d{2}$/, "times carry their date");

  await showHistory(page, { cp: "", driver: driverB }, 1);
  const [only] = await downloadCsv(page);
  assert.equal(only[1], b);
  assert.equal(only[2], driverB);

  // A range in the future: nothing in the table, only the header in the file.
  await showHistory(page, { driver: "", from: "2099-01-01T00:00", to: "2099-01-02T00:00" }, 0);
  assert.deepEqual(await downloadCsv(page), []);
  // Back: the previous filters again (the driver's one session).
  await page.goBack();
  await count.filter({ hasText: /^1 session$/ }).waitFor();
  await page.screenshot({ path: join(ARTIFACTS, "console_history.png"), fullPage: true });
}

async function checkCpPage(page: Page, net: LocalNetwork, a: string) {
  await page.goto(page.url().split("#")[0] + "#/");
  // From the tile, by keyboard: its id is a link.
  const link = page.locator(`[data-cp="${a}"] a.cp-id`);
  await link.focus();
  await page.keyboard.press("Enter");
  const cpPage = page.locator(`[data-cp-page="${a}"]`);
  await cpPage.waitFor();
  await cpPage.locator('[data-testid="history-count"]').filter({ hasText: /^2 sessions$/ })
    .waitFor();
  await cpPage.locator(`[data-chart="${a}"] canvas`).first().waitFor();
  const points = Number(
    await cpPage.locator(`[data-chart="${a}"] .chart-box`).getAttribute(
      "data-points",
    ),
  );
  assert.ok(points > 0, `the chart has ${points} points`);
  await cpPage.getByTestId("chart-caption").filter({
    hasText: /energy [1-9]|energy 0\.[0-9]*[1-9]/,
  })
    .waitFor();
  const keyVersion = Number(await cpPage.locator('[data-field="key-version"]').innerText());
  assert.ok(keyVersion >= 1);
  assert.match(await cpPage.locator('[data-field="login"]').innerText(), /^logged in/);

  // Admin mode, then its actions: stop, resume, rotate.
  const token = (await Deno.readTextFile(net.adminTokenFile)).trim();
  await page.getByLabel("admin token").fill(token);
  await page.getByRole("button", { name: "Admin mode" }).click();
  await page.getByTestId("admin-bar").waitFor();
  await cpPage.locator('[data-action="stop"]').click();
  await page.getByTestId("confirm-ok").click(); // the in-page confirmation
  await page.locator(`[data-cp-page="${a}"][data-state="STOPPED"]`).waitFor();
  await cpPage.locator('[data-testid="cp-audit"] td', { hasText: "cp.stop" }).first().waitFor();
  await cpPage.getByRole("button", { name: "Resume" }).click();
  await page.locator(`[data-cp-page="${a}"][data-state="ACTIVATED"]`).waitFor();
  await cpPage.getByText("more", { exact: true }).click();
  await cpPage.getByRole("button", { name: "Rotate key" }).click();
  await page.getByTestId("confirm-ok").click();
  await cpPage.locator('[data-field="key-version"]', { hasText: String(keyVersion + 1) }).waitFor({
    timeout: 30_000,
  });
  // Revoked keys: a key_revoked alarm on its page, cleared by the CP's next login.
  await cpPage.getByRole("button", { name: "Revoke keys" }).click();
  await page.getByTestId("confirm-ok").click();
  // Marked "key revoked" while its monitor waits (10 s) to re-authenticate.
  await cpPage.locator('[data-field="key-revoked"]').waitFor();
  await cpPage.locator(`[data-alarm-cp="${a}"][data-kind="key_revoked"][data-open="false"]`)
    .waitFor({ timeout: 60_000 });
  await cpPage.locator('[data-testid="cp-audit"] td', { hasText: "key.revoke" }).first().waitFor();
  await page.screenshot({ path: join(ARTIFACTS, "console_cp_page.png"), fullPage: true });
}

async function checkAlarm(page: Page, net: LocalNetwork, c: string) {
  await page.goto(page.url().split("#")[0] + "#/alarms");
  const count = page.getByTestId("alarm-count");
  await count.filter({ hasText: /^0$/ }).waitFor();
  // Notifications, once the operator turns them on: recorded as the page constructs them.
  await page.context().grantPermissions(["notifications"]);
  await page.evaluate(() => {
    const g = globalThis as unknown as { Notification: unknown; shown: string[]; notes: object[] };
    g.shown = [];
    g.notes = [];
    g.Notification = new Proxy(g.Notification as new (title: string) => object, {
      construct(target, args: [string]) {
        g.shown.push(args[0]);
        const note = Reflect.construct(target, args);
        g.notes.push(note);
        return note;
      },
    });
  });
  await page.getByTestId("alarm-notify").click();
  await page.locator('[data-testid="alarm-notify"][aria-pressed="true"]').waitFor();
  Deno.kill(await enginePid(net, c), "SIGKILL");
  const open = page.locator(`[data-alarm-cp="${c}"][data-open="true"]`);
  await open.first().waitFor({ timeout: 30_000 });
  assert.equal(await open.first().getAttribute("data-kind"), "cp_broken");
  await count.filter({ hasText: /^[1-9]/ }).waitFor();
  const shown = await page.waitForFunction(
    () => (globalThis as unknown as { shown: string[] }).shown.join("\n"),
  );
  assert.match(String(await shown.jsonValue()), new RegExp(`CP broken: ${c}`));
  await page.screenshot({ path: join(ARTIFACTS, "console_alarm.png"), fullPage: true });
  // The overview lists it too, with a link to the CP's page.
  await page.locator('[data-nav="overview"]').click();
  await page.locator('[data-testid="open-alarms"] a', { hasText: c }).waitFor();
  // A click on the notification brings the CP's page.
  await page.evaluate(() =>
    (globalThis as unknown as { notes: { onclick: () => void }[] }).notes[0].onclick()
  );
  await page.locator(`[data-cp-page="${c}"][data-state="BROKEN"]`).waitFor();
  await page.locator('[data-nav="alarms"]').click();

  // The CP comes back (its process again): every alarm of it clears, the count goes to 0.
  const service = net.cps.get(c)!;
  await service.stop();
  await service.start();
  await page.locator(`[data-alarm-cp="${c}"][data-kind="cp_broken"][data-open="false"]`).waitFor({
    timeout: 60_000,
  });
  await count.filter({ hasText: /^0$/ }).waitFor({ timeout: 60_000 });
  assert.equal(await open.count(), 0);
  const cleared = await page.locator(`[data-alarm-cp="${c}"][data-kind="cp_broken"] td`).nth(4)
    .innerText();
  assert.match(cleared, /^\d{2}\/\d{2}\/\d{4}, \d{2}:/, "the cleared time, with its date");
  await page.locator('[data-nav="overview"]').click();
  await page.getByTestId("headline").waitFor();
  assert.equal(await page.getByTestId("open-alarms").count(), 0, "no open alarm listed");
}

browserTest(
  "operator console in Chromium: pills and figures, the history filtered and its CSV " +
    "downloaded and parsed, a CP's page with chart and actions, an alarm while a CP's engine " +
    "is dead that clears when it returns",
  "console_browser_",
  async (dir) => {
    const [a, b, c] = ["A", "B", "C"].map((x) => uniqueName(`CP-OPS${x}`));
    const plan = (id: string, location: string): CpPlan => ({
      id,
      location,
      priceEurKwh: 0.35,
      powerKw: 22,
      args: ["--speed", "60", "--plug-delay", "300ms", "--target-kwh", "0.5"],
    });
    const net = await startTestNetwork(dir, {
      centralArgs: ["--group", uniqueName("console-browser")],
      cps: [plan(a, "Madrid"), plan(b, "Bilbao"), plan(c, "Sevilla")],
    });
    const browser = await launchChromium();
    try {
      // Three completed sessions: two at A by one driver, one at B by another.
      const driverA = uniqueName("DRV-A");
      const driverB = uniqueName("DRV-B");
      await Deno.writeTextFile(join(dir, "a.txt"), `${a}\n${a}\n`);
      await Deno.writeTextFile(join(dir, "b.txt"), `${b}\n`);
      const drivers = await Promise.all([
        net.startDriver({ id: driverA, file: join(dir, "a.txt"), args: ["--pause", "1s"] }),
        net.startDriver({ id: driverB, file: join(dir, "b.txt") }),
      ]);
      for (const d of drivers) assert.equal((await d.waitForExit()).code, 0, `log: ${d.logFile}`);

      const page = await openDashboard(browser, net.centralUrl, 3, { acceptDownloads: true });
      for (const part of ["kafka", "registry", "registry_feed", "database"]) {
        await page.locator(`[data-pill="${part}"][data-status="ok"]`).waitFor({
          timeout: 30_000,
        });
      }
      assert.match(await page.locator('[data-pill="kafka"]').innerText(), /Kafka\s+ok/);
      await page.locator('[data-figure="sessions_today"] .value', { hasText: /^3$/ }).waitFor({
        timeout: 15_000,
      });
      assert.match(await page.locator('[data-figure="availability"] .value').innerText(), /%$/);
      await page.locator('[data-chart="network"] canvas').first().waitFor();
      await page.screenshot({ path: join(ARTIFACTS, "console_overview.png"), fullPage: true });

      await checkFind(page, a, b, c);
      await checkHistory(page, a, b, driverB);
      await checkCpPage(page, net, a);
      await checkAlarm(page, net, c);
      await page.setViewportSize({ width: 390, height: 844 });
      for (const [name, hash] of [["history", "#/history"], ["cp_page", `#/cp/${a}`]]) {
        await page.goto(`${net.centralUrl}/${hash}`);
        await page.getByTestId("history-count").filter({ hasText: /^\d+ sessions?$/ }).waitFor();
        await page.screenshot({
          path: join(ARTIFACTS, `console_${name}_phone.png`),
          fullPage: true,
        });
      }
      // In Spanish: the console's pages, words and formats follow the switch.
      await page.locator('[data-lang="es"]').click();
      await page.locator('[data-nav="history"]', { hasText: "Historial" }).waitFor();
      await page.getByTestId("history-count").filter({ hasText: /^2 sesiones$/ }).waitFor();
      assert.equal(
        await page.locator('[data-field="login"]').innerText().then((t) => t.split(",")[0]),
        "conectado",
      );
      await page.locator('[data-nav="alarms"]').click();
      await page.locator(`[data-alarm-cp="${c}"][data-kind="cp_broken"]`, {
        hasText: "CP averiado",
      })
        .waitFor();
      await page.screenshot({ path: join(ARTIFACTS, "console_alarms_es.png"), fullPage: true });
    } finally {
      await browser.close();
      await net.stop();
    }
  },
);
