/**
 * Charging in Central's core: charge and list requests, the monitors' health and silence,
 * telemetry from the engines, stop and resume, the weather office's holds, and the end of a
 * session with its TICKET.
 *
 * @module
 */
import {
  build,
  commandPayloadSchema,
  type CpListEntry,
  type DenyReason,
  driverUpdateSchema,
  type EndReason,
  endReasonForStop,
  MAX_CP_LIST_ENTRIES,
  MAX_DURATION_SECONDS,
  SCHEMA_VERSION,
  type StopReason,
  type TelemetryPayload,
} from "../../shared/messages.ts";
import { isRefusal, transition } from "../cp_state.ts";
import {
  apply,
  cpActor,
  type Draft,
  driverActor,
  iso,
  notBefore,
  round,
  safeDetail,
} from "./draft.ts";
import type { CoreContext, Cp, InputOf, Model, NoteLevel, Session } from "./model.ts";

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

/** A monitor's `HEALTH`: the engine's OK or KO moves the CP to or from BROKEN; a break ends its session (`fault`). */
export function health(d: Draft, input: InputOf<"health">, now: number): void {
  const cp = d.connectedCp(input.cpId, input.connection);
  if (!cp) return;
  const next = transition(cp.status, { type: input.engine === "OK" ? "ENGINE_OK" : "ENGINE_KO" });
  if (isRefusal(next) || next.state === cp.status.state) {
    d.setCp({ ...cp, lastSeenMs: now }, false);
    return;
  }
  d.setCp({ ...cp, status: next, lastSeenMs: now });
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
        ts: iso(now),
      }),
    );
    endSession(d, session, "fault", now, null);
  }
}

/** The monitor of `cp` is gone (`cause`): the CP turns DISCONNECTED; its session goes on through Kafka. */
export function lose(
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

/** A new `CHARGE_REQUEST`: AUTHORIZED with a session opened and the CP reserved, or DENIED with the first reason. */
export function chargeRequest(
  d: Draft,
  input: InputOf<"charge_request">,
  { config, now }: CoreContext,
): void {
  const { requestId, driverId, cpId, sessionId } = input;
  const ts = iso(now);
  const origin = reportedOrigin(input.originIp);
  d.emit({ type: "save_driver", driverId, at: ts });
  const cp = d.cp(cpId);
  if (cp === undefined) {
    return deny(d, { requestId, driverId, cpId, reason: "unknown_cp", ts }, origin);
  }
  const reason = denyReason(cp);
  if (reason !== null) return deny(d, { requestId, driverId, cpId, reason, ts }, origin);
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
    pendingEnd: { reason: "plug_timeout", deadlineMs: now + config.plugWaitMs },
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
    params: { requestId, driverId, cpId, sessionId, ...origin.params },
    ...origin.entry,
  });
}

/** The audit fields of a driver's self-reported address. */
interface ReportedOrigin {
  /** `{originIp}` for the record, or nothing. */
  readonly entry: { readonly originIp?: string };
  /** `{origin: "self_reported"}` for its params, or nothing. */
  readonly params: { readonly origin?: "self_reported" };
}

/**
 * A driver's request crosses Kafka, so Central sees no socket: the address is the one the driver's
 * host reported for itself, kept as the record's origin and marked `self_reported` (unverified).
 */
function reportedOrigin(originIp: string | undefined): ReportedOrigin {
  return originIp === undefined
    ? { entry: {}, params: {} }
    : { entry: { originIp }, params: { origin: "self_reported" } };
}

/** Answers a request with DENIED and records it (with the driver's reported address, if any). */
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
  origin: ReportedOrigin = reportedOrigin(undefined),
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
      ...origin.params,
    },
    ...origin.entry,
  });
}

