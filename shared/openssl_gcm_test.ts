import assert from "node:assert/strict";
import { createCipheriv } from "node:crypto";
import {
  decodeEnvelope,
  EnvelopeError,
  nodeGcm,
  openDecodedEnvelope,
  openingKeyBytes,
  sealEnvelope,
} from "./envelope.ts";
import { OpenSslGcm, OpenSslLoadError } from "./openssl_gcm.ts";

/** The library every Debian with OpenSSL 3 has (CI installs `libssl3`). */
const LIBCRYPTO = "libcrypto.so.3";

/** `n` random bytes (`getRandomValues` gives at most 64 KiB a call). */
function random(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let at = 0; at < n; at += 65_536) crypto.getRandomValues(bytes.subarray(at, at + 65_536));
  return bytes;
}

/** `plain` sealed by `node:crypto`: ciphertext ‖ tag. */
function seal(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, plain: Uint8Array): Uint8Array {
  const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: 16 });
  cipher.setAAD(aad);
  const body = cipher.update(plain);
  const rest = cipher.final();
  const sealed = new Uint8Array(body.length + rest.length + 16);
  sealed.set(body);
  sealed.set(rest, body.length);
  sealed.set(cipher.getAuthTag(), body.length + rest.length);
  return sealed;
}

Deno.test("openssl gcm: opens what node:crypto sealed, at every size", () => {
  using gcm = OpenSslGcm.load(LIBCRYPTO);
  const key = random(32);
  for (const size of [0, 1, 15, 16, 17, 152, 4096, 1 << 20]) {
    const iv = random(12);
    const aad = new TextEncoder().encode(`v1|CP-1|1|${size}|cp.telemetry`);
    const plain = random(size);
    assert.deepEqual(gcm.open(key, iv, aad, seal(key, iv, aad, plain)), plain, `${size} bytes`);
  }
});

Deno.test("openssl gcm: a changed bit anywhere, another key, IV or AAD is refused", () => {
  using gcm = OpenSslGcm.load(LIBCRYPTO);
  const key = random(32);
  const iv = random(12);
  const aad = new TextEncoder().encode("v1|CP-1|1|7|cp.telemetry");
  const sealed = seal(key, iv, aad, new TextEncoder().encode('{"v":1,"type":"SUPPLY"}'));
  for (let i = 0; i < sealed.length; i++) {
    const tampered = sealed.slice();
    tampered[i] ^= 0x01;
    assert.equal(gcm.open(key, iv, aad, tampered), null, `bit of byte ${i}`);
  }
  assert.equal(gcm.open(random(32), iv, aad, sealed), null, "another key");
  assert.equal(gcm.open(key, random(12), aad, sealed), null, "another IV");
  assert.equal(gcm.open(key, iv, aad.subarray(1), sealed), null, "another AAD");
  assert.equal(gcm.open(key, iv, new Uint8Array(0), sealed), null, "no AAD");
  assert.equal(gcm.open(key, iv, aad, sealed.subarray(0, 15)), null, "shorter than a tag");
  assert.equal(gcm.open(key, iv, aad, random(64)), null, "random bytes");
  // The context is set afresh for each open: a refusal leaves nothing behind.
  assert.notEqual(gcm.open(key, iv, aad, sealed), null, "the original still opens");
});

Deno.test("openssl gcm: a key or IV of the wrong length is refused before OpenSSL sees it", () => {
  using gcm = OpenSslGcm.load(LIBCRYPTO);
  const sealed = random(48);
  assert.throws(() => gcm.open(random(31), random(12), random(4), sealed), /key must be 32 bytes/);
  assert.throws(() => gcm.open(random(33), random(12), random(4), sealed), /key must be 32 bytes/);
  assert.throws(() => gcm.open(random(32), random(16), random(4), sealed), /iv must be 12 bytes/);
});

Deno.test("openssl gcm: opening after close is refused, and closing twice is harmless", () => {
  const gcm = OpenSslGcm.load(LIBCRYPTO);
  gcm.close();
  gcm.close();
  assert.throws(() => gcm.open(random(32), random(12), random(4), random(32)), /was closed/);
});

Deno.test("openssl gcm: a library that is not there, or is not libcrypto, is named in the error", () => {
  assert.throws(
    () => OpenSslGcm.load("/nonexistent/libcrypto.so.3"),
    (error: unknown) =>
      error instanceof OpenSslLoadError && error.message.includes("/nonexistent/libcrypto.so.3"),
  );
  // libc has none of the EVP functions.
  assert.throws(
    () => OpenSslGcm.load("libc.so.6"),
    (error: unknown) => error instanceof OpenSslLoadError && /EVP_/.test(error.message),
  );
  assert.throws(() => OpenSslGcm.load(""), TypeError);
});

Deno.test("openssl gcm: a process without --allow-ffi is told to run with it", async () => {
  const code = `
    import { OpenSslGcm } from ${JSON.stringify(new URL("./openssl_gcm.ts", import.meta.url).href)};
    try { OpenSslGcm.load(${JSON.stringify(LIBCRYPTO)}); console.log("loaded"); }
    catch (error) { console.log(error.message); }
  `;
  // `deno eval` would allow everything; `deno run` of a file allows only what it is given.
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, code);
    const { stdout, success } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--no-prompt", file],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    assert.ok(success);
    assert.match(new TextDecoder().decode(stdout), /may not use FFI \(run it with --allow-ffi\)/);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("openssl gcm: an envelope opens to the same payload, and a forgery gets the same reason", async () => {
  using gcm = OpenSslGcm.load(LIBCRYPTO);
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, true, [
    "encrypt",
    "decrypt",
  ]);
  const channel = "cp.telemetry";
  const payload = { v: 1, type: "SUPPLY", kwh: 1.5 };
  const envelope = await sealEnvelope(key, { cp: "CP-1", kv: 1, seq: 9, channel }, payload);
  const raw = openingKeyBytes(key);
  for (const opener of [nodeGcm, gcm]) {
    assert.deepEqual(
      openDecodedEnvelope(raw, decodeEnvelope(envelope), { channel, gcm: opener }),
      payload,
    );
    const moved = decodeEnvelope({ ...envelope, seq: 10 }); // the AAD no longer matches
    assert.throws(
      () => openDecodedEnvelope(raw, moved, { channel, gcm: opener }),
      (error: unknown) => error instanceof EnvelopeError && error.reason === "tag",
    );
  }
});
