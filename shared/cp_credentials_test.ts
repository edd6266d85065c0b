import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CredentialsFileError,
  credentialsPath,
  readCredentials,
  replaceCredentials,
  type StoredCredentials,
  writeCredentials,
} from "./cp_credentials.ts";

const STORED: StoredCredentials = {
  cp_id: "CP-1",
  credentials: "s3cret",
  registry_url: "https://127.0.0.1:8443",
  registered_at: "2025-01-31T12:00:00.000Z",
};

async function withDir(test: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "cp_credentials_" });
  try {
    await test(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("credentials: written 0600 in a 0700 folder, read back, never overwritten", async () => {
  await withDir(async (dir) => {
    const path = credentialsPath(join(dir, "data", "cp"), "CP-1");
    assert.equal(path, join(dir, "data", "cp", "CP-1.credentials"));
    assert.equal(await readCredentials(path, "CP-1"), undefined, "first start: none");
    await writeCredentials(path, STORED);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(join(dir, "data", "cp"))).mode! & 0o777, 0o700);
    assert.deepEqual(await readCredentials(path, "CP-1"), STORED);
    await assert.rejects(
      writeCredentials(path, { ...STORED, credentials: "other" }),
      Deno.errors.AlreadyExists,
    );
    assert.deepEqual(await readCredentials(path, "CP-1"), STORED, "the first file stays");
    const left = [...Deno.readDirSync(join(dir, "data", "cp"))].map((e) => e.name);
    assert.deepEqual(left, ["CP-1.credentials"], "no temporary file left behind");
  });
});

Deno.test("credentials: an open mode, bad content or another CP's file is refused", async () => {
  await withDir(async (dir) => {
    const path = credentialsPath(dir, "CP-1");
    await writeCredentials(path, STORED);
    await assert.rejects(readCredentials(path, "CP-2"), /credentials of CP CP-1, not CP-2/);
    await Deno.chmod(path, 0o644);
    await assert.rejects(
      readCredentials(path, "CP-1"),
      (e) => e instanceof CredentialsFileError && /mode 644.*chmod 600/.test(e.message),
    );
    await Deno.chmod(path, 0o600);
    await Deno.writeTextFile(path, "not json");
    await assert.rejects(readCredentials(path, "CP-1"), /bad JSON/);
    await Deno.writeTextFile(path, "{}");
    await assert.rejects(readCredentials(path, "CP-1"), /fields missing/);
  });
});

Deno.test("credentials: a restore replaces the file whole, still 0600, nothing left beside it", async () => {
  await withDir(async (dir) => {
    const path = credentialsPath(dir, "CP-1");
    await writeCredentials(path, STORED);
    const restored = {
      ...STORED,
      credentials: "new-secret",
      registered_at: "2026-12-06T03:00:00Z",
    };
    await replaceCredentials(path, restored);
    assert.deepEqual(await readCredentials(path, "CP-1"), restored);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["CP-1.credentials"]);
  });
});
