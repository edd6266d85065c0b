import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { openDatabase, transaction } from "../shared/sqlite.ts";
import { AuditLog, AuditLogMismatchError, verifyAuditFile } from "./audit.ts";
import {
  type AuditEntry,
  type AuditRecord,
  formatAuditLine,
  GENESIS_HASH,
  verifyAuditLines,
} from "./audit_chain.ts";
import { AuditAggregator } from "./audit_flood.ts";
import { REPLAY } from "./audit_test_support.ts";
import { withTempDir } from "../shared/temp_dir.ts";

/** A temporary folder with Central's database and audit file, removed after `work`. */
async function withAuditFiles(
  work: (files: { dir: string; dbPath: string; jsonlPath: string }) => Promise<void> | void,
): Promise<void> {
  await withTempDir(async (dir) => {
    await work({
      dir,
      dbPath: join(dir, "central.db"),
      jsonlPath: join(dir, "logs", "audit.jsonl"),
    });
  });
}

/** A clock starting at 2025-01-31T12:00:00.000Z that moves one second per reading. */
function steppingClock(): () => Date {
  let t = Date.parse("2025-01-31T12:00:00.000Z");
  return () => new Date((t += 1000) - 1000);
}

/** Opens Central's database (no tables of its own here) and the log over it. */
function openLog(dbPath: string, jsonlPath: string): { db: DatabaseSync; audit: AuditLog } {
  const db = openDatabase(dbPath, []);
  try {
    return { db, audit: AuditLog.open({ db, jsonlPath, now: steppingClock() }) };
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Runs `test` on a log opened in fresh files ({@link openLog}), and closes it after. */
function withLog(
  test: (
    log: { db: DatabaseSync; audit: AuditLog; dbPath: string; jsonlPath: string },
  ) => void | Promise<void>,
): Promise<void> {
  return withAuditFiles(async ({ dbPath, jsonlPath }) => {
    const { db, audit } = openLog(dbPath, jsonlPath);
    try {
      await test({ db, audit, dbPath, jsonlPath });
    } finally {
      audit.close();
      db.close();
    }
  });
}

function fileLines(path: string): string[] {
  return Deno.readTextFileSync(path).split("\n").slice(0, -1);
}

/** The table's records as file lines, oldest first. */
function tableLines(audit: AuditLog): string[] {
  return audit.list({ limit: 1000 }).items.reverse().map(formatAuditLine);
}

const LOGIN: AuditEntry = {
  actor: "cp:CP01",
  action: "cp.login",
  outcome: "ok",
  params: { cpId: "CP01", keyVersion: 3 },
  originIp: "192.0.2.10",
};

Deno.test("appends build one valid chain, identical in SQLite and in the file", async () => {
  await withLog(async ({ audit, jsonlPath }) => {
    assert.deepEqual(audit.head, { seq: 0, hash: GENESIS_HASH });
    const first = audit.append(LOGIN);
    const second = audit.append({
      actor: "admin",
      action: "key.rotate",
      outcome: "ok",
      params: { cpId: "CP01", forced: true, note: null },
    });
    const third = audit.append({
      actor: "central",
      action: "weather.alert",
      outcome: "failed",
      params: {},
    });

    assert.deepEqual([first.seq, second.seq, third.seq], [1, 2, 3]);
    assert.equal(first.prev_hash, GENESIS_HASH);
    assert.equal(second.prev_hash, first.hash);
    assert.equal(third.prev_hash, second.hash);
    assert.equal(first.origin_ip, "192.0.2.10");
    assert.equal("origin_ip" in second, false);
    assert.deepEqual(audit.head, { seq: 3, hash: third.hash });

    assert.deepEqual(fileLines(jsonlPath), [first, second, third].map(formatAuditLine));
    assert.deepEqual(tableLines(audit), fileLines(jsonlPath));
    assert.deepEqual(await verifyAuditFile(jsonlPath, { expectedHead: audit.head }), {
      ok: true,
      count: 3,
      head: audit.head,
    });
  });
});

Deno.test("the line and the hash follow the documented canonical form", async () => {
  await withLog(({ audit }) => {
    const record = audit.append({ ...LOGIN, params: { zeta: 1, Alpha: "x", beta: false } });
    assert.equal(
      formatAuditLine(record),
      '{"action":"cp.login","actor":"cp:CP01","hash":"' + record.hash + '","origin_ip":' +
        '"192.0.2.10","outcome":"ok","params":{"Alpha":"x","beta":false,"zeta":1},' +
        '"prev_hash":"' + GENESIS_HASH + '","seq":1,"ts":"2025-01-31T12:00:00.000Z"}',
    );
    // What any verifier would do: sorted-key JSON of everything but the hash, SHA-256, hex.
    const { hash, ...content } = record;
    const sorted = (o: object) =>
      Object.fromEntries(Object.entries(o).sort(([a], [b]) => a < b ? -1 : 1));
    const canonical = JSON.stringify(sorted({ ...content, params: sorted(content.params) }));
    assert.equal(hash, createHash("sha256").update(canonical).digest("hex"));
  });
});

Deno.test("reopening continues the chain where it stopped", async () => {
  await withAuditFiles(async ({ dbPath, jsonlPath }) => {
    let head;
    {
      const { db, audit } = openLog(dbPath, jsonlPath);
      audit.append(LOGIN);
      audit.append(LOGIN);
      head = audit.head;
      audit.close();
      db.close();
    }
    const { db, audit } = openLog(dbPath, jsonlPath);
    try {
      assert.deepEqual(audit.head, head);
      const next = audit.append(LOGIN);
      assert.deepEqual([next.seq, next.prev_hash], [3, head.hash]);
      assert.equal((await verifyAuditFile(jsonlPath)).ok, true);
    } finally {
      audit.close();
      db.close();
    }
  });
});

Deno.test("a crash between the SQLite row and the file line is repaired at open", async () => {
  await withAuditFiles(async ({ dbPath, jsonlPath }) => {
    const crash = (damage: (lines: string[]) => string) => {
      const { db, audit } = openLog(dbPath, jsonlPath);
      audit.append(LOGIN);
      audit.append(LOGIN);
      audit.close();
      db.close();
      Deno.writeTextFileSync(jsonlPath, damage(fileLines(jsonlPath)));
    };
    const reopenAndCheck = async (count: number) => {
      const { db, audit } = openLog(dbPath, jsonlPath);
      try {
        assert.equal(audit.head.seq, count);
        assert.deepEqual(fileLines(jsonlPath), tableLines(audit));
        assert.deepEqual(await verifyAuditFile(jsonlPath), { ok: true, count, head: audit.head });
      } finally {
        audit.close();
        db.close();
      }
    };

    // The last line never reached the file.
    crash((lines) => lines.slice(0, -1).map((l) => `${l}\n`).join(""));
    await reopenAndCheck(2);
    // The last line was cut short mid-write: the torn part is dropped, the line rewritten.
    crash((lines) => [...lines.slice(0, -1), lines.at(-1)!.slice(0, 40)].join("\n"));
    await reopenAndCheck(4);
    // The whole file is gone: SQLite is the truth, so it is rewritten.
    crash(() => "");
    await reopenAndCheck(6);
    Deno.removeSync(jsonlPath);
    await reopenAndCheck(6);
  });
});

Deno.test("a file that disagrees with the database is refused at open and left as it is", async () => {
  await withAuditFiles(({ dir, dbPath, jsonlPath }) => {
    {
      const { db, audit } = openLog(dbPath, jsonlPath);
      audit.append(LOGIN);
      audit.append(LOGIN);
      audit.close();
      db.close();
    }
    // The same entries on the same clock in another database, plus one more record.
    const otherDb = join(dir, "other.db");
    const otherFile = join(dir, "other.jsonl");
    {
      const { db, audit } = openLog(otherDb, otherFile);
      audit.append(LOGIN);
      audit.append(LOGIN);
      audit.append(LOGIN);
      audit.close();
      db.close();
    }
    const good = Deno.readTextFileSync(jsonlPath);
    const tampered = [
      good.replace(/"keyVersion":3}(?=[^\n]*\n$)/, '"keyVersion":4}'), // last record edited
      Deno.readTextFileSync(otherFile), // ahead of the database (a database restored from backup)
      good + "\n", // an empty last line
    ];
    for (const text of tampered) {
      assert.notEqual(text, good);
      Deno.writeTextFileSync(jsonlPath, text);
      const db = openDatabase(dbPath, []);
      try {
        assert.throws(() => AuditLog.open({ db, jsonlPath }), AuditLogMismatchError);
      } finally {
        db.close();
      }
      assert.equal(Deno.readTextFileSync(jsonlPath), text);
    }
  });
});

Deno.test("secrets in params are refused and nothing is written", async () => {
  await withLog(({ audit, jsonlPath }) => {
    const secretKeys = [
      "token",
      "accessToken",
      "credentials",
      "password",
      "secret",
      "authorization",
      "key",
      "cpKey",
      "masterKey",
      "api_key",
    ];
    for (const key of secretKeys) {
      assert.throws(
        () => audit.append({ ...LOGIN, params: { cpId: "CP01", [key]: "s3cr3t" } }),
        (e: unknown) => e instanceof TypeError && e.message.includes(`"${key}" is a secret field`),
        key,
      );
    }
    assert.equal(audit.head.seq, 0);
    assert.equal(Deno.readTextFileSync(jsonlPath), "");
    // Names that merely contain "key" are fine.
    assert.equal(audit.append({ ...LOGIN, params: { keyVersion: 2, keys: 1 } }).seq, 1);
  });
});

Deno.test("invalid records are refused, and so is an append inside a transaction", async () => {
  await withAuditFiles(({ dbPath, jsonlPath }) => {
    const { db, audit } = openLog(dbPath, jsonlPath);
    try {
      const bad: [AuditEntry, RegExp][] = [
        [{ ...LOGIN, action: "CP Login" }, /^audit record refused: action: /],
        [{ ...LOGIN, actor: "cp/../x" }, /^audit record refused: actor: /],
        [{ ...LOGIN, originIp: "999.1.1.1" }, /^audit record refused: origin_ip: /],
        [
          { ...LOGIN, params: { nested: { a: 1 } } as never },
          /^audit record refused: params\.nested/,
        ],
        [{ ...LOGIN, params: { note: "line\nbreak" } }, /^audit record refused: params\.note/],
      ];
      for (const [entry, message] of bad) {
        assert.throws(
          () => audit.append(entry),
          (e: unknown) => e instanceof TypeError && message.test(e.message),
        );
      }
      assert.throws(
        () => transaction(db, () => audit.append(LOGIN)),
        /call it after the transaction commits/,
      );
      assert.equal(audit.head.seq, 0);
      assert.equal(audit.list({ limit: 10 }).total, 0);
      assert.equal(Deno.readTextFileSync(jsonlPath), "");
    } finally {
      audit.close();
      db.close();
    }
    assert.throws(() => audit.append(LOGIN), /closed/);
  });
});

Deno.test({
  name: "a file that cannot be written (disk full) does not lose the record",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    await withAuditFiles(({ dbPath }) => {
      // Every write to /dev/full fails with ENOSPC.
      const { db, audit } = openLog(dbPath, "/dev/full");
      try {
        const record = audit.append(LOGIN);
        assert.deepEqual(audit.list({ limit: 10 }).items, [record]);
        assert.deepEqual(audit.head, { seq: 1, hash: record.hash });
      } finally {
        audit.close();
        db.close();
      }
    });
  },
});

