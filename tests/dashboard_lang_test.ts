/**
 * The dashboard in Spanish, in a real browser (Debian's Chromium driven by playwright-core) against
 * a network of real processes (infra/network.ts): the language switch turns every state into the
 * seeds' words (ACTIVADO, SUMINISTRANDO, PARADO "Fuera de servicio", AVERIADO, DESCONECTADO) and
 * money into es-ES (`0,35 €`), the choice survives a reload, `?lang=en` selects English, and the
 * audit log shows date, time and origin (a driver's own address, marked self-reported); the admin
 * controls (token prompt, admin bar, a CP's actions, the confirmation dialog, the CP manager, the
 * outcome of a call) and the status pills speak Spanish too, and so do the texts Central writes
 * (an alarm's detail when a CP's engine is KO and when it disconnects, a status pill's reason,
 * the core's refusal to rotate a REVOKED CP's key), in English again under `?lang=en`. A
 * screenshot goes to `test-artifacts/`.
 *
 * Needs Chromium at `CHROMIUM_PATH` (default /usr/bin/chromium): without it the test fails and
 * says how to install it, never skips.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Page } from "playwright-core";
import type { LocalNetwork } from "../infra/network.ts";
import { LOCAL_CPS } from "../infra/start.ts";
import { uniqueName } from "./kafka_env.ts";
import { ARTIFACTS, browserTest, launchChromium } from "./browser_test_support.ts";
import { startTestNetwork } from "./network_test_support.ts";

/** es-ES money: decimal comma, two decimals, the euro sign after a (no-break) space. */
const ES_MONEY = /^\d{1,3}(\.\d{3})*,\d{2}\s€$/;

/**
 * A tile's field as text. textContent, not innerText: the grid skips the layout of tiles off
 * screen (`content-visibility: auto`), and innerText of an unlaid-out element is empty.
 */
const field = async (page: Page, cpId: string, name: string) =>
  ((await page.locator(`[data-cp="${cpId}"] [data-field="${name}"]`).textContent()) ?? "").trim();
/**
 * Waits for a tile's state. Generous: a fresh Central answers the shared broker's older driver
 * requests (every run's) before this run's, so a charge may start a minute late.
 */
const waitState = (page: Page, cpId: string, state: string) =>
  page.locator(`[data-cp="${cpId}"][data-state="${state}"]`).waitFor({ timeout: 150_000 });

/**
 * Waits until the overview's open alarm of `kind` for `cpId` says `text` (Central writes it as a
 * code the page shows in its language), then checks it says exactly that.
 */
async function alarmSays(page: Page, cpId: string, kind: string, text: string): Promise<void> {
  const detail = page.getByTestId("open-alarms")
    .locator(`li[data-alarm-cp="${cpId}"][data-kind="${kind}"] [data-field="detail"]`);
  await detail.filter({ hasText: text }).waitFor({ timeout: 30_000 });
  assert.equal(((await detail.textContent()) ?? "").trim(), text, `${kind} of ${cpId}`);
}

/** Waits until the status pill `key`'s tooltip (why it is ok or down) is `text`. */
const pillSays = (page: Page, key: string, text: string) =>
  page.locator(`[data-pill="${key}"][title="${text}"]`).waitFor({ timeout: 30_000 });

/** The pid `cp/main.ts` logged for its engine. */
async function enginePid(net: LocalNetwork, cpId: string): Promise<number> {
  const line = await net.cps.get(cpId)!.waitForLine(
    "engine pid",
    (l) => l.includes("engine started (pid "),
  );
  return Number(line.match(/pid (\d+)/)![1]);
}

/**
 * The admin controls in Spanish: the token prompt, the admin bar, a CP's actions, the
 * confirmation dialog (cancelled), the CP manager without a supervisor, the status pills, and the
 * outcome of a resume, which then shows on the tile.
 */
