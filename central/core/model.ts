/**
 * Central's model, inputs and effects: the types {@link step} (central/core/step.ts) works on,
 * the context it reads the time and its timings from, and the default timings.
 *
 * @module
 */
import type { CoreStep } from "../../shared/core_step.ts";
import type {
  AuthFailReason,
  CommandPayload,
  CpProtocol,
  DenyReason,
  DriverSupply,
  DriverUpdate,
  EndReason,
  EngineHealth,
  LogoutReason,
  StopReason,
  TelemetryPayload,
} from "../../shared/messages.ts";
import type { AuditEntry } from "../audit_chain.ts";
import type { CpStatus } from "../cp_state.ts";

/** A CP's security status (ARCHITECTURE §Revocation and status): ACTIVE charges; OUT_OF_SERVICE may log in only. */
export type SecurityStatus = "ACTIVE" | "OUT_OF_SERVICE" | "REVOKED";

/** What Central knows about one CP. */
export interface Cp {
  /** CP id. */
  readonly id: string;
  /** Location from the Registry (cached at each login). */
  readonly location: string;
  /** €/kWh from the Registry. */
  readonly priceEurKwh: number;
  /** Rated power in kW from the Registry. */
  readonly powerKw: number;
  /** State, hold and open session (central/cp_state.ts). */
  readonly status: CpStatus;
  /** Central's own security status for the CP. */
  readonly security: SecurityStatus;
  /** The live key version (the one commands are sealed with), or null. */
  readonly keyVersion: number | null;
  /** The monitor connection that logged in last, or null when disconnected. */
  readonly connection: number | null;
  /** Last sign of life from the monitor (login, heartbeat, health), ms since the epoch. */
  readonly lastSeenMs: number | null;
  /** What `GET /security` shows beside the security status. */
  readonly securityInfo: SecurityInfo;
  /**
   * The charger protocol its monitor told at its last login (`ocpp1.6` behind the OCPP
   * gateway), kept in the store so it is shown after a restart too; absent for the network's own
   * CPs.
   */
  readonly protocol?: CpProtocol;
  /**
   * Its monitor's operator holds it in maintenance (`MAINTENANCE{on: true}`): a hold of its own,
   * kept apart from the admin's and the weather's, so lifting one never lifts the others.
   * Absent means off.
   */
  readonly maintenance?: boolean;
}

/** The security facts Central keeps per CP beside its status (never a key). */
export interface SecurityInfo {
  /** Why an admin last set the status, or null. */
  readonly reason: string | null;
  /** When the status was last set (ISO), or null if never. */
  readonly changedAt: string | null;
  /** When the CP's keys were last revoked (a key revoke or REVOKED; ISO), or null. */
  readonly revokedAt: string | null;
  /**
   * When an admin revoked the CP's keys (not a rotation) and it has not logged in since (ISO),
   * or null: the "key revoked" mark the REST API and the dashboard show.
   */
  readonly keyRevokedAt: string | null;
  /** When the CP last logged in (ISO), or null. */
  readonly lastLoginAt: string | null;
  /** Logins refused so far (bad token, revoked, …). */
  readonly failedLogins: number;
  /** Start of the Registry registration the CP last logged in with (ISO), or null. */
  readonly registeredAt: string | null;
  /** When the Registry deregistered the CP (ISO), or null while it is registered. */
  readonly deregisteredAt: string | null;
}

/** {@link SecurityInfo} of a CP nothing has happened to yet. */
export const NO_SECURITY_INFO: SecurityInfo = {
  reason: null,
  changedAt: null,
  revokedAt: null,
  keyRevokedAt: null,
  lastLoginAt: null,
  failedLogins: 0,
  registeredAt: null,
  deregisteredAt: null,
};

/** A charging session, from AUTHORIZED to its TICKET. */
export interface Session {
  /** Session id (chosen by Central). */
  readonly id: string;
  /** The CP. */
  readonly cpId: string;
  /** The driver. */
  readonly driverId: string;
  /** The request that opened it. */
  readonly requestId: string;
  /** Price fixed at authorization, €/kWh. */
  readonly priceEurKwh: number;
  /** The CP's rated power at authorization, kW. */
  readonly powerKw: number;
  /** When it was authorized (ISO). */
  readonly startedAt: string;
  /** When the vehicle was plugged in (ISO, engine's clock), or null. */
  readonly pluggedAt: string | null;
  /** When it ended (ISO), or null while open. */
  readonly endedAt: string | null;
  /** Last reported power, kW (0 once ended). */
  readonly kw: number;
  /** Energy so far (cumulative), kWh. */
  readonly kwh: number;
  /** Amount so far, € (kwh × priceEurKwh). */
  readonly eur: number;
  /** Why it ended, or null while open. */
  readonly endReason: EndReason | null;
  /**
   * Central closes it itself with this reason at `deadlineMs` (epoch ms) unless the engine
   * does first: `plug_timeout` from AUTHORIZED until the plug-in, a stop reason after a STOP.
   */
  readonly pendingEnd: { readonly reason: EndReason; readonly deadlineMs: number } | null;
}

