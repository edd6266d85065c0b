import assert from "node:assert/strict";
import { exportEcdhPublicKey, generateEcdhKeyPair } from "../shared/cp_key.ts";
import { TOPICS } from "../shared/kafka.ts";
import { DEFAULT_CORE_CONFIG, EMPTY_MODEL } from "./core.ts";
import { requestHandler, telemetryBatchHandler, telemetryHandler } from "./kafka_edge.ts";
import {
  consumed,
  consumedBytes,
  freshVault,
  loginCharging,
  sealTelemetry,
  supplyReading,
} from "./kafka_edge_test_support.ts";
import type { KeyVault } from "./keys.ts";
import { CentralRuntime } from "./runtime.ts";
import { CentralStore } from "./store.ts";
import { TelemetryOpener } from "./telemetry_opener.ts";

const ts = () => new Date().toISOString();
const outbox = (store: CentralStore) =>
  store.pendingOutbox(100).map((r) => r.payload as Record<string, unknown>);

Deno.test("kafka edge: driver requests are answered once; invalid ones when they say who asked", () => {
  const store = CentralStore.open(":memory:");
  const runtime = new CentralRuntime(store, EMPTY_MODEL, DEFAULT_CORE_CONFIG);
  const handle = requestHandler(runtime, () => "S-fixed");
  const charge = {
    v: 1,
    type: "CHARGE_REQUEST",
    requestId: "r1",
    driverId: "D-1",
    cpId: "CP-9",
    ts: ts(),
  };
  handle(consumed(TOPICS.driverRequests, "D-1", charge));
  handle(consumed(TOPICS.driverRequests, "D-1", charge));
  assert.equal(runtime.drops.duplicateRequests, 1);
  handle(
    consumed(TOPICS.driverRequests, "D-1", {
      v: 1,
      type: "CP_LIST_REQUEST",
      requestId: "l1",
      driverId: "D-1",
      ts: ts(),
    }),
  );
  handle(
    consumed(TOPICS.driverRequests, "D-1", {
      v: 1,
      type: "CHARGE_REQUEST",
      requestId: "b1",
      driverId: "D-1",
      ts: ts(),
    }),
  );
  handle(consumed(TOPICS.driverRequests, "D-1", { v: 1, type: "CHARGE_REQUEST", driverId: "D-1" }));
  handle(consumed(TOPICS.driverRequests, "D-1", [1, 2, 3]));
  assert.deepEqual(outbox(store).map((m) => [m.type, m.requestId, m.reason]), [
    ["DENIED", "r1", "unknown_cp"],
    ["CP_LIST", "l1", undefined],
    ["DENIED", "b1", "invalid_request"],
  ]);
  assert.match(String(outbox(store)[2].detail), /cpId/);
  store.close();
});

// Each telemetry test runs three times: opened on this thread, on the opener's worker, and on
// the worker through OpenSSL (Central's `--libcrypto`).
const openers = [
  { name: "", start: () => undefined },
  { name: " (worker)", start: () => TelemetryOpener.start({ minBatch: 1 }) },
  {
    name: " (worker, OpenSSL)",
    start: () => TelemetryOpener.start({ minBatch: 1, libcrypto: "libcrypto.so.3" }),
  },
];

for (const { name, start } of openers) {
  Deno.test(`kafka edge: telemetry opens with the keyring; replays are quiet, forgeries rejected${name}`, async () => {
    using opener = disposable(start());
    await opensWithTheKeyring(opener.value);
  });
  Deno.test(`kafka edge: a telemetry batch is one transaction; its own repeats and forgeries drop${name}`, async () => {
    using opener = disposable(start());
    await batchIsOneTransaction(opener.value);
  });
}

/** `opener`, closed when the test's scope ends. */
const disposable = (opener: TelemetryOpener | undefined) => ({
  value: opener,
  [Symbol.dispose]: () => opener?.close(),
});

/** Fails if `handle` neither throws nor rejects. */
const fails = (handle: () => void | Promise<void>) => assert.rejects(async () => await handle());

