/**
 * The OCPP 1.6 ↔ CP mapping of one charger (pure): `step(model, input, context) → {model,
 * effects}`. The charger's calls, Central's commands (opened from `cp.commands`) and the answers
 * to the gateway's own calls go in; out come the answers to the charger, the calls to make on it
 * (RemoteStartTransaction, RemoteStopTransaction, ChangeAvailability), the telemetry an engine
 * would send (`STATUS`, `PLUGGED`, `SUPPLY`, `SUPPLY_END`) and the charge requests made on a
 * driver's behalf when the charger authorizes an idTag (= driver id) itself.
 *
 * The charger is one connector (connector 1; connector 0 is the whole charger). Its health is
 * `KO` while any connector reports `Faulted`, which the monitor link turns into `BROKEN`. An
 * `Unavailable` the charger reports by itself (not one our ChangeAvailability asked for) takes the
 * CP out of service as its own operator would: the gateway asks Central for maintenance, which
 * holds the CP `STOPPED` until the charger reports `Available`, across reconnects and restarts. The
 * session's figures are cumulative from `meterStart`, so a replayed or late report cannot skew
 * the bill; a `transactionId` is derived from the session id, so it is the same after any
 * reconnect, and a replayed `StopTransaction` of a session already ended is answered again
 * without a second `SUPPLY_END`.
 *
 * Every incoming call was validated against the OCPP 1.6 JSON schemas by the edge before it gets
 * here; what the schemas cannot say (connector numbers, idTags that are no driver id) the core
 * refuses with the proper CALLERROR or idTag status.
 *
 * @module
 */

import type { CoreStep } from "../shared/core_step.ts";
import {
  build,
  type CommandPayload,
  driverIdSchema,
  type EndReason,
  type EngineHealth,
  type EngineState,
  MAX_ENERGY_KWH,
  MAX_POWER_KW,
  type StopReason,
  type TelemetryPayload,
  telemetryPayloadSchema,
} from "../shared/messages.ts";
import { meanPowerKw, type MeterValue, readMeter } from "./meter.ts";

/** OCPP 1.6 `ChargePointStatus`. */
export type OcppStatus =
  | "Available"
  | "Preparing"
  | "Charging"
  | "SuspendedEVSE"
  | "SuspendedEV"
  | "Finishing"
  | "Reserved"
  | "Unavailable"
  | "Faulted";

/** The highest connector id accepted (0 is the charger itself). */
export const MAX_CONNECTOR_ID = 8;
/** Ended transactions remembered, so their replayed `StopTransaction` is answered, not billed. */
export const REMEMBERED_TRANSACTIONS = 32;
/** Calls for the charger kept while it is away, oldest dropped first. */
export const MAX_QUEUED_CALLS = 16;

/** The session Central opened on this charger. */
export interface Session {
  /** Central's session id. */
  readonly sessionId: string;
  /** The driver (the OCPP idTag). */
  readonly driverId: string;
  /** €/kWh. */
  readonly priceEurKwh: number;
  /** Set once the charger started the transaction. */
  readonly transactionId?: number;
  /** The energy register at the start, Wh. */
  readonly meterStartWh?: number;
  /** The newest register reading, Wh, and when it was read (ms). */
  readonly meterWh?: number;
  readonly meterAt?: number;
  /** The newest power, kW. */
  readonly kw: number;
  /** Why Central asked to end it, once it did. */
  readonly endReason?: EndReason;
}

/** A charger call answered only once Central has decided (Authorize, StartTransaction). */
export interface Waiting {
  /** The edge's id of the call, to answer it. */
  readonly callId: string;
  /** Which call. */
  readonly action: "Authorize" | "StartTransaction";
  /** The idTag (a driver id). */
  readonly idTag: string;
  /** The charge request sent for it. */
  readonly requestId: string;
  /** StartTransaction's register at the start, Wh. */
  readonly meterStartWh?: number;
  /** StartTransaction's time. */
  readonly startedAt?: string;
}

/** A call the gateway makes on the charger. */
export interface OutgoingCall {
  /** The OCPP action. */
  readonly action: "RemoteStartTransaction" | "RemoteStopTransaction" | "ChangeAvailability";
  /** Its payload. */
  readonly payload: Readonly<Record<string, unknown>>;
}

