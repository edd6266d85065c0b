/**
 * The dashboard's files (web/), as Central serves them: the Preact app bundled in memory with
 * `Deno.bundle` (Deno's built-in bundler, `--unstable-bundle`) once per start, its CSS and its
 * HTML page. No build step and nothing from a CDN: every path that starts Central serves the
 * bundle of the web/ sources it was started with.
 *
 * @module
 */
import { join } from "node:path";

/** The dashboard sources. */
export const WEB_DIR = join(import.meta.dirname!, "..", "web");

/** What Central serves at `/`, `/app.js` and `/app.css`. */
export interface WebAssets {
  /** The page. */
  readonly html: string;
  /** The bundled, minified app. */
  readonly js: string;
  /** The stylesheet. */
  readonly css: string;
}

/** Bundling is not possible or failed; the message says what to do. */
export class WebBundleError extends Error {
  override readonly name = "WebBundleError";
}

type Bundle = (options: {
  entrypoints: string[];
  platform: "browser";
  minify: boolean;
  write: false;
}) => Promise<{ errors: { text: string }[]; outputFiles?: { path: string; text(): string }[] }>;

/**
 * Bundles `dir/main.tsx` and reads `dir/index.html` and `dir/app.css`.
 * @throws {WebBundleError} when Deno runs without `--unstable-bundle` or the bundle fails.
 */
export async function bundleWeb(dir: string = WEB_DIR): Promise<WebAssets> {
  // Feature-detected: without the flag `Deno.bundle` is absent at run time, whatever the types say.
  const bundle = (Deno as unknown as { bundle?: Bundle }).bundle;
  if (typeof bundle !== "function") {
    throw new WebBundleError(
      "the dashboard is bundled by Deno.bundle: run Central with --unstable-bundle " +
        "(deno task central does)",
    );
  }
  const result = await bundle({
    entrypoints: [join(dir, "main.tsx")],
    platform: "browser",
    minify: true,
    write: false,
  });
  const js = result.outputFiles?.find((f) => f.path.endsWith(".js") || f.path === "<stdout>");
  if (result.errors.length > 0 || js === undefined) {
    const why = result.errors.map((e) => e.text).join("; ") || "no output";
    throw new WebBundleError(`the dashboard did not bundle: ${why}`);
  }
  const [html, css] = await Promise.all([
    Deno.readTextFile(join(dir, "index.html")),
    Deno.readTextFile(join(dir, "app.css")),
  ]);
  return { html, js: js.text(), css };
}