async function adminInSpanish(
  page: Page,
  net: LocalNetwork,
  { idle, stopped, revoked }: { idle: string; stopped: string; revoked: string },
) {
  await page.locator('[data-pill="kafka"] .word', { hasText: "bien" }).waitFor();
  const token = (await Deno.readTextFile(net.adminTokenFile)).trim();
  await page.getByLabel("token de administración").fill(token);
  await page.getByRole("button", { name: "Modo administración" }).click();
  const bar = page.getByTestId("admin-bar");
  for (const name of ["Parar todos", "Reanudar todos", "Salir"]) {
    await bar.getByRole("button", { name }).waitFor();
  }
  await page.getByRole("button", { name: `Parar ${idle}`, exact: true }).click();
  const dialog = page.getByTestId("confirm-dialog");
  assert.equal((await dialog.locator("h2").innerText()).trim(), `¿Parar ${idle}?`);
  await dialog.getByText("Motivo (opcional, se guarda en el registro de auditoría)").waitFor();
  await dialog.getByRole("button", { name: "Cancelar" }).click();
  const more = page.locator(`[data-cp="${idle}"] details.more summary`);
  assert.equal(await more.getAttribute("aria-label"), `Más acciones de ${idle}`);
  await page.getByText("Puntos locales: no disponibles", { exact: false }).waitFor();
  await page.getByRole("button", { name: `Reanudar ${stopped}`, exact: true }).click();
  await page.getByRole("status").getByText(`Reanudar ${stopped}: hecho`).waitFor();
  await waitState(page, stopped, "ACTIVATED");
  assert.equal(await field(page, stopped, "state"), "ACTIVADO");

  // A refusal the core words (a REVOKED CP gets no new key), in the page's language.
  await net.api.post(`/cps/${revoked}/security`, { status: "REVOKED", reason: "robado" });
  await page.locator(`[data-cp="${revoked}"] details.more summary`).click();
  await page.locator(`[data-cp="${revoked}"] [data-action="rotate"]`).click();
  await dialog.getByRole("button", { name: "Renovar clave" }).click();
  await page.getByRole("status").getByText(
    `Renovar la clave de ${revoked} falló (409): ${revoked} está revocado (REVOKED): no recibe ` +
      "clave nueva hasta que se restaure",
  ).waitFor();
}

