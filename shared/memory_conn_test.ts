import assert from "node:assert/strict";
import { FramedConn } from "./framed_conn.ts";
import { MemoryConnClosed, memoryConnPair, MemoryListener } from "./memory_conn.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function readAll(conn: { read(p: Uint8Array): Promise<number | null> }, size = 3) {
  const parts: string[] = [];
  const buf = new Uint8Array(size);
  for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
    parts.push(text(buf.subarray(0, n)));
  }
  return parts;
}

Deno.test("memory conn: what one end writes the other reads, in order, in reads as small as asked", async () => {
  const [client, server] = memoryConnPair("pair");
  const buf = bytes("hello");
  assert.equal(await client.write(buf), 5);
  buf.fill(0); // the writer may reuse its buffer: the bytes were copied
  await client.write(bytes(" world"));
  client.close();
  assert.deepEqual(await readAll(server), ["hel", "lo", " wo", "rld"]);
});

Deno.test("memory conn: a read waits for the write", async () => {
  const [client, server] = memoryConnPair("pair");
  const buf = new Uint8Array(8);
  const read = server.read(buf);
  await server.write(bytes("up")); // the other direction does not wake it
  await client.write(bytes("down"));
  assert.equal(await read, 4);
  assert.equal(text(buf.subarray(0, 4)), "down");
  assert.equal(await client.read(buf), 2);
});

Deno.test("memory conn: closing ends both directions; a write after it rejects", async () => {
  const [client, server] = memoryConnPair("CP-1 engine");
  const pending = client.read(new Uint8Array(4));
  server.close();
  assert.equal(await pending, null, "the peer's reader sees the end");
  assert.equal(await server.read(new Uint8Array(4)), null, "and so does the closer's");
  await assert.rejects(client.write(bytes("x")), MemoryConnClosed);
  await assert.rejects(server.write(bytes("x")), /CP-1 engine is closed/);
  assert.deepEqual(client.remoteAddr, { transport: "unix", path: "CP-1 engine" });
});

Deno.test("memory conn: bytes written before the close are still read", async () => {
  const [client, server] = memoryConnPair("pair");
  await client.write(bytes("last words"));
  client.close();
  assert.deepEqual(await readAll(server, 64), ["last words"]);
});

Deno.test("memory listener: yields the server's end of each connection, in order", async () => {
  const listener = new MemoryListener("engine");
  const first = listener.connect();
  const second = listener.connect();
  const accepted = listener[Symbol.asyncIterator]();
  const a = (await accepted.next()).value!;
  const b = (await accepted.next()).value!;
  await first.write(bytes("1"));
  await second.write(bytes("2"));
  const buf = new Uint8Array(1);
  await a.read(buf);
  assert.equal(text(buf), "1");
  await b.read(buf);
  assert.equal(text(buf), "2");
});

Deno.test("memory listener: once closed it refuses, ends its iteration and closes what waited", async () => {
  const listener = new MemoryListener("engine");
  const waiting = listener.connect();
  const accepted = listener[Symbol.asyncIterator]();
  listener.close();
  assert.equal((await accepted.next()).done, true);
  assert.throws(() => listener.connect(), /engine is closed/);
  assert.equal(await waiting.read(new Uint8Array(1)), null, "the untaken opening was closed");
});

Deno.test("memory listener: an iteration waiting for a connection ends at the close", async () => {
  const listener = new MemoryListener("engine");
  const next = listener[Symbol.asyncIterator]().next();
  listener.close();
  assert.equal((await next).done, true);
});

Deno.test("memory conn: carries a framed conversation (ENQ/ACK, frames with LRC, EOT) both ways", async () => {
  const listener = new MemoryListener("engine");
  const served = (async () => {
    for await (const socket of listener) {
      const conn = await FramedConn.server(socket);
      for await (const value of conn) await conn.send({ echo: value });
      return;
    }
  })();
  const client = await FramedConn.client(listener.connect());
  await client.send({ n: 1 });
  const answers = client[Symbol.asyncIterator]();
  assert.deepEqual((await answers.next()).value, { echo: { n: 1 } });
  await client.close();
  await served;
  listener.close();
});
