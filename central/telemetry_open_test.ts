import assert from "node:assert/strict";
import { CpKeyring, openingKeyBytes, sealEnvelope } from "../shared/envelope.ts";
import { batchKeys, openBatch, type Opened } from "./telemetry_open.ts";

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
    values: records.map(([, value]) => value),
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

Deno.test("telemetry open: a batch gets the keyring's keys once per (cp, kv), none it refuses", async () => {
  const keyring = new CpKeyring();
  const [old, live, other] = [await aesKey(), await aesKey(), await aesKey()];
  keyring.add("CP-1", 1, old);
  keyring.add("CP-1", 2, live); // 1 retired: still opens
  keyring.add("CP-2", 1, other);
  keyring.revoke("CP-2");
  const header = (cp: string, kv: number) => ({ v: 1, cp, kv, seq: 1, iv: "", ct: "" });
  const { keys, used } = batchKeys(
    [
      header("CP-1", 2),
      header("CP-1", 1),
      header("CP-1", 2),
      header("CP-2", 1), // revoked
      header("CP-3", 1), // unknown
      null,
      { cp: "CP-1", kv: "2" },
    ],
    (cp, kv) => keyring.keyFor(cp, kv),
  );
  assert.deepEqual(keys.map(({ cp, kv }) => `${cp}|${kv}`), ["CP-1|2", "CP-1|1"]);
  assert.deepEqual(keys[0].key, openingKeyBytes(live));
  assert.equal(used.get("CP-1|1"), old);
  assert.equal(used.size, 2);
});
