/**
 * The demo actions on a local CP of `deno task start`: simulate a fault and repair it, kill its
 * engine or its monitor, start either again. The supervisor (infra/supervisor_api.ts) does each
 * by typing one of `deno task cp`'s keys (cp/cp_control.ts) into the CP's input, then waits for
 * the CP's own output to show it happened; nobody needs a pid.
 *
 * What the CP's children are doing is folded from its output lines ({@link foldCpLine}): its
 * `[cp] engine started (pid …)` / `[cp] engine exited …` lines and the engine's fault notes.
 *
 * @module
 */
import { CP_KEYS } from "../shared/cp_keys.ts";
import type { LocalCpAction } from "../shared/local_cps.ts";

/** One child of a local CP. */
export interface ChildState {
  /** Whether it runs. */
  readonly running: boolean;
  /** Its pid while it runs. */
  readonly pid: number | null;
}

/** A local CP's two children and its engine's fault switch, as its output shows them. */
export interface CpChildren {
  /** The engine process. */
  readonly engine: ChildState;
  /** The monitor process. */
  readonly monitor: ChildState;
  /** Whether the engine's simulated fault is on. */
  readonly faulty: boolean;
}

/** Before the CP printed anything. */
export const NO_CHILDREN: CpChildren = {
  engine: { running: false, pid: null },
  monitor: { running: false, pid: null },
  faulty: false,
};

const STARTED = /^\[cp\] (engine|monitor) started \(pid (\d+)\)/;
const EXITED = /^\[cp\] (engine|monitor) exited/;
const ENGINE_RECORD = /^\[engine\] (\{.*\})$/;

/** The engine's notes when its fault switch flips (cp/engine_core.ts). */
const FAULT_ON = "fault switched on: engine KO";
const FAULT_OFF = "fault cleared: engine OK";

/** `state` after one more output line of the CP's `deno task cp` process. */
export function foldCpLine(state: CpChildren, line: string): CpChildren {
  const started = line.match(STARTED);
  if (started) {
    const child = { running: true, pid: Number(started[2]) };
    // A new engine starts healthy.
    return started[1] === "engine"
      ? { ...state, engine: child, faulty: false }
      : { ...state, monitor: child };
  }
  const exited = line.match(EXITED);
  if (exited) {
    const child = { running: false, pid: null };
    return exited[1] === "engine"
      ? { ...state, engine: child, faulty: false }
      : { ...state, monitor: child };
  }
  const record = line.match(ENGINE_RECORD);
  if (record && (record[1].includes(FAULT_ON) || record[1].includes(FAULT_OFF))) {
    try {
      const message = (JSON.parse(record[1]) as { message?: unknown }).message;
      if (message === FAULT_ON) return { ...state, faulty: true };
      if (message === FAULT_OFF) return { ...state, faulty: false };
    } catch {
      // not a record after all
    }
  }
  return state;
}

/** How the supervisor carries out one action: the key, and what shows it was done. */
export interface ActionPlan {
  /** The key to type, or `undefined` when the CP is in that state already. */
  readonly key: string | undefined;
  /** Whether the action took effect. */
  readonly done: (state: CpChildren) => boolean;
}

/** Why an action cannot be done now. */
export class ActionRefused extends Error {
  override readonly name = "ActionRefused";
}

/**
 * The key for `action` given the CP's `state`, and the state that shows it was done. A fault
 * on a faulty engine (or a repair of a healthy one) is done already; killing a dead child or
 * restarting a living one is refused with the reason.
 */
export function planAction(action: LocalCpAction, state: CpChildren): ActionPlan {
  const need = (what: "engine" | "monitor", running: boolean) => {
    if (state[what].running !== running) {
      throw new ActionRefused(`its ${what} is ${running ? "not running" : "running already"}`);
    }
  };
  switch (action) {
    case "fault":
    case "repair": {
      need("engine", true);
      const want = action === "fault";
      return {
        key: state.faulty === want ? undefined : CP_KEYS.fault,
        done: (s) => s.faulty === want,
      };
    }
    case "kill-engine":
      need("engine", true);
      return { key: CP_KEYS.kill_engine, done: (s) => !s.engine.running };
    case "kill-monitor":
      need("monitor", true);
      return { key: CP_KEYS.kill_monitor, done: (s) => !s.monitor.running };
    case "restart-engine":
      need("engine", false);
      return { key: CP_KEYS.restart_engine, done: (s) => s.engine.running };
    case "restart-monitor":
      need("monitor", false);
      return { key: CP_KEYS.restart_monitor, done: (s) => s.monitor.running };
  }
}
