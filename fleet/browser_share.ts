/**
 * `--browser-nice N` of `deno task bench:dashboard`: the dashboard's Chromium given the share of
 * the machine a computer of its own would give it. An operator's browser runs on the operator's
 * computer, not on the cores that stand in for the network's chargers; on one machine the page
 * otherwise waits for a core behind the broker, Central and the fleet it watches, and its tasks
 * are long on the wall without being long work (BENCHMARKS.md, "The dashboard in Chromium").
 *
 * Linux shares the CPU between sessions first (autogroup scheduling) and by nice value only
 * within a session, and Chromium runs in a session of its own (playwright starts it detached), so
 * the share is set on its session's autogroup (`/proc/<pid>/autogroup`): every Chromium process
 * and thread, those started later too, and nothing else. The network keeps whatever the browser
 * does not use.
 *
 * @module
 */
import { integer, option } from "../shared/config.ts";

/** The option, for bench:dashboard's config. */
export const browserNiceOption = option(integer(-20, 19), {
  flag: "browser-nice",
  optional: true,
  help: "run the dashboard's Chromium at this autogroup nice, -20–19 (e.g. --browser-nice=-10), " +
    "as if on the operator's own computer: it no longer waits for a core behind the network " +
    "it watches (a negative value needs root; default: the machine's ordinary sharing)",
});

/** What the machine allows, read once at start. */
export interface SchedulingFacts {
  /** The kernel shares the CPU by session (`/proc/sys/kernel/sched_autogroup_enabled` = 1). */
  readonly autogroups: boolean;
  /** This process may raise a priority (root). */
  readonly root: boolean;
}

/** Why `nice` cannot be applied on a machine with `facts`, or undefined when it can. */
export function browserNiceProblem(nice: number, facts: SchedulingFacts): string | undefined {
  if (!facts.autogroups) {
    return "--browser-nice needs the kernel's autogroup scheduling " +
      "(/proc/sys/kernel/sched_autogroup_enabled is not 1)";
  }
  if (nice < 0 && !facts.root) {
    return `--browser-nice=${nice} raises a priority, which needs root (CAP_SYS_NICE)`;
  }
  return undefined;
}

/** This machine's {@link SchedulingFacts}. */
export async function schedulingFacts(): Promise<SchedulingFacts> {
  const enabled = await Deno.readTextFile("/proc/sys/kernel/sched_autogroup_enabled")
    .then((text) => text.trim() === "1", () => false);
  return { autogroups: enabled, root: Deno.uid() === 0 };
}

/** The nice value in the text of `/proc/<pid>/autogroup` (`/autogroup-1500 nice -10`). */
export function autogroupNice(text: string): number {
  const nice = text.match(/ nice (-?\d+)\s*$/);
  if (nice === null) throw new Error(`not an autogroup line: ${JSON.stringify(text)}`);
  return Number(nice[1]);
}

/**
 * Sets the autogroup of `pid`'s session to `nice` and reads it back.
 * @throws {Error} when the kernel refuses it or keeps another value.
 */
export async function setAutogroupNice(pid: number, nice: number): Promise<void> {
  const file = `/proc/${pid}/autogroup`;
  await Deno.writeTextFile(file, String(nice));
  const now = autogroupNice(await Deno.readTextFile(file));
  if (now !== nice) throw new Error(`${file} says nice ${now} after nice ${nice} was written`);
}
