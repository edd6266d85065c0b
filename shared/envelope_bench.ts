/**
 * `deno bench shared/envelope_bench.ts`: what one AES-256-GCM open of a telemetry envelope costs
 * through Web Crypto (one at a time, and 64 at once as Central's batch handler opens them)
 * against `node:crypto`, and what `openEnvelope` (which uses `node:crypto`) costs in all. The
 * figures are in BENCHMARKS.md.
 *
 * @module
 */
import { createDecipheriv, KeyObject } from "node:crypto";
import { envelopeAad, openEnvelope } from "./envelope.ts";
import { sealSampleTelemetry } from "./sample_envelope.ts";

const BATCH = 64;
const { key, header, envelope } = await sealSampleTelemetry();
const iv = Uint8Array.fromBase64(envelope.iv);
const ct = Uint8Array.fromBase64(envelope.ct);
const aad = envelopeAad(header);
const keyObject = KeyObject.from(key);

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

Deno.bench("openEnvelope (parse, checks, open, JSON)", async () => {
  await openEnvelope(key, envelope, { channel: header.channel, expectCp: header.cp });
});
