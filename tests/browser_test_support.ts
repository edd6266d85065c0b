/**
 * Helpers for the tests that drive the dashboard in Chromium (playwright-core).
 *
 * @module
 */
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";

/** The Chromium the browser tests drive: `CHROMIUM_PATH`, else Debian's. */
export const CHROMIUM = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

/** Where the browser tests leave their screenshots, for a person to look at. */
export const ARTIFACTS = join(import.meta.dirname!, "..", "test-artifacts");

/**
 * Fails, saying how to install it, when there is no Chromium: a browser test never skips. Makes
 * the artifacts folder for its screenshots.
 */
export async function requireChromium(test: string): Promise<void> {
  try {
    await Deno.stat(CHROMIUM);
  } catch {
    throw new Error(
      `${test}: no Chromium at ${CHROMIUM}. Install it (apt-get install chromium) or set ` +
        "CHROMIUM_PATH.",
    );
  }
  await Deno.mkdir(ARTIFACTS, { recursive: true });
}

/** Chromium without its sandbox (the tests may run as root, in a container); `args` added. */
export function launchChromium(args: readonly string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", ...args] });
}
