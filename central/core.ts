/**
 * Central's pure core: given the model and one input, {@link step} returns the next model and
 * the effects that must follow (rows to store, messages for the outbox, connections to close,
 * notes to log). No clock, no randomness, no I/O: the edges pass the time and any new id in
 * the input, and carry out the effects (central/runtime.ts stores them in one SQLite
 * transaction, then the outbox publisher and the TCP server act on them).
 *
 * The rules come from ARCHITECTURE §Security model, §CP states, §Sessions and docs/charging_loop.md:
 * - A charge request is AUTHORIZED only if the CP is `ACTIVATED`, its security status is
 *   `ACTIVE`, it is not held and it has a live key; otherwise DENIED with the first reason that
 *   applies. Every request is answered once: the edge says whether the driver's `requestId`
 *   was answered before.
 * - A session opens at AUTHORIZED (the CP is reserved and shows `SUPPLYING`) and closes with
 *   exactly one TICKET: at the engine's `SUPPLY_END`; at once when the CP goes `BROKEN`; when
 *   the engine has not ended it within the stop wait after a STOP; or, if no vehicle was ever
 *   reported plugged in, after the plug wait (the AUTHORIZE may never have reached the engine).
 *   Central closes with the last figures it stored; a later `SUPPLY_END` for a closed session
 *   is ignored.
 * - Money is Central's: € = kWh × the price fixed at authorization (the CP's Registry price).
 * - The weather office holds a CP with an `alert` and lifts its hold with a `clear`. The weather
 *   hold is kept apart from the stop reason shown, so it and an admin hold never lift each
 *   other: a clear resumes only a CP stopped for the weather, and an admin resume of a CP the
 *   weather still holds leaves it stopped for the weather.
 *
 * @module
 */
import {
  type AuditOutcome,
  type AuditParams,
  type AuthFailReason,
  build,
  type CommandPayload,
  commandPayloadSchema,
  type CpListEntry,
  type DenyReason,
  type DriverSupply,
  type DriverUpdate,
  driverUpdateSchema,
  type EndReason,
  endReasonForStop,
  type EngineHealth,
  type LogoutReason,
  MAX_CP_LIST_ENTRIES,
  MAX_DETAIL_CHARS,
  MAX_DURATION_SECONDS,
  type StopReason,
  type TelemetryPayload,
} from "../shared/messages.ts";
import type { AuditEntry } from "./audit.ts";
import { type CpEvent, type CpStatus, DISCONNECTED, isRefusal, transition } from "./cp_state.ts";

// ---------------------------------------------------------------------------------------------
// Model

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
}

/** The security facts Central keeps per CP beside its status (never a key). */
export interface SecurityInfo {
  /** Why an admin last set the status, or null. */
  readonly reason: string | null;
  /** When the status was last set (ISO), or null if never. */
  readonly changedAt: string | null;
  /** When the CP's keys were last revoked (a key revoke or REVOKED; ISO), or null. */
  readonly revokedAt: string | null;
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

/** Everything that can happen to Central. `at` is the time, ms since the epoch. */
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
    /** The monitor's IP address, for the audit. */
    readonly originIp?: string;
    readonly at: number;
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
    readonly at: number;
  }
  /** `HEARTBEAT` from a monitor connection. */
  | {
    readonly type: "heartbeat";
    readonly cpId: string;
    readonly connection: number;
    readonly at: number;
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
      readonly at: number;
    }[];
    readonly at: number;
  }
  /** `HEALTH` from a monitor connection. */
  | {
    readonly type: "health";
    readonly cpId: string;
    readonly connection: number;
    readonly engine: EngineHealth;
    readonly at: number;
  }
  /** A monitor connection ended (closed, dropped, EOT). */
  | {
    readonly type: "disconnect";
    readonly cpId: string;
    readonly connection: number;
    readonly at: number;
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
    readonly at: number;
  }
  /** A valid `CP_LIST_REQUEST`. */
  | {
    readonly type: "cp_list_request";
    readonly requestId: string;
    readonly driverId: string;
    readonly duplicate: boolean;
    readonly at: number;
  }
  /** A request that failed validation but names who to answer. */
  | {
    readonly type: "invalid_request";
    readonly requestId: string;
    readonly driverId: string;
    readonly detail: string;
    readonly duplicate: boolean;
    readonly at: number;
  }
  /** An authenticated, valid telemetry payload from a CP (opened by the Kafka edge). */
  | {
    readonly type: "telemetry";
    readonly cpId: string;
    readonly payload: TelemetryPayload;
    readonly at: number;
  }
  /** Stop one CP, or every CP when `cpId` is absent. */
  | {
    readonly type: "stop";
    readonly cpId?: string;
    readonly reason: StopReason;
    readonly at: number;
  }
  /** Resume one CP, or every held CP when `cpId` is absent. */
  | { readonly type: "resume"; readonly cpId?: string; readonly at: number }
  /** The weather office reports the temperature of a CP's city and the hold it asks for. */
  | {
    readonly type: "weather";
    readonly cpId: string;
    readonly city: string;
    readonly temperatureC: number;
    readonly status: WeatherStatus;
    /** The office's IP address, for the audit. */
    readonly originIp?: string;
    readonly at: number;
  }
  /**
   * Time passes: heartbeat timeouts and stop waits. `lagMs`: how late Central's own loop has
   * been lately (central/loop_lag.ts, default 0); a CP's silence counts only beyond it, since
   * heartbeats Central could not read are not missing.
   */
  | { readonly type: "tick"; readonly at: number; readonly lagMs?: number }
  /**
   * Central (re)started with a recovered model. Every pending end waits at least a stop wait
   * more: the engine's `SUPPLY_END` or `PLUGGED` may be waiting in the Kafka backlog, and it
   * beats what Central would decide alone.
   */
  | { readonly type: "start"; readonly at: number }
  /**
   * An admin revokes every key of a CP (ARCHITECTURE §Revocation and status). `rotate` asks the monitor to log in again
   * at once (`LOGOUT key_rotated`); otherwise it must re-authenticate (`LOGOUT key_revoked`).
   */
  | {
    readonly type: "revoke_keys";
    readonly cpId: string;
    readonly rotate: boolean;
    readonly originIp?: string;
    readonly at: number;
  }
  /** An admin sets a CP's security status. */
  | {
    readonly type: "set_security";
    readonly cpId: string;
    readonly status: SecurityStatus;
    readonly reason: string;
    readonly originIp?: string;
    readonly at: number;
  }
  /** One change of the Registry's change feed (central/registry_feed.ts). */
  | RegistryChangeInput;

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
  readonly at: number;
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
  readonly outcome: "AUTHORIZED" | "DENIED" | "CP_LIST";
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
export interface Step {
  /** The next model. */
  readonly model: Model;
  /** What must follow, in order. */
  readonly effects: readonly Effect[];
}

