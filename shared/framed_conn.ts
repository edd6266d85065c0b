/**
 * The framed TCP protocol (ARCHITECTURE §Framed protocol) on a live connection: opening with
 * ENQ/ACK, stop-and-wait sending with resends on NACK, receiving with an
 * ACK or NACK for every frame, and EOT to close.
 *
 * Works over any {@link ByteConn} (a `Deno.Conn`, plain TCP or TLS, or shared/tls_listener.ts's
 * connections): it only reads, writes and closes.
 *
 * ```ts
 * const conn = await FramedConn.client(await Deno.connect({ hostname, port }));
 * await conn.send({ type: "HEARTBEAT", seq: 1 });
 * for await (const message of conn) handle(message);
 * ```
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { awakeTimeout } from "./awake_timeout.ts";
import {
  ACK,
  type ControlByte,
  type DecodeEvent,
  encodeFrame,
  ENQ,
  EOT,
  FrameDecoder,
  NACK,
} from "./framing.ts";

// Only types, sizes and reasons are logged: message contents may carry tokens and keys.
const log = getLogger(["evcharging", "framing"]);

/** What a framed conversation needs of a connection: a `Deno.Conn` has all of it. */
export interface ByteConn {
  /** The peer's address. */
  readonly remoteAddr: Deno.Addr;
  /** Reads into `p`: the number of bytes read, or `null` at the end of the stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes from `p`, resolving with how many bytes were written. */
  write(p: Uint8Array): Promise<number>;
  /** Closes the connection. */
  close(): void;
}

/**
 * For a {@link ByteConn} that queues what it receives: moves up to `p.length` bytes from the
 * front of `chunks` (not empty) into `p`, leaving the rest queued, and says how many.
 */
export function takeQueuedBytes(chunks: Uint8Array[], p: Uint8Array): number {
  const head = chunks[0];
  const n = Math.min(p.length, head.length);
  p.set(head.subarray(0, n));
  if (n === head.length) chunks.shift();
  else chunks[0] = head.subarray(n);
  return n;
}

/** What went wrong, for callers that react differently (e.g. retry an opening, not a refusal). */
export type FramedConnErrorCode =
  | "refused" // the server answered the opening with NACK (or the server refused it)
  | "open-timeout" // no ACK (client) or ENQ (server) in time
  | "ack-timeout" // a sent frame got neither ACK nor NACK in time
  | "nack-limit" // the peer NACKed the same frame 1 + MAX_RESENDS times
  | "peer-vanished" // the connection broke or closed without EOT
  | "closed"; // the conversation was ended with EOT (by either side)

/** The error every failure of a {@link FramedConn} rejects or throws with. */
export class FramedConnError extends Error {
  /** Creates an error; `code` says which failure it is. */
  constructor(readonly code: FramedConnErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FramedConnError";
  }
}

/** How many times a NACKed frame is sent again before the connection is dropped (ARCHITECTURE §Framed protocol). */
export const MAX_RESENDS = 3;

/** Options shared by both ends. */
export interface FramedConnOptions {
  /** How long a sent frame may wait for its ACK/NACK, in ms (default 5000). */
  ackTimeoutMs?: number;
  /** How long the opening may take, in ms (default 5000). */
  openTimeoutMs?: number;
  /**
   * Checks each received, well-formed message (e.g. against the message
   * schemas). Return a reason to NACK it (it is then not delivered), or
   * nothing to accept it. The reason is logged: keep message contents out of it.
   */
  validate?: (value: unknown) => string | undefined;
}

/** Options for the server end. */
export interface FramedServerOptions extends FramedConnOptions {
  /**
   * Decides whether to take the conversation once the client's ENQ arrives
   * (e.g. false when at capacity): false answers NACK and closes.
   */
  admit?: () => boolean | Promise<boolean>;
}

const DEFAULT_TIMEOUT_MS = 5000;

type Phase = "opening" | "open" | "closing" | "closed";

/**
 * One side of a framed conversation. Create it with {@link FramedConn.client}
 * or {@link FramedConn.server}; iterate it for the peer's messages; call
 * {@link FramedConn.send} to send and {@link FramedConn.close} to end.
 *
 * Full duplex: both sides may send at once. The peer's ACK/NACK for our frame
 * and the peer's own frames share the stream; the decoder tells them apart.
 */
export class FramedConn implements AsyncIterable<unknown> {
  readonly #conn: ByteConn;
  readonly #ackTimeoutMs: number;
  readonly #validate: FramedConnOptions["validate"];
  readonly #decoder = new FrameDecoder();
  readonly #peer: string;
  readonly #role: "client" | "server";
  #phase: Phase = "opening";
  #error: FramedConnError | undefined; // why we closed, once closed

