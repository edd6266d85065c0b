import assert from "node:assert/strict";
import fc from "fast-check";
import {
  auditEventSchema,
  base64Schema,
  build,
  centralToMonitorSchema,
  commandPayloadSchema,
  cpIdSchema,
  decodeJson,
  decodeMessage,
  driverRequestSchema,
  driverUpdateSchema,
  endReasonForStop,
  engineToMonitorSchema,
  MAX_JSON_BYTES,
  monitorToCentralSchema,
  monitorToEngineSchema,
  nowTs,
  parseMessage,
  telemetryPayloadSchema,
  textSchema,
  timestampSchema,
} from "./messages.ts";

const TS = "2025-01-31T12:00:00.000Z";
const ECDH = btoa(String.fromCharCode(4, ...new Array(64).fill(7)));
const SALT = btoa("s".repeat(32));
const AES_KEY = btoa("k".repeat(32));
const TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJDUDAwMSJ9.c2lnbmF0dXJl";
const HASH = "ab".repeat(32);

type Channel = { name: string; schema: Parameters<typeof parseMessage>[0] };
const channels = {
  driverRequests: { name: "driver.requests", schema: driverRequestSchema },
  driverUpdates: { name: "driver.updates", schema: driverUpdateSchema },
  telemetry: { name: "cp.telemetry", schema: telemetryPayloadSchema },
  commands: { name: "cp.commands", schema: commandPayloadSchema },
  audit: { name: "audit.events", schema: auditEventSchema },
  centralToMonitor: { name: "central→monitor", schema: centralToMonitorSchema },
  monitorToCentral: { name: "monitor→central", schema: monitorToCentralSchema },
  monitorToEngine: { name: "monitor→engine", schema: monitorToEngineSchema },
  engineToMonitor: { name: "engine→monitor", schema: engineToMonitorSchema },
} satisfies Record<string, Channel>;

