/**
 * Picking a TCP port for a process that must be told its port before it starts (a child's
 * command line, two children that must agree on one).
 *
 * @module
 */

/** Ports this process has handed out: the system often offers a closed one again at once. */
const given = new Set<number>();
/** How many ports one pick looks at before it gives up (the range holds ~28 000). */
const MAX_TRIES = 1000;

/** Listens on a free port of 127.0.0.1 that this process was not given before, and marks it given. */
function listenOnNewPort(): Deno.TcpListener {
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    if (!given.has(listener.addr.port)) {
      given.add(listener.addr.port);
      return listener;
    }
    listener.close();
  }
  throw new Error(`no free port in ${MAX_TRIES} tries that this process was not given before`);
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (closed again at once: a small race with
 * other processes), and never one this process was given before: a network's Registry and
 * Central, picked one after the other, must not be told the same port.
 */
export function freePort(): number {
  const listener = listenOnNewPort();
  listener.close();
  return listener.addr.port;
}

/** A port kept listening until {@link HeldPort.release}, see {@link holdFreePort}. */
export interface HeldPort {
  /** The port. */
  readonly port: number;
  /** Lets it go, for the process it is meant for; safe to call more than once. */
  release(): void;
}

/**
 * A free port on 127.0.0.1 that this process was not given before, held (listened on) until
 * released: for a process told its port long before it starts, while others that take any free
 * port start in between.
 */
export function holdFreePort(): HeldPort {
  const listener = listenOnNewPort();
  let held = true;
  return {
    port: listener.addr.port,
    release: () => {
      if (held) listener.close();
      held = false;
    },
  };
}