/** Everything the gateway knows about one charger. */
export interface ChargerModel {
  /** The charger's id, which is its CP id. */
  readonly cpId: string;
  /** Whether its WebSocket is open. */
  readonly connected: boolean;
  /** The last status of each connector. */
  readonly statuses: Readonly<Record<number, OcppStatus>>;
  /** Central's hold, if it stopped the CP. */
  readonly hold?: StopReason;
  /** True from a resume until the charger reports something other than `Unavailable`. */
  readonly resuming: boolean;
  /**
   * The charger reported `Unavailable` by itself (no hold or resume of ours explains it), and
   * not `Available` since: the CP is in maintenance at Central.
   */
  readonly chargerUnavailable: boolean;
  /** The open session. */
  readonly session?: Session;
  /** Calls waiting for Central's answer. */
  readonly waiting: readonly Waiting[];
  /** Calls for the charger made while it was away, sent when it is back. */
  readonly queued: readonly OutgoingCall[];
  /** Ended transactions, newest last. */
  readonly ended: readonly number[];
}

/** A charger call, already schema-valid. */
export interface ChargerCall {
  readonly type: "call";
  /** The edge's id of this call. */
  readonly callId: string;
  /** The OCPP action. */
  readonly action: string;
  /** Its payload (schema-valid). */
  // deno-lint-ignore no-explicit-any
  readonly payload: any;
}

/** What can happen to a charger. */
export type ChargerInput =
  | { readonly type: "connected" }
  | { readonly type: "disconnected" }
  | ChargerCall
  | { readonly type: "command"; readonly command: CommandPayload }
  | { readonly type: "denied"; readonly requestId: string }
  | { readonly type: "call_expired"; readonly callId: string }
  | {
    readonly type: "call_answer";
    readonly action: OutgoingCall["action"];
    /** The charger's `status`, or undefined when the call failed. */
    readonly status?: string;
  }
  | { readonly type: "announce" };

/** What the edge must do. */
export type ChargerEffect =
  | { readonly type: "reply"; readonly callId: string; readonly result: Record<string, unknown> }
  | {
    readonly type: "reply_error";
    readonly callId: string;
    readonly code: "NotImplemented" | "PropertyConstraintViolation" | "NotSupported";
    readonly message: string;
  }
  | { readonly type: "call"; readonly call: OutgoingCall }
  | { readonly type: "telemetry"; readonly payload: TelemetryPayload }
  | { readonly type: "charge_request"; readonly requestId: string; readonly driverId: string }
  /** Central must hold the CP in maintenance (`on`) or release it: the charger's own word. */
  | { readonly type: "maintenance"; readonly on: boolean }
  | { readonly type: "note"; readonly level: "info" | "warning"; readonly message: string };

/** What a step may read besides its model and input. */
export interface ChargerContext {
  /** Now, ms since the epoch. */
  readonly now: number;
  /** The heartbeat interval told at boot, seconds. */
  readonly heartbeatIntervalS: number;
  /** A fresh unique id, used at most once per step (a charge request's id). */
  readonly freshId: string;
}

/** A step's result. */
export type ChargerStep = CoreStep<ChargerModel, ChargerEffect>;

/** A charger not seen yet. */
export function initialCharger(cpId: string): ChargerModel {
  return {
    cpId,
    connected: false,
    statuses: {},
    resuming: false,
    chargerUnavailable: false,
    waiting: [],
    queued: [],
    ended: [],
  };
}

/** `KO` while any connector is `Faulted`. */
export function healthOf(model: ChargerModel): EngineHealth {
  return Object.values(model.statuses).includes("Faulted") ? "KO" : "OK";
}

/** The engine state reported to Central: the hold, the session, then the charger's word. */
export function engineStateOf(model: ChargerModel): EngineState {
  if (model.hold !== undefined) return "STOPPED";
  if (model.session !== undefined) return "SUPPLYING";
  // An Unavailable of ours shows through the hold; only the charger's own is its word here.
  return model.chargerUnavailable ? "STOPPED" : "ACTIVATED";
}

