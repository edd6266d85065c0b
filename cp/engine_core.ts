/**
 * The CP engine's session simulation as a pure state machine (docs/charging_loop.md §4).
 *
 * No sockets, timers or clocks: `step(model, input, context) → {model, effects}`, the project's
 * one core shape. The context holds the engine's settings and the wall time `now` (ms since the
 * epoch); the effects, in order, are the telemetry payloads to send on `cp.telemetry` and a
 * human note per thing that happened. {@link nextWakeAt} says when the edge must call `step`
 * with a `tick` next (plug timeout, automatic plug, the next once-a-second `SUPPLY`, the
 * target). So every rule here is tested by feeding inputs and times, and `cp/engine.ts` only
 * interprets the effects.
 *
 * States (ARCHITECTURE §CP states, the engine's own view): `ACTIVATED` (free), `SUPPLYING` (holds a session:
 * first waiting for the plug, then charging), `STOPPED` (held by Central, with a reason). The
 * fault toggle is separate: a faulty engine reports `KO` and refuses or ends sessions with
 * `fault`. `SUPPLYING` starts at `AUTHORIZE`, as it does in Central, because the CP is reserved
 * for that driver from then on.
 *
 * Figures are cumulative per session and computed from the plug time, never accumulated tick by
 * tick, so late or missed ticks cannot skew the bill: simulated time = wall time × `speed`,
 * energy = power × simulated hours (capped at the target), money = energy × price.
 *
 * @module
 */

import type { CoreStep } from "../shared/core_step.ts";
import {
  build,
  type CommandPayload,
  type EndReason,
  endReasonForStop,
  type EngineHealth,
  type EngineState,
  type StopReason,
  type TelemetryPayload,
  telemetryPayloadSchema,
} from "../shared/messages.ts";

/** How the simulation behaves; fixed for the life of an engine. */
export interface EngineSettings {
  /** Power used when an `AUTHORIZE` carries none, in kW. */
  readonly powerKw: number;
  /** Simulated time per wall time (2 = a simulated hour every 30 wall minutes). */
  readonly speed: number;
  /** How long an authorized session waits for the plug before it ends with `plug_timeout`. */
  readonly plugTimeoutMs: number;
  /** Headless mode: plug in automatically this long (wall time) after `AUTHORIZE`. */
  readonly autoPlugDelayMs?: number;
  /** End the supply with `target_reached` once the session has delivered this much energy. */
  readonly targetKwh?: number;
  /** End the supply with `unplugged` after this much simulated supply time (the car leaves). */
  readonly durationMs?: number;
  /** Wall time between two `SUPPLY` reports (1000: "every second"). */
  readonly reportIntervalMs: number;
}

/** The session an engine holds while `SUPPLYING`. Times are wall ms since the epoch. */
export interface Session {
  /** Central's session id. */
  readonly sessionId: string;
  /** The driver it was authorized for. */
  readonly driverId: string;
  /** €/kWh billed. */
  readonly priceEurKwh: number;
  /** kW supplied. */
  readonly powerKw: number;
  /** When `AUTHORIZE` was taken. */
  readonly authorizedAt: number;
  /** When the vehicle was plugged in; absent while waiting for it. */
  readonly pluggedAt?: number;
  /** When the next `SUPPLY` is due; set once plugged in. */
  readonly nextReportAt?: number;
}

/** Everything the engine knows. Never mutated: {@link step} returns a new one. */
export interface EngineModel {
  /** The engine's state as it reports it. */
  readonly state: EngineState;
  /** The fault toggle: while on, the engine is `KO`. */
  readonly faulty: boolean;
  /** Why Central stopped the CP; only while `STOPPED`. */
  readonly stopReason?: StopReason;
  /** The session held; only while `SUPPLYING`. */
  readonly session?: Session;
  /**
   * Ids of the last sessions that ended here, newest last, so a redelivered `AUTHORIZE` or
   * `END_SUPPLY` for one of them (Kafka is at-least-once) does not start or end anything again.
   */
  readonly endedSessionIds: readonly string[];
}

