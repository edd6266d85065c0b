/**
 * The field schemas refuse hostile and malformed values with a reason naming the field: ids,
 * numbers, text, enums, timestamps, keys and tokens, audit fields.
 *
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  auditEventSchema,
  base64Schema,
  centralToMonitorSchema,
  cpIdSchema,
  driverRequestSchema,
  driverUpdateSchema,
  endReasonForStop,
  isTimestamp,
  monitorToCentralSchema,
  monitorToEngineSchema,
  nowTs,
  parseMessage,
  telemetryPayloadSchema,
  textSchema,
  timestampSchema,
} from "../messages.ts";
import {
  assertRejected,
  ECDH,
  example,
  examples,
  ID_FIELDS,
  label,
  NUMBER_FIELDS,
  type Path,
  pathsOf,
  printed,
  TOKEN,
  withValue,
} from "./test_support.ts";

/** Ids no id field may take. */
const HOSTILE_IDS = [
  "'; DROP TABLE cps;--",
  "CP\u0000001",
  "CP\n001",
  "CP\u202e001",
  "CP⚡001",
  "CP🚗01",
  "CP 001",
  "../../etc/passwd",
  "",
  "x".repeat(10 * 1024 * 1024),
  42,
  null,
  ["CP_001"],
];

/**
 * Puts each of `bads` in turn into every field named in `fields` of every example message, and
 * checks that each is rejected with a reason naming that field; returns how many cases it checked.
 */
function assertEveryFieldRefuses(fields: readonly string[], bads: readonly unknown[]): number {
  let checked = 0;
  for (const { channel, message } of examples) {
    for (const path of pathsOf(message, fields)) {
      for (const bad of bads) {
        const context = `${label(message)} ${printed(path)}=${String(bad).slice(0, 20)}`;
        assertRejected(
          channel.schema,
          withValue(message, path, bad),
          `${printed(path)}: `,
          context,
        );
        checked++;
      }
    }
  }
  return checked;
}

Deno.test("hostile or malformed ids are rejected with a reason naming the field", () => {
  const checked = assertEveryFieldRefuses(ID_FIELDS, HOSTILE_IDS);
  assert.ok(checked > 200, `only ${checked} cases`);
});

Deno.test("the CP id rule allows 3–64 of A–Z a–z 0–9 _ - and says so", () => {
  for (const ok of ["abc", "CP-01_x", "9".repeat(64)]) assert.ok(cpIdSchema.safeParse(ok).success);
  for (const bad of ["ab", "9".repeat(65), "CP.01", "ÇP01", 5]) {
    assert.deepEqual(parseMessage(cpIdSchema, bad), {
      ok: false,
      reason: "must be 3–64 characters of A–Z, a–z, 0–9, _ or -",
    });
  }
});

Deno.test("bad numbers are rejected with a reason naming the field", () => {
  const bads = [-1, -0.001, NaN, Infinity, -Infinity, 2 ** 53, "1", null, true];
  const checked = assertEveryFieldRefuses(NUMBER_FIELDS, bads);
  assert.ok(checked > 100, `only ${checked} cases`);
});

Deno.test("key versions and sequence numbers must be integers", () => {
  const heartbeat = { v: 1, type: "HEARTBEAT", seq: 1.5 };
  assertRejected(monitorToCentralSchema, heartbeat, "seq: must be an integer", "1.5");
  const key = { v: 1, type: "KEY_REVOKED", keyVersion: Number.MAX_SAFE_INTEGER };
  assert.ok(parseMessage(monitorToEngineSchema, key).ok);
});

Deno.test("numbers above their sane bound are rejected", () => {
  const supply = example("SUPPLY");
  assertRejected(driverUpdateSchema, { ...supply, kw: 5001 }, "kw: must be a finite number", "kw");
  const ticket = example("TICKET");
  const pricey = { ...ticket, priceEurKwh: 101 };
  assertRejected(
    driverUpdateSchema,
    pricey,
    "priceEurKwh: must be a finite number from 0 to 100",
    "€",
  );
});

Deno.test("free text accepts emoji but not control characters, bidi overrides or huge strings", () => {
  const denied = example("DENIED");
  assert.ok(parseMessage(driverUpdateSchema, { ...denied, detail: "weather alert ⛈️ 🌧" }).ok);
  for (
    const bad of [
      "line\nbreak",
      "nul\u0000",
      "esc\u001b[31m",
      "c1\u0085",
      "bidi\u202e",
      "lone \ud800",
      "",
      "x".repeat(10 * 1024 * 1024),
    ]
  ) {
    const context = JSON.stringify(bad.slice(0, 20));
    assertRejected(driverUpdateSchema, { ...denied, detail: bad }, "detail: must be", context);
  }
  const list = example("CP_LIST");
  const longPlace = withValue(list, ["cps", 0, "location"], "x".repeat(201));
  assertRejected(driverUpdateSchema, longPlace, "cps[0].location: must be 1–200", "location");
});

