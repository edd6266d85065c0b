/**
 * The CPs and drivers of the dashboard load harness (central/dashboard_load_main.ts), with no
 * socket or clock: what N CPs and their drivers would make Central's core do, as core inputs at
 * their real rates, so that Central's real runtime, feed and HTTP app can serve a dashboard of
 * 5,000 CPs on a machine that cannot run 5,000 monitors and engines (BENCHMARKS.md).
 *
 * It plays the fleet of `deno task bench` (fleet/fleet.ts) at Central's edges:
 * - monitors: each CP logs in at the ramp's rate, then gives two signs of life a second (its
 *   `HEARTBEAT` and its repeated `HEALTH OK`, which Central's monitor server gathers into one
 *   `heartbeats` input every 200 ms); a fault is a `HEALTH KO` for a while, then `OK`;
 * - engines: the telemetry of cp/engine_core.ts under the bench's settings (plugged 500 ms
 *   after `AUTHORIZE`, a `SUPPLY` a second from the plug, `SUPPLY_END unplugged` after the
 *   simulated duration, a `STATUS` at each change of state), answering Central's commands;
 * - drivers: each picks a random free CP, asks for a charge, and after its ticket or denial
 *   pauses, then picks again.
 *
 * What it leaves out is the cost of the real ones: TLS, Kafka, envelopes, and their processes.
 *
 * @module
 */
import {
  build,
  type CommandPayload,
  type DriverUpdate,
  type EndReason,
  endReasonForStop,
  type TelemetryPayload,
  telemetryPayloadSchema,
} from "../shared/messages.ts";
import type { Effect, Input, RegistryCp } from "./core.ts";

/** How the simulated CPs and drivers behave. */
export interface LoadSettings {
  /** CPs. */
  readonly cps: number;
  /** Drivers (the bench's default: one a CP). */
  readonly drivers: number;
  /** Simulated time per wall time (the bench's 60). */
  readonly speed: number;
  /** Simulated supply time of a session (the bench's 30 min). */
  readonly durationMs: number;
  /** A vehicle is plugged in this long after `AUTHORIZE` (the fleet's 500 ms). */
  readonly plugDelayMs: number;
  /** A driver's pause after its ticket or denial (the fleet's 1 s). */
  readonly pauseMs: number;
  /** Logins a second while ramping. */
  readonly rampPerSecond: number;
  /** Engine faults a CP has per hour (each a `HEALTH KO` for {@link faultMs}). */
  readonly faultsPerCpHour: number;
  /** How long a fault lasts. */
  readonly faultMs: number;
  /** Starts every id. */
  readonly prefix: string;
}

/** The bench's fleet, as `deno task bench --cps 1000` runs it. */
export const BENCH_LIKE: LoadSettings = {
  cps: 1000,
  drivers: 1000,
  speed: 60,
  durationMs: 30 * 60_000,
  plugDelayMs: 500,
  pauseMs: 1000,
  rampPerSecond: 500,
  faultsPerCpHour: 0,
  faultMs: 2000,
  prefix: "LOAD",
};

/** Wall time between two `SUPPLY` reports of an engine. */
const REPORT_MS = 1000;

/** A simulated CP's city, price and power, as the fleet spreads them (fleet/core.ts). */
export function loadCpSpec(random: () => number): RegistryCp {
  const cities = ["Alicante", "Madrid", "Barcelona", "Valencia", "Sevilla", "Bilbao"];
  const powers = [7.4, 11, 22, 50];
  return {
    location: cities[Math.floor(random() * cities.length)],
    priceEurKwh: Math.round(25 + random() * 35) / 100,
    powerKw: powers[Math.floor(random() * powers.length)],
  };
}

interface EngineSession {
  readonly id: string;
  readonly priceEurKwh: number;
  readonly powerKw: number;
  readonly authorizedAt: number;
  pluggedAt?: number;
  nextReportAt?: number;
}

