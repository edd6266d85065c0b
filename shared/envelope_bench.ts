/**
 * `deno bench -A shared/envelope_bench.ts`: what one AES-256-GCM open of a telemetry envelope
 * costs through Web Crypto (one at a time, and 64 at once as Central's batch handler opens them)
 * against `node:crypto` and OpenSSL over FFI (shared/openssl_gcm.ts, Central's `--libcrypto`),
 * and what `openEnvelope` costs in all with each. The figures are in BENCHMARKS.md.
 *
 * @module
 */
import { createDecipheriv, KeyObject } from "node:crypto";
import { envelopeAad, openEnvelope } from "./envelope.ts";
import { OpenSslGcm } from "./openssl_gcm.ts";
import { sealSampleTelemetry } from "./sample_envelope.ts";

const BATCH = 64;
const { key, header, envelope } = await sealSampleTelemetry();
const iv = Uint8Array.fromBase64(envelope.iv);
const ct = Uint8Array.fromBase64(envelope.ct);
const aad = envelopeAad(header);
const keyObject = KeyObject.from(key);
const openssl = OpenSslGcm.load("libcrypto.so.3");
const rawKey = new Uint8Array(keyObject.export());

const webDecrypt = () =>
  crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: aad }, key, ct);

function nodeDecrypt(): Uint8Array {
  const decipher = createDecipheriv("aes-256-gcm", keyObject, iv, { authTagLength: 16 });
  decipher.setAAD(aad);
  decipher.setAuthTag(ct.subarray(ct.length - 16));
  const head = decipher.update(ct.subarray(0, ct.length - 16));
  const tail = decipher.final();
  return tail.length === 0 ? head : new Uint8Array([...head, ...tail]);
}

Deno.bench(
  "AES-256-GCM open: Web Crypto, one at a time",
  { group: "open", baseline: true },
  async () => {
    await webDecrypt();
  },
);

Deno.bench(`AES-256-GCM open: Web Crypto, a batch of ${BATCH} at once`, {
  group: "open",
  n: 200,
}, async (b) => {
  b.start();
  await Promise.all(Array.from({ length: BATCH }, webDecrypt));
  b.end();
});

Deno.bench("AES-256-GCM open: node:crypto", { group: "open" }, () => {
  nodeDecrypt();
});

Deno.bench("AES-256-GCM open: OpenSSL over FFI", { group: "open" }, () => {
  openssl.open(rawKey, iv, aad, ct);
});

Deno.bench(
  "openEnvelope (parse, checks, open, JSON): node:crypto",
  { group: "envelope" },
  async () => {
    await openEnvelope(key, envelope, { channel: header.channel, expectCp: header.cp });
  },
);

Deno.bench("openEnvelope (parse, checks, open, JSON): OpenSSL", { group: "envelope" }, async () => {
  await openEnvelope(key, envelope, {
    channel: header.channel,
    expectCp: header.cp,
    gcm: openssl,
  });
});
