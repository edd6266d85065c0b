import assert from "node:assert/strict";
import { importCpKey } from "../shared/cp_key.ts";
import { encodeBase64 } from "../shared/encoding.ts";
import { sealEnvelope } from "../shared/envelope.ts";
import { assertSealed } from "./kafka_wire.ts";

const PAYLOAD = { type: "SUPPLY", sessionId: "S-1", kwh: 0.5 };
const PLAINS = ["SUPPLY", "sessionId", "kwh"];

async function sealed() {
  const key = await importCpKey(encodeBase64(crypto.getRandomValues(new Uint8Array(32))));
  return await sealEnvelope(key, { cp: "CP-1", kv: 1, seq: 1, channel: "cp.telemetry" }, PAYLOAD);
}

Deno.test("assertSealed: a sealed envelope passes, whatever its base64 or its bytes spell", async () => {
  const envelope = await sealed();
  assertSealed(envelope, PLAINS);
  assertSealed({ ...envelope, ct: "kwhAkwhA" }, PLAINS); // base64 that spells "kwh"
  assertSealed({ ...envelope, ct: encodeBase64(new TextEncoder().encode("kwhSUPPLY")) }, PLAINS);
});

Deno.test("assertSealed: plaintext in ct's bytes, in a clear field or an extra field fails", async () => {
  const envelope = await sealed();
  const plainCt = encodeBase64(new TextEncoder().encode(JSON.stringify(PAYLOAD)));
  assert.throws(() => assertSealed({ ...envelope, ct: plainCt }, PLAINS), /"SUPPLY" readable/);
  assert.throws(() => assertSealed({ ...envelope, cp: "kwh" }, PLAINS), /"kwh" readable/);
  assert.throws(() => assertSealed({ ...envelope, kwh: 1 }, PLAINS));
  assert.throws(() => assertSealed({ ...envelope, iv: "not base64!" }, PLAINS), /base64/);
});