  // During the opening: the first control byte the peer sends.
  #opening = settledQuietly(Promise.withResolvers<ControlByte>());
  // The ACK/NACK awaited by the frame in flight (stop-and-wait: at most one).
  #pendingAck: PromiseWithResolvers<ControlByte> | undefined;
  // Each write waits for the previous one, so a frame is never interleaved
  // with an ACK we send for the peer's frame (a write may be partial).
  #writeChain: Promise<void> = Promise.resolve();
  // Each send waits for the previous one to be ACKed (stop-and-wait).
  #sendChain: Promise<void> = Promise.resolve();

  // Received messages not yet taken by the iterator, and the iterator waiting for one.
  #inbox: unknown[] = [];
  #reader: PromiseWithResolvers<IteratorResult<unknown>> | undefined;
  #endReported = false;

  // Set by #shutdown: resolves once the socket is closed.
  #released: Promise<void> | undefined;
  // Resolves once the read loop has stopped and the socket is closed.
  readonly #done: Promise<void>;

  private constructor(conn: ByteConn, role: "client" | "server", options: FramedConnOptions) {
    this.#conn = conn;
    this.#role = role;
    this.#ackTimeoutMs = options.ackTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#validate = options.validate;
    // Stop-and-wait sends many tiny writes (ACKs, short frames); with Nagle's
    // algorithm each can sit ~40 ms waiting for the peer's delayed TCP ACK.
    // (A TlsConn has no such switch: a client sets it on the TcpConn before startTls, and
    // Central's server accepts through shared/tls_listener.ts, which sets it.)
    if ("setNoDelay" in conn && typeof conn.setNoDelay === "function") conn.setNoDelay(true);
    const addr = conn.remoteAddr;
    this.#peer = "hostname" in addr ? `${addr.hostname}:${addr.port}` : addr.transport;
    this.#done = this.#readLoop().then(() => this.#released);
  }