Deno.test("SQL-ish strings in params and filters are stored and matched literally", async () => {
  await withLog(async ({ audit, jsonlPath }) => {
    const params = {
      note: "'); DROP TABLE audit_log; --",
      q: '" OR 1=1 --',
      pct: "100% _ \\",
    };
    const record = audit.append({ ...LOGIN, params });
    assert.deepEqual(audit.list({ limit: 10 }).items, [record]);
    assert.deepEqual(audit.list({ limit: 10 }).items[0].params, params);
    assert.equal(audit.list({ limit: 10, actor: "x' OR '1'='1" }).total, 0);
    assert.equal(audit.list({ limit: 10, action: "%" }).total, 0);
    assert.equal((await verifyAuditFile(jsonlPath)).ok, true);
  });
});

Deno.test("list pages newest first and filters by since, actor and action", async () => {
  await withLog(({ audit }) => {
    // Records 1–25, one second apart from 12:00:00; odd ones by cp:A, even ones by cp:B.
    for (let i = 1; i <= 25; i++) {
      audit.append({
        actor: i % 2 === 1 ? "cp:A" : "cp:B",
        action: i % 5 === 0 ? "charge.deny" : "cp.heartbeat",
        outcome: "ok",
        params: { i },
      });
    }
    const seqs = (page: { items: AuditRecord[] }) => page.items.map((r) => r.seq);

    const first = audit.list({ limit: 10 });
    assert.deepEqual(seqs(first), [25, 24, 23, 22, 21, 20, 19, 18, 17, 16]);
    assert.equal(first.total, 25);
    assert.deepEqual(seqs(audit.list({ limit: 10, offset: 20 })), [5, 4, 3, 2, 1]);
    assert.deepEqual(seqs(audit.list({ limit: 10, offset: 30 })), []);

    const byActor = audit.list({ limit: 3, actor: "cp:B" });
    assert.deepEqual([seqs(byActor), byActor.total], [[24, 22, 20], 12]);
    const byAction = audit.list({ limit: 10, action: "charge.deny" });
    assert.deepEqual([seqs(byAction), byAction.total], [[25, 20, 15, 10, 5], 5]);
    const since = audit.list({ limit: 10, since: "2025-01-31T12:00:20.000Z" });
    assert.deepEqual([seqs(since), since.total], [[25, 24, 23, 22, 21], 5]);
    const all = audit.list({
      limit: 10,
      since: "2025-01-31T12:00:10.000Z",
      actor: "cp:A",
      action: "charge.deny",
    });
    assert.deepEqual([seqs(all), all.total], [[25, 15], 2]);

    for (
      const bad of [{ limit: 0 }, { limit: 1001 }, { limit: 1.5 }, { limit: 10, offset: -1 }]
    ) {
      assert.throws(() => audit.list(bad), RangeError, JSON.stringify(bad));
    }
  });
});

