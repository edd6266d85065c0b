import assert from "node:assert/strict";
import { join } from "node:path";
import {
  EngineLinkError,
  LinkKey,
  newLinkSecret,
  readLinkSecret,
  writeLinkSecret,
} from "./engine_link.ts";
import { withTempDir } from "../shared/temp_dir.ts";

const [EN, MN] = ["ZW5naW5lLW5vbmNl", "bW9uaXRvci1ub25jZQ=="];

Deno.test("LinkKey: a proof checks out only for its secret, its role and its nonces", async () => {
  const secret = newLinkSecret();
  const key = await LinkKey.of(secret);
  const proof = await key.prove("monitor", EN, MN);
  assert.equal(await key.verify("monitor", EN, MN, proof), true);
  assert.equal(await key.verify("engine", EN, MN, proof), false, "not reflected as the engine's");
  assert.equal(await key.verify("monitor", MN, EN, proof), false, "nonces bound in order");
  assert.equal(await key.verify("monitor", EN, "b3RoZXI=", proof), false, "a fresh nonce differs");
  const stranger = await LinkKey.of(newLinkSecret());
  assert.equal(await stranger.verify("monitor", EN, MN, proof), false, "another secret");
  assert.equal(await key.verify("monitor", EN, MN, "not base64!"), false, "garbage is no proof");
  await assert.rejects(LinkKey.of(new Uint8Array(8)), EngineLinkError);
});

Deno.test("writeLinkSecret: 0600 in a 0700 folder, read back; a missing or bad file is a clear error", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "state", "engine-7100.secret");
    const secret = newLinkSecret();
    await writeLinkSecret(file, secret);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(join(dir, "state"))).mode! & 0o777, 0o700);
    assert.deepEqual(await readLinkSecret({ file }), secret);
    const next = newLinkSecret();
    await writeLinkSecret(file, next);
    assert.deepEqual(await readLinkSecret({ file }), next, "a new start replaces it whole");
    assert.equal(await readLinkSecret(secret), secret, "bytes are used as they are");

    await assert.rejects(readLinkSecret({ file: join(dir, "none") }), /cannot read/);
    await Deno.writeTextFile(join(dir, "bad"), "short\n");
    await assert.rejects(readLinkSecret({ file: join(dir, "bad") }), /does not hold/);
  });
});
