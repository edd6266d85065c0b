/**
 * Central's monitor sockets on a thread of their own. {@link MonitorLinks.start} runs a Web
 * Worker (`monitor_links_worker.ts`) that listens with TLS (Central's certificate, signed by the
 * project CA; a plaintext client fails the handshake and never sees an ACK), opens each framed
 * conversation inside it (ENQ/ACK,
 * the connection limit), validates every frame against the monitor schema, ACKs it, and
 * passes the valid messages over; this side gets one {@link Link} per open conversation.
 *
 * Why a thread: on Central's main thread the monitor sockets shared one event loop with
 * kafkajs, SQLite, the HTTP API and the core. Past ~1100 monitors that loop stopped reading
 * sockets the kernel held data for (hundreds of connections with unread heartbeats, its
 * timers on time: BENCHMARKS.md), and Central ended those conversations for silence. The
 * worker's loop does nothing but these sockets, and the framing and validation run beside
 * the core instead of on its thread.
 *
 * Messages cross in batches: the worker gathers what happened during one turn of its loop
 * and posts it at once. Its log records cross too, and are written by this thread's logging.
 *
 * @module
 */
import { FramedConnError, type FramedConnErrorCode } from "../shared/framed_conn.ts";
import {
  emitForwarded,
  type ForwardedRecord,
  getLogger,
  type LogLevel,
  lowestEnabledLevel,
} from "../shared/log.ts";
import type { ReportedLateness } from "../shared/loop_lag.ts";
import type { TlsFiles } from "../shared/tls.ts";

const log = getLogger(["evcharging", "central", "tcp"]);

/** What the worker is told. */
export type ToLinks =
  // The options but the callback, which stays on this side, and the log level to forward.
  | (
    & { readonly type: "start"; readonly logLevel: LogLevel }
    & Omit<MonitorLinksOptions, "onRefused" | "lateness">
  )
  | { readonly type: "logged_in"; readonly link: number }
  | { readonly type: "send"; readonly link: number; readonly seq: number; readonly value: unknown }
  | { readonly type: "close"; readonly link: number }
  | { readonly type: "stop_accepting" };

/** Why a link failed, as it crosses the thread boundary. */
export interface LinkFailure {
  readonly code: FramedConnErrorCode;
  readonly message: string;
}

/** One thing that happened in the worker. */
export type LinkEvent =
  | { readonly type: "open"; readonly link: number; readonly peer: string; readonly ip?: string }
  | { readonly type: "message"; readonly link: number; readonly value: unknown }
  /** The conversation is over and its socket closed; `error` unless it ended with an EOT. */
  | { readonly type: "closed"; readonly link: number; readonly error?: LinkFailure }
  /** The answer to a `send`: ACKed, or why not. */
  | { readonly type: "sent"; readonly seq: number; readonly error?: LinkFailure }
  | { readonly type: "log"; readonly record: ForwardedRecord }
  /** A connection closed before it logged in: too many from its address, or too slow. */
  | { readonly type: "refused"; readonly ip: string; readonly reason: PreLoginRefusal };

/** Why the socket thread closed a connection that had not logged in. */
export type PreLoginRefusal = "too_many_unauthenticated" | "too_many_connections" | "login_timeout";

/** What the worker says. */
export type FromLinks =
  | { readonly type: "listening"; readonly hostname: string; readonly port: number }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "stopped_accepting" }
  | { readonly type: "events"; readonly events: readonly LinkEvent[] }
  /** The thread's timer of {@link LINKS_LAG_EVERY_MS} ran `lateMs` late; posted at `sentAt`. */
  | { readonly type: "lag"; readonly lateMs: number; readonly sentAt: number };

/**
 * How often the socket thread reports its loop's lateness. Central's heartbeat verdicts count
 * it (central/central.ts): a heartbeat this thread could not read is not missing.
 */
export const LINKS_LAG_EVERY_MS = 250;

/**
 * One open conversation with a monitor, as `FramedConn` offers it: iterate it for the
 * monitor's (already valid) messages, `send` and `close`.
 */
export interface Link extends AsyncIterable<unknown> {
  /** Unique per {@link MonitorLinks}. */
  readonly id: number;
  /** `host:port` of the monitor. */
  readonly peer: string;
  /** The monitor's IP address. */
  readonly ip?: string;
  /** Resolves once the monitor ACKs `value`; rejects with a `FramedConnError` otherwise. */
  send(value: unknown): Promise<void>;
  /** Ends the conversation (queued sends first, then EOT); resolves once it is closed. */
  close(): Promise<void>;
  /** Resolves once the conversation is closed, by either side. */
  readonly closed: Promise<void>;
}

