/**
 * The thread of {@link MonitorLinks} (monitor_links.ts): listens for monitors, opens each
 * framed conversation, validates and ACKs its frames, and tells the starting thread what
 * happened, gathered per turn of this thread's loop.
 *
 * @module
 */
import { type ByteConn, FramedConn, FramedConnError } from "../shared/framed_conn.ts";
import { getLogger, setupForwardedLogging } from "../shared/log.ts";
import { PeriodicLateness } from "../shared/loop_lag.ts";
import { monitorToCentralSchema, parseMessage } from "../shared/messages.ts";
import { listenTlsNoDelay, type TlsListener } from "../shared/tls_listener.ts";
import {
  type FromLinks,
  type LinkEvent,
  type LinkFailure,
  LINKS_LAG_EVERY_MS,
  type ToLinks,
} from "./monitor_links.ts";

const log = getLogger(["evcharging", "central", "tcp"]);

// deno-lint-ignore no-explicit-any
const scope = self as any as {
  postMessage(message: FromLinks): void;
  onmessage: ((e: MessageEvent<ToLinks>) => void) | null;
};

let listener: TlsListener | undefined;
let maxConnections = 0;
let maxPerAddress = 0;
let loginTimeoutMs = 0;
let nextId = 1;
/** Connections (by id) that have not logged in yet: their address and login deadline timer. */
const unauthenticated = new Map<
  number,
  { ip: string; timer: ReturnType<typeof setTimeout>; socket: ByteConn }
>();
/** How many of {@link unauthenticated} each address has. */
const unauthenticatedByIp = new Map<string, number>();

const links = new Map<number, FramedConn>();
/** Sockets still in the ENQ/ACK opening, dropped when accepting stops. */
const opening = new Set<ByteConn>();

let pending: LinkEvent[] = [];
let flushing = false;
/** Queues an event; everything queued in one turn of the loop goes in one message. */
const emit = (event: LinkEvent) => {
  pending.push(event);
  if (flushing) return;
  flushing = true;
  setTimeout(() => {
    flushing = false;
    const events = pending;
    pending = [];
    scope.postMessage({ type: "events", events });
  }, 0);
};

const failure = (error: unknown): LinkFailure =>
  error instanceof FramedConnError
    ? { code: error.code, message: error.message }
    : { code: "peer-vanished", message: String(error) };

scope.onmessage = (e: MessageEvent<ToLinks>) => {
  const message = e.data;
  switch (message.type) {
    case "start":
      start(message).catch((error) =>
        scope.postMessage({ type: "failed", message: String(error) })
      );
      return;
    case "send": {
      const { seq } = message;
      const conn = links.get(message.link);
      if (conn === undefined) {
        emit({ type: "sent", seq, error: { code: "closed", message: "connection is closed" } });
        return;
      }
      conn.send(message.value).then(
        () => emit({ type: "sent", seq }),
        (error) => emit({ type: "sent", seq, error: failure(error) }),
      );
      return;
    }
    case "close":
      links.get(message.link)?.close();
      return;
    case "logged_in":
      settle(message.link);
      return;
    case "stop_accepting":
      listener?.close();
      listener = undefined;
      for (const tcp of opening) {
        try {
          tcp.close();
        } catch {
          // FramedConn closed it already: a refused or failed opening is still
          // settling (it leaves `opening` a few turns later).
        }
      }
      scope.postMessage({ type: "stopped_accepting" });
      return;
  }
};

/** Reports this loop's lateness every {@link LINKS_LAG_EVERY_MS}, for the heartbeat verdicts. */
function reportLateness(): void {
  const lateness = new PeriodicLateness(LINKS_LAG_EVERY_MS, LINKS_LAG_EVERY_MS);
  lateness.started(Date.now());
  setInterval(() => {
    const at = Date.now();
    scope.postMessage({ type: "lag", lateMs: lateness.ran(at), sentAt: at });
  }, LINKS_LAG_EVERY_MS);
}

