import assert from "node:assert/strict";
import {
  ActionRefused,
  type CpChildren,
  foldCpLine,
  NO_CHILDREN,
  planAction,
} from "./local_cp_control.ts";

const fold = (lines: string[]): CpChildren => lines.reduce(foldCpLine, NO_CHILDREN);
const engineNote = (message: string) =>
  `[engine] ${JSON.stringify({ "@timestamp": "2026-01-01T00:00:00Z", level: "INFO", message })}`;

Deno.test("foldCpLine: follows both children and the fault switch through deno task cp's lines", () => {
  const up = fold([
    "[cp] engine started (pid 10)",
    "[cp] monitor started (pid 11)",
    engineNote("fault switched on: engine KO"),
  ]);
  assert.deepEqual(up, {
    engine: { running: true, pid: 10 },
    monitor: { running: true, pid: 11 },
    faulty: true,
  });
  const repaired = foldCpLine(up, engineNote("fault cleared: engine OK"));
  assert.equal(repaired.faulty, false);
  const dead = foldCpLine(up, "[cp] engine exited with code 137 (SIGKILL)");
  assert.deepEqual(dead.engine, { running: false, pid: null });
  assert.equal(dead.faulty, false, "a dead engine has no fault switch on");
  assert.deepEqual(dead.monitor, up.monitor);
  const noMonitor = foldCpLine(up, "[cp] monitor exited with code 1");
  assert.equal(noMonitor.monitor.running, false);
  assert.equal(noMonitor.engine.running, true);
});

Deno.test("foldCpLine: other lines, a monitor quoting the fault text and broken JSON change nothing", () => {
  const up = fold(["[cp] engine started (pid 10)"]);
  for (
    const line of [
      '[monitor] {"message":"fault switched on: engine KO"}',
      "[engine] {not json fault switched on: engine KO}",
      "[engine] plain text",
      "[cp] keys: …",
    ]
  ) {
    assert.deepEqual(foldCpLine(up, line), up, line);
  }
});

Deno.test("planAction: the key for each action, nothing to type when done, refusals say why", () => {
  const up = fold(["[cp] engine started (pid 10)", "[cp] monitor started (pid 11)"]);
  assert.equal(planAction("fault", up).key, "f");
  assert.equal(planAction("repair", up).key, undefined, "a healthy engine needs no repair");
  assert.equal(planAction("kill-engine", up).key, "k");
  assert.equal(planAction("kill-monitor", up).key, "K");
  assert.throws(() => planAction("restart-engine", up), ActionRefused);
  const dead = foldCpLine(up, "[cp] engine exited with code 137 (SIGKILL)");
  const restart = planAction("restart-engine", dead);
  assert.equal(restart.key, "e");
  assert.equal(restart.done(dead), false);
  assert.equal(restart.done(up), true);
  assert.throws(() => planAction("fault", dead), /engine is not running/);
  assert.throws(() => planAction("restart-monitor", up), /monitor is running already/);
});
