/**
 * Central's REST shapes: the JSON of a CP, a session, a driver, a weather report and an alarm
 * as `GET /cps`, `GET /sessions`, `GET /drivers`, `GET /weather` and `GET /alarms` answer
 * them, the dashboard's snapshot and live events carry them, and the page (web/, through
 * `import type`) reads them.
 * Their zod schemas document them in the OpenAPI document; the mappers turn the model into them.
 *
 * @module
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { socketIp } from "../shared/http_api.ts";
import {
  cpProtocolSchema,
  cpStateSchema,
  endReasonSchema,
  MAX_DETAIL_CHARS,
  stopReasonSchema,
  textSchema,
} from "../shared/messages.ts";
import { stateTableMarkdown } from "../shared/vocabulary.ts";
import type { Cp, Session, WeatherReport } from "./core.ts";
import type { DriverSummary } from "./store.ts";

/**
 * The fields of a text Central writes for people (a pill's reason, an alarm's detail): the
 * English words, and the code with parameters the dashboard shows in its language
 * (shared/notices.ts).
 */
export const noticeSchema = {
  detail: z.string().openapi({ description: "one line saying why, in English" }),
  detail_code: z.string().openapi({
    description: "the same as a stable code (shared/notices.ts lists them) for screens to " +
      "translate; show `detail` for a code you do not know",
    example: "kafka_ok",
  }),
  detail_params: z.record(z.string(), z.union([z.string(), z.number()])).openapi({
    description: "the code's parameters (`at`, `…_at`: ISO times)",
  }),
};

/** An admin action's optional reason (the dashboard asks for one), kept in its audit record. */
export const AdminReasonBody = z.object({
  reason: textSchema(MAX_DETAIL_CHARS).optional().openapi({ example: "site maintenance" }),
}).openapi("AdminReason");

/**
 * The request body of an admin action: an optional JSON {@link AdminReasonBody} (no body, or one
 * that is not JSON, is no reason).
 */
export const adminReasonRequest = {
  body: { required: false, content: { "application/json": { schema: AdminReasonBody } } },
} as const;

/** The audit params that record `body`'s reason: `{reason}`, or none without one. */
export function reasonParams(body: { readonly reason?: string }): { reason?: string } {
  return body.reason === undefined ? {} : { reason: body.reason };
}

/** `{originIp}` for an admin action or its audit record, or nothing when the client has no IP. */
export function originOf(c: Context): { originIp?: string } {
  const ip = socketIp(c);
  return ip === undefined ? {} : { originIp: ip };
}

/** A CP: registry data, state, and the figures of its open session. */
export const CpBody = z.object({
  id: z.string(),
  location: z.string(),
  price_eur_kwh: z.number(),
  power_kw: z.number(),
  state: cpStateSchema,
  stop_reason: stopReasonSchema.nullable(),
  driver_id: z.string().nullable().openapi({ description: "driver of the open session" }),
  kw: z.number().nullable(),
  kwh: z.number().nullable(),
  eur: z.number().nullable(),
  key_version: z.number().int().nullable().openapi({ description: "live key version" }),
  last_seen: z.string().nullable().openapi({ description: "last sign of life of the monitor" }),
  deregistered_at: z.string().nullable().openapi({
    description: "when the Registry deregistered the CP (it is logged out and denied), or null",
  }),
  key_revoked: z.boolean().openapi({
    description: "an admin revoked its keys (POST /cps/{id}/keys/revoke) and it has not " +
      'logged in again since: shown as "key revoked" until its monitor re-authenticates',
  }),
  key_revoked_at: z.string().nullable().openapi({
    description: "when that revocation was, while the mark stands, else null",
  }),
  protocol: cpProtocolSchema.optional().openapi({
    description: "the charger protocol behind the CP (ocpp1.6: a charger behind the OCPP " +
      "gateway); absent for the network's own CPs",
  }),
}).openapi("Cp", {
  description: "A CP as Central sees it. `state` is an English code; the screens (panel, " +
    "dashboard, CP and driver) name it in the shared vocabulary:\n\n" + stateTableMarkdown(),
});

/** A CP as the API shows it. */
export type CpJson = z.infer<typeof CpBody>;