/** A positive 31-bit transaction id of a session, the same at every reconnect. */
export function transactionIdOf(sessionId: string): number {
  let hash = 0x811c9dc5; // FNV-1a
  for (const byte of new TextEncoder().encode(sessionId)) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  return (hash & 0x7fffffff) || 1;
}

/** The end reason a stop of the CP for `reason` gives its session. */
export function endReasonOfStop(reason: StopReason): EndReason {
  if (reason === "admin") return "stopped_admin";
  if (reason === "weather") return "stopped_weather";
  if (reason === "maintenance") return "stopped_maintenance";
  return "status_lost";
}

/** The end reason of a `StopTransaction` the charger ended by itself. */
export function endReasonOfOcpp(reason: string | undefined): EndReason {
  switch (reason ?? "Local") {
    case "Local":
    case "EVDisconnected":
    case "Remote":
      return "unplugged";
    case "DeAuthorized":
      return "status_lost";
    default: // EmergencyStop, HardReset, SoftReset, PowerLoss, Reboot, UnlockCommand, Other
      return "fault";
  }
}

// ---------------------------------------------------------------------------------------------
// The step

/** A step under way: the model so far and what it emits. */
class Draft {
  model: ChargerModel;
  readonly effects: ChargerEffect[] = [];
  readonly context: ChargerContext;

  constructor(model: ChargerModel, context: ChargerContext) {
    this.model = model;
    this.context = context;
  }

  set(patch: Partial<ChargerModel>): void {
    this.model = { ...this.model, ...patch };
  }

  reply(callId: string, result: Record<string, unknown>): void {
    this.effects.push({ type: "reply", callId, result });
  }

  /** Calls the charger now, or when it is back. */
  call(call: OutgoingCall): void {
    if (this.model.connected) this.effects.push({ type: "call", call });
    else this.set({ queued: [...this.model.queued, call].slice(-MAX_QUEUED_CALLS) });
  }

  telemetry(type: TelemetryPayload["type"], fields: Record<string, unknown>): void {
    const ts = new Date(this.context.now).toISOString();
    // deno-lint-ignore no-explicit-any
    const payload = build(telemetryPayloadSchema, type, { ...fields, ts } as any);
    this.effects.push({ type: "telemetry", payload });
  }

  note(level: "info" | "warning", message: string): void {
    this.effects.push({ type: "note", level, message });
  }

  now(): string {
    return new Date(this.context.now).toISOString();
  }
}

/**
 * One input: the new model and the effects, in order. A `STATUS` follows whatever changed the
 * state, health or session reported to Central.
 */
export function step(
  model: ChargerModel,
  input: ChargerInput,
  context: ChargerContext,
): ChargerStep {
  const d = new Draft(model, context);
  const before = reported(model);
  switch (input.type) {
    case "connected": {
      const queued = model.queued;
      d.set({ connected: true, queued: [] });
      for (const call of queued) d.call(call);
      break;
    }
    case "disconnected":
      // Calls still waiting cannot be answered on a closed socket; a charger repeats them.
      d.set({ connected: false, waiting: [] });
      break;
    case "call":
      onCall(d, input);
      break;
    case "command":
      onCommand(d, input.command);
      break;
    case "denied":
      onRefused(d, (w) => w.requestId === input.requestId);
      break;
    case "call_expired":
      onRefused(d, (w) => w.callId === input.callId);
      break;
    case "call_answer":
      onCallAnswer(d, input.action, input.status);
      break;
    case "announce":
      statusTelemetry(d);
      return { model: d.model, effects: d.effects };
  }
  if (reported(d.model) !== before) statusTelemetry(d);
  return { model: d.model, effects: d.effects };
}

/** What a `STATUS` says, as one comparable string. */
function reported(model: ChargerModel): string {
  return `${engineStateOf(model)}|${healthOf(model)}|${model.session?.sessionId}|${model.hold}`;
}

function statusTelemetry(d: Draft): void {
  const m = d.model;
  d.telemetry("STATUS", {
    engine: healthOf(m),
    state: engineStateOf(m),
    ...(m.session ? { sessionId: m.session.sessionId } : {}),
    ...(m.hold ? { stopReason: m.hold } : {}),
  });
}

// --- the charger's calls -----------------------------------------------------------------------