/** One valid example of every message type, with the channel that carries it. */
const examples: { channel: Channel; message: Record<string, unknown> }[] = [
  {
    channel: channels.driverRequests,
    message: {
      v: 1,
      type: "CHARGE_REQUEST",
      requestId: "3f2b6c1e-8a4d-4c1b-9d2e-7f6a5b4c3d2e",
      driverId: "DRV-001",
      cpId: "CP_001",
      ts: TS,
    },
  },
  {
    channel: channels.driverRequests,
    message: { v: 1, type: "CP_LIST_REQUEST", requestId: "req-2", driverId: "DRV-001", ts: TS },
  },
  {
    channel: channels.driverUpdates,
    message: {
      v: 1,
      type: "AUTHORIZED",
      requestId: "req-1",
      driverId: "DRV-001",
      cpId: "CP_001",
      sessionId: "sess-1",
      ts: TS,
    },
  },
  {
    channel: channels.driverUpdates,
    message: {
      v: 1,
      type: "DENIED",
      requestId: "req-1",
      driverId: "DRV-001",
      cpId: "CP_001",
      reason: "busy",
      detail: "CP_001 is supplying another vehicle",
      ts: TS,
    },
  },
  {
    channel: channels.driverUpdates,
    message: {
      v: 1,
      type: "SUPPLY",
      sessionId: "sess-1",
      driverId: "DRV-001",
      cpId: "CP_001",
      kw: 22,
      kwh: 1.25,
      eur: 0.44,
      ts: TS,
    },
  },
  {
    channel: channels.driverUpdates,
    message: {
      v: 1,
      type: "TICKET",
      sessionId: "sess-1",
      driverId: "DRV-001",
      cpId: "CP_001",
      kwh: 10.5,
      eur: 3.68,
      seconds: 1718,
      endReason: "unplugged",
      priceEurKwh: 0.35,
      ts: TS,
    },
  },
  {
    channel: channels.driverUpdates,
    message: {
      v: 1,
      type: "CP_LIST",
      requestId: "req-2",
      driverId: "DRV-001",
      cps: [
        {
          id: "CP_001",
          location: "Alicante, C/ Mayor 3 ⚡",
          priceEurKwh: 0.35,
          powerKw: 22,
          state: "ACTIVATED",
        },
      ],
      ts: TS,
    },
  },
  {
    channel: channels.telemetry,
    message: {
      v: 1,
      type: "STATUS",
      engine: "OK",
      state: "SUPPLYING",
      sessionId: "sess-1",
      ts: TS,
    },
  },
  { channel: channels.telemetry, message: { v: 1, type: "PLUGGED", sessionId: "sess-1", ts: TS } },
  {
    channel: channels.telemetry,
    message: { v: 1, type: "SUPPLY", sessionId: "sess-1", kw: 22, kwh: 1.25, eur: 0.44, ts: TS },
  },
  {
    channel: channels.telemetry,
    message: {
      v: 1,
      type: "SUPPLY_END",
      sessionId: "sess-1",
      kwh: 10.5,
      eur: 3.68,
      endReason: "target_reached",
      ts: TS,
    },
  },
  {
    channel: channels.commands,
    message: {
      v: 1,
      type: "AUTHORIZE",
      sessionId: "sess-1",
      driverId: "DRV-001",
      priceEurKwh: 0.35,
      powerKw: 22,
      ts: TS,
    },
  },
  { channel: channels.commands, message: { v: 1, type: "STOP", reason: "weather", ts: TS } },
  { channel: channels.commands, message: { v: 1, type: "RESUME", ts: TS } },
  {
    channel: channels.commands,
    message: { v: 1, type: "END_SUPPLY", sessionId: "sess-1", reason: "stopped_admin", ts: TS },
  },
  {
    channel: channels.audit,
    message: {
      v: 1,
      type: "AUDIT",
      ts: TS,
      seq: 1,
      actor: "cp:CP_001",
      action: "cp.login",
      outcome: "ok",
      params: { cpId: "CP_001", keyVersion: 3, fresh: true, note: null },
      origin_ip: "192.0.2.10",
      prev_hash: "0".repeat(64),
      hash: HASH,
    },
  },
  {
    channel: channels.monitorToCentral,
    message: { v: 1, type: "AUTH", cpId: "CP_001", token: TOKEN, ecdhPublicKey: ECDH },
  },
  {
    channel: channels.centralToMonitor,
    message: {
      v: 1,
      type: "AUTH_OK",
      keyVersion: 3,
      salt: SALT,
      ecdhPublicKey: ECDH,
      cp: { id: "CP_001", location: "Alicante", priceEurKwh: 0.35, powerKw: 22 },
      certificate:
        "-----BEGIN CERTIFICATE-----\nMIIBsDCCAVagAwIBAgIUQ0VOVFJBTA==\n-----END CERTIFICATE-----\n",
      signature: btoa("s".repeat(64)),
    },
  },
  {
    channel: channels.centralToMonitor,
    message: {
      v: 1,
      type: "AUTH_FAIL",
      reason: "registry_unavailable",
      detail: "Registry did not answer in 5 s",
      retryable: true,
    },
  },
  { channel: channels.monitorToCentral, message: { v: 1, type: "HEARTBEAT", seq: 42 } },
  { channel: channels.monitorToCentral, message: { v: 1, type: "HEALTH", engine: "KO" } },
  {
    channel: channels.centralToMonitor,
    message: {
      v: 1,
      type: "COMMAND",
      envelope: { v: 1, cp: "CP_001", kv: 3, seq: 7, iv: "AAAAAAAAAAAAAAAA", ct: "AAAA" },
    },
  },
  {
    channel: channels.centralToMonitor,
    message: { v: 1, type: "LOGOUT", reason: "key_rotated", retryable: true },
  },
  { channel: channels.monitorToEngine, message: { v: 1, type: "HEALTH_CHECK" } },
  {
    channel: channels.monitorToEngine,
    message: { v: 1, type: "KEY", cpId: "CP_001", keyVersion: 3, key: AES_KEY },
  },
  { channel: channels.monitorToEngine, message: { v: 1, type: "KEY_REVOKED", keyVersion: 3 } },
  { channel: channels.engineToMonitor, message: { v: 1, type: "HEALTH", engine: "OK" } },
];

