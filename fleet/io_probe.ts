/**
 * How long a fleet thread takes to hear a loopback socket, beside how late its timers run.
 *
 * In the 3,000-CP runs a whole thread's CPs fell silent for over 3 s at once (BENCHMARKS.md).
 * Their heartbeats wait for Central's `ACK`, so from the fleet alone a thread whose timers are
 * late, one whose socket reads stall while its timers run, and a Central that does not answer
 * all look the same. The probe tells them apart: each thread sends one byte every
 * {@link IO_PROBE_EVERY_MS} to an echo on the fleet's main thread (threads.ts), which does
 * nothing else with sockets, over each kind of socket Deno has, and reports the longest round
 * trip, counting one still unanswered by its age.
 *
 * @module
 */
import * as net from "node:net";

/** How often a thread sends its probe byte. */
export const IO_PROBE_EVERY_MS = 250;

/** A loopback echo server: every byte a client sends comes straight back. */
export interface EchoServer {
  readonly port: number;
  /** Stops listening and closes every connection. */
  close(): void;
}

/** Starts an {@link EchoServer} on `127.0.0.1` and a free port. */
export function startEchoServer(): EchoServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.Conn>();
  const echo = async (conn: Deno.Conn) => {
    conns.add(conn);
    const buffer = new Uint8Array(64);
    try {
      for (;;) {
        const n = await conn.read(buffer);
        if (n === null) break;
        await conn.write(buffer.subarray(0, n));
      }
    } catch {
      // closed under it: the fleet is stopping
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  };
  (async () => {
    try {
      for await (const conn of listener) void echo(conn);
    } catch {
      // closed
    }
  })();
  return {
    port: listener.addr.port,
    close: () => {
      listener.close();
      for (const conn of conns) conn.close();
    },
  };
}

/**
 * The two ways a thread's sockets are read: `deno` for Deno's own (`Deno.connect`, as the
 * monitors' TLS links to Central, `fetch`), `node` for `node:net` (kafkajs), which Deno runs
 * on a socket layer of its own.
 */
export type ProbeTransport = "deno" | "node";

/** One byte out and back; false once the echo is gone. */
interface ProbeSocket {
  roundTrip(): Promise<boolean>;
  close(): void;
}

async function denoSocket(port: number): Promise<ProbeSocket> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port, transport: "tcp" });
  conn.setNoDelay(true); // one byte at a time must not wait for the last one's ACK
  const byte = new Uint8Array(1);
  return {
    roundTrip: async () => {
      await conn.write(byte);
      return await conn.read(byte) !== null;
    },
    close: () => {
      try {
        conn.close();
      } catch {
        // already closed
      }
    },
  };
}

async function nodeSocket(port: number): Promise<ProbeSocket> {
  const socket = net.connect({ host: "127.0.0.1", port, noDelay: true });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  socket.on("error", () => {}); // a reset shows as the close below
  return {
    roundTrip: () =>
      new Promise<boolean>((resolve) => {
        const done = (answered: boolean) => {
          socket.off("data", onData);
          socket.off("close", onClose);
          resolve(answered);
        };
        const onData = () => done(true);
        const onClose = () => done(false);
        socket.on("data", onData);
        socket.on("close", onClose);
        socket.write(new Uint8Array(1));
      }),
    close: () => void socket.destroy(),
  };
}

/** The probing side, on a fleet thread. */
export class IoProbe {
  readonly #transport: ProbeTransport;
  readonly #now: () => number;
  #socket: ProbeSocket | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the byte in flight was sent; undefined when none is. */
  #sentAt: number | undefined;
  #longestMs = 0;
  #stopped = false;

  /** `transport`: which sockets to probe; `now`: the clock (ms), `performance.now` by default. */
  constructor(transport: ProbeTransport, now: () => number = () => performance.now()) {
    this.#transport = transport;
    this.#now = now;
  }

  /**
   * Connects to the echo on `port` and probes every {@link IO_PROBE_EVERY_MS} until stopped.
   * Resolves with the error when the echo cannot be reached: the probe is a diagnostic, so it
   * then stays off (its {@link take} is 0) rather than fail the thread it watches.
   */
  async start(port: number): Promise<Error | undefined> {
    try {
      const socket = this.#transport === "deno" ? await denoSocket(port) : await nodeSocket(port);
      this.#socket = socket;
      void this.#loop(socket);
      return undefined;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }

  /**
   * The longest round trip since the last call (ms), or the age of the byte still unanswered
   * if that is longer; then starts counting afresh.
   */
  take(): number {
    const pending = this.#sentAt === undefined ? 0 : this.#now() - this.#sentAt;
    const longest = Math.round(Math.max(this.#longestMs, pending));
    this.#longestMs = 0;
    return longest;
  }

  /** Stops probing and closes the connection. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#socket?.close();
  }

  async #loop(socket: ProbeSocket): Promise<void> {
    try {
      while (!this.#stopped) {
        this.#sentAt = this.#now();
        if (!await socket.roundTrip()) return;
        this.#longestMs = Math.max(this.#longestMs, this.#now() - this.#sentAt);
        this.#sentAt = undefined;
        await new Promise((resolve) => this.#timer = setTimeout(resolve, IO_PROBE_EVERY_MS));
      }
    } catch {
      // closed by stop()
    } finally {
      this.#sentAt = undefined;
    }
  }
}
