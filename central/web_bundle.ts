/**
 * The dashboard's files (web/), as Central serves them: the Preact app as built beforehand into
 * `web/dist/app.js` by `deno task web:build` (infra/web_build.ts, the `deno bundle` CLI), its
 * CSS (the chart library's, copied to `web/dist/uplot.css` by the same task, then `app.css` and
 * `console.css`, served as one `/app.css`) and its HTML page. Central never bundles at run time: every task that starts Central
 * (`deno task start`, `deno task central`, `deno task test`, `deno task bench`,
 * `deno task compile`) builds the bundle first, and a compiled Central carries it.
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

/** The dashboard's files are missing; the message says what to do. */
export class WebBundleError extends Error {
  override readonly name = "WebBundleError";
}

/**
 * Reads the built app (`dir/dist/app.js`), `dir/index.html` and the stylesheets
 * (`dir/dist/uplot.css`, `dir/app.css`, `dir/console.css`).
 * @throws {WebBundleError} when one is missing (the app was not built).
 */
export async function loadWeb(dir: string = WEB_DIR): Promise<WebAssets> {
  const read = async (name: string) => {
    try {
      return await Deno.readTextFile(join(dir, name));
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      throw new WebBundleError(
        `the dashboard is not built (no ${join(dir, name)}): run deno task web:build`,
      );
    }
  };
  const [js, html, ...css] = await Promise.all([
    read(join("dist", "app.js")),
    read("index.html"),
    read(join("dist", "uplot.css")),
    read("app.css"),
    read("console.css"),
  ]);
  return { html, js, css: css.join("\n") };
}