/** Settings of {@link MonitorLinks.start}. */
export interface MonitorLinksOptions {
  /** Address to listen on. */
  readonly hostname: string;
  /** TCP port (0: any free port). */
  readonly port: number;
  /** Certificate and key the port speaks TLS with. */
  readonly tls: TlsFiles;
  /** Time a new connection has to finish its TLS handshake and send ENQ. */
  readonly openTimeoutMs: number;
  /**
   * Time from the TCP accept to a committed login ({@link MonitorLinks.loggedIn}): TLS
   * handshake, opening, `AUTH` and its checks. A connection still not logged in is closed.
   */
  readonly loginTimeoutMs: number;
  /** Most simultaneous connections, handshakes and openings included; more are closed. */
  readonly maxConnections: number;
  /**
   * Most connections one address may have that have not logged in yet (handshakes included);
   * more from that address are closed at once, so a stranger's flood takes no one else's place.
   */
  readonly maxUnauthenticatedPerAddress: number;
  /** Called for each connection closed before its login (to audit it per address). */
  readonly onRefused?: (ip: string, reason: PreLoginRefusal) => void;
  /** Where the thread's lateness reports go (every {@link LINKS_LAG_EVERY_MS}). */
  readonly lateness?: ReportedLateness;
}

/** The worker and the links it serves. */
export class MonitorLinks {
  readonly #worker: Worker;
  readonly #addr: Deno.NetAddr;
  readonly #links = new Map<number, RemoteLink>();
  readonly #sends = new Map<number, PromiseWithResolvers<void>>();
  #onLink: ((link: Link) => void) | undefined;
  /** Links that opened before {@link serve} was called. */
  #unclaimed: Link[] = [];
  #stoppedAccepting: PromiseWithResolvers<void> | undefined;
  #nextSeq = 1;
  #terminated = false;

  readonly #onRefused: MonitorLinksOptions["onRefused"];
  readonly #lateness: MonitorLinksOptions["lateness"];

