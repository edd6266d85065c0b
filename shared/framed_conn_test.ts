import assert from "node:assert/strict";
import { FramedConn, FramedConnError, type FramedConnErrorCode } from "./framed_conn.ts";
import {
  ACK,
  type DecodeEvent,
  encodeFrame,
  ENQ,
  EOT,
  ETX,
  FrameDecoder,
  lrc,
  NACK,
  STX,
} from "./framing.ts";

/** A connected pair of real TCP sockets on the loopback. */
async function socketPair(): Promise<{ client: Deno.Conn; server: Deno.Conn }> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const [server, client] = await Promise.all([
      listener.accept(),
      Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    ]);
    return { client, server };
  } finally {
    listener.close();
  }
}

/** The far end driven by hand: raw bytes out, decoded events in (null = EOF). */
class RawPeer {
  readonly #conn: Deno.Conn;
  readonly #decoder = new FrameDecoder();
  readonly #events: (DecodeEvent | null)[] = [];
  #wake: (() => void) | undefined;
  readonly #loop: Promise<void>;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
    this.#loop = this.#read();
  }

  async #read(): Promise<void> {
    const buffer = new Uint8Array(4096);
    try {
      for (let n; (n = await this.#conn.read(buffer)) !== null;) {
        this.#events.push(...this.#decoder.push(buffer.subarray(0, n)));
        this.#wake?.();
      }
    } catch {
      // closed by us
    }
    this.#events.push(null);
    this.#wake?.();
  }

  /** Events received but not yet taken. */
  get pending(): number {
    return this.#events.length;
  }

  async next(): Promise<DecodeEvent | null> {
    while (this.#events.length === 0) await new Promise<void>((r) => this.#wake = r);
    return this.#events.shift()!;
  }

  /** Writes bytes and byte arrays as one buffer (one write, no Nagle delay between parts). */
  async write(...parts: (number | Uint8Array)[]): Promise<void> {
    const bytes = Uint8Array.from(parts.flatMap((p) => typeof p === "number" ? [p] : [...p]));
    for (let offset = 0; offset < bytes.length;) {
      offset += await this.#conn.write(bytes.subarray(offset));
    }
  }

  async close(): Promise<void> {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
    await this.#loop;
  }
}

