import assert from "node:assert/strict";
import {
  CpKeyError,
  deriveCpKey,
  exportCpKey,
  exportEcdhPublicKey,
  generateEcdhKeyPair,
  importCpKey,
  importEcdhPublicKey,
  loadOrCreateMasterKey,
  newSalt,
  unwrapCpKey,
  wrapCpKey,
} from "./cp_key.ts";
import { decodeBase64, encodeBase64 } from "./encoding.ts";

/** One login: Monitor and Central swap base64 public keys and both derive the CP key. */
async function login(
  cpId = "CP-001",
  keyVersion = 1,
  salt = newSalt(),
  extractable = false,
) {
  const monitor = await generateEcdhKeyPair();
  const central = await generateEcdhKeyPair();
  const monitorPub = await exportEcdhPublicKey(monitor.publicKey); // in AUTH
  const centralPub = await exportEcdhPublicKey(central.publicKey); // in AUTH_OK
  const atMonitor = await deriveCpKey({
    privateKey: monitor.privateKey,
    peerPublicKey: await importEcdhPublicKey(centralPub),
    salt,
    cpId,
    keyVersion,
    extractable,
  });
  const atCentral = await deriveCpKey({
    privateKey: central.privateKey,
    peerPublicKey: await importEcdhPublicKey(monitorPub),
    salt,
    cpId,
    keyVersion,
    extractable,
  });
  return { monitor, central, monitorPub, centralPub, atMonitor, atCentral };
}

const iv = new Uint8Array(12);
const encrypt = async (key: CryptoKey, text: string) =>
  await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, new TextEncoder().encode(text));
const decrypt = async (key: CryptoKey, ct: ArrayBuffer) =>
  new TextDecoder().decode(await crypto.subtle.decrypt({ name: "AES-GCM", iv }, key, ct));

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "cp_key_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("two parties derive the same CP key from each other's public keys", async () => {
  const { atMonitor, atCentral } = await login("CP-001", 1, newSalt(), true);
  assert.equal(await exportCpKey(atMonitor), await exportCpKey(atCentral));
  assert.equal(await decrypt(atCentral, await encrypt(atMonitor, "hello")), "hello");
});

Deno.test("a different salt, CP id or key version derives a key that cannot decrypt", async () => {
  const salt = newSalt();
  const { monitor, centralPub, atCentral } = await login("CP-001", 1, salt);
  const ct = await encrypt(atCentral, "for CP-001 v1");
  const variants = [
    { salt: newSalt(), cpId: "CP-001", keyVersion: 1 },
    { salt, cpId: "CP-002", keyVersion: 1 },
    { salt, cpId: "CP-001", keyVersion: 2 },
  ];
  for (const v of variants) {
    const other = await deriveCpKey({
      privateKey: monitor.privateKey,
      peerPublicKey: await importEcdhPublicKey(centralPub),
      ...v,
    });
    await assert.rejects(decrypt(other, ct), { name: "OperationError" }, JSON.stringify(v));
  }
  // The unchanged inputs still work, so the failures above come from the one changed input.
  const same = await deriveCpKey({
    privateKey: monitor.privateKey,
    peerPublicKey: await importEcdhPublicKey(centralPub),
    salt,
    cpId: "CP-001",
    keyVersion: 1,
  });
  assert.equal(await decrypt(same, ct), "for CP-001 v1");
});

Deno.test("a CP key is extractable only when asked for", async () => {
  const { atMonitor } = await login();
  assert.equal(atMonitor.extractable, false);
  await assert.rejects(exportCpKey(atMonitor), CpKeyError);
  const master = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
    "wrapKey",
    "unwrapKey",
  ]);
  await assert.rejects(wrapCpKey(master, atMonitor, { cpId: "CP-001", keyVersion: 1 }), CpKeyError);
});

Deno.test("a KEY frame round trip gives the engine a working, non-extractable key", async () => {
  const { atMonitor, atCentral } = await login("CP-001", 3, newSalt(), true);
  const frameKey = await exportCpKey(atMonitor);
  assert.equal(decodeBase64(frameKey)?.length, 32);
  const atEngine = await importCpKey(frameKey);
  assert.equal(atEngine.extractable, false);
  assert.equal(await decrypt(atEngine, await encrypt(atCentral, "STOP")), "STOP");
});

Deno.test("a malformed CP key in a KEY frame is rejected with CpKeyError", async () => {
  for (const bad of ["", "not base64!", encodeBase64(new Uint8Array(16)), "AAAA AAAA"]) {
    await assert.rejects(importCpKey(bad), CpKeyError, bad);
  }
});

Deno.test("the ECDH public key is base64 of a 65-byte uncompressed point", async () => {
  const { monitorPub } = await login();
  const raw = decodeBase64(monitorPub);
  assert.equal(raw?.length, 65);
  assert.equal(raw?.[0], 0x04);
});

Deno.test("a malformed ECDH public key is rejected with a clear CpKeyError", async () => {
  const { monitorPub } = await login();
  const good = decodeBase64(monitorPub)!;
  const edit = (f: (b: Uint8Array) => void) => {
    const b = good.slice();
    f(b);
    return encodeBase64(b);
  };
  const p = "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff";
  const bad = {
    "empty": "",
    "not base64": "%%%",
    "base64 with whitespace": monitorPub.slice(0, 8) + " " + monitorPub.slice(8),
    "compressed point": encodeBase64(good.slice(0, 33).map((b, i) => (i === 0 ? 0x02 : b))),
    "too long": encodeBase64(new Uint8Array([...good, 0])),
    "wrong prefix": edit((b) => (b[0] = 0x05)),
    "off the curve": edit((b) => (b[64] ^= 1)),
    "all zero": edit((b) => b.fill(0, 1)),
    "x not below p": edit((b) => b.set(Uint8Array.fromHex(p), 1)),
  };
  for (const [what, key] of Object.entries(bad)) {
    await assert.rejects(importEcdhPublicKey(key), (err: unknown) => {
      assert.ok(err instanceof CpKeyError, what);
      assert.match(err.message, /uncompressed P-256 point/);
      return true;
    });
  }
});