/** `alert`: the weather holds the CP stopped; `clear`: it does not. */
export type WeatherStatus = "alert" | "clear";

/** The weather office's last word on one CP (ARCHITECTURE §Processes and ports, issue 6). */
export interface WeatherReport {
  /** The CP. */
  readonly cpId: string;
  /** The city the office reads for it. */
  readonly city: string;
  /** The last temperature reported, °C. */
  readonly temperatureC: number;
  /** The hold the office asks for. */
  readonly status: WeatherStatus;
  /** Since when (ISO) the office has reported this status. */
  readonly since: string;
  /** When (ISO) the office last reported. */
  readonly updatedAt: string;
}

/** Central's whole in-memory state: every known CP and every open session. */
export interface Model {
  /** CPs by id. */
  readonly cps: ReadonlyMap<string, Cp>;
  /** Open sessions by id (closed ones live only in the store). */
  readonly sessions: ReadonlyMap<string, Session>;
  /** The weather office's last report per CP id (only CPs Central knows). */
  readonly weather: ReadonlyMap<string, WeatherReport>;
}

/** Timings the core applies. */
export interface CoreConfig {
  /** A connected CP with no sign of life for longer than this is DISCONNECTED (default 3 s). */
  readonly heartbeatTimeoutMs: number;
  /** After a STOP, how long to wait for the engine's SUPPLY_END (default 10 s). */
  readonly stopWaitMs: number;
  /**
   * How long an authorized session may wait for its vehicle before Central ends it (default
   * 2 min). Longer than the engines' own plug timeout (60 s), which normally ends it first.
   */
  readonly plugWaitMs: number;
}

/** Default {@link CoreConfig} (docs/charging_loop.md §1.7, §4, §6). */
export const DEFAULT_CORE_CONFIG: CoreConfig = {
  heartbeatTimeoutMs: 3_000,
  stopWaitMs: 10_000,
  plugWaitMs: 120_000,
};

/**
 * What a step may read besides its model and input, as in every component's core: the timings
 * it applies and the time it runs at. The edge that dispatches reads its clock once for the
 * step (a Kafka batch: once for the whole batch), so no input carries "now".
 */
export interface CoreContext {
  /** The timings the core applies. */
  readonly config: CoreConfig;
  /** The time the step runs at, ms since the epoch. */
  readonly now: number;
}

/** An empty model. */
export const EMPTY_MODEL: Model = { cps: new Map(), sessions: new Map(), weather: new Map() };

// ---------------------------------------------------------------------------------------------
// Inputs

/** The CP as the Registry describes it, cached at each login. */
export interface RegistryCp {
  /** Location. */
  readonly location: string;
  /** €/kWh. */
  readonly priceEurKwh: number;
  /** kW. */
  readonly powerKw: number;
}

