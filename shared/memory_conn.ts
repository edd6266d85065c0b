/**
 * Connections inside one process: a pair of {@link ByteConn} ends joined in memory, and a
 * listener that hands out the server's end of each one opened to it.
 *
 * For a process that hosts both ends of a link (the fleet runs a CP's monitor and engine side by
 * side): the bytes are the same frames, LRC and link proof as over a socket, but a frame and its
 * ACK travel within one turn of the event loop. On a loaded machine a loopback socket's round
 * trip waits for the loop's next I/O poll, and a thousand of them in a thread can miss a 1.5 s
 * ACK deadline although both ends are alive.
 *
 * @module
 */
import { type ByteConn, takeQueuedBytes } from "./framed_conn.ts";

/** Raised by a write to, or a connect through, what is closed. */
export class MemoryConnClosed extends Error {
  /** Creates the error; `what` names the closed end or listener. */
  constructor(what: string) {
    super(`${what} is closed`);
    this.name = "MemoryConnClosed";
  }
}

/** The bytes one end has written and the other not yet read; its reader waits here. */
class Pipe {
  readonly #chunks: Uint8Array[] = [];
  #ended = false;
  #wake: (() => void) | undefined;

  get ended(): boolean {
    return this.#ended;
  }

  push(bytes: Uint8Array): void {
    this.#chunks.push(bytes.slice()); // the writer may reuse its buffer
    this.#notify();
  }

  end(): void {
    this.#ended = true;
    this.#notify();
  }

  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    return takeQueuedBytes(this.#chunks, p);
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/** One end: reads what the other end wrote; closing ends both directions. */
class MemoryEnd implements ByteConn {
  readonly remoteAddr: Deno.UnixAddr;
  readonly #in: Pipe;
  readonly #out: Pipe;

  constructor(peer: string, incoming: Pipe, outgoing: Pipe) {
    this.remoteAddr = { transport: "unix", path: peer };
    this.#in = incoming;
    this.#out = outgoing;
  }

  read(p: Uint8Array): Promise<number | null> {
    return this.#in.read(p);
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#out.ended) return Promise.reject(new MemoryConnClosed(this.remoteAddr.path));
    this.#out.push(p);
    return Promise.resolve(p.length);
  }

  close(): void {
    this.#out.end();
    this.#in.end();
  }
}

/**
 * Two joined ends: what one writes, the other reads. `name` is what each end gives as its
 * peer's address (`remoteAddr.path`), for logs.
 */
export function memoryConnPair(name: string): [client: ByteConn, server: ByteConn] {
  const up = new Pipe();
  const down = new Pipe();
  return [new MemoryEnd(name, down, up), new MemoryEnd(name, up, down)];
}

/**
 * Accepts in-process connections as a `Deno.Listener` accepts sockets: iterate it for the
 * server's end of each {@link MemoryListener.connect}.
 */
export class MemoryListener implements AsyncIterable<ByteConn> {
  readonly #name: string;
  readonly #waiting: ByteConn[] = [];
  #wake: (() => void) | undefined;
  #closed = false;

  /** A listener whose connections say `name` as their peer. */
  constructor(name: string) {
    this.#name = name;
  }

  /** The name its connections give as their peer. */
  get name(): string {
    return this.#name;
  }

  /**
   * Opens a connection: returns the client's end, and the listener yields the server's.
   * @throws {MemoryConnClosed} once the listener is closed, as a closed port refuses.
   */
  connect(): ByteConn {
    if (this.#closed) throw new MemoryConnClosed(this.#name);
    const [client, server] = memoryConnPair(this.#name);
    this.#waiting.push(server);
    this.#notify();
    return client;
  }

  /** Stops accepting: the iteration ends, and connections not yet taken are closed. */
  close(): void {
    this.#closed = true;
    for (const conn of this.#waiting.splice(0)) conn.close();
    this.#notify();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ByteConn> {
    while (true) {
      const next = this.#waiting.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.#closed) return;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