function onCall(d: Draft, call: ChargerCall): void {
  const p = call.payload;
  switch (call.action) {
    case "BootNotification":
      d.note("info", `boot: ${p.chargePointVendor} ${p.chargePointModel}`);
      return d.reply(call.callId, {
        status: "Accepted",
        currentTime: d.now(),
        interval: d.context.heartbeatIntervalS,
      });
    case "Heartbeat":
      return d.reply(call.callId, { currentTime: d.now() });
    case "StatusNotification":
      return onStatus(d, call);
    case "Authorize":
      return onAuthorize(d, call);
    case "StartTransaction":
      return onStartTransaction(d, call);
    case "MeterValues":
      return onMeterValues(d, call);
    case "StopTransaction":
      return onStopTransaction(d, call);
    case "DataTransfer":
      return d.reply(call.callId, { status: "UnknownVendorId" });
    case "DiagnosticsStatusNotification":
    case "FirmwareStatusNotification":
      return d.reply(call.callId, {});
    default:
      d.effects.push({
        type: "reply_error",
        callId: call.callId,
        code: "NotImplemented",
        message: `${call.action} is not implemented by this gateway`,
      });
  }
}

function onStatus(d: Draft, call: ChargerCall): void {
  const { connectorId, status, errorCode } = call.payload;
  if (connectorId > MAX_CONNECTOR_ID) {
    d.effects.push({
      type: "reply_error",
      callId: call.callId,
      code: "PropertyConstraintViolation",
      message: `connectorId must be at most ${MAX_CONNECTOR_ID}`,
    });
    return;
  }
  if (status === "Faulted") d.note("warning", `connector ${connectorId} faulted (${errorCode})`);
  // An Unavailable we asked for (a hold's Inoperative, or the wait for a resume's Operative) is
  // not the charger's own decision.
  const ours = d.model.hold !== undefined || d.model.resuming;
  d.set({
    statuses: { ...d.model.statuses, [connectorId]: status },
    resuming: d.model.resuming && status === "Unavailable",
  });
  if (status === "Unavailable" && !ours) chargerAvailability(d, false);
  if (status === "Available") chargerAvailability(d, true);
  d.reply(call.callId, {});
}

/** The charger took itself out of service or back: Central's maintenance hold follows. */
function chargerAvailability(d: Draft, available: boolean): void {
  if (d.model.chargerUnavailable === !available) return;
  d.set({ chargerUnavailable: !available });
  d.note(
    "info",
    available
      ? "the charger reports Available again: maintenance ends"
      : "the charger reports Unavailable by itself: maintenance until it reports Available",
  );
  d.effects.push({ type: "maintenance", on: !available });
}

/** An idTag that is a driver id, else undefined. */
function driverOf(idTag: string): string | undefined {
  return driverIdSchema.safeParse(idTag).success ? idTag : undefined;
}

function onAuthorize(d: Draft, call: ChargerCall): void {
  const idTag: string = call.payload.idTag;
  const session = d.model.session;
  if (session !== undefined && session.driverId === idTag) {
    return d.reply(call.callId, { idTagInfo: { status: "Accepted" } });
  }
  if (driverOf(idTag) === undefined) {
    return d.reply(call.callId, { idTagInfo: { status: "Invalid" } });
  }
  askCentral(d, { callId: call.callId, action: "Authorize", idTag, requestId: d.context.freshId });
}

function onStartTransaction(d: Draft, call: ChargerCall): void {
  const { connectorId, idTag, meterStart } = call.payload;
  const session = d.model.session;
  if (connectorId !== 1) {
    return d.reply(call.callId, {
      transactionId: transactionIdOf(d.context.freshId),
      idTagInfo: { status: "Invalid" },
    });
  }
  if (session !== undefined && session.driverId === idTag) {
    // A repeat (its answer lost on a dropped socket) gets the same transaction id.
    if (session.transactionId === undefined) {
      startSession(d, session, meterStart, call.payload.timestamp);
    }
    return d.reply(call.callId, {
      transactionId: transactionIdOf(session.sessionId),
      idTagInfo: { status: "Accepted" },
    });
  }
  if (driverOf(idTag) === undefined) {
    return d.reply(call.callId, {
      transactionId: transactionIdOf(d.context.freshId),
      idTagInfo: { status: "Invalid" },
    });
  }
  askCentral(d, {
    callId: call.callId,
    action: "StartTransaction",
    idTag,
    requestId: d.context.freshId,
    meterStartWh: meterStart,
    startedAt: call.payload.timestamp,
  });
}

