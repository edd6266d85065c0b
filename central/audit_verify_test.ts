import assert from "node:assert/strict";
import { join } from "node:path";
import { openDatabase } from "../shared/sqlite.ts";
import { AuditLog, verifyAuditFile } from "./audit.ts";
import {
  type AuditHead,
  type AuditRecord,
  formatAuditLine,
  hashAuditRecord,
  verifyAuditLines,
} from "./audit_chain.ts";
import { verifyCli } from "./audit_test_support.ts";
import { withTempDir } from "../shared/temp_dir.ts";

/** A real log of six records, written by {@link AuditLog}: its file lines and its head. */
function sixRecordLog(): Promise<{ lines: string[]; head: AuditHead }> {
  return withTempDir((dir) => {
    const db = openDatabase(join(dir, "central.db"), []);
    const jsonlPath = join(dir, "audit.jsonl");
    const audit = AuditLog.open({ db, jsonlPath });
    for (let i = 1; i <= 6; i++) {
      audit.append({
        actor: `cp:CP0${i}`,
        action: "cp.login",
        outcome: "ok",
        params: { cpId: `CP0${i}`, keyVersion: i },
      });
    }
    const head = audit.head;
    audit.close();
    db.close();
    return { lines: Deno.readTextFileSync(jsonlPath).split("\n").slice(0, -1), head };
  });
}

const { lines, head } = await sixRecordLog();
const parse = (line: string) => JSON.parse(line) as AuditRecord;

/** `lines` with line `n` (1-based) changed by `edit`, its hash recomputed if `rehash`. */
function edited(n: number, edit: (r: AuditRecord) => AuditRecord, rehash = false): string[] {
  const copy = [...lines];
  const record = edit(parse(copy[n - 1]));
  copy[n - 1] = formatAuditLine(rehash ? { ...record, hash: hashAuditRecord(record) } : record);
  return copy;
}

/** Asserts the verdict names line `index`, record `seq`, with a reason matching `reason`. */
function assertFailsAt(
  verdict: ReturnType<typeof verifyAuditLines>,
  index: number,
  seq: number,
  reason: RegExp,
): void {
  assert.equal(verdict.ok, false, "expected a failure");
  if (verdict.ok) return;
  assert.deepEqual({ index: verdict.index, seq: verdict.seq }, { index, seq }, verdict.reason);
  assert.match(verdict.reason, reason);
}

const bumpKeyVersion = (r: AuditRecord) => ({ ...r, params: { ...r.params, keyVersion: 99 } });

Deno.test("an untouched log verifies, with or without its head", () => {
  assert.deepEqual(verifyAuditLines(lines), { ok: true, count: 6, head });
  assert.deepEqual(verifyAuditLines(lines, { expectedHead: head }), { ok: true, count: 6, head });
  // An earlier checkpoint is still contained in a log that grew since.
  const third = parse(lines[2]);
  assert.deepEqual(verifyAuditLines(lines, { expectedHead: { seq: 3, hash: third.hash } }), {
    ok: true,
    count: 6,
    head,
  });
  assert.deepEqual(verifyAuditLines([]), {
    ok: true,
    count: 0,
    head: { seq: 0, hash: "0".repeat(64) },
  });
});

Deno.test("an edited record fails at that record", () => {
  assertFailsAt(verifyAuditLines(edited(3, bumpKeyVersion)), 3, 3, /hash does not match.*edited/);
  assertFailsAt(
    verifyAuditLines(edited(5, (r) => ({ ...r, outcome: "denied" }))),
    5,
    5,
    /edited/,
  );
});

Deno.test("a record edited and rehashed fails at the next one, by its prev_hash", () => {
  assertFailsAt(
    verifyAuditLines(edited(3, bumpKeyVersion, true)),
    4,
    4,
    /prev_hash is not the hash of record 3/,
  );
  // The last record has no next one: only a head kept elsewhere shows it.
  const lastRehashed = edited(6, bumpKeyVersion, true);
  assert.equal(verifyAuditLines(lastRehashed).ok, true);
  assertFailsAt(
    verifyAuditLines(lastRehashed, { expectedHead: head }),
    6,
    6,
    /differs from the expected head/,
  );
});

