/**
 * A TCP relay that delays what clients send, for the lab's `slow-drivers` scenario on kernels
 * without `sch_netem` (this project's machines have none): run inside a host whose route to the
 * server's address is made local, it accepts the host's connections to that address and
 * forwards them to another address of the same server, holding every chunk the client sends for
 * `--delay` before passing it on, in order. Answers pass through at once, like `netem delay`
 * on the host's own interface, which delays only what it sends.
 *
 *     deno run --allow-net infra/lab_delay.ts --listen 10.77.0.1:9092 --to 10.77.0.11:9092 \
 *       --delay 300
 *
 * @module
 */
import { parseArgs } from "node:util";
import { runOrExit } from "../shared/version.ts";

/** Parses `host:port`. */
export function hostPort(text: string): { hostname: string; port: number } {
  const at = text.lastIndexOf(":");
  const port = Number(text.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`expected host:port, not ${text}`);
  }
  return { hostname: text.slice(0, at), port };
}

/**
 * Copies `from` to `to`, each chunk written `delayMs` after it was read, in order; closes `to`
 * once `from` ends.
 */
export async function delayedCopy(
  from: ReadableStream<Uint8Array>,
  to: WritableStream<Uint8Array>,
  delayMs: number,
): Promise<void> {
  const writer = to.getWriter();
  let chain = Promise.resolve();
  try {
    for await (const read of from) {
      // A copy: the chunk waits while the stream reads on.
      const chunk = read.slice();
      const due = Date.now() + delayMs;
      chain = chain.then(async () => {
        const wait = due - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        await writer.write(chunk);
      });
    }
    await chain;
  } finally {
    await writer.close().catch(() => {});
  }
}

function addressOf(addr: Deno.Addr): string {
  return addr.transport === "tcp" ? `${addr.hostname}:${addr.port}` : addr.transport;
}

async function relay(client: Deno.Conn, to: string, delayMs: number): Promise<void> {
  let server: Deno.Conn;
  try {
    server = await Deno.connect(hostPort(to));
  } catch (error) {
    console.error(`cannot reach ${to}: ${error instanceof Error ? error.message : error}`);
    client.close();
    return;
  }
  console.log(`relaying a connection from ${addressOf(client.remoteAddr)}`);
  await Promise.allSettled([
    delayedCopy(client.readable, server.writable, delayMs),
    // Chunk by chunk here too: pipeTo may hold data back, and Kafka's connections stay open.
    delayedCopy(server.readable, client.writable, 0),
  ]);
  for (const conn of [client, server]) {
    try {
      conn.close();
    } catch {
      // Closed by its stream already.
    }
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { listen: { type: "string" }, to: { type: "string" }, delay: { type: "string" } },
    strict: true,
  });
  if (!values.listen || !values.to || !values.delay) {
    throw new Error("--listen, --to and --delay (ms) are required");
  }
  const delayMs = Number(values.delay);
  if (!(delayMs >= 0)) throw new Error(`--delay must be a number of ms, not ${values.delay}`);
  const listener = Deno.listen(hostPort(values.listen));
  console.log(`relaying ${values.listen} → ${values.to}, client data delayed ${delayMs} ms`);
  for await (const conn of listener) relay(conn, values.to, delayMs);
}

if (import.meta.main) await runOrExit("lab delay", main);