// ---------------------------------------------------------------------------------------------
// Pure rules

/**
 * Why a charge at a known `cp` must be refused, or null to authorize. The order is the one a
 * driver finds most useful: the CP may never charge, cannot charge now, is taken.
 */
export function denyReason(cp: Cp): DenyReason | null {
  if (cp.securityInfo.deregisteredAt !== null) return "deregistered";
  if (cp.security === "REVOKED") return "revoked";
  if (cp.security === "OUT_OF_SERVICE") return "out_of_service";
  switch (cp.status.state) {
    case "DISCONNECTED":
      return "disconnected";
    case "BROKEN":
      return "broken";
    case "STOPPED":
      return cp.status.stopReason === "weather" ? "weather" : "stopped";
    case "SUPPLYING":
      return "busy";
    case "ACTIVATED":
      return cp.keyVersion === null ? "no_key" : null;
  }
}

/** Why a login must be refused (`AUTH_FAIL`), once the token is good. */
export interface LoginRefusal {
  /** `AUTH_FAIL.reason`. */
  readonly reason: AuthFailReason;
  /** Whether the monitor should try again. */
  readonly retryable: boolean;
  /** One line for the monitor's operator. */
  readonly detail: string;
}

/**
 * Checks a login whose token verified and whose CP the Registry knows: it must still be
 * registered, and Central must not have revoked it. Returns null to accept.
 */
export function loginRefusal(
  model: Model,
  cpId: string,
  registryStatus: "REGISTERED" | "DEREGISTERED",
): LoginRefusal | null {
  if (registryStatus === "DEREGISTERED") {
    return { reason: "deregistered", retryable: false, detail: `${cpId} is deregistered` };
  }
  if (model.cps.get(cpId)?.security === "REVOKED") {
    return { reason: "revoked", retryable: false, detail: `${cpId} is revoked at Central` };
  }
  return null;
}

/** € for `kwh` at `priceEurKwh`, at full precision (docs/charging_loop.md §4). */
export function priceOf(kwh: number, priceEurKwh: number): number {
  return kwh * priceEurKwh;
}

/** Seconds of charging: from plug-in to the end, 0 if the vehicle was never plugged in. */
export function chargingSeconds(session: Session, endedAt: string): number {
  if (session.pluggedAt === null) return 0;
  const seconds = (Date.parse(endedAt) - Date.parse(session.pluggedAt)) / 1000;
  return Math.min(Math.max(0, seconds), MAX_DURATION_SECONDS);
}

/** The `CP_LIST` entries: every registered CP by id, at most {@link MAX_CP_LIST_ENTRIES}. */
export function cpList(model: Model): CpListEntry[] {
  return [...model.cps.values()]
    .filter((cp) => cp.securityInfo.deregisteredAt === null)
    .sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    .slice(0, MAX_CP_LIST_ENTRIES)
    .map((cp) => ({
      id: cp.id,
      location: cp.location,
      priceEurKwh: cp.priceEurKwh,
      powerKw: cp.powerKw,
      state: cp.status.state,
    }));
}

// ---------------------------------------------------------------------------------------------
// The step

/** Applies one input to the model. Pure: the same model and input always give the same step. */
export function step(model: Model, input: Input, config: CoreConfig = DEFAULT_CORE_CONFIG): Step {
  const d = new Draft(model);
  applyInput(d, input, config);
  return d.result();
}

/**
 * Applies several inputs in order, as many {@link step}s would, but on one draft: the model's
 * maps are copied once for all of them, not once per input (a batch of telemetry touches the
 * same maps a thousand times). Returns the last model and each input's effects.
 */
export function stepAll(
  model: Model,
  inputs: readonly Input[],
  config: CoreConfig = DEFAULT_CORE_CONFIG,
): { readonly model: Model; readonly effects: readonly (readonly Effect[])[] } {
  const d = new Draft(model);
  const effects = inputs.map((input) => {
    const from = d.effectCount;
    applyInput(d, input, config);
    return d.effectsSince(from);
  });
  return { model: d.model(), effects };
}

