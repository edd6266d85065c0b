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
 * const beat = new Beat((tick) => conn.send({ type: "HEARTBEAT", seq: tick }));
 * beat.start(1000);
 * // … later
 * beat.stop();
 * ```
 *
 * @module
 */

/** Runs a send on each tick, but never while the previous one is unsettled (see the module). */
export class Beat {
  readonly #send: (tick: number) => Promise<unknown>;
  #ticks = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #running = false;
  #owed = false;
  #stopped = false;

  /**
   * `send` does one round and settles once it is answered; its failures are the caller's. It
   * gets the number of ticks so far, so a gap in what it sends shows the ticks that were owed.
   */
  constructor(send: (tick: number) => Promise<unknown>) {
    this.#send = send;
  }

  /** Ticks every `intervalMs` until {@link stop}. */
  start(intervalMs: number): void {
    if (!(intervalMs > 0)) throw new RangeError(`intervalMs must be above 0, got ${intervalMs}`);
    if (this.#stopped || this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.tick(), intervalMs);
  }

  /** Time for a round: sends now, or once the round under way settles. */
  tick(): void {
    if (this.#stopped) return;
    this.#ticks++;
    if (this.#running) this.#owed = true;
    else this.#run();
  }

  /** No more rounds: the timer ends and an owed round is dropped. */
  stop(): void {
    this.#stopped = true;
    this.#owed = false;
    clearInterval(this.#timer);
  }

  #run(): void {
    this.#running = true;
    let round: Promise<unknown>;
    try {
      round = this.#send(this.#ticks);
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
