/**
 * What the message schema tests share: one valid example of every message type on the channel
 * that carries it, and helpers that change one field and check the refusal.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  auditEventSchema,
  centralToMonitorSchema,
  commandPayloadSchema,
  driverRequestSchema,
  driverUpdateSchema,
  engineToMonitorSchema,
  monitorToCentralSchema,
  monitorToEngineSchema,
  parseMessage,
  telemetryPayloadSchema,
} from "../messages.ts";

/** A timestamp every example carries. */
export const TS = "2025-01-31T12:00:00.000Z";
/** A 65-byte ECDH public key, base64. */
export const ECDH = btoa(String.fromCharCode(4, ...new Array(64).fill(7)));
const SALT = btoa("s".repeat(32));
const AES_KEY = btoa("k".repeat(32));
/** A token of the compact JWT shape. */
export const TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJDUDAwMSJ9.c2lnbmF0dXJl";
const HASH = "ab".repeat(32);

/** A channel: its name and the schema of what it carries. */
export type Channel = { name: string; schema: Parameters<typeof parseMessage>[0] };
/** Every channel of the system. */
export const channels = {
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
export const examples: { channel: Channel; message: Record<string, unknown> }[] = [
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
      detail_code: "login_registry_silent",
      detail_params: { waited: 5 },
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

/** Where a field sits in a message. */
export type Path = (string | number)[];

/** A deep copy of `message` with the value at `path` replaced. */
export function withValue(message: Record<string, unknown>, path: Path, value: unknown) {
  const copy = structuredClone(message);
  let parent: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  parent[path[path.length - 1]] = value;
  return copy;
}

/** How parseMessage prints `path`. */
export function printed(path: Path): string {
  return path.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("");
}

/** Every path in `message` whose last key is one of `keys`, through nested objects and arrays
 * (not into an envelope or audit params, whose values are free). */
export function pathsOf(message: unknown, keys: readonly string[], prefix: Path = []): Path[] {
  if (Array.isArray(message)) return message.flatMap((m, i) => pathsOf(m, keys, [...prefix, i]));
  if (typeof message !== "object" || message === null) return [];
  return Object.entries(message).flatMap(([k, v]) => [
    ...(keys.includes(k) ? [[...prefix, k]] : []),
    ...(k === "envelope" || k === "params" ? [] : pathsOf(v, keys, [...prefix, k])),
  ]);
}

/** How a test names an example: its type. */
/** The example message of `type` from {@link examples} (there is one of each). */
export function example(type: string): Record<string, unknown> {
  const found = examples.find((e) => e.message.type === type);
  if (found === undefined) throw new Error(`no example of ${type}`);
  return found.message;
}

export function label(message: Record<string, unknown>) {
  return String(message.type);
}

/**
 * Asserts that `schema` refuses `value` with one line starting with `startsWith`; `context` names
 * the case in a failure.
 */
export function assertRejected(
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

/** The fields that hold an id. */
export const ID_FIELDS = ["cpId", "driverId", "requestId", "sessionId", "id"] as const;
/** The fields that hold a bounded number. */
export const NUMBER_FIELDS = [
  "kw",
  "kwh",
  "eur",
  "seconds",
  "priceEurKwh",
  "powerKw",
  "keyVersion",
  "seq",
] as const;