Deno.test("list filters by CP: the CP's own records and those naming it in params.cpId", async () => {
  await withLog(({ audit }) => {
    audit.append({ actor: "cp:CP-1", action: "cp.login", outcome: "ok", params: {} });
    audit.append({ actor: "admin", action: "cp.stop", outcome: "ok", params: { cpId: "CP-1" } });
    audit.append({ actor: "admin", action: "cp.stop", outcome: "ok", params: { cpId: "CP-2" } });
    audit.append({ actor: "cp:CP-10", action: "cp.login", outcome: "ok", params: {} });
    audit.append({ actor: "weather", action: "weather.alert", outcome: "ok", params: {} });
    const page = audit.list({ limit: 10, cpId: "CP-1" });
    assert.deepEqual([page.items.map((r) => r.seq), page.total], [[2, 1], 2]);
    assert.equal(audit.list({ limit: 10, cpId: "CP-1' OR '1'='1" }).total, 0);
    assert.equal(audit.list({ limit: 10, cpId: "CP-2", action: "cp.stop" }).total, 1);
  });
});

Deno.test("subscribers get every record; a failing one breaks neither the append nor the others", async () => {
  await withLog(async ({ audit }) => {
    const seen: AuditRecord[] = [];
    const late: AuditRecord[] = [];
    audit.subscribe(() => {
      throw new Error("listener bug");
    });
    audit.subscribe(() => Promise.reject(new Error("broker down")));
    const unsubscribe = audit.subscribe((record) => {
      seen.push(record);
    });
    const appended = [audit.append(LOGIN), audit.append(LOGIN)];
    unsubscribe();
    audit.subscribe((record) => {
      late.push(record);
    });
    appended.push(audit.append(LOGIN));
    await Promise.resolve(); // let the rejected promise be handled

    assert.deepEqual(seen, appended.slice(0, 2));
    assert.deepEqual(late, appended.slice(2));
    assert.equal(audit.head.seq, 3);
  });
});

// ---------------------------------------------------------------------------------------------
// Flood control
// ---------------------------------------------------------------------------------------------

Deno.test("aggregator output goes straight into the log as a valid chain", async () => {
  await withLog(({ audit, jsonlPath }) => {
    const agg = new AuditAggregator({ emit: (entry) => audit.append(entry), maxKeys: 1 });
    for (let i = 0; i < 1000; i++) agg.offer({ ...REPLAY, actor: `cp:CP${i % 3}` });
    agg.flush();
    assert.equal(audit.head.seq, 4, "first of cp:CP0, overflow notice, two summaries");
    const verdict = verifyAuditLines(fileLines(jsonlPath), { expectedHead: audit.head });
    assert.deepEqual(verdict, { ok: true, count: 4, head: audit.head });
  });
});
