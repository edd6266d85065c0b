/**
 * A periodic send over a stop-and-wait link (shared/framed_conn.ts) that never queues behind
 * itself.
 *
 * Each framed send waits for the previous frame's `ACK`. A timer that sends every second on its
 * own therefore queues a frame a second once the answers come more slowly than that. The queue
 * then never shrinks, and every new heartbeat waits behind all the stale ones: a CP whose link is
 * slow for a moment falls silent for good and is disconnected, although it is alive. With 3,000
 * CPs on two cores this turned short overloads into login waves (BENCHMARKS.md, "Twice the
 * ceiling"). A {@link Beat} sends at most one round at a time; ticks that pass while it waits
 * are owed and paid as one round as soon as the answer comes.
 *
 * ```ts
 * const beat = new Beat(() => conn.send({ type: "HEARTBEAT", seq: seq++ }));
 * const timer = setInterval(() => beat.tick(), 1000);
 * // … later
 * clearInterval(timer);
 * beat.stop();
 * ```
 *
 * @module
 */

/** Runs a send on each tick, but never while the previous one is unsettled (see the module). */
export class Beat {
  readonly #send: () => Promise<unknown>;
  #running = false;
  #owed = false;
  #stopped = false;

  /** `send` does one round and settles once it is answered; its failures are the caller's. */
  constructor(send: () => Promise<unknown>) {
    this.#send = send;
  }

  /** Time for a round: sends now, or once the round under way settles. */
  tick(): void {
    if (this.#stopped) return;
    if (this.#running) this.#owed = true;
    else this.#run();
  }

  /** No more rounds: an owed one is dropped. */
  stop(): void {
    this.#stopped = true;
    this.#owed = false;
  }

  #run(): void {
    this.#running = true;
    let round: Promise<unknown>;
    try {
      round = this.#send();
    } catch (error) {
      round = Promise.reject(error);
    }
    round.catch(() => {}).finally(() => {
      this.#running = false;
      if (!this.#owed || this.#stopped) return;
      this.#owed = false;
      this.#run();
    });
  }
}
