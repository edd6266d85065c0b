import assert from "node:assert/strict";
import { mainTasks, type TraceEvent } from "./main_tasks.ts";

const task = (tid: number, ts: number, dur: number, tdur: number): TraceEvent => ({
  name: "RunTask",
  ph: "X",
  pid: 1,
  tid,
  ts,
  dur,
  tdur,
});

Deno.test("mainTasks: the renderer main thread's tasks by wall and own CPU time", () => {
  const events: TraceEvent[] = [
    { name: "thread_name", ph: "M", pid: 1, tid: 7, args: { name: "CrRendererMain" } },
    { name: "thread_name", ph: "M", pid: 1, tid: 8, args: { name: "Compositor" } },
    task(7, 0, 2_000, 1_500),
    // Long on the wall, short in CPU: the thread waited for a core.
    task(7, 10_000, 120_000, 20_000),
    // A task nested in it (a nested run loop) is not a task of its own.
    task(7, 20_000, 60_000, 55_000),
    task(7, 200_000, 70_000, 60_000),
    // Another thread's task is not the page's.
    task(8, 0, 500_000, 500_000),
  ];
  assert.deepEqual(mainTasks(events), {
    tasks: 3,
    over_50ms_wall: 2,
    over_50ms_cpu: 1,
    max_ms: { wall: 120, cpu: 60 },
    p99_ms: { wall: 120, cpu: 60 },
  });
});

Deno.test("mainTasks: no trace, no task", () => {
  assert.deepEqual(mainTasks([]), {
    tasks: 0,
    over_50ms_wall: 0,
    over_50ms_cpu: 0,
    max_ms: { wall: 0, cpu: 0 },
    p99_ms: { wall: 0, cpu: 0 },
  });
});