interface SimCp {
  readonly id: string;
  readonly registry: RegistryCp;
  connection: number | null;
  stopped: boolean;
  session?: EngineSession;
  faultUntil?: number;
  pickedBy?: string;
}

interface SimDriver {
  readonly id: string;
  /** When it picks a CP next; undefined while it waits for an answer. */
  nextPickAt?: number;
  requests: number;
}

/** What is due at one moment: inputs in the order an edge would dispatch them. */
export interface LoadStep {
  /** CPs whose monitors log in now (the edge gives each its key version and wrapped key). */
  readonly logins: readonly { readonly cpId: string; readonly registry: RegistryCp }[];
  /** Monitors' `HEALTH` changes and drivers' requests, one step each. */
  readonly inputs: readonly Input[];
  /** Engine telemetry, dispatched as one Kafka batch. */
  readonly telemetry: readonly Input[];
}

/** N simulated CPs and drivers; every method takes the time it runs at. */
export class LoadFleet {
  readonly #settings: LoadSettings;
  readonly #random: () => number;
  readonly #cps: SimCp[] = [];
  readonly #byId = new Map<string, SimCp>();
  readonly #drivers: SimDriver[] = [];
  readonly #driverById = new Map<string, SimDriver>();
  /** CPs a driver may pick (logged in, idle, healthy, not held, not picked), in no order. */
  readonly #free: SimCp[] = [];
  readonly #freeAt = new Map<SimCp, number>();
  readonly #startMs: number;
  readonly #runId: string;
  #loggedIn = 0;
  #connections = 0;
  #telemetry: Input[] = [];
  #heard: Effect[] = [];

  /** The fleet at `startMs`, nothing logged in yet; `random` draws specs, picks and faults. */
  constructor(settings: LoadSettings, random: () => number, startMs: number) {
    this.#settings = settings;
    this.#random = random;
    this.#startMs = startMs;
    this.#runId = startMs.toString(36);
    for (let i = 1; i <= settings.cps; i++) {
      const cp: SimCp = {
        id: `${settings.prefix}-CP-${String(i).padStart(5, "0")}`,
        registry: loadCpSpec(random),
        connection: null,
        stopped: false,
      };
      this.#cps.push(cp);
      this.#byId.set(cp.id, cp);
    }
    for (let i = 1; i <= settings.drivers; i++) {
      const driver: SimDriver = {
        id: `${settings.prefix}-DRV-${String(i).padStart(5, "0")}`,
        nextPickAt: startMs + random() * this.#cycleMs(),
        requests: 0,
      };
      this.#drivers.push(driver);
      this.#driverById.set(driver.id, driver);
    }
  }

  /**
   * When every driver has made its first pick. They are spread over a whole session's cycle
   * (plug, supply, pause), as the real fleet's are by its slow ramp, so that sessions start and
   * end evenly rather than all in the same second.
   */
  get phasedAt(): number {
    return this.#startMs + this.#cycleMs();
  }

