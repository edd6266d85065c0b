import assert from "node:assert/strict";
import { LatenessWindow } from "./loop_lag.ts";

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
