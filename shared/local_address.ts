/**
 * The address this host is seen at from another: the local end of a TCP connection to it. A
 * driver reports it with its requests (they cross Kafka, so Central sees no socket of its own);
 * it is the host's own claim, which is why the audit marks it self-reported.
 *
 * @module
 */
import { isIP } from "node:net";

/** `host` with an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, a dual-stack socket's view of an
 * IPv4 peer) written as plain IPv4; any other host unchanged. */
export function plainIp(host: string): string {
  return host.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, "");
}

/**
 * The local IP address of a TCP connection to `host:port` (opened and closed at once), or
 * `undefined` when it cannot connect within `timeoutMs`. IPv4-mapped IPv6 addresses come back as
 * plain IPv4.
 */
export async function localAddressToward(
  target: { readonly host: string; readonly port: number },
  timeoutMs = 3000,
): Promise<string | undefined> {
  const signal = AbortSignal.timeout(timeoutMs);
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: target.host, port: target.port, signal });
  } catch {
    return undefined;
  }
  try {
    const address = plainIp(conn.localAddr.hostname);
    return isIP(address) === 0 ? undefined : address;
  } finally {
    conn.close();
  }
}
