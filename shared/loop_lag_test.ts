import assert from "node:assert/strict";
import { LatenessWindow, PeriodicLateness, ReportedLateness } from "./loop_lag.ts";

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

Deno.test("ReportedLateness: the largest report within the window counts, then drops out", () => {
  const r = new ReportedLateness(250, 3000, 0);
  r.report(0, 250, 250);
  r.report(1200, 1700, 1700);
  r.report(10, 1950, 1950);
  assert.equal(r.lagMs(2000), 1200);
  r.report(0, 4800, 4800);
  assert.equal(r.lagMs(4900), 10, "1,200 ms at 1,700 is out of the 3 s window");
  assert.equal(r.lagMs(5000), 0, "and so is 10 ms at 1,950");
});

Deno.test("ReportedLateness: a report that is overdue counts as lateness", () => {
  const r = new ReportedLateness(250, 3000, 0);
  assert.equal(r.lagMs(200), 0, "the first report is not due yet");
  r.report(0, 250, 250);
  assert.equal(r.lagMs(500), 0);
  assert.equal(r.lagMs(2750), 2250, "silent for 2.5 s: 2.25 s past its due report");
});

Deno.test("ReportedLateness: a report that arrives late counts its way here, on time or not", () => {
  const r = new ReportedLateness(250, 3000, 0);
  r.report(0, 250, 250);
  r.report(0, 500, 500);
  r.report(100, 750, 2750);
  assert.equal(r.lagMs(2750), 2100, "sent 100 ms late, then waited 2 s to be read");
  r.report(0, 1000, 2751);
  assert.equal(r.lagMs(2800), 2100, "the backlog read at once counts as late as it was");
});

Deno.test("ReportedLateness: a nonpositive period is refused", () => {
  assert.throws(() => new ReportedLateness(0, 3000, 0), /everyMs must be positive, got 0/);
  assert.throws(() => new ReportedLateness(250, 0, 0), /windowMs must be positive, got 0/);
});