/** Fails instead of hanging when `promise` does not settle within `ms`. */
async function within<T>(promise: Promise<T>, ms = 2000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`nothing within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const control = (byte: number): DecodeEvent => ({ kind: "control", byte } as DecodeEvent);

function isFramedError(code: FramedConnErrorCode) {
  return (err: unknown) => err instanceof FramedConnError && err.code === code;
}

/** A FramedConn client whose server end is a RawPeer that has already ACKed the opening. */
async function clientWithRawServer(options = {}) {
  const { client, server } = await socketPair();
  const peer = new RawPeer(server);
  const opening = FramedConn.client(client, options);
  assert.deepEqual(await peer.next(), control(ENQ));
  await peer.write(ACK);
  return { conn: await opening, peer };
}

/** A FramedConn server whose client end is a RawPeer that has opened with ENQ. */
async function serverWithRawClient(options = {}) {
  const { client, server } = await socketPair();
  const peer = new RawPeer(client);
  const opening = FramedConn.server(server, options);
  await peer.write(ENQ);
  const conn = await opening;
  assert.deepEqual(await peer.next(), control(ACK));
  return { conn, peer };
}

function frameEvent(value: unknown): DecodeEvent {
  return { kind: "frame", value, size: JSON.stringify(value).length };
}

Deno.test("client and server open with ENQ/ACK and exchange a message each way", async () => {
  const { client, server } = await socketPair();
  const [cp, central] = await Promise.all([FramedConn.client(client), FramedConn.server(server)]);
  const atCentral = central[Symbol.asyncIterator]();
  const atCp = cp[Symbol.asyncIterator]();

  await cp.send({ type: "HEARTBEAT", seq: 1 });
  assert.deepEqual(await atCentral.next(), { value: { type: "HEARTBEAT", seq: 1 }, done: false });
  await central.send({ type: "AUTH_FAIL", reason: "ünknown" });
  assert.deepEqual(await atCp.next(), {
    value: { type: "AUTH_FAIL", reason: "ünknown" },
    done: false,
  });

  await cp.close();
  assert.equal((await atCentral.next()).done, true);
  await central.close();
});

Deno.test("the client opening is ENQ on the wire and completes on ACK", async () => {
  const { conn, peer } = await clientWithRawServer();
  const sending = conn.send({ type: "HEALTH", engine: "OK" });
  assert.deepEqual(await peer.next(), frameEvent({ type: "HEALTH", engine: "OK" }));
  await peer.write(ACK);
  await sending;
  await conn.close();
  assert.deepEqual(await peer.next(), control(EOT));
  assert.equal(await peer.next(), null);
  await peer.close();
});

Deno.test("both sides can send at once on the same socket", async () => {
  const { client, server } = await socketPair();
  const [a, b] = await Promise.all([FramedConn.client(client), FramedConn.server(server)]);
  const count = 50;
  const take = async (conn: FramedConn) => {
    const got: unknown[] = [];
    for await (const message of conn) {
      got.push(message);
      if (got.length === count) break;
    }
    return got;
  };
  const range = Array.from({ length: count }, (_, i) => i);
  const [gotByA, gotByB] = await Promise.all([
    take(a),
    take(b),
    ...range.map((i) => a.send({ from: "a", i })),
    ...range.map((i) => b.send({ from: "b", i, pad: "x".repeat(i * 500) })),
  ]);
  assert.deepEqual(gotByB, range.map((i) => ({ from: "a", i })));
  assert.deepEqual(gotByA, range.map((i) => ({ from: "b", i, pad: "x".repeat(i * 500) })));
  await Promise.all([a.close(), b.close()]);
});

Deno.test("the peer's ACK and its own frame in one write are told apart", async () => {
  const { conn, peer } = await clientWithRawServer();
  const sending = conn.send({ type: "HEARTBEAT", seq: 7 });
  assert.equal((await peer.next())?.kind, "frame");
  // The peer's own frame arrives first, then its ACK for ours, back to back.
  await peer.write(encodeFrame({ type: "HEARTBEAT", seq: 8 }), ACK);
  await sending;
  const inbox = conn[Symbol.asyncIterator]();
  assert.deepEqual((await inbox.next()).value, { type: "HEARTBEAT", seq: 8 });
  assert.deepEqual(await peer.next(), control(ACK));
  await conn.close();
  await peer.close();
});

Deno.test("a frame the peer NACKs is resent and then succeeds", async () => {
  const { conn, peer } = await clientWithRawServer();
  const sending = conn.send({ type: "HEARTBEAT", seq: 1 });
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(await peer.next(), frameEvent({ type: "HEARTBEAT", seq: 1 }));
    await peer.write(NACK);
  }
  assert.deepEqual(await peer.next(), frameEvent({ type: "HEARTBEAT", seq: 1 }));
  await peer.write(ACK);
  await sending;

  // The connection still works afterwards.
  const next = conn.send({ type: "HEARTBEAT", seq: 2 });
  assert.deepEqual(await peer.next(), frameEvent({ type: "HEARTBEAT", seq: 2 }));
  await peer.write(ACK);
  await next;
  await conn.close();
  await peer.close();
});

Deno.test("after 4 NACKs the sender drops the connection with a clear error", async () => {
  const { conn, peer } = await clientWithRawServer();
  const sending = conn.send({ type: "HEARTBEAT", seq: 1 });
  for (let i = 0; i < 4; i++) {
    assert.equal((await peer.next())?.kind, "frame");
    await peer.write(NACK);
  }
  await assert.rejects(sending, isFramedError("nack-limit"));
  assert.equal(await peer.next(), null, "dropped without EOT");
  await assert.rejects(conn[Symbol.asyncIterator]().next(), isFramedError("nack-limit"));
  await assert.rejects(conn.send({ type: "HEARTBEAT" }), isFramedError("nack-limit"));
  await conn.close();
  await peer.close();
});

Deno.test("a corrupted frame is NACKed and the connection keeps working", async () => {
  const { conn, peer } = await serverWithRawClient();
  const badLrc = encodeFrame({ type: "HEARTBEAT", seq: 1 });
  badLrc[badLrc.length - 1] ^= 0x5a;
  const badJson = new TextEncoder().encode('{"type":');
  await peer.write(badLrc);
  assert.deepEqual(await peer.next(), control(NACK));
  await peer.write(STX, badJson, ETX, lrc(badJson));
  assert.deepEqual(await peer.next(), control(NACK));
  await peer.write(new Uint8Array(100_000).fill(0x20).map((b, i) => i === 0 ? STX : b), ETX, 0);
  assert.deepEqual(await peer.next(), control(NACK));
  await peer.write(encodeFrame({ type: "HEARTBEAT", seq: 2 }));
  assert.deepEqual(await peer.next(), control(ACK));

  const inbox = conn[Symbol.asyncIterator]();
  assert.deepEqual((await inbox.next()).value, { type: "HEARTBEAT", seq: 2 });
  await peer.write(EOT);
  assert.equal((await inbox.next()).done, true, "only the valid frame was delivered");
  await conn.close();
  await peer.close();
});

Deno.test("a message the validator rejects is NACKed and not delivered", async () => {
  const known = new Set(["HEARTBEAT", "AUTH"]);
  const validate = (v: unknown) =>
    known.has((v as { type?: string })?.type ?? "") ? undefined : "unknown type";
  const { conn, peer } = await serverWithRawClient({ validate });
  await peer.write(encodeFrame({ type: "NOPE" }));
  assert.deepEqual(await peer.next(), control(NACK));
  await peer.write(encodeFrame(null));
  assert.deepEqual(await peer.next(), control(NACK));
  await peer.write(encodeFrame({ type: "HEARTBEAT", seq: 1 }), EOT);
  assert.deepEqual(await peer.next(), control(ACK));
  const received = [];
  for await (const message of conn) received.push(message);
  assert.deepEqual(received, [{ type: "HEARTBEAT", seq: 1 }]);
  await conn.close();
  await peer.close();
});

Deno.test("a frame followed at once by EOT is still ACKed before the socket closes", async () => {
  const { conn, peer } = await serverWithRawClient();
  await peer.write(encodeFrame({ type: "HEARTBEAT", seq: 9 }), EOT);
  assert.deepEqual(await peer.next(), control(ACK));
  assert.equal(await peer.next(), null);
  const received = [];
  for await (const message of conn) received.push(message);
  assert.deepEqual(received, [{ type: "HEARTBEAT", seq: 9 }]);
  await peer.close();
});

Deno.test("EOT from the peer ends the iterator cleanly and fails the send in flight", async () => {
  const { conn, peer } = await serverWithRawClient();
  const sending = conn.send({ type: "AUTH_OK" });
  assert.equal((await peer.next())?.kind, "frame");
  await peer.write(EOT);
  await assert.rejects(sending, isFramedError("closed"));
  assert.equal((await conn[Symbol.asyncIterator]().next()).done, true);
  assert.equal(await peer.next(), null, "the server closed its side");
  await conn.close();
  await peer.close();
});

Deno.test("a server at capacity refuses the opening with NACK", async () => {
  const refusals = [() => false, () => Promise.resolve(false), () => {
    throw new Error("admit hook failed");
  }];
  for (const admit of refusals) {
    const { client, server } = await socketPair();
    const [cp, central] = await Promise.allSettled([
      FramedConn.client(client),
      FramedConn.server(server, { admit }),
    ]);
    assert.equal(cp.status, "rejected");
    assert.ok(isFramedError("refused")(cp.reason), String(cp.reason));
    assert.equal(central.status, "rejected");
    assert.ok(isFramedError("refused")(central.reason));
  }
});

Deno.test("a frame right behind the server's ACK is not lost", async () => {
  const { client, server } = await socketPair();
  const peer = new RawPeer(server);
  const opening = FramedConn.client(client);
  assert.deepEqual(await peer.next(), control(ENQ));
  await peer.write(ACK, encodeFrame({ type: "AUTH_OK" })); // one write, likely one read
  const conn = await opening;
  assert.deepEqual(await within(peer.next()), control(ACK));
  assert.deepEqual((await conn[Symbol.asyncIterator]().next()).value, { type: "AUTH_OK" });
  await conn.close();
  await peer.close();
});

Deno.test("an opening with no answer times out and closes the socket", async () => {
  const { client, server } = await socketPair();
  const peer = new RawPeer(server);
  await assert.rejects(
    FramedConn.client(client, { openTimeoutMs: 50 }),
    isFramedError("open-timeout"),
  );
  assert.deepEqual(await peer.next(), control(ENQ));
  assert.equal(await peer.next(), null);
  await peer.close();

  const pair = await socketPair();
  const silent = new RawPeer(pair.client);
  await assert.rejects(
    FramedConn.server(pair.server, { openTimeoutMs: 50 }),
    isFramedError("open-timeout"),
  );
  assert.equal(await silent.next(), null);
  await silent.close();
});

Deno.test("a frame with no answer times out and drops the connection", async () => {
  const { conn, peer } = await clientWithRawServer({ ackTimeoutMs: 50 });
  const sending = conn.send({ type: "HEARTBEAT", seq: 1 });
  assert.equal((await peer.next())?.kind, "frame");
  await assert.rejects(sending, isFramedError("ack-timeout"));
  assert.equal(await peer.next(), null);
  await conn.close();
  await peer.close();
});

Deno.test("an ACK that waited while this thread was held up is not taken for silence", async () => {
  const { conn, peer } = await clientWithRawServer({ ackTimeoutMs: 100 });
  const sending = conn.send({ type: "HEARTBEAT", seq: 1 });
  assert.equal((await peer.next())?.kind, "frame");
  await peer.write(ACK);
  // The ACK is in the socket; the thread is busy past the deadline before it can read it.
  const busyUntil = performance.now() + 500;
  while (performance.now() < busyUntil) { /* held up, as a starved process is */ }
  await sending;
  await conn.close();
  await peer.close();
});

Deno.test("a peer that vanishes ends the iterator with an error", async () => {
  const { conn, peer } = await serverWithRawClient();
  await peer.write(encodeFrame({ type: "HEARTBEAT", seq: 1 }));
  await peer.close(); // no EOT
  const received: unknown[] = [];
  await assert.rejects(async () => {
    for await (const message of conn) received.push(message);
  }, isFramedError("peer-vanished"));
  assert.deepEqual(received, [{ type: "HEARTBEAT", seq: 1 }], "earlier messages still delivered");
  await conn.closed;
});

Deno.test("sends are serialized: the next frame waits for the previous ACK", async () => {
  const { conn, peer } = await clientWithRawServer();
  const sends = [1, 2, 3].map((seq) => conn.send({ seq }));
  for (const seq of [1, 2, 3]) {
    assert.deepEqual(await peer.next(), frameEvent({ seq }));
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(peer.pending, 0, "nothing else sent before the ACK");
    await peer.write(ACK);
  }
  await Promise.all(sends);
  await conn.close();
  await peer.close();
});

Deno.test("a value too big for a frame is refused without harming the connection", async () => {
  const { client, server } = await socketPair();
  const [a, b] = await Promise.all([FramedConn.client(client), FramedConn.server(server)]);
  await assert.rejects(a.send({ blob: "x".repeat(70_000) }), RangeError);
  await a.send({ ok: true });
  assert.deepEqual((await b[Symbol.asyncIterator]().next()).value, { ok: true });
  await Promise.all([a.close(), b.close()]);
});