/** A session as the API shows it. */
export const SessionBody = z.object({
  id: z.string(),
  cp_id: z.string(),
  driver_id: z.string(),
  started_at: z.string(),
  ended_at: z.string().nullable(),
  kwh: z.number(),
  eur: z.number(),
  end_reason: endReasonSchema.nullable(),
}).openapi("Session");

/** A session as the API shows it. */
export type SessionJson = z.infer<typeof SessionBody>;

/** A driver with its totals. */
export const DriverBody = z.object({
  id: z.string(),
  first_seen: z.string(),
  last_seen: z.string(),
  sessions: z.number().int().openapi({ description: "completed sessions" }),
  kwh: z.number().openapi({ description: "over completed sessions" }),
  eur: z.number().openapi({ description: "over completed sessions" }),
  active_session_id: z.string().nullable(),
}).openapi("Driver");

/** A driver as the API shows it. */
export type DriverJson = z.infer<typeof DriverBody>;

/** A CP's weather report with its hold. */
export const WeatherBody = z.object({
  cp_id: z.string(),
  city: z.string(),
  temperature: z.number().openapi({ description: "last reported, °C" }),
  status: z.enum(["alert", "clear"]),
  since: z.string().openapi({ description: "when the office first reported this status" }),
  updated_at: z.string().openapi({ description: "when the office last reported" }),
  weather_hold: z.boolean().openapi({ description: "the weather holds the CP stopped" }),
  state: cpStateSchema,
  stop_reason: stopReasonSchema.nullable().openapi({
    description: "the hold shown: an admin stop shows admin even while the weather holds too",
  }),
}).openapi("Weather");

/** A weather report as the API shows it. */
export type WeatherJson = z.infer<typeof WeatherBody>;

/** One operator alarm, as `GET /alarms` and the `alarm` event carry it (central/alarms.ts). */
export const AlarmBody = z.object({
  id: z.number().int(),
  cp_id: z.string(),
  kind: z.enum(["cp_broken", "cp_disconnected", "weather_hold", "key_revoked"]),
  began_at: z.string(),
  cleared_at: z.string().nullable(),
  ...noticeSchema,
}).openapi("Alarm");

/** An alarm as the API shows it. */
export type AlarmJson = z.infer<typeof AlarmBody>;

/** A CP as the API shows it: registry data, state, and the figures of its open session. */
export function cpJson(cp: Cp, session: Session | undefined): CpJson {
  return {
    id: cp.id,
    location: cp.location,
    price_eur_kwh: cp.priceEurKwh,
    power_kw: cp.powerKw,
    state: cp.status.state,
    stop_reason: cp.status.stopReason,
    driver_id: session?.driverId ?? null,
    kw: session?.kw ?? null,
    kwh: session?.kwh ?? null,
    eur: session?.eur ?? null,
    key_version: cp.keyVersion,
    last_seen: cp.lastSeenMs === null ? null : new Date(cp.lastSeenMs).toISOString(),
    deregistered_at: cp.securityInfo.deregisteredAt,
    key_revoked: cp.securityInfo.keyRevokedAt !== null,
    key_revoked_at: cp.securityInfo.keyRevokedAt,
    ...(cp.protocol === undefined ? {} : { protocol: cp.protocol }),
  };
}

/** A driver with its totals as the API shows it. */
export function driverJson(d: DriverSummary): DriverJson {
  return {
    id: d.id,
    first_seen: d.firstSeen,
    last_seen: d.lastSeen,
    sessions: d.sessions,
    kwh: d.kwh,
    eur: d.eur,
    active_session_id: d.activeSessionId,
  };
}

/** A CP's weather report with its hold, as the API shows it. */
export function weatherJson(w: WeatherReport, cp: Cp): WeatherJson {
  return {
    cp_id: w.cpId,
    city: w.city,
    temperature: w.temperatureC,
    status: w.status,
    since: w.since,
    updated_at: w.updatedAt,
    weather_hold: w.status === "alert",
    state: cp.status.state,
    stop_reason: cp.status.stopReason,
  };
}

/** A session as the API shows it. */
export function sessionJson(s: Session): SessionJson {
  return {
    id: s.id,
    cp_id: s.cpId,
    driver_id: s.driverId,
    started_at: s.startedAt,
    ended_at: s.endedAt,
    kwh: s.kwh,
    eur: s.eur,
    end_reason: s.endReason,
  };
}
