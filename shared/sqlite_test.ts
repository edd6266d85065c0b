import assert from "node:assert/strict";
import { join } from "node:path";
import {
  applyMigrations,
  openDatabase,
  SchemaTooNewError,
  schemaVersion,
  transaction,
} from "./sqlite.ts";
import { withTempDir } from "./temp_dir.ts";

const MIGRATIONS = ["CREATE TABLE a (x INTEGER) STRICT", "CREATE TABLE b (y TEXT) STRICT"];

Deno.test("openDatabase creates the folder and the file in WAL mode at the latest schema", async () => {
  await withTempDir((dir) => {
    const db = openDatabase(join(dir, "nested", "x.db"), MIGRATIONS);
    try {
      assert.deepEqual({ ...db.prepare("PRAGMA journal_mode").get() }, { journal_mode: "wal" });
      assert.equal(schemaVersion(db), 2);
      const modeOf = (name: string) => Deno.statSync(join(dir, "nested", name)).mode! & 0o777;
      assert.equal(Deno.statSync(join(dir, "nested")).mode! & 0o777, 0o700, "a private folder");
      for (const name of ["x.db", "x.db-wal", "x.db-shm"]) assert.equal(modeOf(name), 0o600, name);
    } finally {
      db.close();
    }
  });
});

Deno.test("openDatabase refuses a schema newer than its migrations and names the owner", async () => {
  await withTempDir((dir) => {
    const path = join(dir, "x.db");
    openDatabase(path, MIGRATIONS).close();
    assert.throws(
      () => openDatabase(path, MIGRATIONS.slice(0, 1), { owner: "this Registry" }),
      (e: unknown) =>
        e instanceof SchemaTooNewError &&
        /schema 2 is newer than this Registry's \(1\)/.test(e.message),
    );
  });
});

Deno.test("a failing migration leaves the database untouched (one transaction)", () => {
  const db = openDatabase(":memory:", []);
  try {
    assert.throws(() => applyMigrations(db, ["CREATE TABLE a (x INTEGER)", "CREATE TABLE oops ("]));
    assert.equal(schemaVersion(db), 0);
    assert.equal(db.prepare("SELECT name FROM sqlite_master WHERE name = 'a'").get(), undefined);
    applyMigrations(db, ["CREATE TABLE a (x INTEGER)"]);
    applyMigrations(db, ["CREATE TABLE a (x INTEGER)", "CREATE TABLE b (y INTEGER)"]);
    assert.equal(schemaVersion(db), 2);
  } finally {
    db.close();
  }
});

Deno.test("transaction commits together or rolls back together", () => {
  const db = openDatabase(":memory:", MIGRATIONS);
  try {
    transaction(db, () => {
      db.prepare("INSERT INTO a (x) VALUES (?)").run(1);
      db.prepare("INSERT INTO b (y) VALUES (?)").run("one");
    });
    assert.throws(() =>
      transaction(db, () => {
        db.prepare("INSERT INTO b (y) VALUES (?)").run("two");
        db.prepare("INSERT INTO a (x) VALUES (?)").run("not a number"); // STRICT refuses it
      })
    );
    assert.deepEqual(db.prepare("SELECT x FROM a").all().map((r) => r.x), [1]);
    assert.deepEqual(db.prepare("SELECT y FROM b").all().map((r) => r.y), ["one"]);
  } finally {
    db.close();
  }
});