/** A new `CP_LIST_REQUEST`: answered with {@link cpList}. */
export function listRequest(d: Draft, input: InputOf<"cp_list_request">, now: number): void {
  const { requestId, driverId } = input;
  const ts = iso(now);
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

/**
 * A new `CANCEL_REQUEST`: the driver's open session (the one it names, or its only one) ends at
 * once with a ticket `driver_cancelled`, and the engine is told to stop supplying; with no such
 * session the driver gets `DENIED no_session`.
 */
export function cancelRequest(d: Draft, input: InputOf<"cancel_request">, now: number): void {
  const { requestId, driverId } = input;
  const ts = iso(now);
  const origin = reportedOrigin(input.originIp);
  d.emit({ type: "save_driver", driverId, at: ts });
  const session = [...d.model().sessions.values()].find((s) =>
    s.driverId === driverId && s.endedAt === null &&
    (input.sessionId === undefined || s.id === input.sessionId)
  );
  if (session === undefined) {
    return deny(d, { requestId, driverId, reason: "no_session", ts }, origin);
  }
  d.command(
    session.cpId,
    build(commandPayloadSchema, "END_SUPPLY", {
      sessionId: session.id,
      reason: "driver_cancelled",
      ts,
    }),
  );
  d.request({
    requestId,
    driverId,
    cpId: session.cpId,
    outcome: "CANCELLED",
    reason: null,
    sessionId: session.id,
    at: ts,
  });
  d.audit({
    actor: driverActor(driverId),
    action: "charge.cancelled",
    outcome: "ok",
    params: { requestId, driverId, cpId: session.cpId, sessionId: session.id, ...origin.params },
    ...origin.entry,
  });
  endSession(d, session, "driver_cancelled", now, null);
}

/** A request that failed validation: DENIED `invalid_request` with a safe detail. */
export function invalidRequest(d: Draft, input: InputOf<"invalid_request">, now: number): void {
  const { requestId, driverId } = input;
  const ts = iso(now);
  d.emit({ type: "save_driver", driverId, at: ts });
  deny(d, { requestId, driverId, reason: "invalid_request", detail: safeDetail(input.detail), ts });
}

/** An opened telemetry payload of `cpId`: STATUS reconciles sessions and holds; PLUGGED, SUPPLY and SUPPLY_END move its open session. */
export function telemetry(d: Draft, cpId: string, payload: TelemetryPayload, now: number): void {
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
      endSession(d, open, "fault", now, null);
    }
    // Reconcile the hold with what the engine says it is doing (it may have restarted).
    const held = cp.status.stopReason;
    if (held !== null && payload.state !== undefined && payload.state !== "STOPPED") {
      d.command(cpId, build(commandPayloadSchema, "STOP", { reason: held, ts: iso(now) }));
    } else if (held === null && payload.state === "STOPPED") {
      d.command(cpId, build(commandPayloadSchema, "RESUME", { ts: iso(now) }));
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
      // Built without `build`'s validation, which cost as much as the step itself (BENCHMARKS.md,
      // cost per telemetry message): every field is valid already, the ids and price from the
      // session, kw and kwh from the validated payload, and eur ≤ its max at the highest price.
      d.progress({
        v: SCHEMA_VERSION,
        type: "SUPPLY",
        sessionId: session.id,
        driverId: session.driverId,
        cpId,
        kw: updated.kw,
        kwh: updated.kwh,
        eur: updated.eur,
        ts: iso(now),
      });
      return;
    }
    case "SUPPLY_END":
      endSession(d, session, payload.endReason, Date.parse(payload.ts), payload.kwh);
      return;
  }
}

/** Holds `cp` stopped for `reason`, tells the engine, and gives its session the stop wait to end. */
export function stop(d: Draft, cp: Cp, reason: StopReason, context: CoreContext): void {
  const { config, now } = context;
  const status = apply(cp.status, { type: "STOP", reason });
  if (status.stopReason !== cp.status.stopReason || status.state !== cp.status.state) {
    d.setCp({ ...cp, status });
    d.note("info", "CP {cpId} stopped ({reason}): {state}", {
      cpId: cp.id,
      reason,
      state: status.state,
    });
  }
  d.command(cp.id, build(commandPayloadSchema, "STOP", { reason, ts: iso(now) }));
  const session = d.openSession(status.sessionId);
  if (session && (session.pendingEnd === null || session.pendingEnd.reason === "plug_timeout")) {
    d.setSession({
      ...session,
      pendingEnd: { reason: endReasonForStop(reason), deadlineMs: now + config.stopWaitMs },
    });
  }
}

/**
 * Lifts the hold of `cp`, unless its maintenance or the weather still holds it: then only the
 * other hold ends, and the CP stays STOPPED for the one left (maintenance first).
 */
