import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { KEEP_AFTER_EXPIRY_MS, SqliteUsedTokens, UsedTokens } from "./used_tokens.ts";

const T0 = 1_800_000_000_000;

Deno.test("used tokens: a jti logs in once, another jti is free", () => {
  const used = new UsedTokens();
  assert.equal(used.claim("a", T0 + 600_000, T0), true);
  assert.equal(used.claim("a", T0 + 600_000, T0 + 1), false, "the same token again");
  assert.equal(used.claim("b", T0 + 600_000, T0 + 2), true);
  assert.equal(used.size, 2);
});

Deno.test("used tokens: a jti is kept past its expiry by the clock tolerance, then forgotten", () => {
  const used = new UsedTokens();
  used.claim("a", T0 + 1000, T0);
  const stillKept = T0 + 1000 + KEEP_AFTER_EXPIRY_MS - 1;
  assert.equal(used.claim("a", T0 + 1000, stillKept), false, "within the skew window");
  assert.equal(used.prune(T0 + 1000 + KEEP_AFTER_EXPIRY_MS), 1);
  assert.equal(used.size, 0, "nothing grows without end");
});

Deno.test("used tokens: bad arguments are refused", () => {
  const used = new UsedTokens();
  assert.throws(() => used.claim("", T0, T0), RangeError);
  assert.throws(() => used.claim("a", Number.NaN, T0), RangeError);
});

Deno.test("used tokens: SQLite keeps them across a restart and prunes expired rows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "used_tokens_" });
  try {
    const path = join(dir, "central.db");
    let db = new DatabaseSync(path);
    const first = new SqliteUsedTokens(db, T0);
    assert.equal(first.claim("a", T0 + 600_000, T0), true);
    assert.equal(first.claim("old", T0 + 1000, T0), true);
    db.close();

    db = new DatabaseSync(path);
    const later = T0 + 1000 + KEEP_AFTER_EXPIRY_MS; // "old" is past keeping, "a" is not
    const second = new SqliteUsedTokens(db, later);
    assert.equal(second.size, 1);
    assert.equal(second.claim("a", T0 + 600_000, later), false, "a restart reopens nothing");
    const rows = db.prepare("SELECT jti FROM used_token_ids").all().map((r) => r.jti);
    assert.deepEqual(rows, ["a"]);
    db.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