/** Asks Central to authorize `idTag` here, as its driver would; the call waits for the answer. */
function askCentral(d: Draft, waiting: Waiting): void {
  d.set({ waiting: [...d.model.waiting, waiting] });
  d.effects.push({ type: "charge_request", requestId: waiting.requestId, driverId: waiting.idTag });
}

function startSession(d: Draft, session: Session, meterStartWh: number, timestamp?: string): void {
  const at = Date.parse(timestamp ?? "");
  d.set({
    session: {
      ...session,
      transactionId: transactionIdOf(session.sessionId),
      meterStartWh,
      meterWh: meterStartWh,
      meterAt: Number.isFinite(at) ? at : d.context.now,
    },
  });
  d.telemetry("PLUGGED", { sessionId: session.sessionId });
}

function onMeterValues(d: Draft, call: ChargerCall): void {
  const { transactionId, meterValue } = call.payload;
  d.reply(call.callId, {});
  const session = d.model.session;
  if (session?.transactionId === undefined || session.meterStartWh === undefined) return;
  if (transactionId !== undefined && transactionId !== session.transactionId) return;
  const reading = readMeter(meterValue as MeterValue[]);
  const energyWh = reading.energyWh;
  // An older reading (a replay after a reconnect) never takes the figures back.
  if (energyWh === undefined || reading.energyAt === undefined) return;
  if (session.meterWh !== undefined && energyWh < session.meterWh) return;
  const derived = session.meterWh === undefined || session.meterAt === undefined
    ? undefined
    : meanPowerKw(session.meterWh, session.meterAt, energyWh, reading.energyAt);
  const kw = round(clamp(reading.powerKw ?? derived ?? session.kw, MAX_POWER_KW), 3);
  const kwh = kwhOf(session, energyWh);
  d.set({ session: { ...session, meterWh: energyWh, meterAt: reading.energyAt, kw } });
  d.telemetry("SUPPLY", {
    sessionId: session.sessionId,
    kw,
    kwh,
    eur: round(kwh * session.priceEurKwh, 4),
  });
}

function onStopTransaction(d: Draft, call: ChargerCall): void {
  const { transactionId, meterStop, reason } = call.payload;
  const session = d.model.session;
  if (session === undefined || session.transactionId !== transactionId) {
    const known = d.model.ended.includes(transactionId);
    if (!known) d.note("warning", `StopTransaction of unknown transaction ${transactionId}`);
    return d.reply(call.callId, known ? { idTagInfo: { status: "Accepted" } } : {});
  }
  const kwh = kwhOf(session, meterStop);
  d.telemetry("SUPPLY_END", {
    sessionId: session.sessionId,
    kwh,
    eur: round(kwh * session.priceEurKwh, 4),
    endReason: session.endReason ?? endReasonOfOcpp(reason),
  });
  d.set({
    session: undefined,
    ended: [...d.model.ended, transactionId].slice(-REMEMBERED_TRANSACTIONS),
  });
  d.reply(call.callId, { idTagInfo: { status: "Accepted" } });
}

/** kWh since the start, within the network's bounds. */
function kwhOf(session: Session, registerWh: number): number {
  return clamp(
    round((registerWh - (session.meterStartWh ?? registerWh)) / 1000, 6),
    MAX_ENERGY_KWH,
  );
}

