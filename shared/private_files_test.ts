import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { ensurePrivateFileSync, makePrivateDir, writePrivateFileAtomic } from "./private_files.ts";
import { withTempDir } from "./temp_dir.ts";

const modeOf = (path: string) => Deno.statSync(path).mode! & 0o777;

Deno.test("private files: folders 0700 at every level made, files 0600, replaced whole", async () => {
  await withTempDir(async (dir) => {
    await makePrivateDir(join(dir, "a", "b"));
    assert.deepEqual([modeOf(join(dir, "a")), modeOf(join(dir, "a", "b"))], [0o700, 0o700]);
    const file = join(dir, "c", "state.json");
    await writePrivateFileAtomic(file, "one");
    await writePrivateFileAtomic(file, "two");
    assert.equal(await Deno.readTextFile(file), "two");
    assert.deepEqual([modeOf(file), modeOf(join(dir, "c"))], [0o600, 0o700]);
    assert.deepEqual([...Deno.readDirSync(join(dir, "c"))].map((e) => e.name), ["state.json"]);
  });
});

Deno.test("private files: a database file made 0600 gets SQLite's WAL and SHM files 0600 too", async () => {
  await withTempDir((dir) => {
    const path = join(dir, "data", "x.db");
    ensurePrivateFileSync(path);
    const db = new DatabaseSync(path);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("CREATE TABLE t (x)");
    db.exec("INSERT INTO t VALUES (1)");
    for (const name of ["x.db", "x.db-wal", "x.db-shm"]) {
      assert.equal(modeOf(join(dir, "data", name)), 0o600, name);
    }
    db.close();
    ensurePrivateFileSync(path);
    assert.equal(modeOf(path), 0o600, "an existing file is left as it is");
  });
});
