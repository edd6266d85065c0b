import assert from "node:assert/strict";
import { awakeTimeout, JITTER_MS, type TimerHost } from "./awake_timeout.ts";

/** A clock moved by hand, whose timers run only when {@link run} says they ran at a time. */
class HandTimers implements TimerHost {
  at = 0;
  readonly armed = new Map<number, { fn: () => void; ms: number }>();
  #next = 1;
  now(): number {
    return this.at;
  }
  set(fn: () => void, ms: number): number {
    this.armed.set(this.#next, { fn, ms });
    return this.#next++;
  }
  clear(handle: unknown): void {
    this.armed.delete(handle as number);
  }
  /** The one armed timer runs at `at`. */
  run(at: number): void {
    assert.equal(this.armed.size, 1, "one timer armed");
    const [[handle, { fn }]] = [...this.armed];
    this.armed.delete(handle);
    this.at = at;
    fn();
  }
}

Deno.test("awake timeout: a timer that runs on time times out", () => {
  const host = new HandTimers();
  let fired = 0;
  awakeTimeout(() => fired++, 1500, host);
  assert.equal([...host.armed.values()][0].ms, 1500);
  host.run(1500 + JITTER_MS);
  assert.equal(fired, 1);
  assert.equal(host.armed.size, 0);
});

Deno.test("awake timeout: a held-up thread gets as long again as it was late, then times out", () => {
  const host = new HandTimers();
  let fired = 0;
  awakeTimeout(() => fired++, 1500, host);
  host.run(3500); // held up 2 s past the deadline: the answer may be waiting unread
  assert.equal(fired, 0);
  assert.equal([...host.armed.values()][0].ms, 2000, "waits the 2 s it was held up");
  host.run(5500 + 10);
  assert.equal(fired, 1, "a peer silent in the extra time is still caught");
});

Deno.test("awake timeout: cancelled, it never fires, even after a late run re-armed it", () => {
  const host = new HandTimers();
  let fired = 0;
  awakeTimeout(() => fired++, 100, host)();
  assert.equal(host.armed.size, 0);
  const cancel = awakeTimeout(() => fired++, 100, host);
  host.run(900);
  cancel();
  assert.equal(host.armed.size, 0);
  assert.equal(fired, 0);
});

Deno.test("awake timeout: a wait that is negative or not finite is refused", () => {
  for (const ms of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => awakeTimeout(() => {}, ms), /ms must be a finite number of at least 0/);
  }
});
