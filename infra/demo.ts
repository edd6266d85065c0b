/**
 * `deno task demo <action> <cp-id>`: the demo actions on a local CP of a running
 * `deno task start`, without a pid: simulate a fault and repair it, kill its engine or its
 * monitor, start either again, through the supervisor API (infra/supervisor_api.ts) with the
 * admin token `deno task start` wrote. `deno task demo list` shows the local CPs. The dashboard's
 * admin mode offers the same buttons.
 *
 * @module
 */
import { join } from "node:path";
import { defineConfig, httpUrl, loadConfig, oneOf, option, text } from "../shared/config.ts";
import { LOCAL_CP_ACTIONS, type LocalCpView } from "../shared/local_cps.ts";
import { SUPERVISOR_PORT } from "./supervisor_api.ts";

/** Every command `deno task demo` takes. */
export const DEMO_COMMANDS = ["list", ...LOCAL_CP_ACTIONS] as const;

/** `deno task demo`'s options. */
export const demoConfig = defineConfig({
  name: "deno task demo",
  summary: "Demo actions on a local CP of `deno task start`: " +
    `${DEMO_COMMANDS.join(" | ")} <cp-id>.`,
  options: {
    command: option(oneOf(DEMO_COMMANDS), {
      flag: "action",
      position: 0,
      help: `what to do: ${DEMO_COMMANDS.join(", ")}`,
    }),
    cpId: option(text, {
      flag: "cp-id",
      position: 1,
      optional: true,
      help: "the local CP (every action but list)",
    }),
    dataDir: option(text, {
      flag: "data-dir",
      default: "data/network",
      help: "`deno task start`'s data folder (its central_admin.token)",
    }),
    supervisorUrl: option(httpUrl, {
      flag: "supervisor-url",
      default: `http://127.0.0.1:${SUPERVISOR_PORT}`,
      help: "the supervisor API of `deno task start`",
    }),
  },
});

/** One line for a local CP: its process, engine, monitor and fault switch. */
export function describeLocalCp(cp: LocalCpView): string {
  if (!cp.running) return `${cp.id}: not running`;
  const part = (name: string, up: boolean | undefined) => `${name} ${up ? "running" : "DOWN"}`;
  return `${cp.id}: ${part("engine", cp.engine_running)}, ${part("monitor", cp.monitor_running)}` +
    (cp.faulty ? ", fault ON" : "");
}

async function main(): Promise<number> {
  const config = loadConfig(demoConfig);
  if (config.command !== "list" && config.cpId === undefined) {
    console.error(`deno task demo ${config.command}: which CP? e.g. CP-001`);
    return 2;
  }
  const tokenFile = join(config.dataDir, "central_admin.token");
  let token: string;
  try {
    token = (await Deno.readTextFile(tokenFile)).trim();
  } catch {
    console.error(`no ${tokenFile}: is deno task start running (with this --data-dir)?`);
    return 1;
  }
  const path = config.command === "list"
    ? "/cps"
    : `/cps/${encodeURIComponent(config.cpId!)}/${config.command}`;
  let res: Response;
  try {
    res = await fetch(`${config.supervisorUrl}${path}`, {
      method: config.command === "list" ? "GET" : "POST",
      headers: { authorization: `Bearer ${token}` },
    });
  } catch (error) {
    console.error(`the supervisor at ${config.supervisorUrl} does not answer: ${error}`);
    return 1;
  }
  const body = await res.json().catch(() => undefined);
  if (!res.ok) {
    console.error(`${config.command}: ${res.status} ${body?.detail ?? res.statusText}`);
    return 1;
  }
  const cps = (config.command === "list" ? body : [body]) as LocalCpView[];
  for (const cp of cps) console.log(describeLocalCp(cp));
  return 0;
}

if (import.meta.main) Deno.exit(await main());