browserTest(
  "dashboard in Chromium: the switch to Spanish shows the seeds' state words and es-ES " +
    "money, is remembered over a reload, ?lang=en overrides it, and the audit log has date, " +
    "time and origin",
  "dashboard_lang_",
  async (dir) => {
    // Ids of this run only: the shared broker's request topic may hold other runs' requests for
    // CP-001…, which this fresh Central would grant.
    const [idle, charging, stopped, faulty] = LOCAL_CPS.slice(0, 4)
      .map((cp) => ({ ...cp, id: uniqueName("CP") }));
    const net = await startTestNetwork(dir, {
      centralArgs: ["--group", uniqueName("dashboard-lang")],
      cps: [idle, charging, stopped, faulty].map((cp) => ({
        ...cp,
        args: ["--speed", "60", "--plug-delay", "300ms", "--target-kwh", "500"],
      })),
    });
    const browser = await launchChromium(["--lang=en-US"]);
    try {
      const context = await browser.newContext({ locale: "en-US" });
      const page = await context.newPage();
      await page.goto(net.centralUrl);
      await page.locator("[data-cp]").nth(3).waitFor({ timeout: 30_000 });
      assert.equal(await field(page, idle.id, "state"), "ACTIVATED", "English by default");

      // Every state on screen: one charging, one stopped by the operator, one with its engine
      // KO, and the idle one.
      const plan = join(dir, "charge.txt");
      await Deno.writeTextFile(plan, `${charging.id}\n`);
      await net.startDriver({ id: uniqueName("DRV"), file: plan });
      await net.api.post(`/cps/${stopped.id}/stop`);
      Deno.kill(await enginePid(net, faulty.id), "SIGUSR1");
      await waitState(page, charging.id, "SUPPLYING");
      await waitState(page, stopped.id, "STOPPED");
      await waitState(page, faulty.id, "BROKEN");
      await page.locator(`[data-cp="${charging.id}"] [data-field="eur"]`).waitFor();
      await alarmSays(page, faulty.id, "cp_broken", "the engine reports KO");
      await pillSays(page, "database", "answers; the last commit went through");

      await page.getByTestId("lang-switch").locator('[data-lang="es"]').click();
      await page.locator("html[lang=es]").waitFor();
      assert.equal(await field(page, idle.id, "state"), "ACTIVADO");
      assert.equal(await field(page, charging.id, "state"), "SUMINISTRANDO");
      assert.equal(await field(page, stopped.id, "state"), "PARADO");
      assert.equal(await field(page, stopped.id, "label"), "Fuera de servicio");
      assert.equal(await field(page, stopped.id, "reason"), "administrador");
      assert.equal(await field(page, faulty.id, "state"), "AVERIADO");
      // What Central wrote, in the page's language too: the alarm and a pill's reason.
      await alarmSays(page, faulty.id, "cp_broken", "el motor informa de avería (KO)");
      await pillSays(page, "database", "responde; la última escritura se completó");
      const eur = await field(page, charging.id, "eur");
      assert.match(eur, ES_MONEY, `es-ES money on the charging tile: ${JSON.stringify(eur)}`);
      assert.match(await field(page, charging.id, "kwh"), /^\d+,\d{2} kWh$/);
      const price = await field(page, idle.id, "price");
      assert.equal(price.replace(/\s/g, " "), "0,35 €/kWh");
      // textContent, as for the tiles: the panels below the fold are not laid out (their
      // innerText is empty), e.g. when the network's broker holds many drivers.
      const body = ((await page.locator("body").textContent()) ?? "").toLowerCase();
      for (const words of ["Puntos de recarga", "Sesiones", "Registro de auditoría"]) {
        assert.ok(body.includes(words.toLowerCase()), words);
      }

      // The audit log: date and time in Spanish, and the origin column.
      const audit = page.locator("table.audit");
      const headers = ((await audit.locator("thead").textContent()) ?? "").toLowerCase();
      for (const header of ["fecha", "hora", "origen"]) {
        assert.ok(headers.includes(header), header);
      }
      const firstRow = audit.locator("tbody tr").first();
      assert.match(
        (await firstRow.locator('[data-field="date"]').textContent()) ?? "",
        /^\d{2}\/\d{2}\/\d{4}$/,
      );
      assert.match(
        (await firstRow.locator('[data-field="time"]').textContent()) ?? "",
        /^\d{2}:\d{2}:\d{2}$/,
      );
      // The driver's charge: the address its host reported, marked as self-reported. The log
      // shows the newest records; its filter finds the charge among the rest.
      await page.getByLabel("filtro de auditoría").fill("charge.authorized");
      const chargeRow = audit.locator("tbody tr", { hasText: "charge.authorized" }).first();
      await chargeRow.waitFor({ timeout: 10_000 });
      const origin = chargeRow.locator('[data-field="origin"]');
      assert.equal(((await origin.textContent()) ?? "").trim(), "127.0.0.1*");
      assert.equal(await origin.getAttribute("title"), "declarada por el conductor");
      await page.screenshot({ path: join(ARTIFACTS, "dashboard_es.png"), fullPage: true });

      // A disconnected CP: its process ends.
      await net.cps.get(faulty.id)!.stop();
      await waitState(page, faulty.id, "DISCONNECTED");
      assert.equal(await field(page, faulty.id, "state"), "DESCONECTADO");
      await alarmSays(page, faulty.id, "cp_disconnected", "el monitor no ha iniciado sesión");

      // Remembered over a reload; ?lang=en wins over the remembered choice.
      await page.reload();
      await page.locator(`[data-cp="${idle.id}"]`).waitFor({ timeout: 30_000 });
      assert.equal(await field(page, idle.id, "state"), "ACTIVADO", "remembered");
      await page.goto(`${net.centralUrl}/?lang=en`);
      await page.locator(`[data-cp="${idle.id}"]`).waitFor({ timeout: 30_000 });
      assert.equal(await field(page, idle.id, "state"), "ACTIVATED");
      assert.equal(await field(page, stopped.id, "label"), "Out of Order");
      await alarmSays(page, faulty.id, "cp_disconnected", "monitor not logged in");
      await pillSays(page, "database", "answers; the last commit went through");
      const fresh = await (await browser.newContext({ locale: "en-US" })).newPage();
      await fresh.goto(`${net.centralUrl}/?lang=es`);
      await fresh.locator(`[data-cp="${stopped.id}"]`).waitFor({ timeout: 30_000 });
      assert.equal(await field(fresh, stopped.id, "state"), "PARADO", "?lang=es selects Spanish");
      await adminInSpanish(fresh, net, {
        idle: idle.id,
        stopped: stopped.id,
        revoked: faulty.id,
      });
    } finally {
      await browser.close();
      await net.stop();
    }
  },
);