Deno.test("deriveCpKey rejects a bad salt, CP id or key version", async () => {
  const { monitor, centralPub } = await login();
  const base = {
    privateKey: monitor.privateKey,
    peerPublicKey: await importEcdhPublicKey(centralPub),
    salt: newSalt(),
    cpId: "CP-001",
    keyVersion: 1,
  };
  const bad = [
    { salt: encodeBase64(new Uint8Array(16)) },
    { salt: "not base64" },
    { cpId: "ab" },
    { cpId: "CP|001" },
    { keyVersion: -1 },
    { keyVersion: 1.5 },
  ];
  for (const b of bad) {
    await assert.rejects(deriveCpKey({ ...base, ...b }), CpKeyError, JSON.stringify(b));
  }
});

async function randomMaster(): Promise<CryptoKey> {
  return await loadOrCreateMasterKey(
    "/nonexistent/unused",
    encodeBase64(crypto.getRandomValues(new Uint8Array(32))),
  );
}

Deno.test("a wrapped CP key unwraps only under the right master key and for the right CP and kv", async () => {
  const { atCentral, atMonitor } = await login("CP-001", 7, newSalt(), true);
  const master = await randomMaster();
  const wrapped = await wrapCpKey(master, atCentral, { cpId: "CP-001", keyVersion: 7 });
  assert.equal(decodeBase64(wrapped)?.length, 60);

  const unwrapped = await unwrapCpKey(master, wrapped, { cpId: "CP-001", keyVersion: 7 });
  assert.equal(unwrapped.extractable, false);
  assert.equal(await decrypt(unwrapped, await encrypt(atMonitor, "telemetry")), "telemetry");

  const wrong: [CryptoKey, string, number][] = [
    [await randomMaster(), "CP-001", 7],
    [master, "CP-002", 7],
    [master, "CP-001", 8],
  ];
  for (const [key, cpId, keyVersion] of wrong) {
    await assert.rejects(unwrapCpKey(key, wrapped, { cpId, keyVersion }), (err: unknown) => {
      assert.ok(err instanceof CpKeyError);
      assert.match(err.message, /cannot unwrap the key of CP/);
      return true;
    });
  }
  const tampered = decodeBase64(wrapped)!;
  tampered[20] ^= 1;
  await assert.rejects(
    unwrapCpKey(master, encodeBase64(tampered), { cpId: "CP-001", keyVersion: 7 }),
    CpKeyError,
  );
  await assert.rejects(
    unwrapCpKey(master, "short", { cpId: "CP-001", keyVersion: 7 }),
    /wrapped CP key is malformed/,
  );
});

Deno.test("the master key file is created with mode 0600 and reused on the next start", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/data/master.key`; // its directory is created too
    const first = await loadOrCreateMasterKey(path);
    const info = await Deno.stat(path);
    assert.equal(info.mode! & 0o777, 0o600);
    assert.equal(info.size, 32);
    assert.equal(first.extractable, false);

    const { atCentral } = await login("CP-001", 1, newSalt(), true);
    const wrapped = await wrapCpKey(first, atCentral, { cpId: "CP-001", keyVersion: 1 });
    const second = await loadOrCreateMasterKey(path);
    await unwrapCpKey(second, wrapped, { cpId: "CP-001", keyVersion: 1 });
  });
});

Deno.test("a master key file readable by group or others is refused", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/master.key`;
    await loadOrCreateMasterKey(path);
    await Deno.chmod(path, 0o644);
    await assert.rejects(loadOrCreateMasterKey(path), (err: unknown) => {
      assert.ok(err instanceof CpKeyError);
      assert.match(err.message, /mode 644.*chmod 600/);
      return true;
    });
  });
});

Deno.test("a master key file of the wrong length is refused", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/master.key`;
    for (const size of [0, 31, 33, 44]) {
      await Deno.writeFile(path, new Uint8Array(size), { mode: 0o600 });
      await Deno.chmod(path, 0o600);
      await assert.rejects(
        loadOrCreateMasterKey(path),
        new RegExp(`exactly 32 bytes, not ${size}`),
      );
    }
  });
});

Deno.test("a master key from the environment is used without touching the file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/master.key`;
    const env = encodeBase64(crypto.getRandomValues(new Uint8Array(32)));
    const first = await loadOrCreateMasterKey(path, env);
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);

    const { atCentral } = await login("CP-001", 1, newSalt(), true);
    const wrapped = await wrapCpKey(first, atCentral, { cpId: "CP-001", keyVersion: 1 });
    await unwrapCpKey(await loadOrCreateMasterKey(path, env), wrapped, {
      cpId: "CP-001",
      keyVersion: 1,
    });

    for (const bad of ["not base64", encodeBase64(new Uint8Array(16))]) {
      await assert.rejects(loadOrCreateMasterKey(path, bad), (err: unknown) => {
        assert.ok(err instanceof CpKeyError);
        assert.ok(!err.message.includes(bad));
        return true;
      });
    }
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
  });
});