type Path = (string | number)[];

/** A deep copy of `message` with the value at `path` replaced. */
function withValue(message: Record<string, unknown>, path: Path, value: unknown) {
  const copy = structuredClone(message);
  let parent: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  parent[path[path.length - 1]] = value;
  return copy;
}

/** How parseMessage prints `path`. */
function printed(path: Path): string {
  return path.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("");
}

/** Every path in `message` whose last key is one of `keys`, through nested objects and arrays
 * (not into an envelope or audit params, whose values are free). */
function pathsOf(message: unknown, keys: readonly string[], prefix: Path = []): Path[] {
  if (Array.isArray(message)) return message.flatMap((m, i) => pathsOf(m, keys, [...prefix, i]));
  if (typeof message !== "object" || message === null) return [];
  return Object.entries(message).flatMap(([k, v]) => [
    ...(keys.includes(k) ? [[...prefix, k]] : []),
    ...(k === "envelope" || k === "params" ? [] : pathsOf(v, keys, [...prefix, k])),
  ]);
}

function label(message: Record<string, unknown>) {
  return String(message.type);
}

function assertRejected(
  schema: Channel["schema"],
  value: unknown,
  startsWith: string,
  context: string,
) {
  const result = parseMessage(schema, value);
  assert.equal(result.ok, false, `${context}: accepted`);
  if (result.ok) return;
  assert.ok(
    result.reason.startsWith(startsWith),
    `${context}: reason ${JSON.stringify(result.reason)} should start with ${startsWith}`,
  );
  assert.ok(!result.reason.includes("\n"), `${context}: reason is more than one line`);
}

const ID_FIELDS = ["cpId", "driverId", "requestId", "sessionId", "id"] as const;
const NUMBER_FIELDS = [
  "kw",
  "kwh",
  "eur",
  "seconds",
  "priceEurKwh",
  "powerKw",
  "keyVersion",
  "seq",
] as const;

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
  const key = examples.find((e) => e.message.type === "KEY")!.message;
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
  const [{ message: list }] = examples.filter((e) => e.message.type === "CP_LIST");
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

