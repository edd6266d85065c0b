import assert from "node:assert/strict";
import { bundleWeb } from "./web_bundle.ts";

Deno.test("web bundle: the dashboard bundles into one script with its page and stylesheet", async () => {
  const web = await bundleWeb();
  assert.ok(web.js.length > 10_000, `bundle of ${web.js.length} bytes`);
  assert.ok(!/\bfrom\s*["']npm:/.test(web.js), "no import left for the browser to resolve");
  assert.match(web.html, /<script type="module" src="\/app\.js">/);
  assert.match(web.css, /\.s-stopped/);
});