Deno.test("a refusal's detail code and parameters are checked, each failure naming its field", () => {
  const fail = example("AUTH_FAIL");
  const logout = { v: 1, type: "LOGOUT", reason: "revoked", retryable: false };
  // Beside the English words, or without them; a code this side does not know still passes.
  for (const extra of [{}, { detail_code: "login_revoked", detail_params: { id: "CP-1" } }]) {
    assert.ok(parseMessage(centralToMonitorSchema, { ...logout, ...extra }).ok);
  }
  assert.ok(
    parseMessage(centralToMonitorSchema, { ...fail, detail_code: "from_a_newer_central" }).ok,
  );
  const nine = Object.fromEntries([..."abcdefghi"].map((k) => [k, 1]));
  const cases: [string, unknown, string][] = [
    ["detail_code", "Login Revoked", "detail_code: must be 1–64 characters of a–z"],
    ["detail_code", "", "detail_code: must be 1–64 characters of a–z"],
    ["detail_code", 7, "detail_code: must be 1–64 characters of a–z"],
    ["detail_params", "id=CP-1", "detail_params: must be an object"],
    ["detail_params", { id: { nested: 1 } }, "detail_params.id: must be a string of text or"],
    ["detail_params", { seconds: Infinity }, "detail_params.seconds: must be a string of text or"],
    ["detail_params", { id: "a\u0000b" }, "detail_params.id: must be 0–500 characters of text"],
    ["detail_params", { "no spaces": 1 }, `detail_params["no spaces"]: field name must be`],
    ["detail_params", nine, "detail_params: must have at most 8 entries"],
  ];
  for (const [field, value, reason] of cases) {
    const context = `${field} ${JSON.stringify(value) ?? String(value)}`;
    assertRejected(centralToMonitorSchema, { ...fail, [field]: value }, reason, context);
    assertRejected(centralToMonitorSchema, { ...logout, [field]: value }, reason, context);
  }
});

Deno.test("SQL-ish free text is ordinary text (queries are parameterized)", () => {
  const denied = example("DENIED");
  assert.ok(parseMessage(driverUpdateSchema, { ...denied, detail: "'; DROP TABLE cps;--" }).ok);
});

Deno.test("enum fields list the allowed values", () => {
  assertRejected(
    driverUpdateSchema,
    { ...example("DENIED"), reason: "because" },
    "reason: must be one of invalid_request, unknown_cp, busy,",
    "deny",
  );
  assertRejected(
    telemetryPayloadSchema,
    { ...example("STATUS"), state: "DISCONNECTED" },
    "state: must be one of ACTIVATED, SUPPLYING, STOPPED",
    "engine state",
  );
});

Deno.test("timestamps must be canonical ISO 8601 UTC instants", () => {
  assert.ok(timestampSchema.safeParse(nowTs()).success);
  for (
    const bad of [
      1738324800000,
      "2025-01-31T12:00:00Z",
      "2025-01-31T12:00:00.000+01:00",
      "2025-01-31 12:00:00.000Z",
      "2025-02-30T12:00:00.000Z",
      "2025-01-31T24:00:00.000Z",
      // A `Date` of these is invalid, and its toISOString throws: refused, never thrown.
      "2025-13-01T12:00:00.000Z",
      "2025-00-10T12:00:00.000Z",
      "2025-01-00T12:00:00.000Z",
      "2025-01-32T12:00:00.000Z",
      "2025-01-31T12:60:00.000Z",
      "2025-01-31T12:00:60.000Z",
      "x".repeat(10 * 1024 * 1024),
    ]
  ) {
    const charge = { ...examples[0].message, ts: bad };
    assertRejected(
      driverRequestSchema,
      charge,
      "ts: must be an ISO 8601 UTC timestamp",
      String(bad),
    );
  }
});