function applyInput(d: Draft, input: Input, config: CoreConfig): void {
  switch (input.type) {
    case "login":
      login(d, input);
      break;
    case "heartbeat": {
      const cp = d.connectedCp(input.cpId, input.connection);
      if (cp) d.setCp({ ...cp, lastSeenMs: input.at }, false);
      break;
    }
    case "heartbeats":
      for (const beat of input.beats) {
        const cp = d.connectedCp(beat.cpId, beat.connection);
        if (cp) d.setCp({ ...cp, lastSeenMs: Math.max(cp.lastSeenMs ?? 0, beat.at) }, false);
      }
      break;
    case "health":
      health(d, input);
      break;
    case "disconnect": {
      const cp = d.connectedCp(input.cpId, input.connection);
      if (cp) lose(d, cp, "closed", "info", "CP {cpId} disconnected");
      break;
    }
    case "charge_request":
      if (!input.duplicate) chargeRequest(d, input, config);
      break;
    case "cp_list_request":
      if (!input.duplicate) listRequest(d, input);
      break;
    case "invalid_request":
      if (!input.duplicate) invalidRequest(d, input);
      break;
    case "telemetry":
      telemetry(d, input.cpId, input.payload, input.at);
      break;
    case "stop":
      for (const cp of d.targets(input.cpId)) stop(d, cp, input.reason, input.at, config);
      break;
    case "resume":
      for (const cp of d.targets(input.cpId)) resume(d, cp, input.at, config);
      break;
    case "weather":
      weather(d, input, config);
      break;
    case "tick":
      tick(d, input.at, input.lagMs ?? 0, config);
      break;
    case "start":
      for (const session of [...d.model().sessions.values()]) {
        if (session.pendingEnd === null) continue;
        const deadlineMs = Math.max(session.pendingEnd.deadlineMs, input.at + config.stopWaitMs);
        d.setSession({ ...session, pendingEnd: { ...session.pendingEnd, deadlineMs } });
      }
      break;
    case "login_failed":
      loginFailed(d, input);
      break;
    case "revoke_keys":
      revokeKeys(d, input);
      break;
    case "set_security":
      setSecurity(d, input, config);
      break;
    case "registry_change":
      registryChange(d, input);
      break;
  }
}

function login(d: Draft, input: Extract<Input, { type: "login" }>): void {
  const prev = d.cp(input.cpId);
  const replaced = prev?.connection ?? null;
  if (replaced !== null) {
    d.emit({
      type: "close_connection",
      cpId: input.cpId,
      connection: replaced,
      logout: "replaced",
    });
  }
  const base: Cp = prev ?? {
    id: input.cpId,
    ...input.registry,
    status: DISCONNECTED,
    security: "ACTIVE",
    keyVersion: null,
    connection: null,
    lastSeenMs: null,
    securityInfo: NO_SECURITY_INFO,
  };
  const cp: Cp = {
    ...base,
    ...input.registry,
    status: apply(base.status, { type: "LOGIN" }),
    keyVersion: input.keyVersion,
    connection: input.connection,
    lastSeenMs: input.at,
    // The Registry has just confirmed the CP registered: any deregistration seen is over.
    securityInfo: {
      ...base.securityInfo,
      lastLoginAt: iso(input.at),
      registeredAt: input.registeredAt ?? base.securityInfo.registeredAt,
      deregisteredAt: null,
    },
  };
  d.emit({
    type: "save_key",
    cpId: cp.id,
    keyVersion: input.keyVersion,
    wrappedKey: input.wrappedKey,
    at: iso(input.at),
  });
  d.setCp(cp);
  // The engine may have restarted and forgotten the hold: tell it again under the new key.
  if (cp.status.stopReason !== null) {
    d.command(
      cp.id,
      build(commandPayloadSchema, "STOP", { reason: cp.status.stopReason, ts: iso(input.at) }),
    );
  }
  d.note("info", "CP {cpId} logged in with key version {keyVersion}: {state}", {
    cpId: cp.id,
    keyVersion: input.keyVersion,
    state: cp.status.state,
    replaced: replaced !== null,
  });
  d.audit({
    actor: cpActor(cp.id),
    action: "cp.login",
    outcome: "ok",
    params: { cpId: cp.id, keyVersion: input.keyVersion, replaced: replaced !== null },
    originIp: input.originIp,
  });
}

/** How a refused login is audited: refused by policy, invalid, or Central could not decide. */
const LOGIN_FAIL_OUTCOME: Record<AuthFailReason, AuditOutcome> = {
  bad_request: "rejected",
  bad_token: "rejected",
  expired_token: "rejected",
  cp_mismatch: "rejected",
  unknown_cp: "denied",
  deregistered: "denied",
  revoked: "denied",
  registry_unavailable: "failed",
  internal_error: "failed",
};

function loginFailed(d: Draft, input: Extract<Input, { type: "login_failed" }>): void {
  if (input.cpId === undefined) {
    // Aggregated per address: a flood from one address is one record per window.
    d.audit({
      actor: `address:${input.originIp ?? "unknown"}`,
      action: "cp.login",
      outcome: LOGIN_FAIL_OUTCOME[input.reason],
      // The finer reason: it is also the aggregation key, so each failed check shows.
      params: { reason: input.why ?? input.reason },
      originIp: input.originIp,
    }, true);
    return;
  }
  const cp = d.cp(input.cpId);
  // Only known CPs are counted: ids anyone can make up must not grow the database.
  if (cp) {
    const info = cp.securityInfo;
    d.setCp({ ...cp, securityInfo: { ...info, failedLogins: info.failedLogins + 1 } });
  }
  d.audit({
    actor: cpActor(input.cpId),
    action: "cp.login",
    outcome: LOGIN_FAIL_OUTCOME[input.reason],
    params: { cpId: input.cpId, reason: input.reason },
    originIp: input.originIp,
  }, true);
}

