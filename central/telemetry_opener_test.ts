import assert from "node:assert/strict";
import { openingKeyBytes, sealEnvelope } from "../shared/envelope.ts";
import { type OpenBatch, openBatch, packValues } from "./telemetry_open.ts";
import { TelemetryOpener } from "./telemetry_opener.ts";

const channel = "cp.telemetry";

/** A batch of sealed, forged and malformed records, packed anew from record `from` on each call (a batch sent to a worker leaves its buffers there). */
async function mixedBatch(): Promise<(from?: number) => OpenBatch> {
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
    "encrypt",
    "decrypt",
  ]);
  const values: unknown[] = [];
  for (let seq = 1; seq <= 6; seq++) {
    const payload = seq === 4
      ? { v: 1, type: "SUPPLY" }
      : { v: 1, type: "STATUS", engine: "OK", ts: "2026-12-06T23:00:00.000Z" };
    values.push(await sealEnvelope(key, { cp: "CP-1", kv: 1, seq, channel }, payload));
  }
  values.push({ v: 1 });
  const expectCps = values.map((_, i) => (i === 2 ? "CP-2" : "CP-1"));
  const bytes = values.map((v) => new TextEncoder().encode(JSON.stringify(v)));
  return (from = 0) => ({
    channel,
    ...packValues(bytes.slice(from)),
    expectCps: expectCps.slice(from),
    keys: [{ cp: "CP-1", kv: 1, key: openingKeyBytes(key) }],
  });
}

Deno.test("telemetry opener: the workers' results are those of opening here", async () => {
  const batch = await mixedBatch();
  const opener = TelemetryOpener.start({ minBatch: 1, threads: 2 });
  try {
    const opened = [opener.open(batch()), opener.open(batch(1))];
    assert.ok(opened.every((o) => o instanceof Promise), "opened on the workers");
    assert.deepEqual(await Promise.all(opened), [openBatch(batch()), openBatch(batch(1))]);
    // The worker keeps no key: a batch sent without one opens nothing.
    const keyless = await opener.open({ ...batch(), keys: [] });
    assert.deepEqual(
      keyless.map((o) => o.type),
      ["no_key", "no_key", "cp_mismatch", "no_key", "no_key", "no_key", "malformed"],
    );
  } finally {
    opener.close();
  }
});

Deno.test("telemetry opener: a small batch opens on this thread; closing fails what is out", async () => {
  const batch = await mixedBatch();
  const opener = TelemetryOpener.start({ minBatch: batch().ends.length + 1 });
  try {
    const here = opener.open(batch());
    assert.ok(Array.isArray(here), "opened at once");
    assert.deepEqual(here, openBatch(batch()));
  } finally {
    opener.close();
  }
  const worker = TelemetryOpener.start({ minBatch: 1 });
  const sent = batch();
  const out = worker.open(sent);
  assert.equal(sent.bytes.byteLength, 0, "the records moved to the worker, not copied");
  worker.close();
  await assert.rejects(Promise.resolve(out), /telemetry thread closed/);
  assert.ok(Array.isArray(worker.open(batch())), "after close, opened on this thread");
});

Deno.test("telemetry opener: through OpenSSL, on the workers and here, the results are node:crypto's", async () => {
  const batch = await mixedBatch();
  const workers = TelemetryOpener.start({ minBatch: 1, threads: 2, libcrypto: "libcrypto.so.3" });
  const here = TelemetryOpener.start({ minBatch: 1_000, libcrypto: "libcrypto.so.3" });
  try {
    const expected = openBatch(batch());
    assert.deepEqual(
      expected.map((o) => o.type),
      ["payload", "payload", "cp_mismatch", "refused", "payload", "payload", "malformed"],
    );
    assert.deepEqual(await workers.open(batch()), expected);
    assert.deepEqual(here.open(batch()), expected);
  } finally {
    workers.close();
    here.close();
  }
});

Deno.test("telemetry opener: a libcrypto that cannot be used fails the start, naming it", () => {
  assert.throws(
    () => TelemetryOpener.start({ libcrypto: "/nonexistent/libcrypto.so.3" }),
    /cannot use OpenSSL's libcrypto at \/nonexistent\/libcrypto\.so\.3/,
  );
});