Deno.test("a removed record fails at the record after the gap", () => {
  assertFailsAt(
    verifyAuditLines(lines.toSpliced(2, 1)),
    3,
    4,
    /seq 4 where 3 was expected: a record is missing/,
  );
  assertFailsAt(verifyAuditLines(lines.slice(1)), 1, 2, /seq 2 where 1 was expected/);
});

Deno.test("removing the last records is only seen against an expected head", () => {
  const truncated = lines.slice(0, 4);
  assert.equal(verifyAuditLines(truncated).ok, true, "a shorter chain is still a chain");
  assertFailsAt(
    verifyAuditLines(truncated, { expectedHead: head }),
    5,
    5,
    /ends at seq 4 but the expected head is seq 6: the last 2 records are missing/,
  );
  assertFailsAt(
    verifyAuditLines(lines.slice(0, 5), { expectedHead: head }),
    6,
    6,
    /the last 1 record is missing/,
  );
});

Deno.test("two swapped records fail at the first of them", () => {
  const swapped = [...lines];
  [swapped[2], swapped[3]] = [swapped[3], swapped[2]];
  assertFailsAt(verifyAuditLines(swapped), 3, 4, /seq 4 where 3 was expected.*out of order/);
});

Deno.test("a malformed line fails at that line", () => {
  const cases: [string, RegExp][] = [
    [lines[3].slice(0, 50), /unreadable line: message is not valid JSON/],
    ["", /unreadable line/],
    ['{"seq":4}', /not an audit record: /],
    [lines[3].replace('"outcome":"ok"', '"outcome":"ok","extra":1'), /not an audit record: /],
  ];
  for (const [bad, reason] of cases) {
    assertFailsAt(verifyAuditLines(lines.with(3, bad)), 4, 4, reason);
  }
});

Deno.test("verifyAuditFile reads the file, with or without a final newline", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "audit.jsonl");
    Deno.writeTextFileSync(path, lines.join("\n"));
    assert.deepEqual(await verifyAuditFile(path, { expectedHead: head }), {
      ok: true,
      count: 6,
      head,
    });
    Deno.writeTextFileSync(path, lines.join("\n") + "\n\n");
    assertFailsAt(await verifyAuditFile(path), 7, 7, /unreadable line/);
    await assert.rejects(verifyAuditFile(join(dir, "missing.jsonl")), Deno.errors.NotFound);
  });
});

// ---------------------------------------------------------------------------------------------
// The CLI
// ---------------------------------------------------------------------------------------------

Deno.test("the CLI prints OK and exits 0, or FAIL at the first bad record and exits 1", async () => {
  await withTempDir(async (dir) => {
    // The default file is data/audit.jsonl under the working folder.
    Deno.mkdirSync(join(dir, "data"));
    Deno.writeTextFileSync(join(dir, "data", "audit.jsonl"), lines.join("\n") + "\n");
    const ok = await verifyCli([], dir);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(
      ok.stdout,
      `OK: 6 records, head 6/${head.hash.slice(0, 12)}\n` +
        `(check this head later with --expect-head 6:${head.hash})\n`,
    );

    const tampered = join(dir, "tampered.jsonl");
    Deno.writeTextFileSync(tampered, lines.toSpliced(2, 1).join("\n") + "\n");
    const fail = await verifyCli([tampered], dir);
    assert.equal(fail.code, 1, fail.stderr);
    assert.match(fail.stdout, /^FAIL at record 4 \(line 3\): seq 4 where 3 was expected/);

    const truncated = join(dir, "truncated.jsonl");
    Deno.writeTextFileSync(truncated, lines.slice(0, 5).join("\n") + "\n");
    assert.equal((await verifyCli(["--file", truncated], dir)).code, 0);
    const short = await verifyCli(["--file", truncated, "--expect-head", `6:${head.hash}`], dir);
    assert.equal(short.code, 1);
    assert.match(short.stdout, /^FAIL at record 6 \(line 6\): the log ends at seq 5/);
  });
});

Deno.test("the CLI exits 2 on a missing file or a bad --expect-head", async () => {
  await withTempDir(async (dir) => {
    const missing = await verifyCli(["nothing.jsonl"], dir);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read nothing\.jsonl: no such file/);
    assert.equal(missing.stdout, "");

    const badHead = await verifyCli(["nothing.jsonl", "--expect-head", "6:abc"], dir);
    assert.equal(badHead.code, 2);
    assert.match(badHead.stderr, /--expect-head: expected <seq>:<hash>/);
  });
});