/**
 * Why an admin security action on `cp` is refused, or null to do it. REVOKED is permanent
 * (ARCHITECTURE §Revocation and status): its status never changes again and it gets no new key.
 */
export function securityRefusal(
  cp: Cp,
  action: { readonly type: "revoke_keys"; readonly rotate: boolean } | {
    readonly type: "set_security";
    readonly status: SecurityStatus;
  },
): string | null {
  if (cp.security !== "REVOKED") return null;
  if (action.type === "set_security" && action.status !== "REVOKED") {
    return `${cp.id} is REVOKED for good: its status cannot change`;
  }
  if (action.type === "revoke_keys" && action.rotate) {
    return `${cp.id} is REVOKED for good: it gets no new key`;
  }
  return null;
}

/**
 * Takes every key of `cp` away: revoked in the store and keyring, no live version, and the
 * monitor logged out with `logout` (the CP shows DISCONNECTED until it logs in again). Its open
 * session ends now with `endReason`, billed with the last figures: without a key the engine's
 * own SUPPLY_END could not be read (the monitor tells the engine, which stops supplying).
 * Returns the ended session's id, or null.
 */
function dropKeys(
  d: Draft,
  cp: Cp,
  logout: LogoutReason,
  endReason: EndReason,
  at: number,
): string | null {
  d.emit({ type: "revoke_keys", cpId: cp.id, at: iso(at) });
  let next: Cp = {
    ...cp,
    keyVersion: null,
    securityInfo: { ...cp.securityInfo, revokedAt: iso(at) },
  };
  if (cp.connection !== null) {
    d.emit({ type: "close_connection", cpId: cp.id, connection: cp.connection, logout });
    next = { ...next, status: apply(cp.status, { type: "LOST" }), connection: null };
  }
  d.setCp(next);
  const session = d.openSession(cp.status.sessionId);
  if (session) endSession(d, session, endReason, at, null);
  return session?.id ?? null;
}

function revokeKeys(d: Draft, input: Extract<Input, { type: "revoke_keys" }>): void {
  const cp = d.cp(input.cpId);
  if (cp === undefined) return;
  const action = input.rotate ? "key.rotate" : "key.revoke";
  const refused = securityRefusal(cp, input);
  if (refused !== null) {
    d.audit({
      actor: "admin",
      action,
      outcome: "denied",
      params: { cpId: cp.id, detail: refused },
      originIp: input.originIp,
    });
    return;
  }
  const sessionId = dropKeys(
    d,
    cp,
    input.rotate ? "key_rotated" : "key_revoked",
    "key_lost",
    input.at,
  );
  d.note("warning", "CP {cpId}: keys {action} by an admin (was version {keyVersion})", {
    cpId: cp.id,
    action: input.rotate ? "rotated" : "revoked",
    keyVersion: cp.keyVersion,
  });
  d.audit({
    actor: "admin",
    action,
    outcome: "ok",
    params: { cpId: cp.id, keyVersion: cp.keyVersion, sessionId },
    originIp: input.originIp,
  });
}

function setSecurity(
  d: Draft,
  input: Extract<Input, { type: "set_security" }>,
  config: CoreConfig,
): void {
  const cp = d.cp(input.cpId);
  if (cp === undefined) return;
  const { status, at } = input;
  const reason = safeDetail(input.reason);
  const audit = (outcome: AuditOutcome, params: AuditParams) =>
    d.audit({
      actor: "admin",
      action: "security.set",
      outcome,
      params: { cpId: cp.id, status, previous: cp.security, reason, ...params },
      originIp: input.originIp,
    });
  const refused = securityRefusal(cp, input);
  if (refused !== null) return audit("denied", { detail: refused });
  const changed: Cp = {
    ...cp,
    security: status,
    securityInfo: { ...cp.securityInfo, reason, changedAt: iso(at) },
  };
  d.setCp(changed);
  let sessionId: string | null = null;
  if (status === "OUT_OF_SERVICE" && cp.security !== "OUT_OF_SERVICE") {
    // Logged in but held: the engine ends its session (status_lost) like after any stop.
    sessionId = cp.status.sessionId;
    stop(d, changed, "out_of_service", at, config);
  } else if (status === "ACTIVE" && cp.status.stopReason === "out_of_service") {
    resume(d, changed, at, config);
  } else if (status === "REVOKED" && cp.security !== "REVOKED") {
    const held = { ...changed, status: apply(changed.status, { type: "STOP", reason: "revoked" }) };
    sessionId = dropKeys(d, held, "revoked", "status_lost", at);
  }
  d.note(status === "ACTIVE" ? "info" : "warning", "CP {cpId} security {previous} → {status}", {
    cpId: cp.id,
    previous: cp.security,
    status,
  });
  audit("ok", { sessionId });
}

// ---------------------------------------------------------------------------------------------
// Registry changes: deregistration takes effect at once

