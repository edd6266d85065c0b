/**
 * The version every program of the network reports for `--version` (shared/config.ts), one
 * constant for the whole repository: its parts are built and released together.
 *
 * @module
 */

/** The EVCharging version. */
export const EVCHARGING_VERSION = "0.1.0";

/** What `<program> --version` prints. */
export function versionLine(program: string): string {
  return `${program} ${EVCHARGING_VERSION} (EVCharging, Deno ${Deno.version.deno})`;
}

/**
 * For a program that reads its own arguments: whether `args` (up to a `--`) ask for `-h`,
 * `--help` or `--version`, and then the text to print (`usage`, or the version line) and exit 0
 * with; undefined when they do not.
 */
export function helpOrVersion(
  program: string,
  usage: string,
  args: readonly string[],
): string | undefined {
  const end = args.indexOf("--");
  const own = end < 0 ? args : args.slice(0, end);
  if (own.includes("-h") || own.includes("--help")) return usage;
  if (own.includes("--version")) return versionLine(program);
  return undefined;
}
