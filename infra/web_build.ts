/**
 * `deno task web:build`: bundles the dashboard (web/main.tsx, Preact and its signals, nothing
 * from a CDN) into one minified browser script, `web/dist/app.js`, with the `deno bundle` CLI,
 * which works offline from the npm packages in node_modules/, and copies the stylesheet of the
 * chart library (uPlot, from the same node_modules/) to `web/dist/uplot.css`. Central serves that file
 * (central/web_bundle.ts); the tasks that start Central call {@link buildWeb} first. A bundle
 * newer than every web/ source and the lock file is kept as it is (`--force` rebuilds), so a
 * read-only install (the container image, built once) starts without writing.
 *
 * @module
 */
import { join } from "node:path";
import { printHelpOrVersion } from "../shared/version.ts";
/** The built app, relative to the repository root (where central/web_bundle.ts reads it). */
export const WEB_BUNDLE = "web/dist/app.js";
/** uPlot's stylesheet, copied beside the bundle (Central serves it within `/app.css`). */
export const WEB_VENDOR_CSS = "web/dist/uplot.css";
/** Where uPlot's stylesheet comes from. */
const UPLOT_CSS = "node_modules/uplot/dist/uPlot.min.css";

const ROOT = join(import.meta.dirname!, "..");

async function mtime(path: string): Promise<number | undefined> {
  try {
    return (await Deno.stat(path)).mtime?.getTime();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Files outside web/ that the dashboard bundles (the shared words and formats). */
export const WEB_SHARED_SOURCES = ["shared/i18n.ts", "shared/notices.ts", "shared/vocabulary.ts"];

/**
 * Whether `root`'s bundle (or uPlot's stylesheet beside it) is missing or older than a web/
 * source, a shared file it bundles, deno.json or deno.lock.
 */
export async function webBundleStale(root: string = ROOT): Promise<boolean> {
  const built = await mtime(join(root, WEB_BUNDLE));
  if (built === undefined || await mtime(join(root, WEB_VENDOR_CSS)) === undefined) return true;
  const sources = [join(root, "deno.json"), join(root, "deno.lock")];
  for (const file of WEB_SHARED_SOURCES) sources.push(join(root, file));
  for await (const entry of Deno.readDir(join(root, "web"))) {
    if (entry.isFile && /\.(ts|tsx|json)$/.test(entry.name)) {
      sources.push(join(root, "web", entry.name));
    }
  }
  for (const source of sources) if ((await mtime(source) ?? 0) > built) return true;
  return false;
}

/**
 * Builds `web/dist/app.js` under `root` unless it is up to date (or `force`); returns its path.
 * @throws {Error} with `deno bundle`'s output when it fails.
 */
export async function buildWeb(
  options: { root?: string; force?: boolean } = {},
): Promise<string> {
  const root = options.root ?? ROOT;
  const out = join(root, WEB_BUNDLE);
  if (!options.force && !(await webBundleStale(root))) return out;
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "browser", "--minify", "-o", out, "web/main.tsx"],
    cwd: root,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    const detail = new TextDecoder().decode(stderr).trim();
    throw new Error(`web:build: deno bundle failed (exit ${code}): ${detail}`);
  }
  await Deno.copyFile(join(root, UPLOT_CSS), join(root, WEB_VENDOR_CSS));
  return out;
}

const USAGE = `Usage: deno task web:build [--force]

Bundles the dashboard into ${WEB_BUNDLE} unless it is newer than every web/ source.

Options:
  --force                      Rebuild even when the bundle is up to date
  -h, --help                   Show this help
  --version                    Show the version`;

if (import.meta.main) {
  if (printHelpOrVersion("web:build", USAGE, Deno.args)) Deno.exit(0);
  const unknown = Deno.args.filter((a) => a !== "--force");
  if (unknown.length > 0) {
    console.error(`web:build: unknown argument ${unknown[0]}\n\n${USAGE}`);
    Deno.exit(2);
  }
  try {
    console.log(`web:build: ${await buildWeb({ force: Deno.args.includes("--force") })}`);
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    Deno.exit(1);
  }
}
