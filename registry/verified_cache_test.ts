import assert from "node:assert/strict";
import { VerifiedCredentials } from "./verified_cache.ts";

const HASH = "scrypt$16384$8$1$salt$hash";

Deno.test("a remembered credential matches until its entry expires", () => {
  const cache = new VerifiedCredentials({ ttlMs: 1000 });
  cache.remember("CP-1", HASH, "secret", 0);
  assert.equal(cache.matches("CP-1", HASH, "secret", 999), true);
  assert.equal(cache.matches("CP-1", HASH, "secret", 1000), false);
  assert.equal(cache.size, 0, "an expired entry is dropped when looked up");
});

Deno.test("a wrong credential, another CP or a changed stored hash never matches", () => {
  const cache = new VerifiedCredentials();
  cache.remember("CP-1", HASH, "secret", 0);
  assert.equal(cache.matches("CP-1", HASH, "secreT", 1), false);
  assert.equal(cache.matches("CP-1", HASH, "", 1), false);
  assert.equal(cache.matches("CP-2", HASH, "secret", 1), false);
  assert.equal(cache.matches("CP-1", HASH, "secret", 1), true, "a miss keeps a good entry");
  assert.equal(cache.matches("CP-1", `${HASH}2`, "secret", 1), false, "re-registered");
  assert.equal(cache.matches("CP-1", HASH, "secret", 1), false, "and the old entry is gone");
});

Deno.test("forget drops a CP; remembering again replaces its entry", () => {
  const cache = new VerifiedCredentials();
  cache.remember("CP-1", HASH, "old", 0);
  cache.remember("CP-1", HASH, "new", 0);
  assert.equal(cache.matches("CP-1", HASH, "old", 1), false);
  assert.equal(cache.matches("CP-1", HASH, "new", 1), true);
  cache.forget("CP-1");
  assert.equal(cache.matches("CP-1", HASH, "new", 1), false);
});

Deno.test("past maxEntries the least recently remembered CP is forgotten", () => {
  const cache = new VerifiedCredentials({ maxEntries: 2 });
  cache.remember("CP-1", HASH, "a", 0);
  cache.remember("CP-2", HASH, "b", 0);
  cache.remember("CP-1", HASH, "a", 0); // CP-1 is now the newest
  cache.remember("CP-3", HASH, "c", 0);
  assert.equal(cache.size, 2);
  assert.equal(cache.matches("CP-2", HASH, "b", 1), false);
  assert.equal(cache.matches("CP-1", HASH, "a", 1), true);
  assert.equal(cache.matches("CP-3", HASH, "c", 1), true);
});

Deno.test("bad options are refused with the option named", () => {
  assert.throws(() => new VerifiedCredentials({ ttlMs: 0 }), /ttlMs/);
  assert.throws(() => new VerifiedCredentials({ ttlMs: 1.5 }), /ttlMs/);
  assert.throws(() => new VerifiedCredentials({ maxEntries: 0 }), /maxEntries/);
});
