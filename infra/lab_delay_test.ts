import assert from "node:assert/strict";
import { delayedCopy, hostPort } from "./lab_delay.ts";

Deno.test("hostPort: parses host:port and refuses anything else", () => {
  assert.deepEqual(hostPort("10.77.0.1:9092"), { hostname: "10.77.0.1", port: 9092 });
  assert.throws(() => hostPort("10.77.0.1"), /host:port/);
  assert.throws(() => hostPort(":9092"), /host:port/);
  assert.throws(() => hostPort("h:0"), /host:port/);
});

Deno.test("delayedCopy: every chunk arrives in order, none before its delay", async () => {
  const chunks = [1, 2, 3].map((n) => new Uint8Array([n]));
  const sent = Date.now();
  const arrived: { at: number; data: number }[] = [];
  await delayedCopy(
    ReadableStream.from(chunks),
    new WritableStream({ write: (c) => void arrived.push({ at: Date.now(), data: c[0] }) }),
    50,
  );
  assert.deepEqual(arrived.map((a) => a.data), [1, 2, 3]);
  assert.ok(arrived.every((a) => a.at - sent >= 49), "no chunk before its delay");
});