/** What can happen to an engine. */
export type EngineInput =
  /** Time passed: take the plug timeout, the automatic plug, a `SUPPLY` report or the target. */
  | { readonly type: "tick" }
  /** A key was installed: tell Central where the engine stands (`STATUS`). */
  | { readonly type: "announce" }
  /** A command from Central that opened under the CP key and matched the schema. */
  | { readonly type: "command"; readonly command: CommandPayload }
  /** The vehicle was plugged in (key press, or the automatic plug). */
  | { readonly type: "plug" }
  /** The vehicle was unplugged (key press). */
  | { readonly type: "unplug" }
  /** The fault toggle was flipped (key press). */
  | { readonly type: "toggle_fault" }
  /** The key the engine sealed with was revoked: the CP may not go on charging. */
  | { readonly type: "key_lost" }
  /** The engine is shutting down: end any session while it still can report it. */
  | { readonly type: "shutdown" };

/** What a step may read besides its model and input. */
export interface EngineContext {
  /** How the simulation behaves. */
  readonly settings: EngineSettings;
  /** The wall time of the step, ms since the epoch. */
  readonly now: number;
}

/** What a step asks its edge to do, in order. */
export type EngineEffect =
  /** Seal this payload and send it on `cp.telemetry` (in the order of the effects). */
  | { readonly type: "telemetry"; readonly payload: TelemetryPayload }
  /** One human line per thing that happened or was ignored, for logs and the status screen. */
  | { readonly type: "note"; readonly text: string };

/** What {@link step} returns. */
export type EngineStep = CoreStep<EngineModel, EngineEffect>;

/** The live figures of a session at some instant. */
export interface Figures {
  /** Power, kW (0 until plugged in). */
  readonly kw: number;
  /** Energy delivered so far, kWh. */
  readonly kwh: number;
  /** Amount so far, €. */
  readonly eur: number;
}

/** How many ended session ids an engine remembers for de-duplication. */
export const REMEMBERED_SESSIONS = 32;

const MS_PER_HOUR = 3_600_000;

/** A fresh engine: free, healthy, no session. */
export function initialModel(): EngineModel {
  return { state: "ACTIVATED", faulty: false, endedSessionIds: [] };
}

/** `OK`, or `KO` while the fault toggle is on. */
export function healthOf(model: EngineModel): EngineHealth {
  return model.faulty ? "KO" : "OK";
}

/** Why and when (wall ms) a plugged-in session's supply ends by itself. */
export interface SupplyLimit {
  /** Wall time of the end. */
  readonly at: number;
  /** `target_reached` (target energy) or `unplugged` (simulated duration over). */
  readonly reason: "target_reached" | "unplugged";
}

/**
 * When a plugged-in session's supply ends by itself: at the target energy or after the simulated
 * duration, whichever comes first (the target on a tie). Undefined while not plugged in, or when
 * neither limit is set or reachable.
 */
export function supplyLimit(settings: EngineSettings, session: Session): SupplyLimit | undefined {
  if (session.pluggedAt === undefined) return undefined;
  let limit: { simulatedMs: number; reason: SupplyLimit["reason"] } | undefined;
  if (settings.targetKwh !== undefined && session.powerKw > 0) {
    const simulatedMs = (settings.targetKwh / session.powerKw) * MS_PER_HOUR;
    limit = { simulatedMs, reason: "target_reached" };
  }
  if (
    settings.durationMs !== undefined &&
    (limit === undefined || settings.durationMs < limit.simulatedMs)
  ) {
    limit = { simulatedMs: settings.durationMs, reason: "unplugged" };
  }
  if (limit === undefined) return undefined;
  return { at: session.pluggedAt + limit.simulatedMs / settings.speed, reason: limit.reason };
}

/** The session's cumulative figures at wall time `now` (zero until plugged in). */
export function figuresAt(settings: EngineSettings, session: Session, now: number): Figures {
  if (session.pluggedAt === undefined) return { kw: 0, kwh: 0, eur: 0 };
  const limit = supplyLimit(settings, session);
  let kwh: number;
  if (limit?.reason === "target_reached" && now >= limit.at) {
    kwh = settings.targetKwh ?? 0; // exactly the target, not a float a hair off it
  } else {
    const until = limit === undefined ? now : Math.min(now, limit.at);
    const simulatedMs = Math.max(0, until - session.pluggedAt) * settings.speed;
    kwh = (session.powerKw * simulatedMs) / MS_PER_HOUR;
  }
  return { kw: session.powerKw, kwh, eur: kwh * session.priceEurKwh };
}