/**
 * Applies one change of the Registry's feed. A deregistration logs the CP out for good
 * (`LOGOUT deregistered`), revokes its keys, ends its session with a ticket (`deregistered`)
 * and marks it deregistered: it leaves the drivers' list and every request is denied. A
 * deregistration of a registration older than the one the CP last logged in with is stale
 * (the feed was caught up after a re-registration) and changes nothing. A new registration
 * clears the mark; the CP charges again once it logs in with its new credentials.
 */
function registryChange(d: Draft, input: RegistryChangeInput): void {
  d.emit({ type: "save_registry_seq", seq: input.seq });
  const cp = d.cp(input.cpId);
  if (cp === undefined || input.action === "updated") return;
  const known = cp.securityInfo.registeredAt;
  const about = input.registeredAt;
  if (input.action === "registered") {
    if (known !== null && about !== null && about <= known) return;
    d.setCp({
      ...cp,
      securityInfo: { ...cp.securityInfo, registeredAt: about, deregisteredAt: null },
    });
    d.note("info", "CP {cpId} registered again in the Registry", { cpId: cp.id });
    return;
  }
  if (cp.securityInfo.deregisteredAt !== null) return;
  if (known !== null && about !== null && about < known) {
    d.note("info", "CP {cpId}: deregistration of an earlier registration ignored", {
      cpId: cp.id,
    });
    return;
  }
  const sessionId = dropKeys(d, cp, "deregistered", "deregistered", input.at);
  const gone = d.cp(cp.id)!;
  d.setCp({
    ...gone,
    securityInfo: { ...gone.securityInfo, deregisteredAt: iso(input.at) },
  });
  d.note("warning", "CP {cpId} deregistered in the Registry: logged out, keys revoked", {
    cpId: cp.id,
    keyVersion: cp.keyVersion,
    sessionId,
  });
  d.audit({
    actor: "registry",
    action: "cp.deregistered",
    outcome: "ok",
    params: { cpId: cp.id, keyVersion: cp.keyVersion, sessionId, feedSeq: input.seq },
  });
}

function health(d: Draft, input: Extract<Input, { type: "health" }>): void {
  const cp = d.connectedCp(input.cpId, input.connection);
  if (!cp) return;
  const next = transition(cp.status, { type: input.engine === "OK" ? "ENGINE_OK" : "ENGINE_KO" });
  if (isRefusal(next) || next.state === cp.status.state) {
    d.setCp({ ...cp, lastSeenMs: input.at }, false);
    return;
  }
  d.setCp({ ...cp, status: next, lastSeenMs: input.at });
  d.note(next.state === "BROKEN" ? "warning" : "info", "CP {cpId} engine {engine}: {state}", {
    cpId: cp.id,
    engine: input.engine,
    state: next.state,
  });
  d.audit({
    actor: cpActor(cp.id),
    action: next.state === "BROKEN" ? "cp.fault" : "cp.repaired",
    outcome: next.state === "BROKEN" ? "failed" : "ok",
    params: { cpId: cp.id, engine: input.engine, state: next.state },
  });
  const session = d.openSession(next.sessionId);
  if (next.state === "BROKEN" && session) {
    // The engine may still be alive behind a broken link: tell it to stop supplying too.
    d.command(
      cp.id,
      build(commandPayloadSchema, "END_SUPPLY", {
        sessionId: session.id,
        reason: "fault",
        ts: iso(input.at),
      }),
    );
    endSession(d, session, "fault", input.at, null);
  }
}

function lose(
  d: Draft,
  cp: Cp,
  cause: "closed" | "heartbeat_timeout",
  level: NoteLevel,
  message: string,
): void {
  d.setCp({ ...cp, status: apply(cp.status, { type: "LOST" }), connection: null });
  d.note(level, message, { cpId: cp.id });
  d.audit({
    actor: "central",
    action: "cp.disconnect",
    outcome: "ok",
    params: { cpId: cp.id, cause },
  });
}

function chargeRequest(
  d: Draft,
  input: Extract<Input, { type: "charge_request" }>,
  config: CoreConfig,
): void {
  const { requestId, driverId, cpId, sessionId, at } = input;
  const ts = iso(at);
  d.emit({ type: "save_driver", driverId, at: ts });
  const cp = d.cp(cpId);
  if (cp === undefined) return deny(d, { requestId, driverId, cpId, reason: "unknown_cp", ts });
  const reason = denyReason(cp);
  if (reason !== null) return deny(d, { requestId, driverId, cpId, reason, ts });
  d.setSession({
    id: sessionId,
    cpId,
    driverId,
    requestId,
    priceEurKwh: cp.priceEurKwh,
    powerKw: cp.powerKw,
    startedAt: ts,
    pluggedAt: null,
    endedAt: null,
    kw: 0,
    kwh: 0,
    eur: 0,
    endReason: null,
    pendingEnd: { reason: "plug_timeout", deadlineMs: at + config.plugWaitMs },
  });
  d.setCp({ ...cp, status: apply(cp.status, { type: "SESSION_START", sessionId }) });
  d.command(
    cpId,
    build(commandPayloadSchema, "AUTHORIZE", {
      sessionId,
      driverId,
      priceEurKwh: cp.priceEurKwh,
      powerKw: cp.powerKw,
      ts,
    }),
  );
  d.publish(build(driverUpdateSchema, "AUTHORIZED", { requestId, driverId, cpId, sessionId, ts }));
  d.request({ requestId, driverId, cpId, outcome: "AUTHORIZED", reason: null, sessionId, at: ts });
  d.note("info", "Request {requestId} of {driverId} for {cpId}: AUTHORIZED as {sessionId}", {
    requestId,
    driverId,
    cpId,
    sessionId,
  });
  d.audit({
    actor: driverActor(driverId),
    action: "charge.authorized",
    outcome: "ok",
    params: { requestId, driverId, cpId, sessionId },
  });
}

