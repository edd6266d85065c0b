import assert from "node:assert/strict";
import {
  createHashQueue,
  DEFAULT_SCRYPT,
  hashCredential,
  QueueFullError,
  verifyCredential,
} from "./credentials.ts";
import { generateCredential } from "../shared/secret_file.ts";

const FAST = { N: 1024, r: 8, p: 1 };

Deno.test("hashCredential stores params, salt and hash, never the credential", async () => {
  const credential = generateCredential();
  const stored = await hashCredential(credential, FAST);
  assert.match(stored, /^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
  assert.ok(!stored.includes(credential));
  const again = await hashCredential(credential, FAST);
  assert.notEqual(again, stored, "a fresh salt every time");
});

Deno.test("verifyCredential accepts the right credential and nothing else", async () => {
  const credential = generateCredential();
  const stored = await hashCredential(credential, FAST);
  assert.equal(await verifyCredential(credential, stored), true);
  assert.equal(await verifyCredential(generateCredential(), stored), false);
  assert.equal(await verifyCredential(credential + "x", stored), false);
  assert.equal(await verifyCredential("", stored), false);
});

Deno.test("verifyCredential treats a malformed stored value as no match", async () => {
  const credential = generateCredential();
  for (
    const stored of [
      "",
      "plain",
      "scrypt$1024$8$1$salt",
      "bcrypt$1$2$3$a$b",
      "scrypt$3$8$1$AAAA$AAAA",
    ]
  ) {
    assert.equal(await verifyCredential(credential, stored), false, stored);
  }
});

Deno.test("verifyCredential reads the params stored with the hash (default cost works)", async () => {
  const credential = generateCredential();
  const stored = await hashCredential(credential, DEFAULT_SCRYPT);
  assert.ok(stored.startsWith("scrypt$16384$8$1$"));
  assert.equal(await verifyCredential(credential, stored), true);
});

Deno.test("a full hash queue refuses a check at once instead of calling it a mismatch", async () => {
  const queue = createHashQueue(1);
  const stored = await hashCredential("secret", FAST, queue);
  const gate = Promise.withResolvers<void>();
  const busy = queue.run(() => gate.promise); // a hash that takes long
  const waiting = verifyCredential("secret", stored, queue);
  await assert.rejects(verifyCredential("secret", stored, queue), QueueFullError);
  await assert.rejects(hashCredential("other", FAST, queue), QueueFullError);
  gate.resolve();
  await busy;
  assert.equal(await waiting, true, "the queued check still runs");
  assert.equal(await verifyCredential("secret", stored, queue), true);
});
