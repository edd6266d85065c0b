import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { SchemaTooNewError } from "../shared/sqlite.ts";
import { MIGRATIONS, type NewCp, RegistryStore } from "./store.ts";
import { withTempDir } from "../shared/temp_dir.ts";

const T1 = new Date("2026-01-01T10:00:00.000Z");
const T2 = new Date("2026-01-01T11:00:00.000Z");
const T3 = new Date("2026-01-01T12:00:00.000Z");

function cp(cpId: string, extra: Partial<NewCp> = {}): NewCp {
  return { cpId, location: "Plaza 1", priceEurKwh: 0.3, powerKw: 22, metadata: {}, ...extra };
}

function withStore(test: (store: RegistryStore, path: string) => void | Promise<void>) {
  return withTempDir(async (dir) => {
    const path = join(dir, "data", "registry.db");
    const store = RegistryStore.open(path);
    try {
      await test(store, path);
    } finally {
      store.close();
    }
  });
}

Deno.test("open creates the file in WAL mode with the latest schema", async () => {
  await withStore((store, path) => {
    assert.equal(store.schemaVersion, MIGRATIONS.length);
    const peek = new DatabaseSync(path);
    try {
      assert.deepEqual({ ...peek.prepare("PRAGMA journal_mode").get() }, { journal_mode: "wal" });
      const tables = peek.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
      )
        .all().map((r) => r.name);
      assert.deepEqual(tables, ["charging_points", "cp_history"]);
    } finally {
      peek.close();
    }
  });
});

Deno.test("reopening applies nothing twice; a newer schema is refused", async () => {
  await withStore((store, path) => {
    store.register(cp("CP-001"), "hash", T1);
    const again = RegistryStore.open(path);
    assert.equal(again.get("CP-001")?.location, "Plaza 1");
    again.close();
    const raw = new DatabaseSync(path);
    raw.exec(`PRAGMA user_version = ${MIGRATIONS.length + 1}`);
    raw.close();
    assert.throws(() => RegistryStore.open(path), SchemaTooNewError);
  });
});

Deno.test("a database of the first schema gains the certificate column, its CPs kept", async () => {
  await withTempDir((dir) => {
    const path = join(dir, "registry.db");
    const old = new DatabaseSync(path);
    old.exec(MIGRATIONS[0]);
    old.exec(`INSERT INTO charging_points (cp_id, location, price_eur_kwh, power_kw, status,
                credential_hash, registered_at, updated_at)
              VALUES ('CP-001', 'Plaza 1', 0.3, 22, 'REGISTERED', 'h', 'x', 'x');
              PRAGMA user_version = 1`);
    old.close();
    const store = RegistryStore.open(path);
    assert.equal(store.get("CP-001")?.certificateSha256, null);
    store.register(cp("CP-002", { certificateSha256: "AB:CD" }), "h2", T1);
    assert.equal(store.get("CP-002")?.certificateSha256, "AB:CD");
    store.close();
  });
});

Deno.test("register stores a CP; the same id again is refused while registered", async () => {
  await withStore((store) => {
    const result = store.register(cp("CP-001", { metadata: { connector: "CCS2" } }), "hash-1", T1);
    assert.ok(result.ok);
    assert.deepEqual(result.cp, {
      cpId: "CP-001",
      location: "Plaza 1",
      priceEurKwh: 0.3,
      powerKw: 22,
      metadata: { connector: "CCS2" },
      status: "REGISTERED",
      registeredAt: T1.toISOString(),
      updatedAt: T1.toISOString(),
      deregisteredAt: null,
      certificateSha256: null,
    });
    assert.deepEqual(store.register(cp("CP-001"), "hash-2", T2), { ok: false, reason: "exists" });
    assert.equal(store.getAuth("CP-001")?.credentialHash, "hash-1");
    assert.equal(store.get("CP-404"), undefined);
    assert.equal(store.getAuth("CP-404"), undefined);
  });
});

