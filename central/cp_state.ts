/**
 * The CP state machine of ARCHITECTURE §CP states, as Central sees each CP. Pure: no clock, no I/O.
 *
 * A CP's status is more than the state shown on the panel: it also carries the two facts that
 * outlive a connection, so the right state comes back after a reconnect or a repair:
 * - `stopReason`: a hold put by Central (admin, weather, security status). A held CP shows
 *   `STOPPED` whenever it is connected and healthy, until `RESUME`.
 * - `sessionId`: the open session (from `AUTHORIZED` to its ticket). A CP with one shows
 *   `SUPPLYING` whenever it is connected, healthy and not held.
 *
 * Connection and health win over both: no monitor → `DISCONNECTED` (grey), engine KO →
 * `BROKEN` (red). The hold wins over the session, so a stopped CP turns orange at once, while
 * its session waits for the engine's `SUPPLY_END` (docs/charging_loop.md §6).
 *
 * {@link transition} defines an outcome for every (state, event) pair: a new status, or a
 * {@link Refusal} saying why the event makes no sense in that state. Callers (central/core.ts)
 * check the rules that refuse before they act, so a refusal reaching them is a bug or a stale
 * input they drop.
 *
 * @module
 */
import type { CpState, StopReason } from "../shared/messages.ts";

/** Everything the state machine knows about one CP. */
export interface CpStatus {
  /** What the panel shows (ARCHITECTURE §CP states). */
  readonly state: CpState;
  /** The hold Central put on the CP, or null. Survives disconnects and faults. */
  readonly stopReason: StopReason | null;
  /** The open session (authorized, not yet ticketed), or null. */
  readonly sessionId: string | null;
}

/** What can happen to a CP. */
export type CpEvent =
  /** A monitor logged in (including one that replaces an earlier connection). */
  | { readonly type: "LOGIN" }
  /** The monitor's connection ended: heartbeat timeout, closed socket, logout. */
  | { readonly type: "LOST" }
  /** The monitor reports its engine KO or unreachable. */
  | { readonly type: "ENGINE_KO" }
  /** The monitor reports its engine OK. */
  | { readonly type: "ENGINE_OK" }
  /** Central authorized a driver: the CP is reserved for this session. */
  | { readonly type: "SESSION_START"; readonly sessionId: string }
  /** The session was ticketed (by the engine's `SUPPLY_END` or by Central). */
  | { readonly type: "SESSION_END"; readonly sessionId: string }
  /** Central stops the CP for a reason (it stays held until `RESUME`). */
  | { readonly type: "STOP"; readonly reason: StopReason }
  /** Central lifts the hold. */
  | { readonly type: "RESUME" };

/** Every event type, for exhaustive tests and tables. */
export const CP_EVENT_TYPES = [
  "LOGIN",
  "LOST",
  "ENGINE_KO",
  "ENGINE_OK",
  "SESSION_START",
  "SESSION_END",
  "STOP",
  "RESUME",
] as const satisfies readonly CpEvent["type"][];

/** The event does not apply to the CP's current status; nothing changes. */
export interface Refusal {
  /** Why, in a few words (for logs and tests). */
  readonly refused: string;
}

/** True when {@link transition} refused the event. */
export function isRefusal(outcome: CpStatus | Refusal): outcome is Refusal {
  return "refused" in outcome;
}

/** A CP Central knows but has no monitor connection for (every CP at start). */
export const DISCONNECTED: CpStatus = { state: "DISCONNECTED", stopReason: null, sessionId: null };

/** The state of a connected CP with a healthy engine: held, supplying, or available. */
export function settledState(status: CpStatus): CpState {
  if (status.stopReason !== null) return "STOPPED";
  return status.sessionId !== null ? "SUPPLYING" : "ACTIVATED";
}

/** Whether a monitor is connected (every state but `DISCONNECTED`). */
export function isConnected(state: CpState): boolean {
  return state !== "DISCONNECTED";
}

/** Applies `event` to `status`: the new status, or why the event does not apply. */
export function transition(status: CpStatus, event: CpEvent): CpStatus | Refusal {
  const { state } = status;
  switch (event.type) {
    case "LOGIN":
      // A fresh login starts healthy: the monitor reports a KO engine within a second.
      return { ...status, state: settledState(status) };
    case "LOST":
      return { ...status, state: "DISCONNECTED" };
    case "ENGINE_KO":
      if (state === "DISCONNECTED") return { refused: "no monitor is connected" };
      return { ...status, state: "BROKEN" };
    case "ENGINE_OK":
      if (state === "DISCONNECTED") return { refused: "no monitor is connected" };
      return state === "BROKEN" ? { ...status, state: settledState(status) } : status;
    case "SESSION_START":
      if (state !== "ACTIVATED") return { refused: `the CP is ${state}` };
      return { ...status, state: "SUPPLYING", sessionId: event.sessionId };
    case "SESSION_END": {
      if (status.sessionId !== event.sessionId) return { refused: "not the CP's open session" };
      const ended = { ...status, sessionId: null };
      return state === "SUPPLYING" ? { ...ended, state: settledState(ended) } : ended;
    }
    case "STOP": {
      const held = { ...status, stopReason: event.reason };
      // A disconnected or broken CP keeps showing that; the hold applies once it is back.
      return state === "DISCONNECTED" || state === "BROKEN" ? held : { ...held, state: "STOPPED" };
    }
    case "RESUME": {
      const free = { ...status, stopReason: null };
      return state === "STOPPED" ? { ...free, state: settledState(free) } : free;
    }
  }
}