async function start(options: Extract<ToLinks, { type: "start" }>): Promise<void> {
  await setupForwardedLogging(options.logLevel, (record) => emit({ type: "log", record }));
  maxConnections = options.maxConnections;
  maxPerAddress = options.maxUnauthenticatedPerAddress;
  loginTimeoutMs = options.loginTimeoutMs;
  // Not Deno.listenTls: its connections keep Nagle's algorithm on, and every answer after an
  // ACK byte would wait ~40 ms for the monitor's delayed TCP ACK (BENCHMARKS.md).
  const listening = await listenTlsNoDelay({
    hostname: options.hostname,
    port: options.port,
    cert: options.tls.cert,
    key: options.tls.key,
  });
  listener = listening;
  scope.postMessage({
    type: "listening",
    hostname: listening.addr.hostname,
    port: listening.addr.port,
  });
  reportLateness(); // after "listening", the answer the starting thread waits for first
  // The iteration ends when stop_accepting closes the listener.
  for await (const accepted of listening) {
    const ip = accepted.remoteAddr.hostname;
    // Handshakes and openings under way are capped like open conversations (one more of
    // those is NACKed at its opening); connections not logged in, handshakes included, are
    // capped per address.
    const refusal = opening.size >= maxConnections
      ? "too_many_connections"
      : (unauthenticatedByIp.get(ip) ?? 0) >= maxPerAddress
      ? "too_many_unauthenticated"
      : undefined;
    if (refusal !== undefined) {
      // Before any TLS work: a flood costs an accept and a close.
      accepted.refuse();
      emit({ type: "refused", ip, reason: refusal });
      continue;
    }
    serve(accepted.startTls(), accepted.remoteAddr, options.openTimeoutMs);
  }
}

/** One connection: its TLS handshake runs within the opening's time. */
async function serve(tcp: ByteConn, addr: Deno.NetAddr, openTimeoutMs: number): Promise<void> {
  const id = nextId++;
  track(id, addr.hostname, tcp);
  try {
    await converse(id, tcp, addr, openTimeoutMs);
  } finally {
    settle(id);
  }
}

/** Counts `id` against its address until it logs in, and closes it at the login deadline. */
function track(id: number, ip: string, socket: ByteConn): void {
  unauthenticatedByIp.set(ip, (unauthenticatedByIp.get(ip) ?? 0) + 1);
  const timer = setTimeout(() => {
    if (!unauthenticated.has(id)) return;
    log.info("Connection {id} from {ip} did not log in within {ms} ms: closed", {
      id,
      ip,
      ms: loginTimeoutMs,
    });
    emit({ type: "refused", ip, reason: "login_timeout" });
    settle(id);
    const conn = links.get(id);
    if (conn !== undefined) conn.close();
    else {
      try {
        socket.close();
      } catch {
        // already closed
      }
    }
  }, loginTimeoutMs);
  unauthenticated.set(id, { ip, timer, socket });
}

/** `id` logged in or closed: it no longer counts against its address. */
function settle(id: number): void {
  const entry = unauthenticated.get(id);
  if (entry === undefined) return;
  unauthenticated.delete(id);
  clearTimeout(entry.timer);
  const left = (unauthenticatedByIp.get(entry.ip) ?? 1) - 1;
  if (left > 0) unauthenticatedByIp.set(entry.ip, left);
  else unauthenticatedByIp.delete(entry.ip);
}

async function converse(
  id: number,
  tcp: ByteConn,
  addr: Deno.NetAddr,
  openTimeoutMs: number,
): Promise<void> {
  let conn: FramedConn;
  opening.add(tcp);
  try {
    conn = await FramedConn.server(tcp, {
      openTimeoutMs,
      admit: () => links.size < maxConnections,
      validate: (value) => {
        const parsed = parseMessage(monitorToCentralSchema, value);
        return parsed.ok ? undefined : parsed.reason;
      },
    });
  } catch {
    return; // FramedConn logged why the opening failed
  } finally {
    opening.delete(tcp);
  }
  links.set(id, conn);
  emit({ type: "open", link: id, peer: `${addr.hostname}:${addr.port}`, ip: addr.hostname });
  let error: LinkFailure | undefined;
  try {
    for await (const value of conn) emit({ type: "message", link: id, value });
  } catch (thrown) {
    error = failure(thrown);
    log.debug("Connection {id} ended: {reason}", { id, reason: error.message });
  }
  await conn.close();
  links.delete(id);
  emit({ type: "closed", link: id, ...(error === undefined ? {} : { error }) });
}
