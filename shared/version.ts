/**
 * The version every program of the network reports for `--version` (shared/config.ts), one
 * constant for the whole repository: its parts are built and released together; and the manners
 * of the programs that read their own arguments: `-h`/`--help`/`--version`, and a failure said
 * in one line.
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

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

/**
 * Prints what {@link helpOrVersion} answers, if anything; true when it printed (the program then
 * exits 0 without doing anything else).
 */
export function printHelpOrVersion(
  program: string,
  usage: string,
  args: readonly string[],
): boolean {
  const answer = helpOrVersion(program, usage, args);
  if (answer !== undefined) console.log(answer);
  return answer !== undefined;
}

/** The flags of {@link parseProgramArgs}'s programs besides their own. */
const HELP_AND_VERSION = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
} as const;

/** The values `parseArgs` gives for `options` and {@link HELP_AND_VERSION}. */
type ProgramFlags<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O & typeof HELP_AND_VERSION; strict: true }>
>["values"];

/**
 * For a program that reads its flags with `parseArgs` (strict, no positionals) and also takes
 * `-h`/`--help` and `--version`: the flags' values, or the code to exit with once it has printed
 * the usage or the version line (0), or a bad flag and the usage on stderr (2).
 */
export function parseProgramArgs<const O extends ParseArgsOptionsConfig>(
  program: string,
  usage: string,
  args: string[],
  options: O,
): { exit: number } | { values: ProgramFlags<O> } {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { ...options, ...HELP_AND_VERSION }, strict: true }));
  } catch (error) {
    console.error(`${program}: ${(error as Error).message}\n\n${usage}`);
    return { exit: 2 };
  }
  const { help, version } = values as { help?: boolean; version?: boolean };
  if (help || version) {
    console.log(help ? usage : versionLine(program));
    return { exit: 0 };
  }
  return { values: values as ProgramFlags<O> };
}

/**
 * Runs a program's `main`: a failure ends the program with `program: message` on standard error
 * and exit code `code` (no stack: the message says what to fix).
 */
export async function runOrExit(
  program: string,
  main: () => Promise<unknown>,
  code = 1,
): Promise<void> {
  try {
    await main();
  } catch (error) {
    console.error(`${program}: ${error instanceof Error ? error.message : String(error)}`);
    Deno.exit(code);
  }
}