/** Everything that can happen to Central; the time it happens at is the {@link CoreContext}'s `now`. */
export type Input =
  /** A monitor passed every login check; its new key is derived and wrapped. */
  | {
    readonly type: "login";
    readonly cpId: string;
    readonly connection: number;
    readonly registry: RegistryCp;
    readonly keyVersion: number;
    readonly wrappedKey: string;
    /** Start of the CP's current Registry registration (ISO), as the Registry reported it. */
    readonly registeredAt?: string;
    /** The charger protocol its monitor told (the OCPP gateway's CPs). */
    readonly protocol?: CpProtocol;
    /** The monitor's IP address, for the audit. */
    readonly originIp?: string;
  }
  /**
   * A monitor's login was refused (`AUTH_FAIL`). With `cpId` (its token was proven) it counts
   * for that CP if Central knows it; without (the token did not prove who is asking) it is the
   * address's failure, and no CP a stranger names is touched.
   */
  | {
    readonly type: "login_failed";
    readonly cpId?: string;
    readonly reason: AuthFailReason;
    /** Which token check failed, when no CP is named (e.g. `key_mismatch`, `token_replayed`). */
    readonly why?: string;
    readonly originIp?: string;
  }
  /** `HEARTBEAT` from a monitor connection. */
  | {
    readonly type: "heartbeat";
    readonly cpId: string;
    readonly connection: number;
  }
  /**
   * Many monitors' signs of life at once (`HEARTBEAT`s, and `HEALTH`s that repeat an `OK`): the
   * monitor server gathers them, so a thousand CPs cost a few steps a second, not thousands.
   */
  | {
    readonly type: "heartbeats";
    readonly beats: readonly {
      readonly cpId: string;
      readonly connection: number;
      /**
       * When the monitor server read it, ms since the epoch: a beat waits up to
       * `BEATS_FLUSH_MS` (central/monitor_server.ts) to be gathered, so it is earlier than `now`.
       */
      readonly seenMs: number;
    }[];
  }
  /** `HEALTH` from a monitor connection. */
  | {
    readonly type: "health";
    readonly cpId: string;
    readonly connection: number;
    readonly engine: EngineHealth;
  }
  /** `MAINTENANCE` from a monitor connection: its operator turns maintenance on or off. */
  | {
    readonly type: "maintenance";
    readonly cpId: string;
    readonly connection: number;
    readonly on: boolean;
    /** The monitor's IP address, for the audit. */
    readonly originIp?: string;
  }
  /** A monitor connection ended (closed, dropped, EOT). */
  | {
    readonly type: "disconnect";
    readonly cpId: string;
    readonly connection: number;
  }
  /** A valid `CHARGE_REQUEST`; `sessionId` is the id to use if it is authorized. */
  | {
    readonly type: "charge_request";
    readonly requestId: string;
    readonly driverId: string;
    readonly cpId: string;
    readonly sessionId: string;
    /** This driver's request id was answered before (a replay or a resend). */
    readonly duplicate: boolean;
    /** The address the driver's host reported for itself (unverified), when it sent one. */
    readonly originIp?: string;
  }
  /** A valid `CP_LIST_REQUEST`. */
  | {
    readonly type: "cp_list_request";
    readonly requestId: string;
    readonly driverId: string;
    readonly duplicate: boolean;
  }
  /** A valid `CANCEL_REQUEST`: the driver ends its charge (`sessionId`, or its open one). */
  | {
    readonly type: "cancel_request";
    readonly requestId: string;
    readonly driverId: string;
    readonly sessionId?: string;
    readonly duplicate: boolean;
    /** The address the driver's host reported for itself (unverified), when it sent one. */
    readonly originIp?: string;
  }
  /** A request that failed validation but names who to answer. */
  | {
    readonly type: "invalid_request";
    readonly requestId: string;
    readonly driverId: string;
    readonly detail: string;
    readonly duplicate: boolean;
  }
  /** An authenticated, valid telemetry payload from a CP (opened by the Kafka edge). */
  | {
    readonly type: "telemetry";
    readonly cpId: string;
    readonly payload: TelemetryPayload;
  }
  /** Stop one CP, or every CP when `cpId` is absent. */
  | {
    readonly type: "stop";
    readonly cpId?: string;
    readonly reason: StopReason;
  }
  /** Resume one CP, or every held CP when `cpId` is absent. */
  | { readonly type: "resume"; readonly cpId?: string }
  /** The weather office reports the temperature of a CP's city and the hold it asks for. */
  | {
    readonly type: "weather";
    readonly cpId: string;
    readonly city: string;
    readonly temperatureC: number;
    readonly status: WeatherStatus;
    /** The office's IP address, for the audit. */
    readonly originIp?: string;
  }
  /**
   * Time passes: heartbeat timeouts and stop waits. `lagMs`: how late Central's own loop has
   * been lately (shared/loop_lag.ts, default 0); a CP's silence counts only beyond it, since
   * heartbeats Central could not read are not missing.
   */
  | { readonly type: "tick"; readonly lagMs?: number }
  /**
   * Central (re)started with a recovered model. Every pending end waits at least a stop wait
   * more: the engine's `SUPPLY_END` or `PLUGGED` may be waiting in the Kafka backlog, and it
   * beats what Central would decide alone.
   */
  | { readonly type: "start" }
  /**
   * An admin revokes every key of a CP (ARCHITECTURE §Revocation and status). `rotate` asks the monitor to log in again
   * at once (`LOGOUT key_rotated`); otherwise it must re-authenticate (`LOGOUT key_revoked`).
   */
  | {
    readonly type: "revoke_keys";
    readonly cpId: string;
    readonly rotate: boolean;
    /** The admin's reason, kept in the audit record. */
    readonly reason?: string;
    readonly originIp?: string;
  }
  /** An admin sets a CP's security status. */
  | {
    readonly type: "set_security";
    readonly cpId: string;
    readonly status: SecurityStatus;
    readonly reason: string;
    readonly originIp?: string;
  }
  /**
   * An admin restores a CP revoked for good, once the Registry has issued it new credentials
   * (they never reach the core): its status is ACTIVE again and its next login is accepted.
   */
  | {
    readonly type: "restore";
    readonly cpId: string;
    /** The admin's reason, kept in the audit record. */
    readonly reason?: string;
    readonly originIp?: string;
  }
  /** One change of the Registry's change feed (central/registry_feed.ts). */
  | RegistryChangeInput;

