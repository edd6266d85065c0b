/**
 * The {@link Draft} one step is collected on, and the small helpers every room of the core uses.
 *
 * @module
 */
import {
  type CommandPayload,
  type DriverSupply,
  type DriverUpdate,
  MAX_DETAIL_CHARS,
} from "../../shared/messages.ts";
import type { AuditEntry } from "../audit_chain.ts";
import { type CpEvent, type CpStatus, isRefusal, transition } from "../cp_state.ts";
import type {
  Cp,
  Effect,
  Model,
  NoteLevel,
  RequestRecord,
  Session,
  Step,
  WeatherReport,
} from "./model.ts";

/** Applies a CP event the caller already knows is valid; a refusal here is a bug in the core. */
export function apply(status: CpStatus, event: CpEvent): CpStatus {
  const next = transition(status, event);
  if (isRefusal(next)) {
    throw new Error(`core: ${event.type} refused in ${status.state}: ${next.refused}`);
  }
  return next;
}

/** The audit actor of a CP. */
export function cpActor(cpId: string): string {
  return `cp:${cpId}`;
}

/** The audit actor of a driver. */
export function driverActor(driverId: string): string {
  return `driver:${driverId}`;
}

// The last instant formatted: a step gives every input of its batch the same `now`, and a
// backlog's SUPPLY reports each formatted it again (BENCHMARKS.md, 2026-12-07).
let lastMs = Number.NaN;
let lastIso = "";

/** `ms` since the epoch as an ISO timestamp. */
export function iso(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

/** `ts`, or `floor` if `ts` is earlier (an engine clock behind Central's). */
export function notBefore(ts: string, floor: string): string {
  return Date.parse(ts) < Date.parse(floor) ? floor : ts;
}

// Control characters, line separators and bidi overrides: not allowed in a `detail` (messages.ts).
// deno-lint-ignore no-control-regex -- matching control characters is the point
const UNSAFE_TEXT = /[\u0000-\u001f\u007f-\u009f\u2028-\u202e\u2066-\u2069]/g;

/** `text` made fit for a `detail` field: no unsafe characters, 1–{@link MAX_DETAIL_CHARS} long. */
export function safeDetail(text: string): string {
  const clean = text.slice(0, MAX_DETAIL_CHARS).toWellFormed().replace(UNSAFE_TEXT, "?");
  return clean === "" ? "invalid request" : clean;
}

/** `n` rounded to `digits` decimals (for notes only; figures keep full precision). */
export function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/**
 * Collects one step: copies the model's maps on first write (the input model is never
 * changed) and records the effects in order.
 */
export class Draft {
  readonly #base: Model;
  #cps: Map<string, Cp> | undefined;
  #sessions: Map<string, Session> | undefined;
  #weather: Map<string, WeatherReport> | undefined;
  readonly #effects: Effect[] = [];

  /** A draft over `base`, which it never changes. */
  constructor(base: Model) {
    this.#base = base;
  }

  /** The model as the step has made it so far. */
  model(): Model {
    return {
      cps: this.#cps ?? this.#base.cps,
      sessions: this.#sessions ?? this.#base.sessions,
      weather: this.#weather ?? this.#base.weather,
    };
  }

  /** The CP `id`, as the step has made it so far. */
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

  /** The open session `id`, if there is one. */
  openSession(id: string | null): Session | undefined {
    return id === null ? undefined : (this.#sessions ?? this.#base.sessions).get(id);
  }

  /** Sets a CP; `persist` false for changes only the memory needs (heartbeats). */
  setCp(cp: Cp, persist = true): void {
    (this.#cps ??= new Map(this.#base.cps)).set(cp.id, cp);
    if (persist) this.emit({ type: "save_cp", cp });
  }

  /** Sets a session; a closed one leaves the model (it lives on in the store). */
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

  /** Sets the weather office's report of a CP. */
  setWeather(report: WeatherReport): void {
    (this.#weather ??= new Map(this.#base.weather)).set(report.cpId, report);
    this.emit({ type: "save_weather", report });
  }

  /** A `driver.updates` message through the outbox. */
  publish(message: DriverUpdate): void {
    this.emit({ type: "publish", message });
  }

  /** A session's running figures for its driver (not through the outbox). */
  progress(message: DriverSupply): void {
    this.emit({ type: "progress", message });
  }

  /** A `cp.commands` payload for `cpId` through the outbox. */
  command(cpId: string, payload: CommandPayload): void {
    this.emit({ type: "command", cpId, payload });
  }

  /** Records an answered driver request. */
  request(request: RequestRecord): void {
    this.emit({ type: "save_request", request });
  }

  /** An audit record; `flood` for what an attacker can repeat at will (aggregated). */
  audit(entry: AuditEntry, flood = false): void {
    const { originIp, ...rest } = entry;
    // An absent origin is left out, never `undefined`: records are compared and hashed.
    this.emit({ type: "audit", entry: originIp === undefined ? rest : entry, flood });
  }

  /** A note for the operator's log. */
  note(level: NoteLevel, message: string, props: Record<string, unknown>): void {
    this.emit({ type: "note", level, message, props });
  }

  /** Appends an effect. */
  emit(effect: Effect): void {
    this.#effects.push(effect);
  }

  /** The step: the model and every effect, in order. */
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