/**
 * When the edge must next call {@link step} with a `tick`, or undefined when nothing is
 * scheduled (no session). Never earlier than needed, so the edge can sleep until then.
 */
export function nextWakeAt(settings: EngineSettings, model: EngineModel): number | undefined {
  const session = model.session;
  if (session === undefined) return undefined;
  if (session.pluggedAt === undefined) {
    const deadline = session.authorizedAt + settings.plugTimeoutMs;
    return settings.autoPlugDelayMs === undefined
      ? deadline
      : Math.min(deadline, session.authorizedAt + settings.autoPlugDelayMs);
  }
  const end = supplyLimit(settings, session)?.at ?? Infinity;
  const wake = Math.min(session.nextReportAt ?? Infinity, end);
  return Number.isFinite(wake) ? wake : undefined;
}

/**
 * Applies one input at wall time `now`. Timed events that fell due before `now` (a tick the
 * edge was late for) are taken first, so a command is always judged against an up-to-date
 * model: a `STOP` arriving just after the target was reached finds the session already ended.
 */
export function step(model: EngineModel, input: EngineInput, context: EngineContext): EngineStep {
  const { settings, now } = context;
  const out = new Output(now);
  let next = advance(settings, model, now, out);
  if (input.type !== "tick") next = apply(settings, next, input, now, out);
  return { model: next, effects: out.effects };
}

// ---------------------------------------------------------------------------------------------
// Internals

/** Collects what one step emits; stamps every payload with the step's time. */
class Output {
  readonly effects: EngineEffect[] = [];
  readonly #ts: string;

  constructor(now: number) {
    this.#ts = new Date(now).toISOString();
  }

  status(model: EngineModel): void {
    this.#send(build(telemetryPayloadSchema, "STATUS", {
      engine: healthOf(model),
      state: model.state,
      ...(model.session ? { sessionId: model.session.sessionId } : {}),
      ...(model.stopReason ? { stopReason: model.stopReason } : {}),
      ts: this.#ts,
    }));
  }

  plugged(sessionId: string): void {
    this.#send(build(telemetryPayloadSchema, "PLUGGED", { sessionId, ts: this.#ts }));
  }

  supply(sessionId: string, f: Figures): void {
    this.#send(build(telemetryPayloadSchema, "SUPPLY", { sessionId, ...f, ts: this.#ts }));
  }

  supplyEnd(sessionId: string, kwh: number, eur: number, endReason: EndReason): void {
    this.#send(build(telemetryPayloadSchema, "SUPPLY_END", {
      sessionId,
      kwh,
      eur,
      endReason,
      ts: this.#ts,
    }));
  }

  note(text: string): void {
    this.effects.push({ type: "note", text });
  }

  #send(payload: TelemetryPayload): void {
    this.effects.push({ type: "telemetry", payload });
  }
}

