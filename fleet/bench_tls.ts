/**
 * `deno task bench:tls [--connections N] [--requests N] [--json]`: what TLS costs the monitor
 * link, on this machine, in one process. Three servers answer the way Central's monitor link
 * does (an ACK byte, then an answer frame, two writes): plain TCP, `Deno.listenTls`, and the
 * listener Central uses (shared/tls_listener.ts, Nagle's algorithm off). For each it times N
 * fresh connections (connect and handshake, then the ENQ/ACK opening) and N requests on one open
 * connection (a frame out, the ACK and the answer back). The clients are the monitor's own
 * (shared/tls.ts `connectTls`, Nagle off on its socket).
 *
 * @module
 */
import { createDevCa, createServerCert } from "../infra/dev_ca.ts";
import { connectTls } from "../shared/tls.ts";
import { type ByteConn } from "../shared/framed_conn.ts";
import { listenTlsNoDelay } from "../shared/tls_listener.ts";
import { printHelpOrVersion, runOrExit } from "../shared/version.ts";
import { percentile } from "./core.ts";

const USAGE = `Usage: deno task bench:tls [options]

Times the monitor link's TLS on this machine: fresh connections (handshake + ENQ/ACK) and
requests on an open connection (frame out, ACK + answer back), against plain TCP,
Deno.listenTls and Central's listener (shared/tls_listener.ts).

Options:
  --connections <n>  Fresh connections per server (default 200)
  --requests <n>     Requests on one connection per server (default 500)
  --json             Print the figures as JSON instead of a table
  -h, --help         Show this help
  --version          Show the version`;

/** The bench's options. */
export interface TlsBenchOptions {
  /** Fresh connections timed per server. */
  readonly connections: number;
  /** Requests timed on one open connection per server. */
  readonly requests: number;
  /** JSON instead of a table. */
  readonly json: boolean;
}

/**
 * Parses the bench's arguments.
 * @throws {RangeError} naming the first bad argument.
 */
export function parseTlsBenchArgs(args: readonly string[]): TlsBenchOptions {
  let connections = 200;
  let requests = 500;
  let json = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--json") json = true;
    else if (arg === "--connections" || arg === "--requests") {
      const value = Number(args[++i]);
      if (!Number.isInteger(value) || value < 1) {
        throw new RangeError(`${arg} needs a whole number of at least 1, got ${args[i]}`);
      }
      if (arg === "--connections") connections = value;
      else requests = value;
    } else throw new RangeError(`unknown argument ${arg} (see --help)`);
  }
  return { connections, requests, json };
}

/** One server's figures, ms. */
export interface TlsBenchRow {
  /** Which server. */
  readonly server: string;
  /** Connect (and handshake) plus the ENQ/ACK opening, per fresh connection: p50, p95. */
  readonly connectP50: number;
  /** See {@link TlsBenchRow.connectP50}. */
  readonly connectP95: number;
  /** A frame out and the ACK + answer back on an open connection: p50, p95. */
  readonly requestP50: number;
  /** See {@link TlsBenchRow.requestP50}. */
  readonly requestP95: number;
}

/** The figures of one server from its timings, ms. */
export function tlsBenchRow(server: string, connects: number[], requests: number[]): TlsBenchRow {
  const at = (values: number[], p: number) => percentile(values, p) ?? NaN;
  return {
    server,
    connectP50: at(connects, 50),
    connectP95: at(connects, 95),
    requestP50: at(requests, 50),
    requestP95: at(requests, 95),
  };
}

/** The rows as an aligned table. */
export function renderTlsBench(rows: readonly TlsBenchRow[]): string {
  const head = ["server", "connect p50 ms", "connect p95 ms", "request p50 ms", "request p95 ms"];
  const cells = rows.map((r) => [
    r.server,
    ...[r.connectP50, r.connectP95, r.requestP50, r.requestP95].map((v) => v.toFixed(2)),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    c.map((v, i) => i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i])).join("  ");
  return [line(head), ...cells.map(line)].join("\n");
}

/** Answers like the monitor link: ACK each byte-sized request, then a 40-byte answer. */
async function answer(conn: ByteConn): Promise<void> {
  const buffer = new Uint8Array(64);
  try {
    while (true) {
      const n = await conn.read(buffer);
      if (n === null || buffer[0] === 0x04) break; // EOT
      await conn.write(Uint8Array.of(0x06));
      if (buffer[0] !== 0x05) await conn.write(new Uint8Array(40)); // not the ENQ opening
    }
  } catch {
    // the client went away
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

/** Reads exactly `n` bytes. */
async function readExactly(conn: Deno.Conn, n: number): Promise<void> {
  const buffer = new Uint8Array(n);
  for (let got = 0; got < n;) {
    const k = await conn.read(buffer.subarray(got));
    if (k === null) throw new Error("the server closed the connection");
    got += k;
  }
}

/** Times fresh connections and requests against one server. */
async function measure(
  server: string,
  connect: () => Promise<Deno.Conn>,
  options: TlsBenchOptions,
): Promise<TlsBenchRow> {
  const connects: number[] = [];
  for (let i = 0; i < options.connections; i++) {
    const start = performance.now();
    const conn = await connect();
    await conn.write(Uint8Array.of(0x05));
    await readExactly(conn, 1);
    connects.push(performance.now() - start);
    await conn.write(Uint8Array.of(0x04));
    conn.close();
  }
  const conn = await connect();
  const requests: number[] = [];
  for (let i = 0; i < options.requests; i++) {
    const start = performance.now();
    await conn.write(Uint8Array.of(0x02));
    await readExactly(conn, 41);
    requests.push(performance.now() - start);
  }
  await conn.write(Uint8Array.of(0x04));
  conn.close();
  return tlsBenchRow(server, connects, requests);
}

async function main(args: string[]): Promise<void> {
  if (printHelpOrVersion("bench:tls", USAGE, args)) return;
  const options = parseTlsBenchArgs(args);
  const ca = await createDevCa();
  const cert = await createServerCert(ca);
  const plain = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const denoTls = Deno.listenTls({ hostname: "127.0.0.1", port: 0, ...cert });
  const central = await listenTlsNoDelay({ hostname: "127.0.0.1", port: 0, ...cert });
  (async () => {
    for await (const conn of plain) {
      conn.setNoDelay(true); // as FramedConn does on a plain TcpConn
      answer(conn);
    }
  })().catch(() => {});
  (async () => {
    for await (const conn of denoTls) answer(conn);
  })().catch(() => {});
  (async () => {
    for await (const pending of central) answer(pending.startTls());
  })();
  const rows = [
    await measure("plain TCP", async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: plain.addr.port });
      conn.setNoDelay(true);
      return conn;
    }, options),
    await measure(
      "Deno.listenTls",
      () => connectTls("127.0.0.1", denoTls.addr.port, [ca.cert]),
      options,
    ),
    await measure(
      "tls_listener (Central)",
      () => connectTls("127.0.0.1", central.addr.port, [ca.cert]),
      options,
    ),
  ];
  plain.close();
  denoTls.close();
  central.close();
  console.log(options.json ? JSON.stringify(rows, null, 2) : renderTlsBench(rows));
}

if (import.meta.main) await runOrExit("bench:tls", () => main(Deno.args), 2);
