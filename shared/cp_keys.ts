/**
 * The keys of `deno task cp` (cp/main.ts): which key does what to its engine and monitor. They
 * arrive from a keyboard, from a pipe (tests) or from the local supervisor of `deno task start`
 * (infra/supervisor_api.ts types them into the CP's input), so a demo never needs a pid.
 *
 * @module
 */

/** What a key asks `deno task cp` to do. */
export type CpAction =
  | "plug"
  | "unplug"
  | "fault"
  | "kill_engine"
  | "kill_monitor"
  | "restart_engine"
  | "restart_monitor"
  | "quit";

/** The key of each action (case matters: `k` kills the engine, `K` the monitor). */
export const CP_KEYS: Readonly<Record<CpAction, string>> = {
  plug: "p",
  unplug: "u",
  fault: "f",
  kill_engine: "k",
  kill_monitor: "K",
  restart_engine: "e",
  restart_monitor: "m",
  quit: "q",
};

const BY_KEY: ReadonlyMap<string, CpAction> = new Map(
  (Object.entries(CP_KEYS) as [CpAction, string][]).map(([action, key]) => [key, action]),
);

/** The action of `key`, or `undefined` for a key that means nothing here. Ctrl-C quits. */
export function cpKeyAction(key: string): CpAction | undefined {
  if (key === "\x03") return "quit";
  return BY_KEY.get(key);
}

/** The one-line key help of `deno task cp`. */
export const CP_KEYS_HELP = "p plug in   u unplug   f fault on/off   k kill engine   " +
  "K kill monitor   e restart engine   m restart monitor   q quit";
