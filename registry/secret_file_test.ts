import assert from "node:assert/strict";
import { join } from "node:path";
import { readOrCreateSecretFile } from "./secret_file.ts";
import { resolveAdminKey } from "./server.ts";

Deno.test("readOrCreateSecretFile creates once with mode 0600, then reads it back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "nested", "secret");
    let made = 0;
    const make = () => `value-${++made}`;
    assert.deepEqual(await readOrCreateSecretFile(path, make), { value: "value-1", created: true });
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.deepEqual(await readOrCreateSecretFile(path, make), {
      value: "value-1",
      created: false,
    });
    assert.equal(made, 1, "nothing generated when the file exists");
    await Deno.chmod(path, 0o644);
    await readOrCreateSecretFile(path, make);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600, "a too-open file is tightened");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resolveAdminKey: the env value wins; else one key is generated and kept", async () => {
  const dir = await Deno.makeTempDir();
  try {
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
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
