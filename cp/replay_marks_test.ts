import assert from "node:assert/strict";
import { join } from "node:path";
import { ReplayGuard } from "../shared/envelope.ts";
import { KEPT_KEY_VERSIONS, ReplayMarksError, ReplayMarksFile } from "./replay_marks.ts";
import { withTempDir } from "../shared/temp_dir.ts";

Deno.test("ReplayMarksFile: marks saved (0600) come back into a new guard and refuse a replay", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "cp", "CP-1.replay.json");
    const file = new ReplayMarksFile(path, "CP-1");
    const guard = new ReplayGuard();
    assert.equal(await file.load(guard), 0, "no file yet: no marks");
    guard.accept("CP-1", 3, "cp.commands", 5);
    await file.save(guard);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);

    const restarted = new ReplayGuard();
    assert.equal(await new ReplayMarksFile(path, "CP-1").load(restarted), 1);
    assert.throws(() => restarted.check("CP-1", 3, "cp.commands", 5), /already accepted/);
    restarted.check("CP-1", 3, "cp.commands", 6);
  });
});

Deno.test("ReplayMarksFile: keeps only the newest key versions; a damaged file is a clear error", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "CP-1.replay.json");
    const file = new ReplayMarksFile(path, "CP-1");
    const guard = new ReplayGuard();
    for (let kv = 1; kv <= KEPT_KEY_VERSIONS + 4; kv++) guard.accept("CP-1", kv, "cp.commands", 0);
    await Promise.all([file.save(guard), file.save(guard)]); // one after the other, never mixed
    const kept = JSON.parse(await Deno.readTextFile(path)).marks.map((m: { kv: number }) => m.kv);
    assert.deepEqual(kept.sort((a: number, b: number) => a - b), [5, 6, 7, 8, 9, 10, 11, 12]);

    await Deno.writeTextFile(path, "{not json");
    await assert.rejects(file.load(new ReplayGuard()), ReplayMarksError);
    await Deno.writeTextFile(path, JSON.stringify({ v: 1, marks: [{ cp: "CP-1", kv: -1 }] }));
    await assert.rejects(file.load(new ReplayGuard()), ReplayMarksError);
  });
});
