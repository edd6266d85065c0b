/**
 * What a V8 CPU profile (CDP `Profiler.stop`, the `.cpuprofile` format) says takes the time: each
 * function's self time, summed over the samples that were in it, heaviest first. Pure: used by
 * fleet/dashboard_probe.ts to name what a dashboard's main thread is busy with.
 *
 * @module
 */

/** A V8 CPU profile, as CDP's `Profiler.stop` gives it. */
export interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: {
      readonly functionName: string;
      readonly url: string;
      readonly lineNumber: number;
      readonly columnNumber: number;
    };
  }[];
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

/** One function's self time. */
export interface HotFunction {
  /** Its name (`(anonymous)` when it has none; V8's own entries are like `(program)`). */
  readonly name: string;
  /** `file:line:column` of its source (1-based), or "" for V8's own entries. */
  readonly where: string;
  /** Milliseconds sampled in it. */
  readonly self_ms: number;
  /** Its share of the busy (not `(idle)`) time, 0–1. */
  readonly share: number;
}

/** The `top` functions by self time, `(idle)` left out. */
export function hotFunctions(profile: CpuProfile, top = 15): HotFunction[] {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const selfUs = new Map<string, { name: string; where: string; us: number }>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  let busyUs = 0;
  for (let i = 0; i < samples.length; i++) {
    const frame = byNode.get(samples[i]);
    // A sample's time is the gap to the next one (the last has none).
    const us = Math.max(0, deltas[i + 1] ?? 0);
    if (frame === undefined || frame.functionName === "(idle)") continue;
    const file = frame.url.slice(frame.url.lastIndexOf("/") + 1);
    const where = frame.url === ""
      ? ""
      : `${file}:${frame.lineNumber + 1}:${frame.columnNumber + 1}`;
    const name = frame.functionName === "" ? "(anonymous)" : frame.functionName;
    const key = `${name} ${where}`;
    const entry = selfUs.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    selfUs.set(key, entry);
    busyUs += us;
  }
  return [...selfUs.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((e) => ({
      name: e.name,
      where: e.where,
      self_ms: Math.round(e.us / 100) / 10,
      share: busyUs === 0 ? 0 : Math.round((e.us / busyUs) * 1000) / 1000,
    }));
}
