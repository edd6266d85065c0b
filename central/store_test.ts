import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { TOPICS } from "../shared/kafka.ts";
import { SchemaTooNewError, schemaVersion } from "../shared/sqlite.ts";
import { EMPTY_MODEL } from "./core.ts";
import {
  at,
  chargeInput,
  drive,
  loginInput,
  run,
  T0,
  telemetryInput,
  type Timed,
} from "./core_test_support.ts";
import { CentralStore } from "./store.ts";
import { MIGRATIONS } from "./store_schema.ts";

const REGISTRY = { location: "Plaza 2", priceEurKwh: 0.4, powerKw: 11 };

async function withDb(test: (path: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "central_store_" });
  try {
    await test(join(dir, "data", "central.db"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs `test` on a store opened in a fresh folder, and closes it after. */
function withStore(test: (store: CentralStore, path: string) => void): Promise<void> {
  return withDb((path) => {
    const store = CentralStore.open(path);
    try {
      test(store, path);
    } finally {
      store.close();
    }
  });
}

const login = (connection: number, now = T0, protocol?: "ocpp1.6"): Timed =>
  loginInput(
    connection,
    { registry: REGISTRY, ...(protocol === undefined ? {} : { protocol }) },
    now,
  );

Deno.test("store: migrations are applied once and a newer schema is refused", async () => {
  await withDb((path) => {
    CentralStore.open(path).close();
    CentralStore.open(path).close(); // idempotent
    const raw = new DatabaseSync(path);
    assert.equal(schemaVersion(raw), MIGRATIONS.length);
    assert.equal(raw.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
    raw.exec(`PRAGMA user_version = ${MIGRATIONS.length + 1}`);
    raw.close();
    assert.throws(() => CentralStore.open(path), SchemaTooNewError);
  });
});

Deno.test("store: a step's state and outbox rows are stored together, in order", async () => {
  await withStore((store) => {
    drive(store, EMPTY_MODEL, login(1), chargeInput("r1", { sessionId: "S1" }));
    const rows = store.pendingOutbox(10);
    assert.deepEqual(
      rows.map((r) => [r.topic, r.key, r.sealFor, (r.payload as { type: string }).type]),
      [
        [TOPICS.cpCommands, "CP-1", "CP-1", "AUTHORIZE"],
        [TOPICS.driverUpdates, "D-1", null, "AUTHORIZED"],
      ],
    );
    assert.ok(store.hasRequest("D-1", "r1"));
    assert.equal(store.sessions("active", 10)[0]?.id, "S1");
    assert.deepEqual(store.recentRequests(5).map((r) => [r.requestId, r.outcome]), [[
      "r1",
      "AUTHORIZED",
    ]]);
  });
});

Deno.test("store: a failing effect rolls the whole step back, outbox included", async () => {
  await withStore((store) => {
    drive(store, EMPTY_MODEL, login(1));
    const list = run(
      EMPTY_MODEL,
      at(T0, { type: "cp_list_request", requestId: "L1", driverId: "D-1", duplicate: false }),
    );
    // The answer and its request mark come first; then the same key version again fails.
    const withMessage = [...list.effects, ...run(EMPTY_MODEL, login(1)).effects];
    assert.throws(() => store.commit(withMessage));
    assert.equal(store.pendingCount(), 0);
    assert.equal(store.hasRequest("D-1", "L1"), false);
  });
});

Deno.test("store: recovery at start: CPs DISCONNECTED, holds, keys, open sessions, marks", async () => {
  await withDb((path) => {
    let store = CentralStore.open(path);
    let model = drive(
      store,
      EMPTY_MODEL,
      login(1),
      login(2, T0 + 100),
      chargeInput("r1", { sessionId: "S1" }),
      at(T0 + 2000, { type: "stop", cpId: "CP-1", reason: "admin" }),
    );
    assert.equal(model.cps.get("CP-1")?.status.state, "STOPPED");
    const s = run(
      model,
      telemetryInput(
        { type: "SUPPLY", sessionId: "S1", kw: 11, kwh: 1.5, eur: 0.6 },
        T0 + 3000,
      ),
    );
    store.commit(s.effects, { cp: "CP-1", kv: 2, channel: TOPICS.cpTelemetry, seq: 42 });
    model = s.model;
    store.close();

    store = CentralStore.open(path);
    try {
      const recovered = store.recover(new Date(T0 + 10_000));
      const cp = recovered.model.cps.get("CP-1");
      assert.deepEqual(cp?.status, { state: "DISCONNECTED", stopReason: "admin", sessionId: "S1" });
      assert.equal(cp?.keyVersion, 2);
      assert.equal(cp?.connection, null);
      assert.equal(cp?.priceEurKwh, 0.4);
      const session = recovered.model.sessions.get("S1");
      assert.equal(session?.kwh, 1.5);
      assert.equal(session?.pendingEnd?.reason, "stopped_admin");
      assert.deepEqual(recovered.keys.map((k) => [k.keyVersion, k.state, k.wrapped]), [
        [1, "retired", "wrapped-1"],
        [2, "live", "wrapped-2"],
      ]);
      assert.deepEqual(recovered.marks, [{
        cp: "CP-1",
        kv: 2,
        channel: TOPICS.cpTelemetry,
        seq: 42,
      }]);
      assert.equal(store.nextKeyVersion("CP-1"), 3);
      assert.equal(store.nextKeyVersion("CP-9"), 1);
      assert.ok(store.hasRequest("D-1", "r1"), "dedupe survives a restart");
      assert.ok(!store.hasRequest("D-2", "r1"), "per driver");
      const raw = new DatabaseSync(path);
      assert.equal(raw.prepare("SELECT state FROM cps").get()?.state, "DISCONNECTED");
      raw.close();
    } finally {
      store.close();
    }
  });
});

Deno.test("store: a CP's charger protocol outlives a restart; a login without one drops it", async () => {
  await withDb((path) => {
    let store = CentralStore.open(path);
    let model = drive(store, EMPTY_MODEL, login(1, T0, "ocpp1.6"));
    store.close();
    store = CentralStore.open(path);
    try {
      const cp = store.recover(new Date(T0 + 1000)).model.cps.get("CP-1");
      assert.equal(cp?.protocol, "ocpp1.6", "the badge is known before the next login");
      assert.equal(cp?.status.state, "DISCONNECTED");
      model = drive(store, store.recover(new Date(T0 + 2000)).model, login(2, T0 + 2000));
      assert.equal("protocol" in model.cps.get("CP-1")!, false);
    } finally {
      store.close();
    }
    store = CentralStore.open(path);
    try {
      const cp = store.recover(new Date(T0 + 3000)).model.cps.get("CP-1");
      assert.equal(cp !== undefined && "protocol" in cp, false, "our own CP again");
    } finally {
      store.close();
    }
  });
});

Deno.test("store: a database from before the protocol column is migrated, its CPs kept", async () => {
  await withDb(async (path) => {
    // The schema as the release before this column left it, with a CP in it.
    await Deno.mkdir(join(path, ".."), { recursive: true });
    const raw = new DatabaseSync(path);
    const before = MIGRATIONS.findIndex((m) => m.includes("ADD COLUMN protocol"));
    assert.ok(before > 0);
    for (const migration of MIGRATIONS.slice(0, before)) raw.exec(migration);
    raw.exec(`PRAGMA user_version = ${before}`);
    raw.prepare(
      `INSERT INTO cps (id, location, price_eur_kwh, power_kw, state, stop_reason, security,
                        last_seen, updated_at)
       VALUES ('CP-OLD', 'Lugo', 0.3, 22, 'ACTIVATED', NULL, 'ACTIVE', NULL, ?)`,
    ).run(new Date(T0).toISOString());
    raw.close();

    const store = CentralStore.open(path);
    try {
      const check = new DatabaseSync(path);
      assert.equal(schemaVersion(check), MIGRATIONS.length);
      check.close();
      const old = store.recover(new Date(T0 + 1000)).model.cps.get("CP-OLD");
      assert.equal(old?.location, "Lugo");
      assert.equal(old !== undefined && "protocol" in old, false);
      const model = drive(store, EMPTY_MODEL, login(1, T0, "ocpp1.6"));
      assert.equal(model.cps.get("CP-1")?.protocol, "ocpp1.6");
      assert.equal(store.recover(new Date(T0 + 2000)).model.cps.get("CP-1")?.protocol, "ocpp1.6");
    } finally {
      store.close();
    }
  });
});

Deno.test("store: replay marks only go up", async () => {
  await withStore((store) => {
    const mark = { cp: "CP-1", kv: 1, channel: TOPICS.cpTelemetry, seq: 10 };
    store.commit([], mark);
    store.commit([], { ...mark, seq: 5 });
    assert.equal(store.recover(new Date()).marks[0].seq, 10);
  });
});

Deno.test("store: a batch writes a session once with its last state, and each mark's highest seq", async () => {
  await withStore((store, path) => {
    let model = drive(store, EMPTY_MODEL, login(1), chargeInput("r1", { sessionId: "S1" }));
    const supply = (kwh: number, now: number): Timed =>
      telemetryInput({ type: "SUPPLY", sessionId: "S1", kw: 11, kwh, eur: kwh * 0.4 }, now);
    const mark = (seq: number) => ({ cp: "CP-1", kv: 1, channel: TOPICS.cpTelemetry, seq });
    const steps = [];
    for (const [kwh, seq] of [[1, 7], [2, 9], [3, 8]]) {
      const s = run(model, supply(kwh, T0 + 2000 + kwh));
      model = s.model;
      steps.push({ effects: s.effects, mark: mark(seq) });
    }
    const changes = () => Number(store.db.prepare("SELECT total_changes() AS n").get()?.n);
    const before = changes();
    store.commitAll(steps);
    assert.equal(changes() - before, 2, "one session row and one mark row written");
    const recovered = store.recover(new Date(T0 + 10_000));
    assert.equal(recovered.model.sessions.get("S1")?.kwh, 3, "the last state");
    assert.equal(recovered.marks[0].seq, 9, "the highest seq, though not the last");
    const raw = new DatabaseSync(path);
    assert.equal(raw.prepare("SELECT kwh FROM sessions WHERE id = 'S1'").get()?.kwh, 3);
    raw.close();
  });
});

Deno.test("store: a session reads back as last saved, whichever of its columns changed", async () => {
  await withStore((store) => {
    const model = drive(store, EMPTY_MODEL, login(1), chargeInput("r1", { sessionId: "S1" }));
    let session = model.sessions.get("S1")!;
    const save = (change: Partial<typeof session>, context: string) => {
      session = { ...session, ...change };
      store.commit([{ type: "save_session", session }]);
      assert.deepEqual(store.session("S1"), session, context);
    };
    const ts = (ms: number) => new Date(T0 + ms).toISOString();
    save({ pluggedAt: ts(1000), kw: 11, kwh: 0.5, eur: 0.2, pendingEnd: null }, "plugged");
    save({ kw: 10, kwh: 1, eur: 0.4 }, "figures only");
    save({ pendingEnd: { reason: "stopped_admin", deadlineMs: T0 + 9000 } }, "an end pending");
    save({ kwh: 1.5, eur: 0.6 }, "figures, the end still pending");
    save({ pendingEnd: { reason: "stopped_admin", deadlineMs: T0 + 12_000 } }, "a later deadline");
    save({ pendingEnd: null, kwh: 2, eur: 0.8 }, "the end called off");
    save({ endedAt: ts(20_000), endReason: "unplugged", kw: 0 }, "ended");
    save({ kwh: 2.5, eur: 1 }, "a figure after the end");
  });
});

Deno.test("store: outbox rows are marked, counted and pruned", async () => {
  await withStore((store) => {
    drive(
      store,
      EMPTY_MODEL,
      login(1),
      at(T0, { type: "stop", reason: "admin" }),
      at(T0, { type: "resume" }),
    );
    const rows = store.pendingOutbox(10);
    assert.equal(rows.length, 2);
    assert.equal(store.pendingOutbox(1).length, 1);
    store.markOutbox([rows[0].id], "sent", new Date(T0));
    store.markOutbox([rows[1].id], "dropped", new Date(T0 + 1000));
    assert.equal(store.pendingCount(), 0);
    assert.equal(store.pruneOutbox(new Date(T0 + 500)), 1);
    assert.equal(store.pruneOutbox(new Date(T0 + 5000)), 1);
  });
});

Deno.test("store: sessions by status and drivers with totals", async () => {
  await withStore((store) => {
    const charge = (requestId: string, now: number): Timed => chargeInput(requestId, {}, now);
    const end = (sessionId: string, kwh: number, now: number): Timed =>
      telemetryInput(
        { type: "SUPPLY_END", sessionId, kwh, eur: 0, endReason: "unplugged" },
        now,
      );
    drive(
      store,
      EMPTY_MODEL,
      login(1),
      charge("a", T0 + 1),
      end("S-a", 10, T0 + 2),
      charge("b", T0 + 3),
      end("S-b", 5, T0 + 4),
      charge("c", T0 + 5),
    );
    assert.deepEqual(store.sessions("completed", 10).map((s) => [s.id, s.kwh, s.eur]), [
      ["S-b", 5, 2],
      ["S-a", 10, 4],
    ]);
    assert.deepEqual(store.sessions("completed", 1).map((s) => s.id), ["S-b"]);
    assert.deepEqual(store.sessions("active", 10).map((s) => s.id), ["S-c"]);
    assert.deepEqual(store.session("S-a")?.endReason, "unplugged");
    assert.deepEqual(store.drivers(), [{
      id: "D-1",
      firstSeen: new Date(T0 + 1).toISOString(),
      lastSeen: new Date(T0 + 5).toISOString(),
      sessions: 2,
      kwh: 15,
      eur: 6,
      activeSessionId: "S-c",
    }]);
  });
});
