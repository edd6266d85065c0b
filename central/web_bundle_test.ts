import assert from "node:assert/strict";
import { join } from "node:path";
import { loadWeb, WebBundleError } from "./web_bundle.ts";
import { buildWeb } from "../infra/web_build.ts";
import { withTempDir } from "../shared/temp_dir.ts";

Deno.test("web bundle: the built app is served with its page and stylesheet", async () => {
  await buildWeb();
  const web = await loadWeb();
  assert.ok(web.js.length > 10_000, `bundle of ${web.js.length} bytes`);
  assert.ok(!/\bfrom\s*["']npm:/.test(web.js), "no import left for the browser to resolve");
  assert.ok(!/\bimport\s*["'(]/.test(web.js), "one self-contained script");
  assert.match(web.html, /<script type="module" src="\/app\.js">/);
  assert.match(web.css, /\.s-stopped/);
  assert.match(web.css, /\.uplot/, "uPlot's stylesheet, served from here");
  assert.match(web.css, /\.visually-hidden/, "the operator console's");
});

Deno.test("web bundle: without a built app it says which task builds it", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(join(dir, "index.html"), "<p>");
    await Deno.writeTextFile(join(dir, "app.css"), "p{}");
    await assert.rejects(loadWeb(dir), (e: unknown) => {
      assert.ok(e instanceof WebBundleError);
      assert.match(e.message, /deno task web:build/);
      return true;
    });
  });
});
