import assert from "node:assert/strict";
import { join } from "node:path";
import { buildWeb, WEB_BUNDLE, webBundleStale } from "./web_build.ts";

Deno.test("web build: bundles the dashboard, then keeps it until a source is newer", async () => {
  const out = await buildWeb({ force: true });
  assert.ok(out.endsWith(WEB_BUNDLE));
  const js = await Deno.readTextFile(out);
  assert.ok(js.length > 10_000 && !/\bfrom\s*["']npm:/.test(js), "one self-contained script");
  assert.equal(await webBundleStale(), false);
  const built = (await Deno.stat(out)).mtime!;
  await buildWeb();
  assert.equal((await Deno.stat(out)).mtime!.getTime(), built.getTime(), "up to date: kept");
  // A source touched after the build makes it stale (its mtime set past the bundle's): one of
  // web/, or a shared file the page bundles.
  for (const path of ["web/main.tsx", "shared/vocabulary.ts"]) {
    const source = join(import.meta.dirname!, "..", path);
    const later = new Date(built.getTime() + 5000);
    const before = (await Deno.stat(source)).mtime!;
    await Deno.utime(source, later, later);
    try {
      assert.equal(await webBundleStale(), true, path);
    } finally {
      await Deno.utime(source, before, before);
    }
  }
});
