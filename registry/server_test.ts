import assert from "node:assert/strict";
import { join } from "node:path";
import { resolveAdminKey } from "./server.ts";
import { withTempDir } from "../shared/temp_dir.ts";

Deno.test("resolveAdminKey: the env value wins; else one key is generated and kept", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "registry_admin.key");
    assert.deepEqual(await resolveAdminKey("from-env-0123456789", path), {
      key: "from-env-0123456789",
      source: "env",
      created: false,
    });
    const generated = await resolveAdminKey(undefined, path);
    assert.equal(generated.source, "file");
    assert.equal(generated.created, true);
    assert.match(generated.key, /^[A-Za-z0-9_-]{43}$/);
    const again = await resolveAdminKey(undefined, path);
    assert.deepEqual([again.key, again.created], [generated.key, false]);
  });
});
