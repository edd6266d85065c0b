import assert from "node:assert/strict";
import { createDevCa, createServerCert } from "../infra/dev_ca.ts";
import { connectTls } from "./tls.ts";
import { listenTlsNoDelay, type TlsListener } from "./tls_listener.ts";
import type { ByteConn } from "./framed_conn.ts";

const ca = await createDevCa();
const cert = await createServerCert(ca);

/** Reads until `n` bytes have come, or the end. */
async function readBytes(conn: { read(p: Uint8Array): Promise<number | null> }, n: number) {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const k = await conn.read(out.subarray(got));
    if (k === null) break;
    got += k;
  }
  return out.subarray(0, got);
}

/** A listener whose first accepted connection goes to `handle`. */
async function withListener(
  handle: (conn: ByteConn) => Promise<void>,
  body: (listener: TlsListener) => Promise<void>,
): Promise<void> {
  const listener = await listenTlsNoDelay({ hostname: "127.0.0.1", port: 0, ...cert });
  const served = (async () => {
    for await (const accepted of listener) {
      await handle(accepted.startTls());
      return;
    }
  })();
  try {
    await body(listener);
  } finally {
    listener.close();
    await served;
  }
}

Deno.test("tls listener: a client that trusts the CA talks both ways; the peer's close reads as null", async () => {
  await withListener(
    async (conn) => {
      assert.equal(conn.remoteAddr.transport, "tcp");
      assert.equal((conn.remoteAddr as Deno.NetAddr).hostname, "127.0.0.1");
      const got = await readBytes(conn, 5);
      assert.equal(new TextDecoder().decode(got), "hello");
      assert.equal(await conn.write(new TextEncoder().encode("world")), 5);
      assert.equal(await conn.read(new Uint8Array(8)), null, "the client closed");
      conn.close();
      assert.throws(() => conn.close(), Deno.errors.BadResource);
    },
    async (listener) => {
      const client = await connectTls("127.0.0.1", listener.addr.port, [ca.cert]);
      await client.write(new TextEncoder().encode("hello"));
      assert.equal(new TextDecoder().decode(await readBytes(client, 5)), "world");
      client.close();
    },
  );
});

Deno.test("tls listener: a large message arrives whole through small reads", async () => {
  const big = crypto.getRandomValues(new Uint8Array(60_000));
  await withListener(
    async (conn) => {
      const got = await readBytes(conn, big.length);
      assert.deepEqual(got, big);
      await conn.write(Uint8Array.of(6));
      conn.close();
    },
    async (listener) => {
      const client = await connectTls("127.0.0.1", listener.addr.port, [ca.cert]);
      for (let offset = 0; offset < big.length;) {
        offset += await client.write(big.subarray(offset));
      }
      assert.deepEqual(await readBytes(client, 1), Uint8Array.of(6));
      client.close();
    },
  );
});

Deno.test("tls listener: a plaintext client gets no answer, and its read fails", async () => {
  await withListener(
    async (conn) => {
      await assert.rejects(conn.read(new Uint8Array(8)));
      await assert.rejects(conn.write(Uint8Array.of(6)));
      conn.close();
    },
    async (listener) => {
      const plain = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
      await plain.write(Uint8Array.of(0x05)); // ENQ in clear
      const answer = await readBytes(plain, 1).catch(() => new Uint8Array(0));
      assert.notDeepEqual(answer, Uint8Array.of(0x06), "no ACK in clear");
      plain.close();
    },
  );
});

Deno.test("tls listener: a refused connection is closed before any TLS work", async () => {
  const listener = await listenTlsNoDelay({ hostname: "127.0.0.1", port: 0, ...cert });
  const refused = (async () => {
    for await (const accepted of listener) {
      accepted.refuse();
      return;
    }
  })();
  await assert.rejects(connectTls("127.0.0.1", listener.addr.port, [ca.cert]));
  await refused;
  listener.close();
});

Deno.test("tls listener: close ends the iteration and frees the port", async () => {
  const listener = await listenTlsNoDelay({ hostname: "127.0.0.1", port: 0, ...cert });
  const ended = (async () => {
    for await (const _ of listener) throw new Error("no connection was made");
  })();
  listener.close();
  await ended;
  listener.close(); // a second close is harmless
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
});

Deno.test("tls listener: a port in use is refused at start", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await assert.rejects(
      listenTlsNoDelay({ hostname: "127.0.0.1", port: taken.addr.port, ...cert }),
      /EADDRINUSE|in use/i,
    );
  } finally {
    taken.close();
  }
});