/** Takes every timed event due at or before `now`, oldest first. */
function advance(
  settings: EngineSettings,
  model: EngineModel,
  now: number,
  out: Output,
): EngineModel {
  // Each pass takes one event; a session ends after finitely many, so this terminates.
  for (;;) {
    const session = model.session;
    if (session === undefined) return model;

    if (session.pluggedAt === undefined) {
      const deadline = session.authorizedAt + settings.plugTimeoutMs;
      const autoPlugAt = settings.autoPlugDelayMs === undefined
        ? Infinity
        : session.authorizedAt + settings.autoPlugDelayMs;
      if (autoPlugAt < deadline && autoPlugAt <= now) {
        // Plugged at the scheduled instant, not when the tick ran: energy is then exact.
        model = plugIn(settings, model, session, autoPlugAt, out);
        out.note(`vehicle plugged in automatically for session ${session.sessionId}`);
        continue;
      }
      if (deadline <= now) {
        out.note(`no vehicle plugged in within ${settings.plugTimeoutMs} ms: session ended`);
        model = endSession(settings, model, "plug_timeout", deadline, out);
        continue;
      }
      return model;
    }

    const limit = supplyLimit(settings, session);
    if (limit !== undefined && limit.at <= now) {
      out.note(
        limit.reason === "target_reached"
          ? "target energy reached"
          : "simulated duration over: vehicle unplugged",
      );
      model = endSession(settings, model, limit.reason, limit.at, out);
      continue;
    }
    if (session.nextReportAt !== undefined && session.nextReportAt <= now) {
      // One report for the latest instant due: a late tick skips the missed ones rather than
      // send a burst. Figures are those of that instant, on the once-a-second grid from the
      // plug, so they do not depend on how late the timer fired.
      const missed = Math.floor((now - session.nextReportAt) / settings.reportIntervalMs);
      const reportAt = session.nextReportAt + missed * settings.reportIntervalMs;
      out.supply(session.sessionId, figuresAt(settings, session, reportAt));
      const nextReportAt = reportAt + settings.reportIntervalMs;
      model = { ...model, session: { ...session, nextReportAt } };
      continue;
    }
    return model;
  }
}

/** Applies a non-tick input to an up-to-date model. */
function apply(
  settings: EngineSettings,
  model: EngineModel,
  input: Exclude<EngineInput, { type: "tick" }>,
  now: number,
  out: Output,
): EngineModel {
  switch (input.type) {
    case "announce":
      out.status(model);
      return model;
    case "command":
      return applyCommand(settings, model, input.command, now, out);
    case "plug": {
      const session = model.session;
      if (session === undefined) out.note("plug ignored: no authorized session");
      else if (session.pluggedAt !== undefined) out.note("plug ignored: already plugged in");
      else {
        out.note(`vehicle plugged in for session ${session.sessionId}`);
        return plugIn(settings, model, session, now, out);
      }
      return model;
    }
    case "unplug": {
      if (model.session?.pluggedAt === undefined) {
        out.note("unplug ignored: no vehicle plugged in");
        return model;
      }
      out.note("vehicle unplugged");
      return endSession(settings, model, "unplugged", now, out);
    }
    case "toggle_fault": {
      const faulty = !model.faulty;
      out.note(faulty ? "fault switched on: engine KO" : "fault cleared: engine OK");
      let next = model;
      // The session ends first, while the engine still reports its state accurately.
      if (faulty && next.session) next = endSession(settings, next, "fault", now, out, false);
      next = { ...next, faulty };
      out.status(next);
      return next;
    }
    case "key_lost":
      if (model.session === undefined) return model;
      out.note("the key in use was revoked: session ended");
      return endSession(settings, model, "key_lost", now, out);
    case "shutdown":
      if (model.session === undefined) return model;
      out.note("engine shutting down: session ended");
      return endSession(settings, model, "fault", now, out);
  }
}

function applyCommand(
  settings: EngineSettings,
  model: EngineModel,
  command: CommandPayload,
  now: number,
  out: Output,
): EngineModel {
  switch (command.type) {
    case "AUTHORIZE":
      return authorize(settings, model, command, now, out);
    case "STOP": {
      let next = model;
      if (next.session) {
        out.note(`stopped by Central (${command.reason}) during session`);
        next = endSession(settings, next, endReasonForStop(command.reason), now, out, false);
      } else if (next.state === "STOPPED" && next.stopReason === command.reason) {
        out.note(`STOP ignored: already stopped (${command.reason})`);
        return next;
      } else {
        out.note(`stopped by Central (${command.reason})`);
      }
      next = { ...next, state: "STOPPED", stopReason: command.reason };
      out.status(next);
      return next;
    }
    case "RESUME": {
      if (model.state !== "STOPPED") {
        out.note("RESUME ignored: not stopped");
        return model;
      }
      out.note("resumed by Central");
      const { stopReason: _dropped, ...rest } = model;
      const next: EngineModel = { ...rest, state: "ACTIVATED" };
      out.status(next);
      return next;
    }
    case "END_SUPPLY": {
      const session = model.session;
      if (session === undefined) {
        out.note("END_SUPPLY ignored: no session");
        return model;
      }
      if (command.sessionId !== undefined && command.sessionId !== session.sessionId) {
        out.note(`END_SUPPLY ignored: session ${command.sessionId} is not the current one`);
        return model;
      }
      // plug_timeout means "no energy": Central would not ask it of a plugged-in session, but
      // a schema-valid SUPPLY_END must still come out, so a plugged session ends as unplugged.
      const reason = command.reason === "plug_timeout" && session.pluggedAt !== undefined
        ? "unplugged"
        : command.reason;
      out.note(`session ended by Central (${command.reason})`);
      return endSession(settings, model, reason, now, out);
    }
  }
}

