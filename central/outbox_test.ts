import assert from "node:assert/strict";
import { CpKeyring, openEnvelope, ReplayGuard } from "../shared/envelope.ts";
import { type OutgoingMessage, TOPICS } from "../shared/kafka.ts";
import { EMPTY_MODEL } from "./core.ts";
import { at, chargeInput, cpLogin, drive, T0, type Timed } from "./core_test_support.ts";
import { OutboxPublisher } from "./outbox.ts";
import { CentralStore } from "./store.ts";

function newKey(): Promise<CryptoKey> {
  return crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
    "encrypt",
    "decrypt",
  ]);
}

/** D-1's request l1 for the list of CPs. */
const LIST_REQUEST: Timed = at(T0, {
  type: "cp_list_request",
  requestId: "l1",
  driverId: "D-1",
  duplicate: false,
});

/** A sink that records batches, or fails the first `failures` calls. */
function sink(failures = 0) {
  const batches: OutgoingMessage[][] = [];
  return {
    batches,
    sendBatch: (messages: readonly OutgoingMessage[]) => {
      if (failures-- > 0) return Promise.reject(new Error("broker down"));
      batches.push([...messages]);
      return Promise.resolve();
    },
  };
}

Deno.test("outbox: rows go out in order; commands are sealed with the live key and increasing seq", async () => {
  const store = CentralStore.open(":memory:");
  const keyring = new CpKeyring();
  const key = await newKey();
  keyring.add("CP-1", 1, key);
  drive(
    store,
    EMPTY_MODEL,
    cpLogin("CP-1", 1),
    chargeInput("r1", { sessionId: "S1" }, T0),
    at(T0, { type: "stop", cpId: "CP-1", reason: "admin" }),
  );
  const out = sink();
  const publisher = new OutboxPublisher(store, out, keyring, { pollMs: 10 });
  publisher.start();
  await publisher.stop();
  store.close();

  const sent = out.batches.flat();
  assert.deepEqual(sent.map((m) => [m.topic, m.key]), [
    [TOPICS.cpCommands, "CP-1"],
    [TOPICS.driverUpdates, "D-1"],
    [TOPICS.cpCommands, "CP-1"],
  ]);
  // The engine's view: both commands open, in order, and a replay of either is refused.
  const guard = new ReplayGuard();
  const opened = [];
  for (const m of sent.filter((m) => m.topic === TOPICS.cpCommands)) {
    opened.push(
      await openEnvelope(key, m.value, { channel: TOPICS.cpCommands, expectCp: "CP-1", guard }),
    );
  }
  assert.deepEqual(opened.map((p) => (p as { type: string }).type), ["AUTHORIZE", "STOP"]);
  assert.equal((sent[1].value as { type: string }).type, "AUTHORIZED", "driver updates are plain");
});

Deno.test("outbox: a command for a CP without a live key is dropped, the rest is sent", async () => {
  const store = CentralStore.open(":memory:");
  drive(
    store,
    EMPTY_MODEL,
    cpLogin("CP-1", 1),
    LIST_REQUEST,
    at(T0, { type: "stop", cpId: "CP-1", reason: "admin" }),
  );
  const out = sink();
  const publisher = new OutboxPublisher(store, out, new CpKeyring(), { pollMs: 10 });
  publisher.start();
  await publisher.stop();
  assert.deepEqual(out.batches.flat().map((m) => (m.value as { type: string }).type), ["CP_LIST"]);
  assert.equal(store.pendingCount(), 0);
  store.close();
});

Deno.test("outbox: a failed send is retried and nothing is marked sent before it succeeds", async () => {
  const store = CentralStore.open(":memory:");
  drive(store, EMPTY_MODEL, LIST_REQUEST);
  const out = sink(2);
  const publisher = new OutboxPublisher(store, out, new CpKeyring(), { pollMs: 10, retryMs: 10 });
  publisher.start();
  await publisher.stop();
  assert.equal(out.batches.flat().length, 1, "sent once, after two failures");
  assert.equal(store.pendingCount(), 0);
  store.close();
});

Deno.test("outbox: wake sends at once rather than at the next poll", async () => {
  const store = CentralStore.open(":memory:");
  const out = sink();
  const publisher = new OutboxPublisher(store, out, new CpKeyring(), { pollMs: 60_000 });
  publisher.start();
  await new Promise((resolve) => setTimeout(resolve, 20)); // idle now, for a minute
  drive(store, EMPTY_MODEL, LIST_REQUEST);
  publisher.wake();
  const deadline = Date.now() + 2000;
  while (out.batches.length === 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(out.batches.length, 1);
  await publisher.stop();
  store.close();
});