  /**
   * Opens as the client: sends ENQ and waits for ACK.
   * On NACK, EOT, a broken connection or a timeout it closes `conn` and throws
   * a {@link FramedConnError} (`refused`, `open-timeout`, `peer-vanished`).
   */
  static async client(conn: ByteConn, options: FramedConnOptions = {}): Promise<FramedConn> {
    const fc = new FramedConn(conn, "client", options);
    await fc.#open(options.openTimeoutMs, async () => {
      await fc.#write(Uint8Array.of(ENQ));
      const reply = await fc.#opening.promise;
      if (reply !== ACK) {
        throw new FramedConnError("refused", `server refused the opening (0x${hex(reply)})`);
      }
    });
    return fc;
  }

  /**
   * Opens as the server: waits for the client's ENQ, asks `options.admit`,
   * and answers ACK, or NACK and closes. On refusal, a broken connection or
   * a timeout it closes `conn` and throws a {@link FramedConnError}.
   */
  static async server(conn: ByteConn, options: FramedServerOptions = {}): Promise<FramedConn> {
    const fc = new FramedConn(conn, "server", options);
    await fc.#open(options.openTimeoutMs, async () => {
      const first = await fc.#opening.promise;
      if (first !== ENQ) {
        throw new FramedConnError("refused", `expected ENQ, got 0x${hex(first)}`);
      }
      // An admit hook that throws refuses too.
      const admitted = await Promise.resolve().then(() => options.admit?.() ?? true)
        .catch(() => false);
      if (!admitted) {
        await fc.#write(Uint8Array.of(NACK));
        throw new FramedConnError("refused", "opening refused by this server");
      }
      // Open before the ACK leaves: the client may send a frame right after it.
      fc.#phase = "open";
      await fc.#write(Uint8Array.of(ACK));
    });
    return fc;
  }

  /**
   * Sends one message and resolves once the peer ACKs it. Sends are queued
   * and go one at a time. A NACKed frame is sent again up to
   * {@link MAX_RESENDS} times; after that, or with no answer within the ACK
   * timeout, the connection is dropped and this rejects with a
   * {@link FramedConnError}. A value with no JSON form or over 64 KiB rejects
   * without touching the connection.
   */
  send(value: unknown): Promise<void> {
    if (this.#phase !== "open") return Promise.reject(this.#closedError());
    let frame: Uint8Array;
    try {
      frame = encodeFrame(value);
    } catch (err) {
      return Promise.reject(err);
    }
    const sent = this.#sendChain.then(() => this.#sendFrame(frame));
    this.#sendChain = sent.catch(() => {});
    return sent;
  }

  /**
   * Ends the conversation: lets queued sends finish, sends EOT and closes the
   * connection. The iterator then ends cleanly. Safe to call more than once.
   */
  async close(): Promise<void> {
    if (this.#phase === "open") {
      this.#phase = "closing"; // refuse new sends, finish queued ones
      await this.#sendChain;
      await this.#write(Uint8Array.of(EOT)).catch(() => {}); // the peer may be gone already
      this.#shutdown(new FramedConnError("closed", "connection closed (EOT sent)"), true);
    }
    await this.#done;
  }

  /** Resolves (never rejects) once the connection is fully closed, for any reason. */
  get closed(): Promise<void> {
    return this.#done;
  }

  /**
   * The peer's valid messages in order (meant for a single consumer). Ends
   * when either side sends EOT; throws the {@link FramedConnError} if the
   * connection fails (e.g. `peer-vanished`).
   */
  [Symbol.asyncIterator](): AsyncIterator<unknown> {
    return { next: () => this.#next() };
  }

  #next(): Promise<IteratorResult<unknown>> {
    if (this.#inbox.length > 0) return Promise.resolve({ value: this.#inbox.shift(), done: false });
    if (this.#phase === "closed") {
      if (!this.#endReported && this.#error?.code !== "closed") {
        this.#endReported = true; // throw once; later calls just say done
        return Promise.reject(this.#error);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    this.#reader = Promise.withResolvers();
    return this.#reader.promise;
  }

  #deliver(value: unknown): void {
    if (this.#reader) {
      this.#reader.resolve({ value, done: false });
      this.#reader = undefined;
    } else {
      this.#inbox.push(value);
    }
  }

  /** Runs an opening step under the opening timeout; on failure closes and rethrows. */
  async #open(timeoutMs = DEFAULT_TIMEOUT_MS, step: () => Promise<void>): Promise<void> {
    const cancelTimeout = awakeTimeout(() => {
      this.#shutdown(new FramedConnError("open-timeout", `no opening within ${timeoutMs} ms`));
    }, timeoutMs);
    try {
      await step();
      if (this.#phase === "closed") throw this.#error; // e.g. an EOT right behind the ACK
      this.#phase = "open";
      log.debug("Framed connection open with {peer}", { peer: this.#peer });
    } catch (err) {
      // A timeout or a broken connection already shut down; use that as the reason.
      const error = this.#error ?? asConnError(err, "peer-vanished");
      this.#shutdown(error);
      await this.#done;
      log.info("Framed opening with {peer} failed: {reason}", {
        peer: this.#peer,
        reason: error.message,
      });
      throw error;
    } finally {
      cancelTimeout();
    }
  }

  /** Sends one frame and waits for its ACK, resending on NACK. */
  async #sendFrame(frame: Uint8Array): Promise<void> {
    for (let attempt = 1; attempt <= 1 + MAX_RESENDS; attempt++) {
      if (await this.#transmit(frame) === ACK) return;
      log.warn("Frame NACKed by {peer} (attempt {attempt})", {
        peer: this.#peer,
        attempt,
        size: frame.length - 3,
      });
    }
    const error = new FramedConnError(
      "nack-limit",
      `peer NACKed a frame ${1 + MAX_RESENDS} times; connection dropped`,
    );
    this.#shutdown(error);
    throw error;
  }

  /** Writes the frame once and resolves with the peer's answer (ACK or NACK). */
  async #transmit(frame: Uint8Array): Promise<ControlByte> {
    if (this.#phase === "closed") throw this.#closedError();
    const answer = settledQuietly(Promise.withResolvers<ControlByte>());
    this.#pendingAck = answer; // before writing, so a quick answer is not missed
    // No resend on timeout: TCP loses no bytes, so silence means the peer is
    // stuck or gone, and a late ACK would be taken for the resent copy's.
    const cancelTimeout = awakeTimeout(() => {
      this.#shutdown(
        new FramedConnError("ack-timeout", `no ACK within ${this.#ackTimeoutMs} ms`),
      );
    }, this.#ackTimeoutMs);
    try {
      await this.#write(frame).catch((err) => {
        this.#shutdown(asConnError(err, "peer-vanished"));
      });
      return await answer.promise;
    } finally {
      cancelTimeout();
      if (this.#pendingAck === answer) this.#pendingAck = undefined;
    }
  }

  /** Writes all of `bytes`, after every earlier write. */
  #write(bytes: Uint8Array): Promise<void> {
    const written = this.#writeChain.then(async () => {
      for (let offset = 0; offset < bytes.length;) {
        offset += await this.#conn.write(bytes.subarray(offset));
      }
    });
    this.#writeChain = written.catch(() => {});
    return written;
  }

  /** Sends ACK or NACK for a received frame; a failed write closes the connection. */
  #answer(byte: typeof ACK | typeof NACK): void {
    this.#write(Uint8Array.of(byte)).catch((err) => {
      this.#shutdown(asConnError(err, "peer-vanished"));
    });
  }

  async #readLoop(): Promise<void> {
    const buffer = new Uint8Array(16 * 1024);
    try {
      while (this.#phase !== "closed") {
        const n = await this.#conn.read(buffer);
        if (n === null) {
          this.#shutdown(new FramedConnError("peer-vanished", "peer closed without EOT"));
          break;
        }
        for (const event of this.#decoder.push(buffer.subarray(0, n))) this.#handle(event);
      }
    } catch (err) {
      // After our own close() the pending read fails too: that is not news.
      this.#shutdown(asConnError(err, "peer-vanished"));
    }
  }

  #handle(event: DecodeEvent): void {
    if (this.#phase === "closed") return; // e.g. after an EOT earlier in the same chunk
    if (this.#phase === "opening") {
      // Only the handshake counts; a frame before it is not answered.
      if (event.kind !== "control") {
        log.debug("Ignored a frame from {peer} before opening", { peer: this.#peer });
        return;
      }
      // The client is open the moment ACK arrives: a frame the server sends
      // right behind it may sit in this same chunk.
      if (this.#role === "client" && event.byte === ACK) this.#phase = "open";
      this.#opening.resolve(event.byte);
      return;
    }
    switch (event.kind) {
      case "frame": {
        const reason = this.#check(event.value);
        if (reason === undefined) {
          this.#deliver(event.value);
          this.#answer(ACK);
        } else {
          this.#reject(reason, event.size);
        }
        break;
      }
      case "bad":
        this.#reject(`${event.reason}: ${event.detail}`, event.size);
        break;
      case "control":
        if (event.byte === ACK || event.byte === NACK) {
          if (this.#pendingAck) this.#pendingAck.resolve(event.byte);
          else log.debug("Stray 0x{byte} from {peer}", { peer: this.#peer, byte: hex(event.byte) });
        } else if (event.byte === EOT) {
          log.debug("{peer} ended the conversation (EOT)", { peer: this.#peer });
          this.#shutdown(new FramedConnError("closed", "peer ended the conversation (EOT)"), true);
        }
        break; // ENQ once open: nothing to do
    }
  }

  /** Runs the caller's validator; a validator that throws rejects the message too. */
  #check(value: unknown): string | undefined {
    try {
      return this.#validate?.(value);
    } catch {
      return "validator threw";
    }
  }

  #reject(reason: string, size: number): void {
    log.warn("NACK to {peer}: {reason}", { peer: this.#peer, reason, size });
    this.#answer(NACK);
  }

  /**
   * Closes everything once: the socket, the frame in flight, the opening and
   * the iterator (cleanly if `clean`, else with `error`).
   */
  #shutdown(error: FramedConnError, clean = false): void {
    if (this.#phase === "closed") return;
    const wasOpen = this.#phase !== "opening"; // a failed opening is logged by #open
    this.#phase = "closed";
    this.#error = error;
    if (wasOpen && !clean) {
      log.warn("Framed connection with {peer} dropped: {reason}", {
        peer: this.#peer,
        reason: error.message,
        code: error.code,
        skippedBytes: this.#decoder.skippedBytes,
      });
    }
    this.#released = this.#release(clean);
    this.#opening.reject(error);
    this.#pendingAck?.reject(error);
    this.#pendingAck = undefined;
    if (this.#reader) {
      const reader = this.#reader;
      this.#reader = undefined;
      this.#next().then(reader.resolve, reader.reject);
    }
  }

  /**
   * Closes the socket. On a clean end, first lets queued answers go out (the
   * ACK for a frame that came just before the peer's EOT), but waits no longer
   * than the ACK timeout for a peer that stopped reading.
   */
  async #release(clean: boolean): Promise<void> {
    if (clean) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const giveUp = new Promise((resolve) => timer = setTimeout(resolve, this.#ackTimeoutMs));
      await Promise.race([this.#writeChain, giveUp]);
      clearTimeout(timer);
    }
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }

  #closedError(): FramedConnError {
    return this.#error ?? new FramedConnError("closed", "connection is closing");
  }
}

/** Marks a deferred's rejection as handled, so rejecting one nobody awaits is harmless. */
function settledQuietly<T>(d: PromiseWithResolvers<T>): PromiseWithResolvers<T> {
  d.promise.catch(() => {});
  return d;
}

function asConnError(err: unknown, code: FramedConnErrorCode): FramedConnError {
  if (err instanceof FramedConnError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new FramedConnError(code, `connection lost: ${message}`, { cause: err });
}

function hex(b: number): string {
  return b.toString(16).padStart(2, "0");
}