function authorize(
  settings: EngineSettings,
  model: EngineModel,
  command: Extract<CommandPayload, { type: "AUTHORIZE" }>,
  now: number,
  out: Output,
): EngineModel {
  const { sessionId, driverId } = command;
  if (model.session?.sessionId === sessionId || model.endedSessionIds.includes(sessionId)) {
    out.note(`AUTHORIZE ignored: session ${sessionId} already seen (redelivery)`);
    return model;
  }
  // Every AUTHORIZE gets an answer: one the engine cannot honour is closed at once with zero
  // figures, so Central can ticket it instead of waiting.
  const age = now - Date.parse(command.ts);
  const refusal: [EndReason, string] | undefined = age >= settings.plugTimeoutMs
    // Read late (the engine was down and its group resumed): the driver's wait is over and
    // Central has closed the session, so it must not start now.
    ? ["plug_timeout", `stale (sent ${Math.round(age / 1000)} s ago)`]
    : model.state === "STOPPED"
    ? [endReasonForStop(model.stopReason ?? "admin"), "stopped"]
    : model.faulty
    ? ["fault", "faulty"]
    : model.session
    // No end reason says "busy"; plug_timeout is the one that means "no vehicle was ever
    // plugged in for this session", which is exactly what happened.
    ? ["plug_timeout", `busy with session ${model.session.sessionId}`]
    : undefined;
  if (refusal) {
    out.note(`AUTHORIZE for session ${sessionId} refused: ${refusal[1]}`);
    out.supplyEnd(sessionId, 0, 0, refusal[0]);
    return remember(model, sessionId);
  }
  const session: Session = {
    sessionId,
    driverId,
    priceEurKwh: command.priceEurKwh,
    powerKw: command.powerKw ?? settings.powerKw,
    authorizedAt: now,
  };
  out.note(`authorized session ${sessionId} for driver ${driverId}: waiting for the plug`);
  const next: EngineModel = { ...model, state: "SUPPLYING", session };
  out.status(next);
  return next;
}

function plugIn(
  settings: EngineSettings,
  model: EngineModel,
  session: Session,
  at: number,
  out: Output,
): EngineModel {
  out.plugged(session.sessionId);
  const plugged = { ...session, pluggedAt: at, nextReportAt: at + settings.reportIntervalMs };
  return { ...model, session: plugged };
}

/**
 * Sends the session's `SUPPLY_END` with its figures at `at` and frees the engine. With
 * `announce` false the caller changes the state further and sends the `STATUS` itself.
 */
function endSession(
  settings: EngineSettings,
  model: EngineModel,
  reason: EndReason,
  at: number,
  out: Output,
  announce = true,
): EngineModel {
  const session = model.session;
  if (session === undefined) return model;
  const { kwh, eur } = reason === "plug_timeout"
    ? { kwh: 0, eur: 0 }
    : figuresAt(settings, session, at);
  out.supplyEnd(session.sessionId, kwh, eur, reason);
  const { session: _ended, ...rest } = model;
  const next = remember({ ...rest, state: "ACTIVATED" }, session.sessionId);
  if (announce) out.status(next);
  return next;
}

function remember(model: EngineModel, sessionId: string): EngineModel {
  const ids = [...model.endedSessionIds, sessionId].slice(-REMEMBERED_SESSIONS);
  return { ...model, endedSessionIds: ids };
}