/** What `toISOString` writes for `s`, or null: the rule {@link isTimestamp} spells out by hand. */
function viaDate(s: string): string | null {
  const date = new Date(s);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

Deno.test("a timestamp is taken exactly when a Date of it writes it back the same", () => {
  const two = (n: number) => String(n).padStart(2, "0");
  let accepted = 0;
  for (const year of ["0000", "1900", "1999", "2000", "2024", "2025", "2100", "9999"]) {
    for (let month = 0; month <= 13; month++) {
      for (let day = 0; day <= 32; day++) {
        for (const time of ["00:00:00.000", "23:59:59.999", "24:00:00.000", "12:60:00.000"]) {
          const s = `${year}-${two(month)}-${two(day)}T${time}Z`;
          assert.equal(isTimestamp(s), viaDate(s) === s, s);
          if (isTimestamp(s)) accepted++;
        }
      }
    }
  }
  assert.equal(accepted, (365 * 5 + 366 * 3) * 2, "every real day of the eight years, twice");
  fc.assert(
    fc.property(
      fc.date({
        min: new Date("0000-01-01T00:00:00.000Z"),
        max: new Date("9999-12-31T23:59:59.999Z"),
        noInvalidDate: true,
      }),
      (d) => {
        const s = d.toISOString();
        return isTimestamp(s) && viaDate(s) === s;
      },
    ),
  );
  for (
    const s of [
      "2025-01-31T12:00:00.000z",
      "+02025-01-31T12:00:00.000Z",
      " 2025-01-31T12:00:00.000Z",
    ]
  ) {
    assert.equal(isTimestamp(s), false, s);
  }
});

Deno.test("keys, salts and tokens must be well-formed base64 of the right size", () => {
  const auth = example("AUTH");
  for (
    const bad of [
      btoa("x".repeat(64)),
      btoa("x".repeat(66)),
      ECDH.replace(/=+$/, ""),
      ECDH.replace("A", "-"),
      `${ECDH}\n`,
    ]
  ) {
    const context = JSON.stringify(bad);
    const message = { ...auth, ecdhPublicKey: bad };
    assertRejected(
      monitorToCentralSchema,
      message,
      "ecdhPublicKey: must be standard base64",
      context,
    );
  }
  assertRejected(
    monitorToEngineSchema,
    { ...example("KEY"), key: btoa("k".repeat(16)) },
    "key: must be standard base64 (with = padding) of 32 bytes",
    "key",
  );
  const ok = example("AUTH_OK");
  assertRejected(centralToMonitorSchema, { ...ok, salt: btoa("s".repeat(8)) }, "salt: ", "salt");
  assertRejected(
    centralToMonitorSchema,
    { ...ok, certificate: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" },
    "certificate: must be one PEM certificate",
    "certificate",
  );
});

Deno.test("a bad token is rejected without echoing it", () => {
  const auth = example("AUTH");
  for (const bad of ["not-a-jwt", "a.b", `${TOKEN}.SECRETPART`, "a.b.c".padEnd(5000, "x")]) {
    const result = parseMessage(monitorToCentralSchema, { ...auth, token: bad });
    assert.equal(result.ok, false);
    if (result.ok) continue;
    assert.ok(result.reason.startsWith("token: must be a compact JWT"), result.reason);
    assert.ok(!result.reason.includes("SECRET"));
  }
});

Deno.test("audit records take flat public params, a client IP and hex hashes", () => {
  const audit = example("AUDIT");
  assert.ok(parseMessage(auditEventSchema, { ...audit, origin_ip: "::ffff:127.0.0.1" }).ok);
  const cases: [Path, unknown, string][] = [
    [["origin_ip"], "999.1.1.1", "origin_ip: must be an IPv4 or IPv6 address"],
    [["hash"], "AB".repeat(32), "hash: must be 64 lower-case hex digits"],
    [["prev_hash"], "ab", "prev_hash: must be 64 lower-case hex digits"],
    [["params", "nested"], { a: 1 }, "params.nested: must be a string of text"],
    [["params", "bad key"], 1, 'params["bad key"]: field name must be an identifier'],
    [["params"], [], "params: must be an object"],
    [["action"], "Cp Login", "action: must be 1–64 characters of lower-case dotted words"],
    [["actor"], "cp/../x", "actor: must be 1–128 characters"],
    [["outcome"], "meh", "outcome: must be one of ok, denied, failed, rejected"],
  ];
  for (const [path, bad, reason] of cases) {
    assertRejected(auditEventSchema, withValue(audit, path, bad), reason, printed(path));
  }
  const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`p${i}`, i]));
  assertRejected(
    auditEventSchema,
    { ...audit, params: many },
    "params: must have at most 32",
    "33",
  );
});

Deno.test("a stop maps to the end reason of the session it interrupts", () => {
  assert.equal(endReasonForStop("admin"), "stopped_admin");
  assert.equal(endReasonForStop("weather"), "stopped_weather");
  assert.equal(endReasonForStop("out_of_service"), "status_lost");
  assert.equal(endReasonForStop("revoked"), "status_lost");
});

Deno.test("schema factories refuse impossible bounds", () => {
  assert.throws(() => base64Schema(5, 2), RangeError);
  assert.throws(() => base64Schema(1.5, 2), RangeError);
  assert.throws(() => textSchema(10, -1), RangeError);
  assert.throws(() => textSchema(Infinity), RangeError);
});
