/**
 * What a running CP monitor offers its owner (the monitor's menu and screen, the fleet, the OCPP
 * gateway, tests): the view it shows, the handle that drives it, and how it ended.
 * `cp/monitor.ts` implements it.
 *
 * @module
 */
import type { CpInfo, CpState, EngineHealth, StopReason } from "../shared/messages.ts";

/** The monitor's link to Central. */
export type CentralLinkState =
  /** Registering, authenticating or opening the connection. */
  | "connecting"
  /** Logged in: heartbeats flowing. */
  | "logged_in"
  /** Waiting before the next try. */
  | "waiting"
  /** Stopped retrying for good. */
  | "gave_up"
  /** Stopped by its owner. */
  | "stopped";

/** What the monitor shows on its screen; a snapshot. */
export interface MonitorView {
  /** The CP. */
  readonly cpId: string;
  /** The link to Central, with the reason of the last failure or wait. */
  readonly central: {
    readonly state: CentralLinkState;
    readonly address: string;
    readonly detail?: string;
    /** When the next try starts (ms since the epoch), while `waiting`. */
    readonly retryAt?: number;
  };
  /** The engine as last judged. */
  readonly engine: {
    readonly health: EngineHealth;
    readonly connected: boolean;
    readonly address: string;
  };
  /** The key version of the current login. */
  readonly keyVersion?: number;
  /** When the token of the current login expires (ISO); the token itself is never kept here. */
  readonly tokenExpiresAt?: string;
  /** What Central shows for the CP (its last `CP_STATE`), while logged in. */
  readonly shown?: {
    readonly state: CpState;
    readonly stopReason: StopReason | null;
    readonly maintenance: boolean;
  };
  /** What Central says this CP offers (from `AUTH_OK`). */
  readonly cp?: CpInfo;
  /** The last thing that happened, in words. */
  readonly lastEvent?: string;
}

/** How a monitor ended. */
export type MonitorOutcome =
  | { readonly kind: "gave_up"; readonly message: string }
  | { readonly kind: "stopped" };

/** A running monitor. */
export interface MonitorHandle {
  /** A snapshot for a screen or a test. */
  view(): MonitorView;
  /** Calls `listener` after every change; returns the function that removes it. */
  onChange(listener: () => void): () => void;
  /** Resolves when the monitor ends: it gave up (revoked, deregistered, …) or was stopped. */
  readonly done: Promise<MonitorOutcome>;
  /** Logs out (EOT), stops checking the engine and closes the Registry client. Idempotent. */
  stop(): Promise<void>;
  /**
   * Asks Central to put the CP in maintenance (`on`) or take it out (`MAINTENANCE`); false when
   * not logged in (nothing is sent; the last event says why).
   */
  setMaintenance(on: boolean): boolean;
  /** Logs in again at once with a fresh token (ending the current login, or a wait). */
  reauthenticate(): void;
  /**
   * After giving up at a menu, logs in again, registering the CP first when it has no
   * credentials or the Registry deregistered it (its credentials are then dead and forgotten).
   */
  register(): Promise<void>;
  /**
   * Deregisters the CP at the Registry with the admin key, forgets its credentials and logs out;
   * the monitor then waits for {@link register}. Resolves once done or refused (see the view).
   */
  deregister(): Promise<void>;
}