export function resume(d: Draft, cp: Cp, context: CoreContext): void {
  if (cp.status.stopReason === null) return;
  // Only the monitor's operator lifts maintenance, and only the office's clear a weather hold.
  const left: StopReason | null = cp.maintenance === true
    ? "maintenance"
    : d.weatherHeld(cp.id)
    ? "weather"
    : null;
  if (left !== null) {
    if (cp.status.stopReason !== left) stop(d, cp, left, context);
    else {d.note("info", "CP {cpId} stays stopped: {reason} still holds it", {
        cpId: cp.id,
        reason: left,
      });}
    return;
  }
  const status = apply(cp.status, { type: "RESUME" });
  d.setCp({ ...cp, status });
  d.command(cp.id, build(commandPayloadSchema, "RESUME", { ts: iso(context.now) }));
  d.note("info", "CP {cpId} resumed: {state}", { cpId: cp.id, state: status.state });
}

/**
 * Its monitor's operator turns maintenance on or off. On: the CP is held STOPPED for
 * `maintenance`, unless an admin's or a security hold already stops it (that one stays shown;
 * the maintenance hold waits behind it). A weather hold gives way to it, since the office's
 * report is kept apart and comes back when maintenance ends. Off: lifts only the maintenance
 * hold ({@link resume} keeps the weather's). Audited as `cp.maintenance` by the CP.
 */
export function maintenance(d: Draft, input: InputOf<"maintenance">, context: CoreContext): void {
  const { cpId, on } = input;
  const cp = d.connectedCp(cpId, input.connection);
  if (cp === undefined) return;
  const previous = cp.maintenance === true;
  const updated: Cp = { ...cp, maintenance: on };
  if (previous !== on) d.setCp(updated);
  const held = cp.status.stopReason;
  if (on && (held === null || held === "weather")) stop(d, updated, "maintenance", context);
  if (!on && held === "maintenance") resume(d, updated, context);
  const after = d.cp(cpId)?.status ?? cp.status;
  d.note("info", "CP {cpId} maintenance {mode}: {state}", {
    cpId,
    mode: on ? "on" : "off",
    state: after.state,
    stopReason: after.stopReason,
  });
  d.audit({
    actor: cpActor(cpId),
    action: "cp.maintenance",
    outcome: "ok",
    params: { cpId, on, previous, state: after.state, stopReason: after.stopReason },
    originIp: input.originIp,
  });
}

/**
 * Records the office's report and acts only on what changes: an alert stops a CP that no other
 * hold stops, a clear resumes a CP stopped for the weather (never one another hold keeps).
 */
export function weather(d: Draft, input: InputOf<"weather">, context: CoreContext): void {
  const { cpId, city, temperatureC, status } = input;
  const ts = iso(context.now);
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
    since: previous !== undefined && !changed ? previous.since : ts,
    updatedAt: ts,
  });
  if (status === "alert" && cp.status.stopReason === null) stop(d, cp, "weather", context);
  if (status === "clear" && cp.status.stopReason === "weather") resume(d, cp, context);
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

/** Time passes: silent monitors are disconnected and sessions past their deadline end. */
export function tick(d: Draft, lagMs: number, { config, now }: CoreContext): void {
  for (const cp of [...d.model().cps.values()]) {
    if (cp.connection === null || cp.lastSeenMs === null) continue;
    if (now - cp.lastSeenMs > config.heartbeatTimeoutMs + lagMs) {
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
    if (session.pendingEnd === null || now < session.pendingEnd.deadlineMs) continue;
    if (session.pendingEnd.reason === "plug_timeout") {
      // The engine may hold the session after all: make it drop it, like the ticket says.
      d.command(
        session.cpId,
        build(commandPayloadSchema, "END_SUPPLY", {
          sessionId: session.id,
          reason: "plug_timeout",
          ts: iso(now),
        }),
      );
    }
    endSession(d, session, session.pendingEnd.reason, now, null);
  }
}

/**
 * Closes `session` with a TICKET. `kwh` is the engine's final figure, or null when Central
 * closes it without the engine (then the last stored figure is billed).
 */
export function endSession(
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

/** `session` with its vehicle plugged in at `ts`: the plug wait is over. */
function plugged(session: Session, ts: string): Session {
  const pendingEnd = session.pendingEnd?.reason === "plug_timeout" ? null : session.pendingEnd;
  return { ...session, pluggedAt: notBefore(ts, session.startedAt), pendingEnd };
}