/** Answers a request with DENIED and records it. */
function deny(
  d: Draft,
  a: {
    requestId: string;
    driverId: string;
    cpId?: string;
    reason: DenyReason;
    detail?: string;
    ts: string;
  },
): void {
  d.publish(build(driverUpdateSchema, "DENIED", a));
  d.request({
    requestId: a.requestId,
    driverId: a.driverId,
    cpId: a.cpId ?? null,
    outcome: "DENIED",
    reason: a.reason,
    sessionId: null,
    at: a.ts,
  });
  d.note("info", "Request {requestId} of {driverId} for {cpId}: DENIED {reason}", {
    requestId: a.requestId,
    driverId: a.driverId,
    cpId: a.cpId ?? "-",
    reason: a.reason,
    detail: a.detail,
  });
  d.audit({
    actor: driverActor(a.driverId),
    action: "charge.denied",
    outcome: "denied",
    params: {
      requestId: a.requestId,
      driverId: a.driverId,
      cpId: a.cpId ?? null,
      reason: a.reason,
    },
  });
}

function listRequest(d: Draft, input: Extract<Input, { type: "cp_list_request" }>): void {
  const { requestId, driverId } = input;
  const ts = iso(input.at);
  d.emit({ type: "save_driver", driverId, at: ts });
  d.publish(
    build(driverUpdateSchema, "CP_LIST", { requestId, driverId, cps: cpList(d.model()), ts }),
  );
  d.request({
    requestId,
    driverId,
    cpId: null,
    outcome: "CP_LIST",
    reason: null,
    sessionId: null,
    at: ts,
  });
}

function invalidRequest(d: Draft, input: Extract<Input, { type: "invalid_request" }>): void {
  const { requestId, driverId } = input;
  const ts = iso(input.at);
  d.emit({ type: "save_driver", driverId, at: ts });
  deny(d, { requestId, driverId, reason: "invalid_request", detail: safeDetail(input.detail), ts });
}

function telemetry(d: Draft, cpId: string, payload: TelemetryPayload, at: number): void {
  const cp = d.cp(cpId);
  if (cp === undefined) {
    d.note("warning", "Telemetry {type} from unknown CP {cpId} ignored", {
      cpId,
      type: payload.type,
    });
    return;
  }
  if (payload.type === "STATUS") {
    // An engine that restarted has forgotten its session, and no SUPPLY_END will come: end
    // Central's with the last figures. (An unplugged one may simply not have reached the
    // engine yet; the plug wait ends that one.)
    const open = cp.status.sessionId === null ? undefined : d.openSession(cp.status.sessionId);
    if (open !== undefined && open.pluggedAt !== null && payload.sessionId !== open.id) {
      d.note("warning", "CP {cpId} reports no session {sessionId}: ended with its last figures", {
        cpId,
        sessionId: open.id,
      });
      endSession(d, open, "fault", at, null);
    }
    // Reconcile the hold with what the engine says it is doing (it may have restarted).
    const held = cp.status.stopReason;
    if (held !== null && payload.state !== undefined && payload.state !== "STOPPED") {
      d.command(cpId, build(commandPayloadSchema, "STOP", { reason: held, ts: iso(at) }));
    } else if (held === null && payload.state === "STOPPED") {
      d.command(cpId, build(commandPayloadSchema, "RESUME", { ts: iso(at) }));
    }
    return;
  }
  const session = d.openSession(payload.sessionId);
  if (session === undefined || session.cpId !== cpId) {
    d.note("debug", "{type} for session {sessionId} from CP {cpId} ignored: not open there", {
      type: payload.type,
      sessionId: payload.sessionId,
      cpId,
    });
    return;
  }
  switch (payload.type) {
    case "PLUGGED":
      if (session.pluggedAt === null) {
        d.setSession(plugged(session, payload.ts));
        d.note("info", "Session {sessionId} on {cpId}: vehicle plugged in", {
          sessionId: session.id,
          cpId,
        });
      }
      return;
    case "SUPPLY": {
      const updated: Session = {
        ...(session.pluggedAt === null ? plugged(session, payload.ts) : session),
        kw: payload.kw,
        kwh: payload.kwh,
        eur: priceOf(payload.kwh, session.priceEurKwh),
      };
      d.setSession(updated);
      d.progress(build(driverUpdateSchema, "SUPPLY", {
        sessionId: session.id,
        driverId: session.driverId,
        cpId,
        kw: updated.kw,
        kwh: updated.kwh,
        eur: updated.eur,
        ts: iso(at),
      }));
      return;
    }
    case "SUPPLY_END":
      endSession(d, session, payload.endReason, Date.parse(payload.ts), payload.kwh);
      return;
  }
}

function stop(d: Draft, cp: Cp, reason: StopReason, at: number, config: CoreConfig): void {
  const status = apply(cp.status, { type: "STOP", reason });
  if (status.stopReason !== cp.status.stopReason || status.state !== cp.status.state) {
    d.setCp({ ...cp, status });
    d.note("info", "CP {cpId} stopped ({reason}): {state}", {
      cpId: cp.id,
      reason,
      state: status.state,
    });
  }
  d.command(cp.id, build(commandPayloadSchema, "STOP", { reason, ts: iso(at) }));
  const session = d.openSession(status.sessionId);
  if (session && (session.pendingEnd === null || session.pendingEnd.reason === "plug_timeout")) {
    d.setSession({
      ...session,
      pendingEnd: { reason: endReasonForStop(reason), deadlineMs: at + config.stopWaitMs },
    });
  }
}

