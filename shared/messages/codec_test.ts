/**
 * Decoding and building: size caps, UTF-8 and JSON errors explained, `build` stamping and
 * validating, and `parseMessage` never throwing on arbitrary input.
 *
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  build,
  commandPayloadSchema,
  decodeJson,
  decodeMessage,
  driverRequestSchema,
  driverUpdateSchema,
  MAX_JSON_BYTES,
  monitorToCentralSchema,
  parseMessage,
} from "../messages.ts";
import { channels, examples, TS } from "./test_support.ts";

Deno.test("decodeJson reads UTF-8 bytes and strings and explains what is wrong", () => {
  const text = JSON.stringify(examples[0].message);
  assert.deepEqual(decodeJson(text), { ok: true, value: examples[0].message });
  assert.deepEqual(decodeJson(new TextEncoder().encode(text)), {
    ok: true,
    value: examples[0].message,
  });
  assert.deepEqual(decodeJson('{"token":"SECRET'), {
    ok: false,
    reason: "message is not valid JSON",
  });
  assert.deepEqual(decodeJson(""), { ok: false, reason: "message is not valid JSON" });
  assert.deepEqual(decodeJson(new Uint8Array([0x22, 0xc3, 0x28, 0x22])), {
    ok: false,
    reason: "message is not valid UTF-8",
  });
});

Deno.test("decodeJson refuses input over the size cap before parsing it", () => {
  const huge = `"${"x".repeat(10 * 1024 * 1024)}"`;
  assert.deepEqual(decodeJson(huge), {
    ok: false,
    reason: `message is over the ${MAX_JSON_BYTES}-byte limit`,
  });
  const bytes = new Uint8Array(MAX_JSON_BYTES + 1).fill(0x20);
  assert.deepEqual(decodeJson(bytes), {
    ok: false,
    reason: `message is ${MAX_JSON_BYTES + 1} bytes, over the ${MAX_JSON_BYTES}-byte limit`,
  });
  // 30 000 three-byte characters are 90 000 bytes: over a 64 KiB cap though only 30 000 long.
  assert.equal(decodeJson(`"${"€".repeat(30_000)}"`, 64 * 1024).ok, false);
  assert.equal(decodeJson(`"${"€".repeat(20_000)}"`, 64 * 1024).ok, true);
  assert.throws(() => decodeJson("1", 0), RangeError);
});

Deno.test("decodeMessage decodes then validates in one step", () => {
  const text = JSON.stringify(examples[0].message);
  assert.deepEqual(decodeMessage(driverRequestSchema, text), {
    ok: true,
    value: examples[0].message,
  });
  assert.deepEqual(decodeMessage(driverRequestSchema, "{"), {
    ok: false,
    reason: "message is not valid JSON",
  });
  assert.deepEqual(decodeMessage(driverRequestSchema, '{"v":1,"type":"X"}'), {
    ok: false,
    reason: 'unknown message type "X" (expected CHARGE_REQUEST, CP_LIST_REQUEST, CANCEL_REQUEST)',
  });
});

Deno.test("build stamps version, type and time, and validates", () => {
  const before = Date.now();
  const denied = build(driverUpdateSchema, "DENIED", {
    requestId: "req-1",
    driverId: "DRV-001",
    cpId: "CP_001",
    reason: "weather",
  });
  assert.equal(denied.v, 1);
  assert.equal(denied.type, "DENIED");
  assert.ok(Date.parse(denied.ts) >= before && Date.parse(denied.ts) <= Date.now());
  assert.ok(parseMessage(driverUpdateSchema, denied).ok);

  const given = build(commandPayloadSchema, "STOP", { reason: "admin", ts: TS });
  assert.deepEqual(given, { v: 1, type: "STOP", reason: "admin", ts: TS });

  const frame = build(monitorToCentralSchema, "HEARTBEAT", { seq: 1 });
  assert.deepEqual(frame, { v: 1, type: "HEARTBEAT", seq: 1 });
});

Deno.test("build refuses an invalid field or type with one clear error", () => {
  assert.throws(
    () =>
      build(driverRequestSchema, "CHARGE_REQUEST", { requestId: "r", driverId: "D1", cpId: "CP1" }),
    {
      name: "TypeError",
      message: "CHARGE_REQUEST: driverId: must be 3–64 characters of A–Z, a–z, 0–9, _ or -",
    },
  );
  assert.throws(
    () => build(driverRequestSchema, "TICKET" as never, {} as never),
    { name: "TypeError", message: 'build: unknown message type "TICKET" for this schema' },
  );
});

Deno.test("parseMessage never throws on arbitrary JSON and always explains a refusal", () => {
  const schemas = Object.values(channels).map((c) => c.schema);
  fc.assert(
    fc.property(fc.jsonValue(), fc.constantFrom(...schemas), (value, schema) => {
      const result = parseMessage(schema, value);
      if (!result.ok) {
        assert.ok(result.reason.length > 0);
        assert.ok(!result.reason.includes("\n"));
      }
    }),
    { numRuns: 2000 },
  );
});

Deno.test("parseMessage explains refusals of arbitrary JSON text decoded from strings", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (text) => {
      const result = decodeMessage(driverRequestSchema, text);
      if (!result.ok) assert.ok(result.reason.length > 0);
    }),
  );
});
