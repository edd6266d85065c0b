/**
 * A TLS server whose connections send small writes at once. `Deno.listenTls` cannot turn off
 * Nagle's algorithm on the connections it accepts (a server-side `TlsConn` has no
 * `setNoDelay`), and a framed conversation writes an ACK byte and then its answer: the answer
 * waits for the peer's delayed TCP ACK, about 40 ms on Linux, on every request. This listener
 * accepts plain TCP (node:net), turns Nagle off, and runs TLS over the socket (node:tls), so
 * each connection can be refused before any TLS work is spent on it.
 *
 * @module
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { type ByteConn, takeQueuedBytes } from "./framed_conn.ts";
import { plainIp } from "./local_address.ts";

/** Options of {@link listenTlsNoDelay}. */
export interface TlsListenerOptions {
  /** Address to listen on. */
  readonly hostname: string;
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  /** The server's certificate chain, PEM. */
  readonly cert: string;
  /** The server's private key, PEM. */
  readonly key: string;
}

/** A connection accepted but not yet given TLS: refuse it, or start TLS on it. */
export interface PendingConn {
  /** The peer's address. */
  readonly remoteAddr: Deno.NetAddr;
  /** Closes the socket before any TLS work. */
  refuse(): void;
  /** Runs the TLS handshake over the socket; its failure shows at the first read. */
  startTls(): ByteConn;
}

/** A listening TLS server: iterate it for connections, close it to stop accepting. */
export interface TlsListener extends AsyncIterable<PendingConn> {
  /** Where it listens. */
  readonly addr: Deno.NetAddr;
  /** Stops accepting; the iteration ends. Open connections stay open. */
  close(): void;
}

// A reader this far behind pauses the socket, so a peer cannot fill memory faster than we read.
const HIGH_WATER_BYTES = 256 * 1024;

/** A TLS socket as a {@link ByteConn}: buffered reads with back-pressure, acknowledged writes. */
class SocketConn implements ByteConn {
  /** The peer's address. */
  readonly remoteAddr: Deno.NetAddr;
  readonly #socket: tls.TLSSocket;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #closed = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;

  constructor(socket: tls.TLSSocket, remoteAddr: Deno.NetAddr) {
    this.#socket = socket;
    this.remoteAddr = remoteAddr;
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      if (this.#buffered >= HIGH_WATER_BYTES) socket.pause();
      this.#notify();
    });
    socket.on("end", () => this.#finish());
    socket.on("close", () => this.#finish());
    socket.on("error", (error: Error) => {
      this.#error ??= new Deno.errors.ConnectionReset(error.message);
      this.#notify();
    });
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#closed) throw new Deno.errors.BadResource("connection closed");
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    const n = takeQueuedBytes(this.#chunks, p);
    this.#buffered -= n;
    if (this.#buffered < HIGH_WATER_BYTES && this.#socket.isPaused()) this.#socket.resume();
    return n;
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("connection closed"));
    if (this.#error !== undefined) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#socket.write(p, (error?: Error | null) => {
        if (error) reject(new Deno.errors.BrokenPipe(error.message));
        else resolve(p.length);
      });
    });
  }

  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("connection already closed");
    this.#closed = true;
    this.#socket.destroy();
    this.#notify();
  }

  #finish(): void {
    this.#ended = true;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/**
 * Listens for TLS connections on `hostname:port` with `cert`/`key`, Nagle's algorithm off on
 * each. Resolves once listening.
 */
export async function listenTlsNoDelay(options: TlsListenerOptions): Promise<TlsListener> {
  const context = tls.createSecureContext({ cert: options.cert, key: options.key });
  const server = net.createServer({ noDelay: true, pauseOnConnect: true });
  const waiting: net.Socket[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  server.on("connection", (socket: net.Socket) => {
    // A reset while it waits in the queue must not become an unhandled 'error' event; once TLS
    // runs over it, the TLS socket reports it.
    socket.on("error", () => {});
    waiting.push(socket);
    wake?.();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address() as net.AddressInfo;
  const pending = (socket: net.Socket): PendingConn => {
    const remoteAddr: Deno.NetAddr = {
      transport: "tcp",
      // A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d; addresses are counted and
      // audited in their plain form.
      hostname: plainIp(socket.remoteAddress ?? ""),
      port: socket.remotePort ?? 0,
    };
    return {
      remoteAddr,
      refuse: () => socket.destroy(),
      startTls: () => {
        socket.setNoDelay(true);
        const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: context });
        socket.resume();
        return new SocketConn(secure, remoteAddr);
      },
    };
  };
  return {
    addr: { transport: "tcp", hostname: bound.address, port: bound.port },
    close() {
      if (closed) return;
      closed = true;
      server.close();
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      while (true) {
        const socket = waiting.shift();
        if (socket !== undefined) {
          yield pending(socket);
          continue;
        }
        if (closed) return;
        await new Promise<void>((resolve) => wake = resolve);
        wake = undefined;
      }
    },
  };
}