function resume(d: Draft, cp: Cp, at: number, config: CoreConfig): void {
  if (cp.status.stopReason === null) return;
  if (d.weatherHeld(cp.id)) {
    // Only the office's clear lifts a weather hold: what ends here is the other hold.
    if (cp.status.stopReason !== "weather") stop(d, cp, "weather", at, config);
    else d.note("info", "CP {cpId} stays stopped: the weather still holds it", { cpId: cp.id });
    return;
  }
  const status = apply(cp.status, { type: "RESUME" });
  d.setCp({ ...cp, status });
  d.command(cp.id, build(commandPayloadSchema, "RESUME", { ts: iso(at) }));
  d.note("info", "CP {cpId} resumed: {state}", { cpId: cp.id, state: status.state });
}

/**
 * Records the office's report and acts only on what changes: an alert stops a CP that no other
 * hold stops, a clear resumes a CP stopped for the weather (never one another hold keeps).
 */
function weather(d: Draft, input: Extract<Input, { type: "weather" }>, config: CoreConfig): void {
  const { cpId, city, temperatureC, status, at } = input;
  const cp = d.cp(cpId);
  if (cp === undefined) {
    d.note("warning", "Weather {status} for unknown CP {cpId} ignored", { cpId, status });
    return;
  }
  const previous = d.model().weather.get(cpId);
  const changed = previous?.status !== status;
  d.setWeather({
    cpId,
    city,
    temperatureC,
    status,
    since: previous !== undefined && !changed ? previous.since : iso(at),
    updatedAt: iso(at),
  });
  if (status === "alert" && cp.status.stopReason === null) stop(d, cp, "weather", at, config);
  if (status === "clear" && cp.status.stopReason === "weather") resume(d, cp, at, config);
  if (!changed) return;
  const state = d.cp(cpId)?.status.state ?? null;
  const stopReason = d.cp(cpId)?.status.stopReason ?? null;
  d.note("info", "Weather {status} for CP {cpId} in {city} at {temperatureC} °C: {state}", {
    cpId,
    city,
    temperatureC,
    status,
    state,
    stopReason,
  });
  d.audit({
    actor: "weather",
    action: `weather.${status}`,
    outcome: "ok",
    params: { cpId, city, temperatureC, state, stopReason },
    originIp: input.originIp,
  });
}

function tick(d: Draft, at: number, lagMs: number, config: CoreConfig): void {
  for (const cp of [...d.model().cps.values()]) {
    if (cp.connection === null || cp.lastSeenMs === null) continue;
    if (at - cp.lastSeenMs > config.heartbeatTimeoutMs + lagMs) {
      d.emit({ type: "close_connection", cpId: cp.id, connection: cp.connection, logout: null });
      lose(
        d,
        cp,
        "heartbeat_timeout",
        "warning",
        "CP {cpId}: no heartbeat for too long, disconnected",
      );
    }
  }
  for (const session of [...d.model().sessions.values()]) {
    if (session.pendingEnd === null || at < session.pendingEnd.deadlineMs) continue;
    if (session.pendingEnd.reason === "plug_timeout") {
      // The engine may hold the session after all: make it drop it, like the ticket says.
      d.command(
        session.cpId,
        build(commandPayloadSchema, "END_SUPPLY", {
          sessionId: session.id,
          reason: "plug_timeout",
          ts: iso(at),
        }),
      );
    }
    endSession(d, session, session.pendingEnd.reason, at, null);
  }
}

/**
 * Closes `session` with a TICKET. `kwh` is the engine's final figure, or null when Central
 * closes it without the engine (then the last stored figure is billed).
 */
