/**
 * `deno task compile [component…]`: one self-contained binary per component in `dist/`, for
 * machines without Deno. `deno compile` puts the program on a `denort` runtime that it
 * downloads for the running Deno version; where that cannot be downloaded, `DENORT_BIN` names
 * a `denort` binary obtained elsewhere. Without either this task stops at once and says so,
 * rather than letting `deno compile` fail on a network error.
 *
 * @module
 */
import { join } from "node:path";
import { noColorRequested } from "../shared/terminal.ts";
import { printHelpOrVersion } from "../shared/version.ts";
import { buildWeb, WEB_BUNDLE, WEB_VENDOR_CSS } from "./web_build.ts";

/** What one binary is built from, with the permissions of its `deno task`. */
export interface Component {
  /** Binary name in `dist/`. */
  readonly name: string;
  /** Entry point, relative to the repository root. */
  readonly entry: string;
  /** Permission flags baked into the binary. */
  readonly permissions: readonly string[];
  /** Files the binary carries along (`--include`). */
  readonly include?: readonly string[];
}

const NET_ENV_READ = ["--allow-net", "--allow-env", "--allow-read"];

/**
 * The components. `cp/main.ts` is not among them: it starts the engine and the monitor as
 * `deno run` children, so compiled CPs are its two halves, run side by side.
 */
export const COMPONENTS: readonly Component[] = [
  { name: "registry", entry: "registry/main.ts", permissions: [...NET_ENV_READ, "--allow-write"] },
  {
    name: "central",
    entry: "central/main.ts",
    // The dashboard as built by web:build (main builds it first) and its page and stylesheet;
    // its monitor sockets run in a worker, which a binary only has when it is included.
    permissions: [...NET_ENV_READ, "--allow-write"],
    include: [
      WEB_BUNDLE,
      WEB_VENDOR_CSS,
      "web/index.html",
      "web/app.css",
      "web/console.css",
      "central/monitor_links_worker.ts",
    ],
  },
  { name: "cp-engine", entry: "cp/engine_main.ts", permissions: NET_ENV_READ },
  {
    name: "cp-monitor",
    entry: "cp/monitor_main.ts",
    permissions: [...NET_ENV_READ, "--allow-write"],
  },
  { name: "driver", entry: "driver/main.ts", permissions: NET_ENV_READ },
  { name: "weather", entry: "weather/main.ts", permissions: [...NET_ENV_READ, "--allow-write"] },
];

/** The `deno compile` arguments for `component`, writing into `outDir`. */
export function compileArgs(component: Component, outDir: string): string[] {
  return [
    "compile",
    ...component.permissions,
    ...(component.include ?? []).flatMap((path) => ["--include", path]),
    "--output",
    join(outDir, component.name),
    component.entry,
  ];
}

/** The name of the runtime archive `deno compile` downloads for this Deno on this machine. */
export function denortArchive(version = Deno.version.deno, target = Deno.build.target): string {
  return `v${version}/denort-${target}.zip`;
}

/** Where `deno compile` keeps a downloaded runtime, under the Deno cache folder. */
export function cachedDenort(denoDir: string, version?: string, target?: string): string {
  return join(denoDir, "dl", "release", denortArchive(version, target));
}

/** Why compiling cannot start, or undefined when a runtime is at hand. */
export async function missingRuntime(
  env: { denortBin?: string; denoDir: string },
): Promise<string | undefined> {
  const exists = (path: string) => Deno.stat(path).then((s) => s.isFile, () => false);
  if (env.denortBin !== undefined) {
    return (await exists(env.denortBin))
      ? undefined
      : `DENORT_BIN is ${env.denortBin}, but there is no file there`;
  }
  if (await exists(cachedDenort(env.denoDir))) return undefined;
  return [
    `deno compile needs the denort runtime for Deno ${Deno.version.deno} (${denortArchive()}),`,
    "which it downloads from the Deno release site; this machine has no copy of it.",
    "Fetch that archive on a machine that can, unzip it, and run again with",
    "DENORT_BIN=/path/to/denort deno task compile",
  ].join("\n");
}

/** The Deno cache folder `deno compile` uses. */
export function denoDir(): string {
  const explicit = Deno.env.get("DENO_DIR");
  if (explicit) return explicit;
  const xdg = Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? ".", ".cache");
  return join(xdg, "deno");
}

const USAGE = `Usage: deno task compile [component…]

One self-contained binary per component in dist/ (all of them without arguments):
${COMPONENTS.map((c) => `  ${c.name.padEnd(12)} ${c.entry}`).join("\n")}

Environment:
  DENORT_BIN <path>            A denort runtime obtained elsewhere (this machine cannot download it)

Options:
  -h, --help                   Show this help
  --version                    Show the version`;

async function main(args: string[]): Promise<number> {
  if (printHelpOrVersion("compile", USAGE, args)) return 0;
  const unknown = args.filter((a) => !COMPONENTS.some((c) => c.name === a));
  if (unknown.length > 0) {
    console.error(
      `compile: unknown component ${unknown.join(", ")}; one of ${
        COMPONENTS.map((c) => c.name).join(", ")
      }`,
    );
    return 2;
  }
  const problem = await missingRuntime({
    denortBin: Deno.env.get("DENORT_BIN"),
    denoDir: denoDir(),
  });
  if (problem !== undefined) {
    console.error(`compile: ${problem}`);
    return 1;
  }
  const root = join(import.meta.dirname!, "..");
  const outDir = join(root, "dist");
  const chosen = COMPONENTS.filter((c) => args.length === 0 || args.includes(c.name));
  if (chosen.some((c) => c.include?.includes(WEB_BUNDLE))) {
    console.log(`web:build → ${await buildWeb({ root })}`);
  }
  for (const [i, component] of chosen.entries()) {
    console.log(`[${i + 1}/${chosen.length}] ${component.name} ← ${component.entry}`);
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: compileArgs(component, outDir),
      cwd: root,
      // deno colours its progress even into a pipe or a file: not when this output is not a
      // terminal, nor under NO_COLOR.
      env: Deno.stdout.isTerminal() && !noColorRequested() ? {} : { NO_COLOR: "1" },
    }).spawn().status;
    if (code !== 0) {
      console.error(`compile: ${component.name} failed (exit ${code})`);
      return code;
    }
  }
  console.log(`binaries in ${outDir}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