async function opensWithTheKeyring(opener: TelemetryOpener | undefined) {
  const store = CentralStore.open(":memory:");
  const runtime = new CentralRuntime(store, EMPTY_MODEL, DEFAULT_CORE_CONFIG);
  const vault = await freshVault();
  const login = await loginCharging(runtime, vault, {
    cpId: "CP-1",
    connection: 1,
    requestId: "r1",
    driverId: "D-1",
    sessionId: "S1",
  });
  // Central's own key stands in for the engine's: the same bytes on both sides.
  const seal = (seq: number, payload: unknown, key = login.key, cp = "CP-1") =>
    sealTelemetry(key, cp, login.keyVersion, seq, payload);
  const supply = (kwh: number) => supplyReading("S1", kwh, 0);
  const handle = telemetryHandler(runtime, vault, opener);
  const before = outbox(store).length;
  const progress: unknown[] = [];
  runtime.subscribe(({ effects }) => {
    for (const e of effects) if (e.type === "progress") progress.push(e.message);
  });

  const first = await seal(10, supply(1));
  await handle(consumedBytes(TOPICS.cpTelemetry, "CP-1", first));
  assert.equal(runtime.model.sessions.get("S1")?.kwh, 1);
  assert.equal(store.recover(new Date()).marks[0]?.seq, 10, "mark stored with the effect");

  await handle(consumedBytes(TOPICS.cpTelemetry, "CP-1", first));
  await handle(consumedBytes(TOPICS.cpTelemetry, "CP-1", await seal(9, supply(5))));
  assert.equal(runtime.drops.duplicateTelemetry, 2);
  assert.equal(runtime.drops.rejectedTelemetry, 0, "replays are not rejections");

  const stranger = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
    "encrypt",
    "decrypt",
  ]);
  const forged = [
    consumedBytes(TOPICS.cpTelemetry, "CP-1", await seal(11, supply(7), stranger)),
    consumedBytes(TOPICS.cpTelemetry, "CP-2", await seal(12, supply(7))),
    consumedBytes(TOPICS.cpTelemetry, "CP-1", { v: 1, cp: "CP-1" }),
    consumedBytes(
      TOPICS.cpTelemetry,
      "CP-1",
      await seal(13, { v: 1, type: "SUPPLY", sessionId: "S1" }),
    ),
    // Month 13: once a RangeError out of the payload's validation, now an invalid payload.
    consumedBytes(
      TOPICS.cpTelemetry,
      "CP-1",
      await seal(14, { ...supply(7), ts: "2025-13-01T12:00:00.000Z" }),
    ),
    // Not JSON, and not UTF-8: refused as malformed (audited), not skipped unseen.
    consumed(TOPICS.cpTelemetry, "CP-1", new TextEncoder().encode("{not json")),
    consumed(TOPICS.cpTelemetry, "CP-1", new Uint8Array([0x7b, 0xff, 0x7d])),
  ];
  for (const message of forged) await handle(message);
  assert.equal(runtime.drops.rejectedTelemetry, 7);
  assert.equal(runtime.drops.rejectedTelemetryByReason.invalid_payload, 2);
  assert.equal(runtime.drops.rejectedTelemetryByReason.malformed, 3);
  assert.equal(runtime.model.sessions.get("S1")?.kwh, 1, "nothing forged got through");
  assert.equal(progress.length, 1, "one SUPPLY to the driver");
  assert.equal(outbox(store).length, before, "running figures skip the outbox");

  // A failure to store throws (Kafka delivers it again) and leaves the replay mark alone.
  runtime.close();
  const late = consumedBytes(TOPICS.cpTelemetry, "CP-1", await seal(15, supply(2)));
  await fails(() => handle(late));
  assert.equal(vault.guard.highWater("CP-1", login.keyVersion, TOPICS.cpTelemetry), 10);
  store.close();
}

