/**
 * Picking a TCP port for a process that must be told its port before it starts (a child's
 * command line, two children that must agree on one).
 *
 * @module
 */

/** A TCP port on 127.0.0.1 that was free a moment ago (closed again at once: a small race). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}
