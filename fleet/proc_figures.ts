/**
 * CPU and memory figures read from Linux's `/proc` text, apart from any file: the bench reads
 * the files, these turn their lines into numbers.
 *
 * @module
 */

/**
 * The machine's CPU time from `/proc/stat`'s first line (all cores), ms: `total` is every
 * field, `busy` all but idle and iowait.
 */
export function machineTicks(
  procStat: string,
  ticksPerSecond = 100,
): { busy: number; total: number } {
  const line = procStat.split("\n").find((l) => l.startsWith("cpu "));
  if (line === undefined) throw new RangeError("no aggregate `cpu` line in /proc/stat");
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/)
    .slice(1, 9).map((v) => Number(v) || 0);
  const busy = user + nice + system + irq + softirq + steal;
  const toMs = 1000 / ticksPerSecond;
  return { busy: busy * toMs, total: (busy + idle + iowait) * toMs };
}

/** CPU time from a `/proc/<pid>/stat` line, ms (`utime + stime`, at `ticksPerSecond`). */
export function cpuMsFromStat(stat: string, ticksPerSecond = 100): number {
  // The command name (field 2) may hold spaces and parentheses: count from the last `)`.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // After the name, fields start at 3 (state): utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) * 1000 / ticksPerSecond;
}

/** A `Vm…:  1234 kB` figure from `/proc/<pid>/status`, KiB (0 when absent). */
export function kibFromStatus(status: string, field: "VmRSS" | "VmHWM"): number {
  const m = status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
  return m ? Number(m[1]) : 0;
}
