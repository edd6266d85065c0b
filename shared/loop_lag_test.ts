import assert from "node:assert/strict";
import { LatenessWindow, PeriodicLateness } from "./loop_lag.ts";

Deno.test("lateness window: the largest lateness within the window, never negative", () => {
  const w = new LatenessWindow(3000);
  assert.equal(w.note(1000, 990), 0, "early is not late");
  assert.equal(w.note(1250, 1260), 10);
  assert.equal(w.note(1500, 4500), 3000, "a stall");
  assert.equal(w.note(4750, 4750), 3000, "remembered for the window");
  assert.equal(w.note(7500, 7500), 0, "and forgotten after it");
});

Deno.test("lateness window: a window that is not positive is refused", () => {
  assert.throws(() => new LatenessWindow(0), /windowMs must be positive, got 0/);
  assert.throws(() => new LatenessWindow(Number.NaN), /windowMs must be positive/);
});

Deno.test("periodic lateness: a run's lateness is kept for the window", () => {
  const p = new PeriodicLateness(250, 3000);
  assert.equal(p.lagMs(0), 0, "not started: never late");
  p.started(1000);
  assert.equal(p.ran(1250), 0);
  assert.equal(p.ran(3500), 2000, "due at 1500, ran at 3500");
  assert.equal(p.lagMs(3600), 2000, "remembered");
  assert.equal(p.ran(3750), 2000);
  for (let at = 4000; at <= 7000; at += 250) p.ran(at);
  assert.equal(p.lagMs(7000), 0, "and forgotten after the window");
});

Deno.test("periodic lateness: a run still due counts before it comes", () => {
  const p = new PeriodicLateness(250, 3000);
  p.started(1000);
  assert.equal(p.lagMs(1200), 0, "not due yet");
  assert.equal(p.lagMs(3250), 2000, "due at 1250: a stall another timer sees first");
});

Deno.test("periodic lateness: a period that is not positive is refused", () => {
  assert.throws(() => new PeriodicLateness(0, 1000), /everyMs must be positive, got 0/);
  assert.throws(() => new PeriodicLateness(250, -1), /windowMs must be positive, got -1/);
});
