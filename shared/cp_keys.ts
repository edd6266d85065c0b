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
  | MonitorAction;

/**
 * What a key of the monitor's menu asks of the monitor (cp/monitor_main.ts): upper-case keys,
 * like `K`, are the monitor's. `deno task cp` hands them on to its monitor.
 */
export type MonitorAction =
  | "register"
  | "deregister"
  | "authenticate"
  | "maintenance"
  | "status"
  | "quit";

/** The key of each action of the monitor's menu. */
export const MONITOR_KEYS: Readonly<Record<MonitorAction, string>> = {
  register: "R",
  deregister: "D",
  authenticate: "A",
  maintenance: "M",
  status: "S",
  quit: "q",
};

/** The key of each action (case matters: `k` kills the engine, `K` the monitor). */
export const CP_KEYS: Readonly<Record<CpAction, string>> = {
  plug: "p",
  unplug: "u",
  fault: "f",
  kill_engine: "k",
  kill_monitor: "K",
  restart_engine: "e",
  restart_monitor: "m",
  ...MONITOR_KEYS,
};

const BY_KEY: ReadonlyMap<string, CpAction> = new Map(
  (Object.entries(CP_KEYS) as [CpAction, string][]).map(([action, key]) => [key, action]),
);

/** The action of `key`, or `undefined` for a key that means nothing here. Ctrl-C quits. */
export function cpKeyAction(key: string): CpAction | undefined {
  if (key === "\x03") return "quit";
  return BY_KEY.get(key);
}

/**
 * The action of a key of the monitor's own menu, in either case (at the monitor's own keyboard
 * `m` means maintenance too), or `undefined`. Ctrl-C quits.
 */
export function monitorKeyAction(key: string): MonitorAction | undefined {
  if (key === "\x03" || key === "q" || key === "Q") return "quit";
  const action = BY_KEY.get(key.toUpperCase());
  return action !== undefined && Object.hasOwn(MONITOR_KEYS, action)
    ? action as MonitorAction
    : undefined;
}

/**
 * Typed into the engine by `deno task cp` at a keyboard: stop drawing (the monitor's view takes
 * the terminal), and draw again. Ctrl-S and Ctrl-Q, as a terminal pauses and resumes output.
 */
export const ENGINE_SCREEN_PAUSE = "\x13";
/** See {@link ENGINE_SCREEN_PAUSE}. */
export const ENGINE_SCREEN_RESUME = "\x11";

/** The one-line key help of `deno task cp`. */
export const CP_KEYS_HELP = "p plug in   u unplug   f fault on/off   k kill engine   " +
  "K kill monitor   e restart engine   m restart monitor   " +
  "R register   D deregister   A authenticate again   M maintenance on/off   S monitor status   " +
  "q quit";