async function batchIsOneTransaction(opener: TelemetryOpener | undefined) {
  const store = CentralStore.open(":memory:");
  const runtime = new CentralRuntime(store, EMPTY_MODEL, DEFAULT_CORE_CONFIG);
  const vault = await freshVault();
  const logins: Awaited<ReturnType<KeyVault["agree"]>>[] = [];
  for (const cpId of ["CP-1", "CP-2"]) {
    logins.push(
      await loginCharging(runtime, vault, {
        cpId,
        connection: logins.length + 1,
        requestId: `r-${cpId}`,
        driverId: `D-${cpId}`,
        sessionId: `S-${cpId}`,
      }),
    );
  }
  const seal = (i: number, seq: number, kwh: number) =>
    sealTelemetry(
      logins[i].key,
      `CP-${i + 1}`,
      logins[i].keyVersion,
      seq,
      supplyReading(`S-CP-${i + 1}`, kwh, kwh / 2),
    );
  const handle = telemetryBatchHandler(runtime, vault, opener);
  const transactions: number[] = [];
  const commitAll = store.commitAll.bind(store);
  store.commitAll = (steps) => {
    transactions.push(steps.length);
    commitAll(steps);
  };

  const repeated = await seal(0, 2, 2);
  await handle([
    consumedBytes(TOPICS.cpTelemetry, "CP-1", await seal(0, 1, 1)),
    consumedBytes(TOPICS.cpTelemetry, "CP-2", await seal(1, 1, 3)),
    consumedBytes(TOPICS.cpTelemetry, "CP-1", repeated),
    consumedBytes(TOPICS.cpTelemetry, "CP-1", repeated),
    consumedBytes(TOPICS.cpTelemetry, "CP-2", await seal(0, 5, 9)),
  ]);
  assert.deepEqual(transactions, [3], "three steps, one transaction");
  assert.equal(runtime.model.sessions.get("S-CP-1")?.kwh, 2, "the last of CP-1's figures");
  assert.equal(runtime.model.sessions.get("S-CP-2")?.kwh, 3);
  assert.equal(runtime.drops.duplicateTelemetry, 1, "the repeat inside the batch");
  assert.equal(runtime.drops.rejectedTelemetry, 1, "CP-1's key on CP-2's record");
  assert.equal(vault.guard.highWater("CP-1", logins[0].keyVersion, TOPICS.cpTelemetry), 2);

  // A batch that cannot be stored leaves model and guard as they were, so it comes again whole.
  store.commitAll = () => {
    throw new Error("disk full");
  };
  const batch = [consumedBytes(TOPICS.cpTelemetry, "CP-1", await seal(0, 3, 4))];
  await fails(() => handle(batch));
  assert.equal(runtime.model.sessions.get("S-CP-1")?.kwh, 2);
  assert.equal(vault.guard.highWater("CP-1", logins[0].keyVersion, TOPICS.cpTelemetry), 2);
  store.commitAll = commitAll;
  await handle([consumedBytes(TOPICS.cpTelemetry, "CP-1", await seal(0, 3, 4))]);
  assert.equal(runtime.model.sessions.get("S-CP-1")?.kwh, 4);
  store.close();
}

Deno.test("kafka edge: a key revoked, expired or installed while its batch is on the worker counts as it is when applied", async () => {
  const store = CentralStore.open(":memory:");
  const runtime = new CentralRuntime(store, EMPTY_MODEL, DEFAULT_CORE_CONFIG);
  let now = Date.now();
  const vault = await freshVault(() => now);
  using opener = disposable(TelemetryOpener.start({ minBatch: 1 }));
  const handle = telemetryBatchHandler(runtime, vault, opener.value);
  const cps = ["CP-1", "CP-2", "CP-3"];
  const logins = new Map<string, Awaited<ReturnType<KeyVault["agree"]>>>();
  for (const [i, cpId] of cps.entries()) {
    const login = await loginCharging(runtime, vault, {
      cpId,
      connection: i + 1,
      requestId: `r-${cpId}`,
      driverId: `D-${cpId}`,
      sessionId: `S-${cpId}`,
    });
    logins.set(cpId, login);
  }
  const reading = (cpId: string, seq: number, login = logins.get(cpId)!) =>
    sealTelemetry(login.key, cpId, login.keyVersion, seq, supplyReading(`S-${cpId}`, seq, 0))
      .then((envelope) => consumedBytes(TOPICS.cpTelemetry, cpId, envelope));

  // CP-4 logs in while the batch is out: its key was unknown when the batch left.
  const cp4 = await vault.agree(
    "CP-4",
    await exportEcdhPublicKey((await generateEcdhKeyPair()).publicKey),
  );
  const batch = [
    await reading("CP-1", 1),
    await reading("CP-2", 1),
    await reading("CP-3", 1),
    await reading("CP-4", 1, cp4),
  ];
  const out = handle(batch);
  assert.ok(out instanceof Promise, "on the worker");
  vault.keyring.retire("CP-2", logins.get("CP-2")!.keyVersion);
  now += 1;
  vault.forgetExpired(0); // CP-2's only version: now one it never had
  vault.keyring.revoke("CP-1");
  vault.install("CP-4", cp4);
  await out;

  assert.deepEqual(runtime.drops.rejectedTelemetryByReason, { revoked: 1, unknown_kv: 1 });
  assert.equal(runtime.model.sessions.get("S-CP-1")?.kwh, 0, "nothing under the revoked key");
  assert.equal(runtime.model.sessions.get("S-CP-2")?.kwh, 0, "nothing under the forgotten key");
  assert.equal(runtime.model.sessions.get("S-CP-3")?.kwh, 1, "an unchanged key opens");
  assert.equal(vault.guard.highWater("CP-4", cp4.keyVersion, TOPICS.cpTelemetry), 1, "opened here");
  store.close();
});
