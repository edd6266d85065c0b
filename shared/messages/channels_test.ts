/**
 * Every channel takes its own messages, strictly: one valid example per type, unknown fields,
 * versions and types, missing fields, and the rules that span fields.
 *
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  build,
  centralToMonitorSchema,
  driverRequestSchema,
  driverUpdateSchema,
  monitorToCentralSchema,
  parseMessage,
  telemetryPayloadSchema,
} from "../messages.ts";
import {
  assertRejected,
  channels,
  example,
  examples,
  label,
  TS,
  withValue,
} from "./test_support.ts";

Deno.test("every message type accepts its valid example on its channel", () => {
  const types = new Set<string>();
  for (const { channel, message } of examples) {
    const result = parseMessage(channel.schema, message);
    assert.deepEqual(result, { ok: true, value: message }, `${channel.name} ${label(message)}`);
    types.add(`${channel.name} ${label(message)}`);
  }
  assert.equal(types.size, examples.length, "one example per channel and type");
});

Deno.test("driver requests may carry the host's own address; a malformed one is refused", () => {
  for (const example of examples.slice(0, 2)) {
    const { channel, message } = example;
    for (const originIp of ["192.168.1.30", "2001:db8::7"]) {
      const result = parseMessage(channel.schema, { ...message, originIp });
      assert.ok(result.ok, `${label(message)} with ${originIp}`);
    }
    assertRejected(
      channel.schema,
      { ...message, originIp: "my-laptop" },
      "originIp: must be an IPv4 or IPv6 address",
      `${label(message)} with a host name`,
    );
  }
});

Deno.test("a message is refused on a channel that does not carry its type", () => {
  const charge = examples[0].message;
  assertRejected(driverUpdateSchema, charge, 'unknown message type "CHARGE_REQUEST"', "charge");
  const key = example("KEY");
  assertRejected(monitorToCentralSchema, key, 'unknown message type "KEY"', "key on tcp");
});

Deno.test("an unknown field is rejected and named", () => {
  for (const { channel, message } of examples) {
    assertRejected(
      channel.schema,
      { ...message, extra: 1 },
      "extra: unknown field",
      label(message),
    );
  }
  const charge = JSON.stringify(examples[0].message).slice(1);
  const proto = JSON.parse(`{"__proto__":{"isAdmin":true},${charge}`);
  assertRejected(driverRequestSchema, proto, "__proto__: unknown field", "__proto__");
  const list = example("CP_LIST");
  const nested = withValue(list, ["cps", 0, "secret"], "x");
  assertRejected(driverUpdateSchema, nested, "cps[0].secret: unknown field", "nested");
});

Deno.test("a wrong or missing schema version is rejected with the version reason", () => {
  for (const { channel, message } of examples) {
    for (const v of [2, 0, "1", null, 1.5]) {
      const reason = `v: unsupported schema version ${v === "1" ? '"1"' : v}, expected 1`;
      assertRejected(channel.schema, { ...message, v }, reason, `${label(message)} v=${v}`);
    }
    const { v: _v, ...noVersion } = message;
    assertRejected(channel.schema, noVersion, "v: required", `${label(message)} without v`);
  }
  assertRejected(driverRequestSchema, { v: 2, type: "FUTURE" }, "v: unsupported", "v2 type");
});

Deno.test("an unknown type names the type and the expected ones", () => {
  for (const channel of Object.values(channels)) {
    const result = parseMessage(channel.schema, { v: 1, type: "NOPE" });
    assert.equal(result.ok, false);
    if (!result.ok) {
      assert.match(result.reason, /^unknown message type "NOPE" \(expected [A-Z_, ]+\)$/);
    }
  }
  assertRejected(driverRequestSchema, { v: 1 }, "type: required", "no type");
  assertRejected(driverRequestSchema, { v: 1, type: 7 }, "type: must be a string", "numeric type");
});

Deno.test("an unknown type is quoted short and escaped", () => {
  const result = parseMessage(driverRequestSchema, {
    v: 1,
    type: `A\u0000\u202e${"B".repeat(500)}`,
  });
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.ok(result.reason.length < 200, result.reason);
  // deno-lint-ignore no-control-regex -- the reason must hold no control character
  assert.doesNotMatch(result.reason, /[\u0000-\u001f\u202e]/);
  assert.match(result.reason, /^unknown message type "A\\u0000\?B+…"/);
});

Deno.test("a value that is not an object is rejected", () => {
  for (const value of [null, [], "CHARGE_REQUEST", 1, true]) {
    assertRejected(driverRequestSchema, value, "message must be a JSON object", String(value));
  }
});

Deno.test("a missing required field is named", () => {
  for (const { channel, message } of examples) {
    for (const field of Object.keys(message)) {
      if (field === "v" || field === "type") continue;
      const { [field]: _gone, ...rest } = message;
      const result = parseMessage(channel.schema, rest);
      if (result.ok) continue; // optional field
      assert.equal(result.reason, `${field}: required`, `${label(message)} without ${field}`);
    }
  }
});

Deno.test("a session never plugged in ends with zero energy and money", () => {
  const end = {
    v: 1,
    type: "SUPPLY_END",
    sessionId: "sess-1",
    kwh: 0,
    eur: 0,
    endReason: "plug_timeout",
    ts: TS,
  };
  assert.ok(parseMessage(telemetryPayloadSchema, end).ok);
  const billed = { ...end, kwh: 0.1 };
  const reason = "kwh: must be 0 when endReason is plug_timeout";
  assertRejected(telemetryPayloadSchema, billed, reason, "plug_timeout with energy");
  const ticket = example("TICKET");
  const badTicket = { ...ticket, endReason: "plug_timeout", kwh: 0 };
  assertRejected(driverUpdateSchema, badTicket, "eur: must be 0 when endReason", "ticket");
});

Deno.test("a denial without a CP id is allowed for a request whose CP id was invalid", () => {
  const denied = example("DENIED");
  const { cpId: _cpId, ...noCp }: Record<string, unknown> = {
    ...denied,
    reason: "invalid_request",
  };
  assert.ok(parseMessage(driverUpdateSchema, noCp).ok);
});

Deno.test("a command frame accepts any envelope object and leaves the strict check to envelope.ts", () => {
  const frame = { v: 1, type: "COMMAND", envelope: { anything: [1, 2] } };
  assert.ok(parseMessage(centralToMonitorSchema, frame).ok);
  assertRejected(centralToMonitorSchema, { ...frame, envelope: "x" }, "envelope: must be", "str");
});

Deno.test("build builds every example from its fields alone", () => {
  for (const { channel, message } of examples) {
    const { v: _v, type, ...fields } = message;
    const built = build(
      channel.schema as typeof driverUpdateSchema,
      type as never,
      fields as never,
    );
    assert.deepEqual(built, message, `${channel.name} ${String(type)}`);
  }
});

Deno.test("parseMessage never throws when any field of a valid message is replaced by JSON", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...examples),
      fc.nat(),
      fc.jsonValue(),
      ({ channel, message }, pick, junk) => {
        const keys = Object.keys(message);
        const mutated = { ...message, [keys[pick % keys.length]]: junk };
        const result = parseMessage(channel.schema, mutated);
        if (!result.ok) assert.ok(result.reason.length > 0 && !result.reason.includes("\n"));
      },
    ),
    { numRuns: 2000 },
  );
});
