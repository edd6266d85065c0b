/**
 * How a row of Central's database reads as a value of the core's model or of the store's answers
 * (central/store.ts writes them, central/session_history.ts pages sessions): one function per
 * table, so the column names and their types are spelt in one place.
 *
 * @module
 */
import type { ReplayMark } from "../shared/envelope.ts";
import type { CpProtocol, DenyReason, EndReason, StopReason } from "../shared/messages.ts";
import type {
  Cp,
  RequestRecord,
  SecurityInfo,
  SecurityStatus,
  Session,
  WeatherReport,
  WeatherStatus,
} from "./core.ts";

/** A row as `node:sqlite` returns it. */
export type Row = Record<string, unknown>;

/** A wrapped CP key as stored (never the raw key). */
export interface StoredKey {
  /** CP id. */
  readonly cpId: string;
  /** Key version. */
  readonly keyVersion: number;
  /** `wrapCpKey` output. */
  readonly wrapped: string;
  /** `live` (seals and opens) or `retired` (opens only). Revoked keys are not loaded. */
  readonly state: "live" | "retired";
  /** When a retired key stopped being live (epoch ms), or null (live, or not recorded). */
  readonly retiredAt: number | null;
}

/** One pending outbox row. */
export interface OutboxRow {
  /** Row id: rows are sent in id order. */
  readonly id: number;
  /** Kafka topic. */
  readonly topic: string;
  /** Kafka key (driver id or CP id). */
  readonly key: string;
  /** The message (for `cp.commands`, the payload to seal). */
  readonly payload: unknown;
  /** The CP whose live key seals this row, or null for a plaintext message. */
  readonly sealFor: string | null;
}

/** A driver as `GET /drivers` shows it. */
export interface DriverSummary {
  /** Driver id. */
  readonly id: string;
  /** First request seen (ISO). */
  readonly firstSeen: string;
  /** Last request seen (ISO). */
  readonly lastSeen: string;
  /** Completed sessions. */
  readonly sessions: number;
  /** kWh over completed sessions. */
  readonly kwh: number;
  /** € over completed sessions. */
  readonly eur: number;
  /** The driver's open session, or null. */
  readonly activeSessionId: string | null;
}

/** A `sessions` row as a {@link Session}. */
export function toSession(r: Row): Session {
  const reason = r.pending_end_reason as EndReason | null;
  return {
    id: r.id as string,
    cpId: r.cp_id as string,
    driverId: r.driver_id as string,
    requestId: r.request_id as string,
    priceEurKwh: r.price_eur_kwh as number,
    powerKw: r.power_kw as number,
    startedAt: r.started_at as string,
    pluggedAt: r.plugged_at as string | null,
    endedAt: r.ended_at as string | null,
    kw: r.kw as number,
    kwh: r.kwh as number,
    eur: r.eur as number,
    endReason: r.end_reason as EndReason | null,
    pendingEnd: reason === null ? null : { reason, deadlineMs: r.pending_end_deadline as number },
  };
}

/** A `cp_security` row as a {@link SecurityInfo}. */
export function toSecurityInfo(r: Row): SecurityInfo {
  return {
    reason: r.reason as string | null,
    changedAt: r.changed_at as string | null,
    revokedAt: r.revoked_at as string | null,
    keyRevokedAt: r.key_revoked_at as string | null,
    lastLoginAt: r.last_login_at as string | null,
    failedLogins: r.failed_logins as number,
    registeredAt: r.registered_at as string | null,
    deregisteredAt: r.deregistered_at as string | null,
  };
}

/**
 * A `cps` row as a {@link Cp} at start-up: `DISCONNECTED` (no monitor is connected to a process
 * that just started), with what the other tables say about it.
 */
export function toRecoveredCp(
  row: Row,
  known: {
    readonly sessionId: string | null;
    readonly keyVersion: number | null;
    readonly securityInfo: SecurityInfo;
  },
): Cp {
  return {
    id: row.id as string,
    location: row.location as string,
    priceEurKwh: row.price_eur_kwh as number,
    powerKw: row.power_kw as number,
    status: {
      state: "DISCONNECTED",
      stopReason: row.stop_reason as StopReason | null,
      sessionId: known.sessionId,
    },
    security: row.security as SecurityStatus,
    keyVersion: known.keyVersion,
    connection: null,
    lastSeenMs: row.last_seen === null ? null : Date.parse(row.last_seen as string),
    securityInfo: known.securityInfo,
    ...(row.maintenance === 1 ? { maintenance: true } : {}),
    ...(row.protocol === null ? {} : { protocol: row.protocol as CpProtocol }),
  };
}

/** A `cp_keys` row as a {@link StoredKey}. */
export function toStoredKey(r: Row): StoredKey {
  return {
    cpId: r.cp_id as string,
    keyVersion: r.key_version as number,
    wrapped: r.wrapped as string,
    state: r.state as "live" | "retired",
    retiredAt: r.retired_at === null ? null : Date.parse(r.retired_at as string),
  };
}

/** A `replay_marks` row as a {@link ReplayMark}. */
export function toReplayMark(r: Row): ReplayMark {
  return {
    cp: r.cp_id as string,
    kv: r.key_version as number,
    channel: r.channel as string,
    seq: r.seq as number,
  };
}

/** A `weather` row as a {@link WeatherReport}. */
export function toWeatherReport(r: Row): WeatherReport {
  return {
    cpId: r.cp_id as string,
    city: r.city as string,
    temperatureC: r.temperature as number,
    status: r.status as WeatherStatus,
    since: r.since as string,
    updatedAt: r.updated_at as string,
  };
}

/** A `processed_requests` row as a {@link RequestRecord}. */
export function toRequestRecord(r: Row): RequestRecord {
  return {
    requestId: r.request_id as string,
    driverId: r.driver_id as string,
    cpId: r.cp_id as string | null,
    outcome: r.outcome as RequestRecord["outcome"],
    reason: r.reason as DenyReason | null,
    sessionId: r.session_id as string | null,
    at: r.at as string,
  };
}

/** A `drivers` row with its session totals (`CentralStore.drivers`) as a {@link DriverSummary}. */
export function toDriverSummary(r: Row): DriverSummary {
  return {
    id: r.id as string,
    firstSeen: r.first_seen as string,
    lastSeen: r.last_seen as string,
    sessions: r.sessions as number,
    kwh: r.kwh as number,
    eur: r.eur as number,
    activeSessionId: r.active as string | null,
  };
}

/** An `outbox` row as an {@link OutboxRow}, its payload parsed. */
export function toOutboxRow(r: Row): OutboxRow {
  return {
    id: r.id as number,
    topic: r.topic as string,
    key: r.key as string,
    payload: JSON.parse(r.payload as string),
    sealFor: r.seal_for as string | null,
  };
}
