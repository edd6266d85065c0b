import assert from "node:assert/strict";
import { join } from "node:path";
import { resolveAdminToken } from "./secrets.ts";

const GIVEN = "given-admin-token-0123456789-abcd";

Deno.test("central: a given admin token is used as is", async () => {
  assert.deepEqual(await resolveAdminToken(GIVEN, "/nonexistent/x"), {
    token: GIVEN,
    source: "given",
  });
});

Deno.test("central: an admin token under 32 characters is refused at start, without echoing it", async () => {
  await assert.rejects(
    resolveAdminToken(GIVEN.slice(0, 31), "/nonexistent/x"),
    (error: Error) =>
      /at least 32 characters, got 31/.test(error.message) &&
      !error.message.includes(GIVEN.slice(0, 31)),
  );
  const dir = await Deno.makeTempDir({ prefix: "central_token_" });
  try {
    const path = join(dir, "central_admin.token");
    await Deno.writeTextFile(path, "short\n", { mode: 0o600 });
    await assert.rejects(resolveAdminToken(undefined, path), /holds 5 characters, fewer than 32/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("central: without one, a token is generated once into a 0600 file and reused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "central_token_" });
  try {
    const path = join(dir, "data", "central_admin.token");
    const first = await resolveAdminToken(undefined, path);
    assert.equal(first.source, "file");
    assert.match(first.token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const again = await resolveAdminToken("", path);
    assert.equal(again.token, first.token);
    await Deno.chmod(path, 0o644);
    await resolveAdminToken(undefined, path);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600, "tightened back");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