function endSession(
  d: Draft,
  session: Session,
  reason: EndReason,
  at: number,
  kwh: number | null,
): void {
  const endedAt = notBefore(iso(at), session.startedAt);
  const energy = kwh ?? session.kwh;
  const closed: Session = {
    ...session,
    endedAt,
    kw: 0,
    kwh: energy,
    eur: priceOf(energy, session.priceEurKwh),
    endReason: reason,
    pendingEnd: null,
  };
  d.setSession(closed);
  const cp = d.cp(session.cpId);
  if (cp) {
    const status = transition(cp.status, { type: "SESSION_END", sessionId: session.id });
    if (!isRefusal(status)) d.setCp({ ...cp, status });
  }
  d.publish(build(driverUpdateSchema, "TICKET", {
    sessionId: session.id,
    driverId: session.driverId,
    cpId: session.cpId,
    kwh: closed.kwh,
    eur: closed.eur,
    seconds: chargingSeconds(session, endedAt),
    endReason: reason,
    priceEurKwh: session.priceEurKwh,
    ts: endedAt,
  }));
  d.note("info", "Session {sessionId} on {cpId} ended ({endReason}): {kwh} kWh, {eur} €", {
    sessionId: session.id,
    cpId: session.cpId,
    driverId: session.driverId,
    endReason: reason,
    kwh: round(closed.kwh, 3),
    eur: round(closed.eur, 2),
  });
  d.audit({
    actor: "central",
    action: "session.ticket",
    outcome: "ok",
    params: {
      sessionId: session.id,
      cpId: session.cpId,
      driverId: session.driverId,
      kwh: closed.kwh,
      eur: closed.eur,
      endReason: reason,
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** `session` with its vehicle plugged in at `ts`: the plug wait is over. */
function plugged(session: Session, ts: string): Session {
  const pendingEnd = session.pendingEnd?.reason === "plug_timeout" ? null : session.pendingEnd;
  return { ...session, pluggedAt: notBefore(ts, session.startedAt), pendingEnd };
}

/** Applies a CP event the caller already knows is valid; a refusal here is a bug in the core. */
function apply(status: CpStatus, event: CpEvent): CpStatus {
  const next = transition(status, event);
  if (isRefusal(next)) {
    throw new Error(`core: ${event.type} refused in ${status.state}: ${next.refused}`);
  }
  return next;
}

/** The audit actor of a CP. */
function cpActor(cpId: string): string {
  return `cp:${cpId}`;
}

/** The audit actor of a driver. */
function driverActor(driverId: string): string {
  return `driver:${driverId}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** `ts`, or `floor` if `ts` is earlier (an engine clock behind Central's). */
function notBefore(ts: string, floor: string): string {
  return Date.parse(ts) < Date.parse(floor) ? floor : ts;
}

// Control characters, line separators and bidi overrides: not allowed in a `detail` (messages.ts).
// deno-lint-ignore no-control-regex -- matching control characters is the point
const UNSAFE_TEXT = /[\u0000-\u001f\u007f-\u009f\u2028-\u202e\u2066-\u2069]/g;

/** `text` made fit for a `detail` field: no unsafe characters, 1–{@link MAX_DETAIL_CHARS} long. */
function safeDetail(text: string): string {
  const clean = text.slice(0, MAX_DETAIL_CHARS).toWellFormed().replace(UNSAFE_TEXT, "?");
  return clean === "" ? "invalid request" : clean;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/**
 * Collects one step: copies the model's maps on first write (the input model is never
 * changed) and records the effects in order.
 */
class Draft {
  readonly #base: Model;
  #cps: Map<string, Cp> | undefined;
  #sessions: Map<string, Session> | undefined;
  #weather: Map<string, WeatherReport> | undefined;
  readonly #effects: Effect[] = [];

  constructor(base: Model) {
    this.#base = base;
  }

  model(): Model {
    return {
      cps: this.#cps ?? this.#base.cps,
      sessions: this.#sessions ?? this.#base.sessions,
      weather: this.#weather ?? this.#base.weather,
    };
  }

  cp(id: string): Cp | undefined {
    return (this.#cps ?? this.#base.cps).get(id);
  }

  /** The CP if `connection` is its current monitor connection (older connections are stale). */
  connectedCp(id: string, connection: number): Cp | undefined {
    const cp = this.cp(id);
    return cp?.connection === connection ? cp : undefined;
  }

  /** One CP (if it exists) or every CP. */
  targets(id: string | undefined): Cp[] {
    const cps = this.model().cps;
    if (id === undefined) return [...cps.values()];
    const cp = cps.get(id);
    return cp ? [cp] : [];
  }

  openSession(id: string | null): Session | undefined {
    return id === null ? undefined : (this.#sessions ?? this.#base.sessions).get(id);
  }

  /** Sets a CP; `persist` false for changes only the memory needs (heartbeats). */
  setCp(cp: Cp, persist = true): void {
    (this.#cps ??= new Map(this.#base.cps)).set(cp.id, cp);
    if (persist) this.emit({ type: "save_cp", cp });
  }

  setSession(session: Session): void {
    this.#sessions ??= new Map(this.#base.sessions);
    if (session.endedAt === null) this.#sessions.set(session.id, session);
    else this.#sessions.delete(session.id);
    this.emit({ type: "save_session", session });
  }

  /** Whether the weather office holds the CP (its last report is an alert). */
  weatherHeld(cpId: string): boolean {
    return (this.#weather ?? this.#base.weather).get(cpId)?.status === "alert";
  }

  setWeather(report: WeatherReport): void {
    (this.#weather ??= new Map(this.#base.weather)).set(report.cpId, report);
    this.emit({ type: "save_weather", report });
  }

  publish(message: DriverUpdate): void {
    this.emit({ type: "publish", message });
  }

  progress(message: DriverSupply): void {
    this.emit({ type: "progress", message });
  }

  command(cpId: string, payload: CommandPayload): void {
    this.emit({ type: "command", cpId, payload });
  }

  request(request: RequestRecord): void {
    this.emit({ type: "save_request", request });
  }

  /** An audit record; `flood` for what an attacker can repeat at will (aggregated). */
  audit(entry: AuditEntry, flood = false): void {
    const { originIp, ...rest } = entry;
    // An absent origin is left out, never `undefined`: records are compared and hashed.
    this.emit({ type: "audit", entry: originIp === undefined ? rest : entry, flood });
  }

  note(level: NoteLevel, message: string, props: Record<string, unknown>): void {
    this.emit({ type: "note", level, message, props });
  }

  emit(effect: Effect): void {
    this.#effects.push(effect);
  }

  result(): Step {
    return { model: this.model(), effects: this.#effects };
  }

  /** How many effects so far. */
  get effectCount(): number {
    return this.#effects.length;
  }

  /** The effects from index `from` on. */
  effectsSince(from: number): Effect[] {
    return this.#effects.slice(from);
  }
}
