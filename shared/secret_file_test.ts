import assert from "node:assert/strict";
import { join } from "node:path";
import { generateCredential, readOrCreateSecretFile } from "./secret_file.ts";
import { withTempDir } from "./temp_dir.ts";

Deno.test("readOrCreateSecretFile creates once with mode 0600, then reads it back", async () => {
  await withTempDir(async (dir) => {
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
  });
});

Deno.test("generateCredential gives 256 random bits as unpadded base64url", () => {
  const a = generateCredential();
  const b = generateCredential();
  assert.match(a, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(a, b);
  const bytes = Uint8Array.from(
    atob(a.replace(/-/g, "+").replace(/_/g, "/") + "="),
    (ch) => ch.charCodeAt(0),
  );
  assert.equal(bytes.length, 32);
});
