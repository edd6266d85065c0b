import assert from "node:assert/strict";
import { CpKeyring, openingKeyBytes, sealEnvelope } from "../shared/envelope.ts";
import { batchKeys, openBatch, type Opened, packValues } from "./telemetry_open.ts";

const channel = "cp.telemetry";
const aesKey = () =>
  crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
const supply = (kwh: number) => ({
  v: 1,
  type: "SUPPLY",
  sessionId: "S1",
  kw: 22,
  kwh,
  eur: 0,
  ts: "2026-12-06T23:00:00.000Z",
});
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const seal = (key: CryptoKey, cp: string, kv: number, seq: number, payload: unknown) =>
  sealEnvelope(key, { cp, kv, seq, channel }, payload);

Deno.test("telemetry open: each record says how far it got, in the order of the checks", async () => {
  const key = await aesKey();
  const stranger = await aesKey();
  const good = await seal(key, "CP-1", 1, 10, supply(1));
  const records: [string | null, unknown][] = [
    ["CP-1", good],
    ["CP-1", { v: 1, cp: "CP-1" }],
    ["CP-2", good],
    [null, good],
    ["CP-1", await seal(key, "CP-1", 2, 11, supply(1))], // kv 2: no key in the batch
    ["CP-1", await seal(stranger, "CP-1", 1, 12, supply(1))],
    ["CP-1", await seal(key, "CP-1", 1, 13, { v: 1, type: "SUPPLY" })],
    ["CP-1", { ...good, seq: 14 }], // the AAD binds seq
  ];
  const opened = openBatch({
    channel,
    ...packValues(records.map(([, value]) => bytes(value))),
    expectCps: records.map(([cp]) => cp),
    keys: [{ cp: "CP-1", kv: 1, key: openingKeyBytes(key) }],
  });
  const header = (kv: number, seq: number) => ({ cp: "CP-1", kv, seq });
  const shape = (o: Opened) => o.type === "refused" ? `refused ${o.reason}` : o.type;
  assert.deepEqual(opened.map(shape), [
    "payload",
    "malformed",
    "cp_mismatch",
    "cp_mismatch",
    "no_key",
    "refused tag",
    "refused invalid_payload",
    "refused tag",
  ]);
  assert.deepEqual(opened[0], { type: "payload", header: header(1, 10), payload: supply(1) });
  assert.deepEqual(opened[4], { type: "no_key", header: header(2, 11) });
  for (const o of opened) {
    if ("detail" in o) assert.ok(o.detail.length > 0);
    if (o.type === "cp_mismatch") assert.match(o.detail, /envelope for CP CP-1 arrived as CP/);
  }
});

Deno.test("telemetry open: values that are not ASCII, UTF-8 or JSON are cut and refused one by one", async () => {
  const key = await aesKey();
  const good = bytes(await seal(key, "CP-1", 1, 10, supply(1)));
  const values = [
    good,
    new TextEncoder().encode('{"v":1,"cp":"CP-ü"}'), // not ASCII: each record decoded alone
    new Uint8Array([0x7b, 0xff, 0x7d]), // not UTF-8
    new TextEncoder().encode("{not json"),
    new Uint8Array(0),
    good,
  ];
  const packed = packValues(values);
  assert.deepEqual(
    [...packed.ends],
    [1, 2, 3, 4, 5, 6].map((n) => values.slice(0, n).reduce((a, v) => a + v.length, 0)),
  );
  const opened = openBatch({
    channel,
    ...packed,
    expectCps: values.map(() => "CP-1"),
    keys: [{ cp: "CP-1", kv: 1, key: openingKeyBytes(key) }],
  });
  assert.deepEqual(opened.map((o) => o.type), [
    "payload",
    "malformed",
    "malformed",
    "malformed",
    "malformed",
    "payload",
  ]);
  assert.deepEqual(opened.slice(2, 5).map((o) => "detail" in o && o.detail), [
    "malformed envelope: not UTF-8",
    "malformed envelope: not JSON",
    "malformed envelope: not JSON",
  ]);
  const ascii = openBatch({
    channel,
    ...packValues([good, good]),
    expectCps: ["CP-1", "CP-2"],
    keys: [{ cp: "CP-1", kv: 1, key: openingKeyBytes(key) }],
  });
  assert.deepEqual(ascii.map((o) => o.type), ["payload", "cp_mismatch"]);
});

Deno.test("telemetry open: a batch gets the keys the keyring opens with for its records' CPs, once each", async () => {
  const keyring = new CpKeyring();
  const [old, live, other] = [await aesKey(), await aesKey(), await aesKey()];
  keyring.add("CP-1", 1, old);
  keyring.add("CP-1", 2, live); // 1 retired: still opens
  keyring.add("CP-2", 1, other);
  keyring.revoke("CP-2");
  const { keys, used } = batchKeys(
    ["CP-1", "CP-2", "CP-1", "CP-3", null, "CP-1"], // CP-2 revoked, CP-3 unknown
    (cp) => keyring.openable(cp),
  );
  assert.deepEqual(keys.map(({ cp, kv }) => `${cp}|${kv}`), ["CP-1|1", "CP-1|2"]);
  assert.deepEqual(keys[1].key, openingKeyBytes(live));
  assert.equal(used.get("CP-1|1"), old);
  assert.equal(used.get("CP-1|2"), live);
  assert.equal(used.size, 2);
});