  #cycleMs(): number {
    const s = this.#settings;
    return s.plugDelayMs + s.durationMs / s.speed + s.pauseMs;
  }

  /** CPs logged in so far. */
  get loggedIn(): number {
    return this.#loggedIn;
  }

  /** CPs with an engine session. */
  get charging(): number {
    return this.#cps.filter((cp) => cp.session !== undefined).length;
  }

  /** A login was committed at Central: the CP's engine announces itself. */
  loggedInAs(cpId: string, connection: number, now: number): void {
    const cp = this.#byId.get(cpId);
    if (cp === undefined) return;
    if (cp.connection === null) this.#loggedIn++;
    cp.connection = connection;
    this.#refresh(cp);
    this.#status(cp, now);
  }

  /** The next connection number (Central's monitor server numbers them). */
  nextConnection(): number {
    return ++this.#connections;
  }

  /**
   * Keeps what Central published in a committed step (commands, answers to drivers) for the
   * next {@link turn}: as through Kafka, it reaches the engines and drivers after the step.
   */
  hear(effects: readonly Effect[]): void {
    for (const effect of effects) {
      if (effect.type === "command" || effect.type === "publish") this.#heard.push(effect);
    }
  }

  /**
   * One turn at `now`, as the harness runs it every {@link ADVANCE_MS}: what Central published
   * reaches the engines and drivers, then what is due comes out in the groups the real edges
   * dispatch: each login alone (its key version from `keyVersion`; the CP counts as logged in
   * from here), each `HEALTH` change and driver request alone, the telemetry as one batch per
   * partition of `cp.telemetry`.
   */
  turn(now: number, keyVersion: (cpId: string) => number): Input[][] {
    const heard = this.#heard;
    this.#heard = [];
    for (const effect of heard) {
      if (effect.type === "command") this.command(effect.cpId, effect.payload, now);
      else if (effect.type === "publish") this.driverUpdate(effect.message, now);
    }
    const step = this.advance(now);
    const groups: Input[][] = step.logins.map(({ cpId, registry }) => {
      const connection = this.nextConnection();
      const login: Input = {
        type: "login",
        cpId,
        connection,
        registry,
        keyVersion: keyVersion(cpId),
        wrappedKey: btoa(`${this.#runId}-${connection}`),
        originIp: "127.0.0.1",
      };
      this.loggedInAs(cpId, connection, now);
      return [login];
    });
    groups.push(...step.inputs.map((input) => [input]));
    // Kafka hands Central each of cp.telemetry's partitions' records as a batch of their own.
    const partitions: Input[][] = Array.from({ length: TELEMETRY_PARTITIONS }, () => []);
    for (const input of step.telemetry) {
      if (input.type === "telemetry") partitions[partitionOf(input.cpId)].push(input);
    }
    groups.push(...partitions.filter((p) => p.length > 0));
    return groups;
  }

  /** Everything due at `now`: logins of the ramp, faults, engine timers, drivers' picks. */
  advance(now: number): LoadStep {
    const s = this.#settings;
    const due = Math.min(s.cps, Math.floor(((now - this.#startMs) / 1000) * s.rampPerSecond));
    const logins = this.#cps.slice(this.#loggedIn, due).filter((cp) => cp.connection === null)
      .map((cp) => ({ cpId: cp.id, registry: cp.registry }));
    const inputs: Input[] = [];
    for (const cp of this.#cps) {
      if (cp.connection === null) continue;
      this.#fault(cp, now, inputs);
      this.#engine(cp, now);
    }
    for (const driver of this.#drivers) {
      if (driver.nextPickAt === undefined || driver.nextPickAt > now) continue;
      const request = this.#pick(driver);
      if (request !== undefined) inputs.push(request);
      else driver.nextPickAt = now + s.pauseMs;
    }
    const telemetry = this.#telemetry;
    this.#telemetry = [];
    return { logins, inputs, telemetry };
  }

  /**
   * The monitors' signs of life since the last call, one `heartbeats` input: every logged-in
   * CP twice a second (`HEARTBEAT` and a repeated `HEALTH OK`), `share` of them per call
   * (0.2: a call every 200 ms), the CPs taken in turn by `slot`.
   */
  heartbeats(now: number, slot: number, share: number): Input | undefined {
    const every = Math.max(1, Math.round(1 / share));
    const beats: { cpId: string; connection: number; seenMs: number }[] = [];
    for (let i = slot % every; i < this.#cps.length; i += every) {
      const { id, connection } = this.#cps[i];
      if (connection === null) continue;
      beats.push({ cpId: id, connection, seenMs: now }, { cpId: id, connection, seenMs: now });
    }
    return beats.length === 0 ? undefined : { type: "heartbeats", beats };
  }

  /** A command Central published for `cpId`'s engine. */
  command(cpId: string, command: CommandPayload, now: number): void {
    const cp = this.#byId.get(cpId);
    if (cp === undefined || cp.connection === null) return;
    this.#engine(cp, now); // timed events first, as the engine core does
    switch (command.type) {
      case "AUTHORIZE": {
        const refusal: EndReason | undefined = cp.stopped
          ? "stopped_admin"
          : cp.faultUntil !== undefined
          ? "fault"
          : cp.session !== undefined
          ? "plug_timeout"
          : undefined;
        if (refusal !== undefined) {
          this.#send(cp, "SUPPLY_END", {
            sessionId: command.sessionId,
            kwh: 0,
            eur: 0,
            endReason: refusal,
          }, now);
          return;
        }
        cp.session = {
          id: command.sessionId,
          priceEurKwh: command.priceEurKwh,
          powerKw: command.powerKw ?? cp.registry.powerKw,
          authorizedAt: now,
        };
        this.#refresh(cp);
        this.#status(cp, now);
        return;
      }
      case "END_SUPPLY": {
        if (cp.session === undefined) return;
        if (command.sessionId !== undefined && command.sessionId !== cp.session.id) return;
        const reason = command.reason === "plug_timeout" && cp.session.pluggedAt !== undefined
          ? "unplugged"
          : command.reason;
        this.#end(cp, reason, now);
        this.#status(cp, now);
        return;
      }
      case "STOP":
        if (cp.session !== undefined) this.#end(cp, endReasonForStop(command.reason), now);
        cp.stopped = true;
        this.#refresh(cp);
        this.#status(cp, now, command.reason);
        return;
      case "RESUME":
        if (!cp.stopped) return;
        cp.stopped = false;
        this.#refresh(cp);
        this.#status(cp, now);
        return;
    }
  }

  /** An update Central published for a driver: a ticket or a denial frees it to pick again. */
  driverUpdate(update: DriverUpdate, now: number): void {
    if (update.type !== "TICKET" && update.type !== "DENIED") return;
    const driver = this.#driverById.get(update.driverId);
    if (driver === undefined) return;
    const cp = update.cpId === undefined ? undefined : this.#byId.get(update.cpId);
    if (cp?.pickedBy === driver.id) {
      cp.pickedBy = undefined;
      this.#refresh(cp);
    }
    driver.nextPickAt = now + this.#settings.pauseMs;
  }

  /** Keeps {@link #free} up to date after a change of `cp`. */
  #refresh(cp: SimCp): void {
    const free = cp.connection !== null && cp.session === undefined &&
      cp.pickedBy === undefined && !cp.stopped && cp.faultUntil === undefined;
    const at = this.#freeAt.get(cp);
    if (free && at === undefined) {
      this.#freeAt.set(cp, this.#free.length);
      this.#free.push(cp);
    } else if (!free && at !== undefined) {
      const last = this.#free.pop()!;
      if (last !== cp) {
        this.#free[at] = last;
        this.#freeAt.set(last, at);
      }
      this.#freeAt.delete(cp);
    }
  }

  #pick(driver: SimDriver): Input | undefined {
    if (this.#free.length === 0) return undefined;
    const cp = this.#free[Math.floor(this.#random() * this.#free.length)];
    cp.pickedBy = driver.id;
    this.#refresh(cp);
    driver.nextPickAt = undefined;
    driver.requests++;
    return {
      type: "charge_request",
      requestId: `${driver.id}-${this.#runId}-${driver.requests}`,
      driverId: driver.id,
      cpId: cp.id,
      sessionId: `S-${this.#runId}-${driver.id}-${driver.requests}`,
      duplicate: false,
    };
  }

  #fault(cp: SimCp, now: number, inputs: Input[]): void {
    const connection = cp.connection!;
    if (cp.faultUntil !== undefined) {
      if (cp.faultUntil > now) return;
      cp.faultUntil = undefined;
      this.#refresh(cp);
      inputs.push({ type: "health", cpId: cp.id, connection, engine: "OK" });
      return;
    }
    // A fault per CP per hour on average: the chance of one in this call's share of a second.
    const chance = this.#settings.faultsPerCpHour / 3_600_000 * ADVANCE_MS;
    if (chance <= 0 || this.#random() >= chance) return;
    cp.faultUntil = now + this.#settings.faultMs;
    this.#refresh(cp);
    inputs.push({ type: "health", cpId: cp.id, connection, engine: "KO" });
  }

  /** The engine's timed events due at `now`: the plug, the latest `SUPPLY`, the end. */
  #engine(cp: SimCp, now: number): void {
    const session = cp.session;
    if (session === undefined) return;
    const s = this.#settings;
    if (session.pluggedAt === undefined) {
      const plugAt = session.authorizedAt + s.plugDelayMs;
      if (plugAt > now) return;
      session.pluggedAt = plugAt;
      session.nextReportAt = plugAt + REPORT_MS;
      this.#send(cp, "PLUGGED", { sessionId: session.id }, now);
    }
    const endAt = session.pluggedAt + s.durationMs / s.speed;
    if (endAt <= now) {
      this.#end(cp, "unplugged", endAt);
      this.#status(cp, now);
      return;
    }
    if (session.nextReportAt! > now) return;
    const missed = Math.floor((now - session.nextReportAt!) / REPORT_MS);
    const reportAt = session.nextReportAt! + missed * REPORT_MS;
    session.nextReportAt = reportAt + REPORT_MS;
    this.#send(cp, "SUPPLY", { sessionId: session.id, ...this.#figures(session, reportAt) }, now);
  }

  #figures(session: EngineSession, at: number): { kw: number; kwh: number; eur: number } {
    const s = this.#settings;
    const from = session.pluggedAt ?? at;
    const until = Math.min(at, from + s.durationMs / s.speed);
    const simulatedMs = Math.max(0, until - from) * s.speed;
    const kwh = (session.powerKw * simulatedMs) / 3_600_000;
    return { kw: session.powerKw, kwh, eur: kwh * session.priceEurKwh };
  }

  #end(cp: SimCp, reason: EndReason, at: number): void {
    const session = cp.session!;
    const { kwh, eur } = reason === "plug_timeout"
      ? { kwh: 0, eur: 0 }
      : this.#figures(session, at);
    this.#send(cp, "SUPPLY_END", { sessionId: session.id, kwh, eur, endReason: reason }, at);
    cp.session = undefined;
    this.#refresh(cp);
  }

  #status(cp: SimCp, now: number, stopReason?: string): void {
    const state = cp.stopped ? "STOPPED" : cp.session ? "SUPPLYING" : "ACTIVATED";
    this.#send(cp, "STATUS", {
      engine: cp.faultUntil === undefined ? "OK" : "KO",
      state,
      ...(cp.session ? { sessionId: cp.session.id } : {}),
      ...(stopReason ? { stopReason } : {}),
    }, now);
  }

  #send(cp: SimCp, type: TelemetryPayload["type"], fields: object, at: number): void {
    const payload = build(telemetryPayloadSchema, type, {
      ...fields,
      ts: new Date(at).toISOString(),
    } as never) as TelemetryPayload;
    this.#telemetry.push({ type: "telemetry", cpId: cp.id, payload });
  }
}

/** The partitions of `cp.telemetry` (shared/kafka.ts creates every topic with 3). */
const TELEMETRY_PARTITIONS = 3;

/** A CP's partition: any stable spread of ids will do, as the key's hash does for Kafka. */
function partitionOf(cpId: string): number {
  let hash = 0;
  for (let i = 0; i < cpId.length; i++) hash = (hash * 31 + cpId.charCodeAt(i)) | 0;
  return Math.abs(hash) % TELEMETRY_PARTITIONS;
}

/** How often the harness calls {@link LoadFleet.advance}, ms (a Kafka fetch's wait, at most). */
export const ADVANCE_MS = 100;