  private constructor(
    worker: Worker,
    addr: Deno.NetAddr,
    { onRefused, lateness }: Pick<MonitorLinksOptions, "onRefused" | "lateness">,
  ) {
    this.#worker = worker;
    this.#addr = addr;
    this.#onRefused = onRefused;
    this.#lateness = lateness;
    worker.onmessage = (e: MessageEvent<FromLinks>) => this.#receive(e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      log.error("Monitor socket thread failed: {error}", { error: e.message });
      this.#endAll("peer-vanished", `monitor socket thread failed: ${e.message}`);
      this.terminate(); // a dead thread answers nothing: later calls must not wait for it
    };
  }

  /** Starts the worker; resolves once it listens (rejects if it cannot). */
  static async start(options: MonitorLinksOptions): Promise<MonitorLinks> {
    const worker = new Worker(new URL("./monitor_links_worker.ts", import.meta.url), {
      type: "module",
    });
    const first = Promise.withResolvers<FromLinks>();
    worker.onmessage = (e: MessageEvent<FromLinks>) => first.resolve(e.data);
    worker.onerror = (e) => {
      e.preventDefault();
      first.resolve({ type: "failed", message: e.message });
    };
    post(worker, {
      type: "start",
      hostname: options.hostname,
      port: options.port,
      tls: options.tls,
      openTimeoutMs: options.openTimeoutMs,
      loginTimeoutMs: options.loginTimeoutMs,
      maxConnections: options.maxConnections,
      maxUnauthenticatedPerAddress: options.maxUnauthenticatedPerAddress,
      logLevel: lowestEnabledLevel(),
    });
    const answer = await first.promise;
    if (answer.type !== "listening") {
      worker.terminate();
      throw new Error(
        `monitor server could not listen on ${options.hostname}:${options.port}: ${
          answer.type === "failed" ? answer.message : answer.type
        }`,
      );
    }
    const addr: Deno.NetAddr = { transport: "tcp", hostname: answer.hostname, port: answer.port };
    return new MonitorLinks(worker, addr, options);
  }

  /** Link `id` has logged in: it no longer counts against its address or the login deadline. */
  loggedIn(id: number): void {
    if (!this.#terminated) post(this.#worker, { type: "logged_in", link: id });
  }

  /** Hands every new conversation to `onLink` from now on (and those already open). */
  serve(onLink: (link: Link) => void): void {
    this.#onLink = onLink;
    const unclaimed = this.#unclaimed;
    this.#unclaimed = [];
    unclaimed.forEach(onLink);
  }

  /** Where it listens. */
  get addr(): Deno.NetAddr {
    return this.#addr;
  }

  /** Stops listening and drops connections still opening; open links stay. */
  stopAccepting(): Promise<void> {
    if (this.#terminated) return Promise.resolve();
    this.#stoppedAccepting ??= Promise.withResolvers();
    post(this.#worker, { type: "stop_accepting" });
    return this.#stoppedAccepting.promise;
  }

  /** Ends the worker; links still open end as vanished. Idempotent. */
  terminate(): void {
    if (this.#terminated) return;
    this.#terminated = true;
    this.#worker.terminate();
    this.#endAll("peer-vanished", "monitor socket thread stopped");
    this.#stoppedAccepting?.resolve();
  }

  #receive(message: FromLinks): void {
    switch (message.type) {
      case "stopped_accepting":
        this.#stoppedAccepting?.resolve();
        return;
      case "events":
        for (const event of message.events) this.#apply(event);
        return;
      case "lag":
        this.#lateness?.report(message.lateMs, message.sentAt, Date.now());
        return;
      case "failed": // after start(): the accept loop died; open links carry on
        log.error("Monitor socket thread stopped accepting: {error}", { error: message.message });
        return;
      case "listening":
        return; // only ever the first message, taken by start()
    }
  }

  #apply(event: LinkEvent): void {
    switch (event.type) {
      case "open": {
        const link = new RemoteLink(event.link, event.peer, event.ip, {
          send: (value) => this.#send(event.link, value),
          close: () => {
            if (!this.#terminated) post(this.#worker, { type: "close", link: event.link });
          },
        });
        this.#links.set(event.link, link);
        if (this.#onLink === undefined) this.#unclaimed.push(link);
        else this.#onLink(link);
        return;
      }
      case "message":
        this.#links.get(event.link)?.deliver(event.value);
        return;
      case "closed":
        this.#links.get(event.link)?.end(event.error);
        this.#links.delete(event.link);
        return;
      case "sent": {
        const pending = this.#sends.get(event.seq);
        this.#sends.delete(event.seq);
        if (event.error === undefined) pending?.resolve();
        else pending?.reject(new FramedConnError(event.error.code, event.error.message));
        return;
      }
      case "log":
        emitForwarded(event.record);
        return;
      case "refused":
        this.#onRefused?.(event.ip, event.reason);
        return;
    }
  }

  #send(link: number, value: unknown): Promise<void> {
    if (this.#terminated) {
      return Promise.reject(new FramedConnError("closed", "monitor socket thread stopped"));
    }
    const seq = this.#nextSeq++;
    const pending = Promise.withResolvers<void>();
    this.#sends.set(seq, pending);
    try {
      post(this.#worker, { type: "send", link, seq, value });
    } catch (error) {
      this.#sends.delete(seq); // a value postMessage cannot copy
      return Promise.reject(error);
    }
    return pending.promise;
  }

  #endAll(code: FramedConnErrorCode, message: string): void {
    for (const link of this.#links.values()) link.end({ code, message });
    this.#links.clear();
    for (const pending of this.#sends.values()) {
      pending.reject(new FramedConnError(code, message));
    }
    this.#sends.clear();
  }
}

/** A {@link Link} whose socket is in the worker. */
class RemoteLink implements Link {
  readonly #inbox: unknown[] = [];
  #reader: PromiseWithResolvers<IteratorResult<unknown>> | undefined;
  #ended: { error?: LinkFailure } | undefined;
  #errorReported = false;
  readonly #closed = Promise.withResolvers<void>();
  readonly #ops: { send(value: unknown): Promise<void>; close(): void };

  constructor(
    readonly id: number,
    readonly peer: string,
    readonly ip: string | undefined,
    ops: { send(value: unknown): Promise<void>; close(): void },
  ) {
    this.#ops = ops;
  }

  send(value: unknown): Promise<void> {
    if (this.#ended !== undefined) {
      return Promise.reject(new FramedConnError("closed", "connection is closed"));
    }
    return this.#ops.send(value);
  }

  close(): Promise<void> {
    if (this.#ended === undefined) this.#ops.close();
    return this.#closed.promise;
  }

  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  deliver(value: unknown): void {
    if (this.#reader === undefined) {
      this.#inbox.push(value);
      return;
    }
    this.#reader.resolve({ value, done: false });
    this.#reader = undefined;
  }

  end(error: LinkFailure | undefined): void {
    if (this.#ended !== undefined) return;
    this.#ended = { error };
    this.#closed.resolve();
    const reader = this.#reader;
    this.#reader = undefined;
    if (reader !== undefined) this.#next().then(reader.resolve, reader.reject);
  }

  [Symbol.asyncIterator](): AsyncIterator<unknown> {
    return { next: () => this.#next() };
  }

  /** Like `FramedConn`: queued messages first, then the end (a failure is thrown once). */
  #next(): Promise<IteratorResult<unknown>> {
    if (this.#inbox.length > 0) return Promise.resolve({ value: this.#inbox.shift(), done: false });
    if (this.#ended === undefined) {
      this.#reader = Promise.withResolvers();
      return this.#reader.promise;
    }
    const { error } = this.#ended;
    if (error !== undefined && !this.#errorReported) {
      this.#errorReported = true;
      return Promise.reject(new FramedConnError(error.code, error.message));
    }
    return Promise.resolve({ value: undefined, done: true });
  }
}

function post(worker: Worker, message: ToLinks): void {
  worker.postMessage(message);
}
