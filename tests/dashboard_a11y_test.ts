/**
 * The dashboard's accessibility in a real browser (Debian's Chromium driven by playwright-core)
 * against a network of real processes (infra/network.ts, with a local supervisor so the admin
 * view shows its local CPs):
 *
 * - axe-core (npm, injected into the page from node_modules) finds no serious or critical
 *   violation on every view: the overview at desktop and phone width, in normal and admin mode,
 *   with CPs available, charging, stopped and disconnected, the confirmation dialog open, the
 *   history, the alarms and a CP's page;
 * - from the keyboard alone: Tab reaches a CP's Stop button with a visible focus ring, Enter
 *   opens the confirmation dialog with the focus in its reason, Tab stays inside it, Escape
 *   cancels and gives the focus back; a second time the reason is typed and the stop confirmed,
 *   and the audit then holds exactly one stop of that CP, with that reason (the cancelled one
 *   sent nothing).
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

const AXE = join(import.meta.dirname!, "..", "node_modules", "axe-core", "axe.min.js");

/** One axe violation, as the failure message shows it. */
interface Violation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly targets: string[];
}

/**
 * axe-core's serious and critical violations of the page as it is now. Off-screen panels and
 * tiles are rendered first (the page skips their layout with `content-visibility`), so every
 * part is checked, not only what the viewport shows.
 */
async function axeViolations(page: Page, axeSource: string): Promise<Violation[]> {
  const loaded = await page.evaluate(() => "axe" in globalThis);
  if (!loaded) await page.addScriptTag({ content: axeSource });
  await page.addStyleTag({ content: ".panel, .tile { content-visibility: visible !important; }" });
  const violations = await page.evaluate(async () => {
    type Result = {
      violations: {
        id: string;
        impact: string | null;
        help: string;
        nodes: { target: string[] }[];
      }[];
    };
    const axe = (globalThis as unknown as {
      axe: { run(context: unknown, options: unknown): Promise<Result> };
    }).axe;
    const result = await axe.run((globalThis as unknown as { document: unknown }).document, {
      resultTypes: ["violations"],
    });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
    }));
  });
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** Asserts axe finds nothing serious or critical on the page, naming the view. */
async function assertAccessible(page: Page, axeSource: string, view: string): Promise<void> {
  const found = await axeViolations(page, axeSource);
  assert.deepEqual(found, [], `${view}: ${JSON.stringify(found, null, 2)}`);
}

/** The element that has the focus: its data-action, its test id, and whether a dialog holds it. */
const focused = (page: Page) =>
  page.evaluate(() => {
    const el = (globalThis as unknown as {
      document: {
        activeElement: {
          getAttribute(n: string): string | null;
          closest(s: string): unknown;
        } | null;
      };
    }).document.activeElement;
    return {
      action: el?.getAttribute("data-action") ?? null,
      testid: el?.getAttribute("data-testid") ?? null,
      cp: (el?.closest("[data-cp]") as { getAttribute(n: string): string } | null)
        ?.getAttribute("data-cp") ?? null,
      inDialog: Boolean(el?.closest("dialog[open]")),
    };
  });

/** The focused element's outline, as the page draws it. */
const focusOutline = (page: Page) =>
  page.evaluate(() => {
    const g = globalThis as unknown as {
      document: { activeElement: unknown };
      getComputedStyle(e: unknown): { outlineStyle: string; outlineWidth: string };
    };
    const style = g.getComputedStyle(g.document.activeElement);
    return `${style.outlineStyle} ${style.outlineWidth}`;
  });

/** Waits until the confirmation dialog has put the focus in its reason field. */
async function reasonFocused(page: Page): Promise<void> {
  await page.waitForFunction(
    () =>
      (globalThis as unknown as {
        document: { activeElement: { getAttribute(n: string): string | null } | null };
      }).document.activeElement?.getAttribute("data-testid") === "confirm-reason",
    undefined,
    // As long as the test's other waits: a loaded machine may run the page's effect late.
    { timeout: 30_000 },
  );
}

/** Presses Tab until the focus is on `cp`'s Stop button (at most `max` times). */
async function tabToStop(page: Page, cp: string, max = 200): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const f = await focused(page);
    if (f.action === "stop" && f.cp === cp) return;
  }
  throw new Error(`Tab never reached the Stop button of ${cp}`);
}

/**
 * Stops `cp` from the keyboard alone: Tab to its Stop button (with a visible focus ring), Enter
 * opens the dialog with the focus in the reason, Tab and Shift+Tab stay inside it, Escape cancels
 * and gives the focus back; then again, with a reason typed and the stop confirmed.
 */