Deno.test("hostile or malformed ids are rejected with a reason naming the field", () => {
  let checked = 0;
  for (const { channel, message } of examples) {
    for (const path of pathsOf(message, ID_FIELDS)) {
      for (const bad of HOSTILE_IDS) {
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
  let checked = 0;
  for (const { channel, message } of examples) {
    for (const path of pathsOf(message, NUMBER_FIELDS)) {
      for (const bad of [-1, -0.001, NaN, Infinity, -Infinity, 2 ** 53, "1", null, true]) {
        const context = `${label(message)} ${printed(path)}=${String(bad)}`;
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
  assert.ok(checked > 100, `only ${checked} cases`);
});

Deno.test("key versions and sequence numbers must be integers", () => {
  const heartbeat = { v: 1, type: "HEARTBEAT", seq: 1.5 };
  assertRejected(monitorToCentralSchema, heartbeat, "seq: must be an integer", "1.5");
  const key = { v: 1, type: "KEY_REVOKED", keyVersion: Number.MAX_SAFE_INTEGER };
  assert.ok(parseMessage(monitorToEngineSchema, key).ok);
});

Deno.test("numbers above their sane bound are rejected", () => {
  const supply = examples.find((e) => e.message.type === "SUPPLY")!.message;
  assertRejected(driverUpdateSchema, { ...supply, kw: 5001 }, "kw: must be a finite number", "kw");
  const ticket = examples.find((e) => e.message.type === "TICKET")!.message;
  const pricey = { ...ticket, priceEurKwh: 101 };
  assertRejected(
    driverUpdateSchema,
    pricey,
    "priceEurKwh: must be a finite number from 0 to 100",
    "€",
  );
});

Deno.test("free text accepts emoji but not control characters, bidi overrides or huge strings", () => {
  const denied = examples.find((e) => e.message.type === "DENIED")!.message;
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
  const list = examples.find((e) => e.message.type === "CP_LIST")!.message;
  const longPlace = withValue(list, ["cps", 0, "location"], "x".repeat(201));
  assertRejected(driverUpdateSchema, longPlace, "cps[0].location: must be 1–200", "location");
});

Deno.test("SQL-ish free text is ordinary text (queries are parameterized)", () => {
  const denied = examples.find((e) => e.message.type === "DENIED")!.message;
  assert.ok(parseMessage(driverUpdateSchema, { ...denied, detail: "'; DROP TABLE cps;--" }).ok);
});

Deno.test("enum fields list the allowed values", () => {
  const denied = examples.find((e) => e.message.type === "DENIED")!.message;
  assertRejected(
    driverUpdateSchema,
    { ...denied, reason: "because" },
    "reason: must be one of invalid_request, unknown_cp, busy,",
    "deny",
  );
  const status = examples.find((e) => e.message.type === "STATUS")!.message;
  assertRejected(
    telemetryPayloadSchema,
    { ...status, state: "DISCONNECTED" },
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

Deno.test("keys, salts and tokens must be well-formed base64 of the right size", () => {
  const auth = examples.find((e) => e.message.type === "AUTH")!.message;
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
  const key = examples.find((e) => e.message.type === "KEY")!.message;
  const shortKey = { ...key, key: btoa("k".repeat(16)) };
  assertRejected(
    monitorToEngineSchema,
    shortKey,
    "key: must be standard base64 (with = padding) of 32 bytes",
    "key",
  );
  const ok = examples.find((e) => e.message.type === "AUTH_OK")!.message;
  assertRejected(centralToMonitorSchema, { ...ok, salt: btoa("s".repeat(8)) }, "salt: ", "salt");
  assertRejected(
    centralToMonitorSchema,
    { ...ok, certificate: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n" },
    "certificate: must be one PEM certificate",
    "certificate",
  );
});

Deno.test("a bad token is rejected without echoing it", () => {
  const auth = examples.find((e) => e.message.type === "AUTH")!.message;
  for (const bad of ["not-a-jwt", "a.b", `${TOKEN}.SECRETPART`, "a.b.c".padEnd(5000, "x")]) {
    const result = parseMessage(monitorToCentralSchema, { ...auth, token: bad });
    assert.equal(result.ok, false);
    if (result.ok) continue;
    assert.ok(result.reason.startsWith("token: must be a compact JWT"), result.reason);
    assert.ok(!result.reason.includes("SECRET"));
  }
});

Deno.test("audit records take flat public params, a client IP and hex hashes", () => {
  const audit = examples[examples.findIndex((e) => e.message.type === "AUDIT")].message;
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
  const ticket = examples.find((e) => e.message.type === "TICKET")!.message;
  const badTicket = { ...ticket, endReason: "plug_timeout", kwh: 0 };
  assertRejected(driverUpdateSchema, badTicket, "eur: must be 0 when endReason", "ticket");
});

Deno.test("a denial without a CP id is allowed for a request whose CP id was invalid", () => {
  const denied = examples.find((e) => e.message.type === "DENIED")!.message;
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

Deno.test("parseMessage explains refusals of arbitrary JSON text decoded from strings", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (text) => {
      const result = decodeMessage(driverRequestSchema, text);
      if (!result.ok) assert.ok(result.reason.length > 0);
    }),
  );
});