Deno.test("deregister keeps the CP and its history; it may register again", async () => {
  await withStore((store) => {
    store.register(cp("CP-001"), "hash-1", T1);
    const gone = store.deregister("CP-001", T2);
    assert.ok(gone.ok);
    assert.equal(gone.cp.status, "DEREGISTERED");
    assert.equal(gone.cp.deregisteredAt, T2.toISOString());
    assert.deepEqual(store.deregister("CP-001", T2), { ok: false, reason: "deregistered" });
    assert.deepEqual(store.deregister("CP-404", T2), { ok: false, reason: "not_found" });
    assert.equal(store.get("CP-001")?.status, "DEREGISTERED");

    const back = store.register(cp("CP-001", { location: "Plaza 2" }), "hash-2", T3);
    assert.ok(back.ok);
    assert.equal(back.cp.status, "REGISTERED");
    assert.equal(back.cp.location, "Plaza 2");
    assert.equal(back.cp.registeredAt, T3.toISOString());
    assert.equal(back.cp.deregisteredAt, null);
    assert.equal(store.getAuth("CP-001")?.credentialHash, "hash-2");
    assert.deepEqual(store.history("CP-001"), [
      { action: "registered", at: T1.toISOString(), details: { again: false } },
      { action: "deregistered", at: T2.toISOString(), details: {} },
      { action: "registered", at: T3.toISOString(), details: { again: true } },
    ]);
  });
});

Deno.test("update changes only the given fields of a registered CP", async () => {
  await withStore((store) => {
    store.register(cp("CP-001", { metadata: { a: 1 } }), "hash", T1);
    const updated = store.update("CP-001", { priceEurKwh: 0.5 }, T2);
    assert.ok(updated.ok);
    assert.equal(updated.cp.priceEurKwh, 0.5);
    assert.equal(updated.cp.location, "Plaza 1");
    assert.deepEqual(updated.cp.metadata, { a: 1 });
    assert.equal(updated.cp.updatedAt, T2.toISOString());
    assert.equal(updated.cp.registeredAt, T1.toISOString());
    const meta = store.update("CP-001", { metadata: {}, location: "Elsewhere", powerKw: 50 }, T3);
    assert.ok(meta.ok);
    assert.deepEqual([meta.cp.metadata, meta.cp.location, meta.cp.powerKw], [{}, "Elsewhere", 50]);
    assert.deepEqual(store.update("CP-404", { powerKw: 1 }, T3), {
      ok: false,
      reason: "not_found",
    });
    store.deregister("CP-001", T3);
    assert.deepEqual(store.update("CP-001", { powerKw: 1 }, T3), {
      ok: false,
      reason: "deregistered",
    });
    assert.deepEqual(store.history("CP-001")[1].details, { fields: ["priceEurKwh"] });
  });
});

Deno.test("list pages by id with the total, optionally by status", async () => {
  await withStore((store) => {
    for (const id of ["CP-005", "CP-001", "CP-003", "CP-002", "CP-004"]) {
      store.register(cp(id), "h", T1);
    }
    store.deregister("CP-002", T2);
    const page = store.list({ limit: 2, offset: 1 });
    assert.deepEqual(page.items.map((c) => c.cpId), ["CP-002", "CP-003"]);
    assert.equal(page.total, 5);
    const registered = store.list({ status: "REGISTERED", limit: 10, offset: 0 });
    assert.deepEqual(registered.items.map((c) => c.cpId), ["CP-001", "CP-003", "CP-004", "CP-005"]);
    assert.equal(registered.total, 4);
    const gone = store.list({ status: "DEREGISTERED", limit: 10, offset: 0 });
    assert.deepEqual([gone.items.map((c) => c.cpId), gone.total], [["CP-002"], 1]);
    assert.deepEqual(store.list({ limit: 10, offset: 99 }), { items: [], total: 5 });
  });
});

Deno.test("SQL-looking values are stored literally (parameterized statements)", async () => {
  await withStore((store) => {
    const nasty = "x'); DROP TABLE charging_points; --";
    const result = store.register(
      cp("CP-001", { location: nasty, metadata: { "k'": "'; --" } }),
      "h",
      T1,
    );
    assert.ok(result.ok);
    assert.equal(store.get("CP-001")?.location, nasty);
    assert.equal(store.get("' OR '1'='1"), undefined);
    assert.equal(store.list({ limit: 10, offset: 0 }).total, 1);
    assert.deepEqual(store.get("CP-001")?.metadata, { "k'": "'; --" });
  });
});