async function stopFromKeyboard(page: Page, axeSource: string, cp: string): Promise<void> {
  // A stop from the keyboard: Tab to it, a visible focus ring, Enter opens the dialog.
  await page.locator("body").focus();
  await tabToStop(page, cp);
  assert.doesNotMatch(await focusOutline(page), /^none/, "the focus ring is visible");
  await page.keyboard.press("Enter");
  const dialog = page.locator("dialog[open]");
  await dialog.waitFor();
  await reasonFocused(page);
  assert.equal((await focused(page)).testid, "confirm-reason", "the reason has the focus");
  await assertAccessible(page, axeSource, "confirmation dialog");
  for (let i = 0; i < 4; i++) {
    await page.keyboard.press("Tab");
    assert.ok((await focused(page)).inDialog, `Tab ${i + 1} stays in the dialog`);
  }
  await page.keyboard.press("Shift+Tab");
  assert.ok((await focused(page)).inDialog, "Shift+Tab stays in the dialog");
  await page.screenshot({ path: join(ARTIFACTS, "dashboard_confirm.png") });
  // Escape cancels: the dialog goes and the focus is back on Stop.
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  const back = await focused(page);
  assert.deepEqual([back.action, back.cp], ["stop", cp], "the focus is back on Stop");

  // Again, confirmed this time: the reason typed, Tab to the confirm button, Enter.
  await page.keyboard.press("Enter");
  await dialog.waitFor();
  await reasonFocused(page); // the dialog moves the focus after it opens: type only then
  // The first dialog's close event, had it come this late, is no answer to this question.
  await page.evaluate(() =>
    (globalThis as unknown as {
      document: { querySelector(s: string): { dispatchEvent(e: Event): boolean } };
    }).document.querySelector("dialog.confirm").dispatchEvent(new Event("close"))
  );
  assert.equal((await focused(page)).testid, "confirm-reason", "a late close event is ignored");
  await page.keyboard.type("keyboard test: site maintenance");
  while ((await focused(page)).testid !== "confirm-ok") await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  await page.locator(`[data-cp="${cp}"][data-state="STOPPED"]`).waitFor({ timeout: 15_000 });
}

browserTest(
  "dashboard accessibility in Chromium: axe finds no serious or critical violation on any " +
    "view, and a destructive action is confirmed or cancelled from the keyboard alone",
  "dashboard_a11y_",
  async (dir) => {
    const axeSource = await Deno.readTextFile(AXE);
    const cps = LOCAL_CPS.slice(0, 3);
    const [charging, toStop, toKill] = cps.map((cp) => cp.id);
    const started = await startDashboardNetwork(dir, "dashboard-a11y", cps);
    const { net, supervisor, adminToken: token } = started;
    const browser = await launchChromium();
    try {
      const page = await openDashboard(browser, net.centralUrl, cps.length);
      const plan = join(dir, "charge.txt");
      await Deno.writeTextFile(plan, `${charging}\n`);
      await net.startDriver({ id: uniqueName("DRV"), file: plan });
      await page.locator(`[data-cp="${charging}"][data-state="SUPPLYING"]`).waitFor({
        timeout: 30_000,
      });
      await assertAccessible(page, axeSource, "overview, charging");

      // Admin mode from the keyboard: the token field, then Enter.
      await page.getByLabel("admin token").focus();
      await page.keyboard.type(token);
      await page.keyboard.press("Enter");
      await page.getByTestId("admin-bar").waitFor();
      await page.locator(`[data-local-cp="${toKill}"]`).waitFor();
      await assertAccessible(page, axeSource, "overview, admin mode");

      await stopFromKeyboard(page, axeSource, toStop);
      const audit = await (await fetch(`${net.centralUrl}/audit?action=cp.stop`, {
        headers: { authorization: `Bearer ${token}` },
      })).json() as { items: { params: Record<string, unknown> }[] };
      assert.deepEqual(
        audit.items.map((r) => r.params),
        [{ cpId: toStop, reason: "keyboard test: site maintenance" }],
        "one stop, the confirmed one, with its reason",
      );

      // A disconnected CP (its process stopped, confirmed with the mouse this time).
      const dialog = page.locator("dialog[open]");
      await page.locator(`[data-local-cp="${toKill}"] [data-action="local-stop"]`).click();
      await dialog.waitFor();
      await page.getByTestId("confirm-ok").click();
      await page.locator(`[data-cp="${toKill}"][data-state="DISCONNECTED"]`).waitFor({
        timeout: 30_000,
      });
      await assertAccessible(page, axeSource, "overview: charging, stopped, disconnected");
      await page.screenshot({ path: join(ARTIFACTS, "dashboard_a11y.png"), fullPage: true });

      // Every other view there is.
      const base = net.centralUrl;
      for (
        const [hash, marker] of [
          ["#/history", '[data-testid="history-count"]'],
          ["#/alarms", '[data-testid="alarm-count"]'],
          [`#/cp/${charging}`, `[data-cp-page="${charging}"]`],
        ]
      ) {
        await page.goto(`${base}/${hash}`);
        await page.locator(marker).first().waitFor({ timeout: 15_000 });
        await assertAccessible(page, axeSource, hash);
      }

      // Phone width, normal mode.
      await page.getByRole("button", { name: "Leave" }).click();
      await page.goto(`${base}/#/`);
      await page.setViewportSize({ width: 390, height: 844 });
      await page.locator("[data-cp]").first().waitFor();
      await assertAccessible(page, axeSource, "overview at phone width");
    } finally {
      await browser.close();
      await supervisor.shutdown();
      await net.stop();
    }
  },
);
