import assert from "node:assert/strict";
import { join } from "node:path";
import { openDatabase } from "../shared/sqlite.ts";
import { AuditLog } from "./audit.ts";
import {
  AuditCheckpointer,
  AuditCheckpointError,
  checkpointPaths,
  readCheckpoint,
  readCheckpointKey,
} from "./audit_checkpoint.ts";
import { verifyCli } from "./audit_test_support.ts";
import { withTempDir } from "../shared/temp_dir.ts";

const modeOf = (path: string) => Deno.statSync(path).mode! & 0o777;

/** Central's audit log and its checkpoints in `dir`, with `count` records appended. */
async function writeLog(dir: string, count: number, everyRecords = 10) {
  const db = openDatabase(join(dir, "central.db"), []);
  const jsonlPath = join(dir, "audit.jsonl");
  const audit = AuditLog.open({ db, jsonlPath });
  const paths = checkpointPaths(jsonlPath);
  const anchor = await AuditCheckpointer.open({ audit, db, ...paths, everyRecords });
  const key = await readCheckpointKey(paths.keyFile);
  const checkpoints = [(await readCheckpoint(paths.file, key))!.seq];
  for (let i = 1; i <= count; i++) {
    audit.append({ actor: "admin", action: "cp.stop", outcome: "ok", params: { cpId: `CP-${i}` } });
    await anchor.settled();
    const written = await readCheckpoint(paths.file, key);
    if (written && written.seq !== checkpoints.at(-1)) checkpoints.push(written.seq);
  }
  await anchor.close();
  checkpoints.push((await readCheckpoint(paths.file, key))!.seq);
  audit.close();
  return { db, jsonlPath, paths, checkpoints, head: audit.head };
}

Deno.test("audit checkpoints: signed at start, every N records and at stop; key and file 0600", async () => {
  await withTempDir(async (dir) => {
    const { db, paths, checkpoints, head } = await writeLog(dir, 25);
    assert.deepEqual(checkpoints, [0, 10, 20, 25], "at start, every 10 records, at stop");
    const last = await readCheckpoint(paths.file, await readCheckpointKey(paths.keyFile));
    assert.deepEqual([last?.seq, last?.hash], [25, head.hash], "the head at stop");
    assert.equal(modeOf(paths.file), 0o600);
    assert.equal(modeOf(paths.keyFile), 0o600);
    assert.ok(
      !Deno.readTextFileSync(join(dir, "audit.jsonl")).includes(
        Deno.readTextFileSync(paths.keyFile).trim(),
      ),
      "the key is not in the log",
    );
    db.close();
  });
});

Deno.test("audit checkpoints: an edited checkpoint fails its signature; Central refuses a database cut below its checkpoint", async () => {
  await withTempDir(async (dir) => {
    const { db, jsonlPath, paths } = await writeLog(dir, 12);
    const key = await readCheckpointKey(paths.keyFile);
    const genuine = Deno.readTextFileSync(paths.file);
    Deno.writeTextFileSync(paths.file, genuine.replace(/"seq":12/, '"seq":11'));
    await assert.rejects(readCheckpoint(paths.file, key), /signature does not match/);
    Deno.writeTextFileSync(paths.file, genuine);

    // Both copies cut while Central was down: the database and the file lose records 9–12.
    db.exec("DELETE FROM audit_log WHERE seq > 8");
    const lines = Deno.readTextFileSync(jsonlPath).split("\n").slice(0, 8);
    Deno.writeTextFileSync(jsonlPath, lines.join("\n") + "\n");
    const audit = AuditLog.open({ db, jsonlPath });
    await assert.rejects(
      AuditCheckpointer.open({ audit, db, ...paths }),
      (e) => e instanceof AuditCheckpointError && /records 9…12 were cut off/.test(e.message),
    );
    assert.equal(Deno.readTextFileSync(paths.file), genuine, "the evidence is left as it was");
    audit.close();
    db.close();
  });
});

Deno.test("audit:verify (a process): a log whose tail was cut off fails at the first missing record; a removed or forged checkpoint fails", async () => {
  await withTempDir(async (dir) => {
    const { db, jsonlPath, paths } = await writeLog(dir, 30);
    db.close();
    const whole = await verifyCli([jsonlPath]);
    assert.equal(whole.code, 0, whole.stdout + whole.stderr);
    assert.match(whole.stdout, /^OK: 30 records, head 30\/[0-9a-f]{12}\ncheckpoint: seq 30 signed/);

    const lines = Deno.readTextFileSync(jsonlPath).split("\n").slice(0, 30);
    Deno.writeTextFileSync(jsonlPath, lines.slice(0, 26).join("\n") + "\n");
    const cut = await verifyCli([jsonlPath]);
    assert.equal(cut.code, 1, cut.stdout + cut.stderr);
    assert.match(
      cut.stdout,
      /^FAIL at record 27 \(line 27\): the log ends at seq 26 but the expected head is seq 30: the last 4 records are missing \[the checkpoint signed /,
    );
    const chainOnly = await verifyCli([jsonlPath, "--no-checkpoint"]);
    assert.equal(chainOnly.code, 0, "the chain alone cannot tell");

    Deno.writeTextFileSync(jsonlPath, lines.join("\n") + "\n");
    const genuine = Deno.readTextFileSync(paths.file);
    const record26 = JSON.parse(lines[25]);
    const forged = JSON.parse(genuine);
    Deno.writeTextFileSync(
      paths.file,
      JSON.stringify({ ...forged, seq: 26, hash: record26.hash }),
    );
    const forgery = await verifyCli([jsonlPath]);
    assert.equal(forgery.code, 1);
    assert.match(forgery.stdout, /^FAIL: .*the signature does not match/);

    Deno.removeSync(paths.file);
    const removed = await verifyCli([jsonlPath]);
    assert.equal(removed.code, 1);
    assert.match(removed.stdout, /^FAIL: no checkpoint .* it was removed/);
  });
});