function clamp(value: number, max: number): number {
  return Math.min(Math.max(0, value), max);
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Central refused (or never answered) a waiting call: the charger hears `Invalid`. */
function onRefused(d: Draft, which: (w: Waiting) => boolean): void {
  const refused = d.model.waiting.filter(which);
  if (refused.length === 0) return;
  d.set({ waiting: d.model.waiting.filter((w) => !which(w)) });
  for (const w of refused) {
    d.reply(
      w.callId,
      w.action === "Authorize"
        ? { idTagInfo: { status: "Invalid" } }
        : { transactionId: transactionIdOf(w.requestId), idTagInfo: { status: "Invalid" } },
    );
  }
}

// --- Central's commands ------------------------------------------------------------------------

function onCommand(d: Draft, command: CommandPayload): void {
  switch (command.type) {
    case "AUTHORIZE":
      return onAuthorized(d, command);
    case "STOP": {
      // Maintenance is the charger's own Unavailable: it needs no Inoperative (which a charger
      // keeps until told Operative, so it could never report Available to end it).
      const newHold = d.model.hold !== command.reason && command.reason !== "maintenance";
      d.set({ hold: command.reason, resuming: false });
      endSession(d, endReasonOfStop(command.reason));
      if (newHold) {
        d.call({ action: "ChangeAvailability", payload: { connectorId: 0, type: "Inoperative" } });
      }
      return;
    }
    case "RESUME": {
      const hold = d.model.hold;
      if (hold === undefined) return;
      if (hold === "maintenance") return d.set({ hold: undefined }); // never made Inoperative
      d.set({ hold: undefined, resuming: true });
      d.call({ action: "ChangeAvailability", payload: { connectorId: 0, type: "Operative" } });
      return;
    }
    case "END_SUPPLY":
      if (command.sessionId !== undefined && command.sessionId !== d.model.session?.sessionId) {
        return;
      }
      return endSession(d, command.reason);
  }
}

function onAuthorized(d: Draft, command: Extract<CommandPayload, { type: "AUTHORIZE" }>): void {
  if (d.model.session?.sessionId === command.sessionId) return; // already taken
  const session: Session = {
    sessionId: command.sessionId,
    driverId: command.driverId,
    priceEurKwh: command.priceEurKwh,
    kw: 0,
  };
  d.set({ session });
  const mine = d.model.waiting.filter((w) => w.idTag === command.driverId);
  d.set({ waiting: d.model.waiting.filter((w) => w.idTag !== command.driverId) });
  for (const w of mine) {
    if (w.action === "Authorize") {
      d.reply(w.callId, { idTagInfo: { status: "Accepted" } });
    } else {
      startSession(d, d.model.session ?? session, w.meterStartWh ?? 0, w.startedAt);
      d.reply(w.callId, {
        transactionId: transactionIdOf(session.sessionId),
        idTagInfo: { status: "Accepted" },
      });
    }
  }
  // A driver who asked over Kafka: the charger is told to start for them.
  if (mine.length === 0) {
    d.call({
      action: "RemoteStartTransaction",
      payload: { connectorId: 1, idTag: command.driverId },
    });
  }
}

/**
 * Central ends the session: a started transaction is stopped on the charger (its
 * `StopTransaction` brings the figures); one never started ends at once with none.
 */
function endSession(d: Draft, reason: EndReason): void {
  const session = d.model.session;
  if (session === undefined) return;
  if (session.transactionId !== undefined) {
    if (session.endReason !== undefined) return; // already asked
    d.set({ session: { ...session, endReason: reason } });
    d.call({
      action: "RemoteStopTransaction",
      payload: { transactionId: session.transactionId },
    });
    return;
  }
  d.telemetry("SUPPLY_END", { sessionId: session.sessionId, kwh: 0, eur: 0, endReason: reason });
  d.set({ session: undefined });
}

function onCallAnswer(d: Draft, action: OutgoingCall["action"], status: string | undefined): void {
  if (status === "Accepted") return;
  d.note("warning", `the charger answered ${action}: ${status ?? "no answer"}`);
  if (action === "ChangeAvailability" && status === "Rejected" && d.model.resuming) {
    // It refuses a resume's Operative: it stays out of service by its own decision.
    d.set({ resuming: false });
    chargerAvailability(d, false);
  }
  const session = d.model.session;
  if (
    action === "RemoteStartTransaction" && session !== undefined &&
    session.transactionId === undefined
  ) {
    // The charger will not start: the session ends without energy, as a plug timeout does.
    d.telemetry("SUPPLY_END", {
      sessionId: session.sessionId,
      kwh: 0,
      eur: 0,
      endReason: "plug_timeout",
    });
    d.set({ session: undefined });
  }
}