/** The input of one type. */
export type InputOf<T extends Input["type"]> = Extract<Input, { type: T }>;

/**
 * A change the Registry's feed reports (`GET /changes`), in feed order. `seq` is its place in
 * the feed, stored with the step so that a restarted Central resumes after it. `registeredAt`
 * names the registration the change is about (ISO, Registry clock): the new one for
 * `registered`, the one that ended for `deregistered` (null when the Registry did not record it).
 */
export interface RegistryChangeInput {
  readonly type: "registry_change";
  readonly seq: number;
  readonly cpId: string;
  readonly action: "registered" | "updated" | "deregistered";
  readonly registeredAt: string | null;
}

// ---------------------------------------------------------------------------------------------
// Effects

/** A processed driver request, stored for dedupe across restarts and shown on the panel. */
export interface RequestRecord {
  /** The driver's request id. */
  readonly requestId: string;
  /** Who asked. */
  readonly driverId: string;
  /** The CP asked for (null for a list request or an invalid one). */
  readonly cpId: string | null;
  /** The answer sent. */
  readonly outcome: "AUTHORIZED" | "DENIED" | "CP_LIST" | "CANCELLED";
  /** The deny reason, or null. */
  readonly reason: DenyReason | null;
  /** The session opened, or null. */
  readonly sessionId: string | null;
  /** When it was answered (ISO). */
  readonly at: string;
}

/** Level of a {@link Effect} note. */
export type NoteLevel = "debug" | "info" | "warning";

/** What must follow a step, in order. The `save_*`, `publish` and `command` ones share a transaction. */
export type Effect =
  /** Upsert this CP row. */
  | { readonly type: "save_cp"; readonly cp: Cp }
  /** Upsert this session row (open or closed). */
  | { readonly type: "save_session"; readonly session: Session }
  /** Record that a driver was seen. */
  | { readonly type: "save_driver"; readonly driverId: string; readonly at: string }
  /** Record an answered request. */
  | { readonly type: "save_request"; readonly request: RequestRecord }
  /** Upsert the CP's weather report (its weather hold). */
  | { readonly type: "save_weather"; readonly report: WeatherReport }
  /** Store a new live key version (wrapped); the CP's previous live version becomes retired. */
  | {
    readonly type: "save_key";
    readonly cpId: string;
    readonly keyVersion: number;
    readonly wrappedKey: string;
    readonly at: string;
  }
  /** Revoke every key version of the CP: stored ones and the keyring's (central.ts). */
  | { readonly type: "revoke_keys"; readonly cpId: string; readonly at: string }
  /** Remember that the Registry's change feed was applied up to `seq`. */
  | { readonly type: "save_registry_seq"; readonly seq: number }
  /**
   * An audit record to append once the step is stored (ARCHITECTURE §Audit). `flood`: something an
   * attacker can repeat at will (a refused login), so the runtime aggregates it per (actor,
   * action, `params.reason`).
   */
  | { readonly type: "audit"; readonly entry: AuditEntry; readonly flood: boolean }
  /** Outbox: a `driver.updates` message, keyed by its driver. */
  | { readonly type: "publish"; readonly message: DriverUpdate }
  /**
   * A session's running figures for its driver, sent once the step is stored but not through
   * the outbox: the next report supersedes it and the TICKET carries the final figures, so one
   * lost in a crash costs nothing, while a thousand outbox rows a second delayed every answer
   * queued behind them (BENCHMARKS.md).
   */
  | { readonly type: "progress"; readonly message: DriverSupply }
  /** Outbox: a `cp.commands` payload for a CP, sealed with its live key when published. */
  | { readonly type: "command"; readonly cpId: string; readonly payload: CommandPayload }
  /** Close a monitor connection, after a `LOGOUT` when a reason is given. */
  | {
    readonly type: "close_connection";
    readonly cpId: string;
    readonly connection: number;
    readonly logout: LogoutReason | null;
  }
  /** Something an operator may want to read (a LogTape template and its properties). */
  | {
    readonly type: "note";
    readonly level: NoteLevel;
    readonly message: string;
    readonly props: Readonly<Record<string, unknown>>;
  };

/** The outcome of {@link step}. */
export type Step = CoreStep<Model, Effect>;
