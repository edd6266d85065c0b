/**
 * What a Chromium trace (CDP tracing, category `disabled-by-default-devtools.timeline`) says of a
 * page's main thread: its tasks by wall time and by the thread's own CPU time. The two differ on a
 * busy machine: a task the scheduler takes the CPU from mid-way lasts longer on the wall (and the
 * Long Tasks API counts it long) than the work it did. Pure: used by fleet/dashboard_probe.ts.
 *
 * @module
 */

/** One trace event, as much of it as is read here. */
export interface TraceEvent {
  readonly name: string;
  readonly ph: string;
  readonly pid: number;
  readonly tid: number;
  /** Start, µs. */
  readonly ts?: number;
  /** Wall duration, µs. */
  readonly dur?: number;
  /** The thread's CPU time over the event, µs. */
  readonly tdur?: number;
  readonly args?: { readonly name?: string };
}

/** The main thread's tasks over a trace. */
export interface MainTasks {
  /** Tasks run. */
  readonly tasks: number;
  /** Tasks over 50 ms of wall time (what the Long Tasks API reports). */
  readonly over_50ms_wall: number;
  /** Tasks over 50 ms of the thread's own CPU time. */
  readonly over_50ms_cpu: number;
  /** The longest task, wall and CPU, ms. */
  readonly max_ms: { readonly wall: number; readonly cpu: number };
  /** The 99th percentile of the tasks, wall and CPU, ms. */
  readonly p99_ms: { readonly wall: number; readonly cpu: number };
}

const LONG_US = 50_000;
const ms = (us: number) => Math.round(us / 100) / 10;

function p99(values: number[]): number {
  if (values.length === 0) return 0;
  values.sort((a, b) => a - b);
  return values[Math.min(values.length - 1, Math.ceil(0.99 * values.length) - 1)];
}

/**
 * The tasks (`RunTask` complete events) of the renderers' main threads (`CrRendererMain`) in
 * `events`; a task nested in another (a nested run loop) is counted once, as its outer task.
 */
export function mainTasks(events: readonly TraceEvent[]): MainTasks {
  const mains = new Set(
    events.filter((e) =>
      e.ph === "M" && e.name === "thread_name" && e.args?.name === "CrRendererMain"
    )
      .map((e) => `${e.pid}:${e.tid}`),
  );
  const runs = events.filter((e) =>
    e.ph === "X" && e.name === "RunTask" && mains.has(`${e.pid}:${e.tid}`) &&
    e.ts !== undefined && e.dur !== undefined
  ).sort((a, b) => a.ts! - b.ts! || b.dur! - a.dur!);
  const outer: TraceEvent[] = [];
  const endOf = new Map<string, number>();
  for (const e of runs) {
    const thread = `${e.pid}:${e.tid}`;
    if (e.ts! < (endOf.get(thread) ?? -Infinity)) continue;
    endOf.set(thread, e.ts! + e.dur!);
    outer.push(e);
  }
  const wall = outer.map((e) => e.dur!);
  const cpu = outer.map((e) => e.tdur ?? 0);
  return {
    tasks: outer.length,
    over_50ms_wall: wall.filter((d) => d > LONG_US).length,
    over_50ms_cpu: cpu.filter((d) => d > LONG_US).length,
    max_ms: { wall: ms(Math.max(0, ...wall)), cpu: ms(Math.max(0, ...cpu)) },
    p99_ms: { wall: ms(p99(wall)), cpu: ms(p99(cpu)) },
  };
}
