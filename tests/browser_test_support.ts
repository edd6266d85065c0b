/**
 * Helpers for the tests that drive the dashboard in Chromium (playwright-core).
 *
 * @module
 */
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import type { CpPlan } from "../infra/network.ts";
import { uniqueName } from "./kafka_env.ts";
import {
  FAST_CP_ARGS,
  integrationTest,
  inTempDir,
  startSupervisedNetwork,
  type SupervisedNetwork,
} from "./network_test_support.ts";

/** The Chromium the browser tests drive: `CHROMIUM_PATH`, else Debian's. */
export const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

/** Where the browser tests leave their screenshots, for a person to look at. */
export const ARTIFACTS = join(import.meta.dirname!, "..", "test-artifacts");

/**
 * A browser test: an {@link integrationTest} that fails at once, saying how to install it, when
 * there is no Chromium (a browser test never skips), then runs `test` in a new temporary folder
 * ({@link inTempDir}, `prefix` names it). Makes the artifacts folder for its screenshots.
 */
export function browserTest(
  name: string,
  prefix: string,
  test: (dir: string) => Promise<void>,
): void {
  integrationTest(name, async () => {
    try {
      await Deno.stat(CHROMIUM);
    } catch {
      throw new Error(
        `no Chromium at ${CHROMIUM}. Install it (apt-get install chromium) or set CHROMIUM_PATH.`,
      );
    }
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await inTempDir(prefix, test);
  });
}

/** Chromium without its sandbox (the tests may run as root, in a container); `args` added. */
export function launchChromium(args: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", ...args] });
}

/**
 * Opens Central's dashboard at `url` in a new 1366×900 page of `browser` (`options` on top) and
 * waits until it draws `tiles` CP tiles.
 */
export async function openDashboard(
  browser: Browser,
  url: string,
  tiles: number,
  options: Parameters<Browser["newPage"]>[0] = {},
): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 }, ...options });
  await page.goto(url);
  await page.locator("[data-cp]").nth(tiles - 1).waitFor({ timeout: 30_000 });
  return page;
}

/**
 * A supervised test network (as `deno task start` runs it) of `cps`, each charging fast for
 * 500 kWh, so a charge outlasts the test, with a Central group of its own named after `group`;
 * a CP the dashboard adds charges fast too.
 */
export function startDashboardNetwork(
  dir: string,
  group: string,
  cps: readonly CpPlan[],
): Promise<SupervisedNetwork> {
  return startSupervisedNetwork(dir, {
    centralArgs: ["--group", uniqueName(group)],
    cps: cps.map((cp) => ({ ...cp, args: [...FAST_CP_ARGS, "--target-kwh", "500"] })),
  }, ["--speed", "60"]);
}
