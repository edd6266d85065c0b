/**
 * The fleet simulator (ARCHITECTURE §Fleet): one event loop hosting many CPs and drivers over the real
 * protocols (threads.ts runs several of these in one process). Every CP is a real engine (`cp/engine.ts`, loopback TCP to its own monitor) and a
 * real monitor (`cp/monitor.ts`: registered at the Registry with its own credentials, its own
 * framed TCP login to Central and its own ECDH key); every driver is the real driver edge
 * (`driver/driver.ts`) over the pure driver core. What they share is the thread's Kafka: one
 * client, one batching producer, one `cp.commands` and one `driver.updates` consumer that
 * dispatch by key (ARCHITECTURE §Kafka topics), and one Registry client.
 *
 * Drivers charge continually: each picks a random CP of this fleet that is logged in, idle and
 * not picked by another driver, and after each ticket or denial pauses, then picks again.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { createRegistryClient, type RegistryClient } from "../registry/client.ts";
import { credentialsPath } from "../shared/cp_credentials.ts";
import { type EngineHandle, startEngine } from "../cp/engine.ts";
import { type Endpoint, type MonitorHandle, startMonitor } from "../cp/monitor.ts";
import type { DriverEvent, TicketLine } from "../driver/core.ts";
import { type DriverHandle, type DriverTransport, startDriver } from "../driver/driver.ts";
import { ConcurrencyLimiter } from "../shared/limiter.ts";
import { TOPICS } from "../shared/kafka.ts";
import { getLogger } from "../shared/log.ts";
import type { TelemetryPayload } from "../shared/messages.ts";
import { MemoryListener } from "../shared/memory_conn.ts";
import { caFilePath, readPem } from "../shared/tls.ts";
import { engineKafka, type FleetKafka, startFleetKafka } from "./fleet_kafka.ts";
import {
  type CpSpec,
  cpSpecFor,
  defaultLoginConcurrency,
  driverIdFor,
  type EngineLinks,
  type FleetCounts,
  PREFIX_PATTERN,
  RandomSet,
} from "./core.ts";

const log = getLogger(["evcharging", "fleet"]);

/** How often a driver with no free CP to pick looks again, ms. */
const NO_FREE_CP_RETRY_MS = 250;

/** Settings of {@link startFleet}. */
export interface FleetOptions {
  /** Starts every CP and driver id; fleets with different prefixes run side by side. */
  readonly prefix: string;
  /** CPs to host. */
  readonly cps: number;
  /** Drivers to host. */
  readonly drivers: number;
  /**
   * CPs are numbered from `cpOffset + 1` (default 0), drivers from `driverOffset + 1`: the
   * threads of one fleet (threads.ts) share a prefix and host consecutive ranges.
   */
  readonly cpOffset?: number;
  /** See {@link FleetOptions.cpOffset}. */
  readonly driverOffset?: number;
  /** Kafka bootstrap brokers. */
  readonly brokers: readonly string[];
  /** Central's monitor socket. */
  readonly central: Endpoint;
  /** The Registry (https). */
  readonly registryUrl: string;
  /** CA file the Registry's and Central's certificates are checked against. */
  readonly caFile?: string;
  /** The Registry's admin key, to register CPs that have no credentials yet. */
  readonly registryAdminKey?: string;
  /** Folder of the CPs' credential files. */
  readonly credentialsDir: string;
  /** Simulated time per wall time (default 60). */
  readonly speed?: number;
  /** A vehicle is plugged in this long after AUTHORIZE, ms (default 500). */
  readonly plugDelayMs?: number;
  /** Simulated supply time of a session, ms (default 30 min). */
  readonly durationMs?: number;
  /** A driver's pause after a ticket or denial, ms (default 1000). */
  readonly pauseMs?: number;
  /**
   * CPs logging in at once (default `defaultLoginConcurrency(1)`, fleet/core.ts), in the ramp and again after a drop: each new CP costs
   * the Registry an scrypt hash (at registration), a register answered after the client gave up
   * leaves a CP registered without credentials, and a thread's CPs dropped together would
   * otherwise all log in again at once on its one core (monitor.ts `loginTurns`).
   */
  readonly loginConcurrency?: number;
  /**
   * How each CP's monitor reaches its engine: `tcp` (default), a loopback socket as two CP
   * processes use; `memory`, joined in this process (same frames and link proof, no socket), so
   * a thread hosting many CPs does not miss ACK deadlines waiting for its I/O poll.
   */
  readonly engineLinks?: EngineLinks;
  /** Randomness for CP specs and picks (default `Math.random`). */
  readonly random?: () => number;
  /** Told every driver event (tests, the benchmark). */
  readonly onDriverEvent?: (driverId: string, event: DriverEvent) => void;
  /** Told every telemetry payload a CP sends, and when, as it goes to Kafka (the benchmark). */
  readonly onTelemetry?: (cpId: string, payload: TelemetryPayload, at: number) => void;
  /**
   * Told each newest key a CP's engine installs, base64 of its 32 bytes (the benchmark's
   * `--backlog` seals telemetry under them; see `EngineOptions.onKey`).
   */
  readonly onKey?: (cpId: string, keyVersion: number, base64: string) => void;
}

/**
 * Where one request → `AUTHORIZED` went, ms: the three add up to the whole latency, give or
 * take the driver's own turn.
 */
export interface AuthorizePhases {
  /** Handed to the fleet's batcher → the broker acknowledged it (queue and produce). */
  readonly outMs: number;
  /** Acknowledged → Central produced `AUTHORIZED` (its record timestamp): Central's turn. */
  readonly centralMs: number;
  /** Central produced it → this fleet read it. */
  readonly backMs: number;
}

/** A running fleet. */
export interface FleetHandle {
  /** The CPs hosted, in order. */
  readonly cps: readonly CpSpec[];
  /** The counts now. */
  counts(): FleetCounts;
  /** When each CP first logged in (ms since the epoch), in login order. */
  readonly loginTimes: readonly number[];
  /** Request → `AUTHORIZED` latency of every authorized request so far, ms. */
  readonly authorizeLatenciesMs: readonly number[];
  /** Where the time of each authorized request so far went. */
  readonly authorizePhases: readonly AuthorizePhases[];
  /** Denials so far by Central's reason. */
  readonly denialReasons: Readonly<Record<string, number>>;
  /** Every ticket received so far, with its driver. */
  readonly tickets: readonly (TicketLine & { readonly driverId: string })[];
  /** Resolves once every CP has logged in once (or given up). */
  readonly ramped: Promise<void>;
  /** Counts one more error (the process's log sink calls it for every error record). */
  noteError(): void;
  /** Drivers stop asking; waits ≤ `timeoutMs` for every answer and ticket; true if all came. */
  drain(timeoutMs: number): Promise<boolean>;
  /** Drains for at most `drainMs` (default 0), then stops drivers, monitors, engines, Kafka. */
  stop(drainMs?: number): Promise<void>;
  /**
   * Present when the fleet runs on worker threads (threads.ts): ends them at once, as a power
   * cut would. Nothing more is sent, no session is ended, no monitor logs out.
   */
  abandon?(): void;
  /** On worker threads: the worst loop lag and I/O probe of a thread since the last call. */
  takeThreadLag?(): ThreadLag;
}

/** The worst of the fleet's threads by two measures, in ms, each with its thread. */
export interface ThreadLag {
  /** How late a thread's timer ran. */
  readonly loop: { readonly ms: number; readonly thread: number };
  /** A thread's longest loopback round trip over Deno's sockets (fleet/io_probe.ts). */
  readonly io: { readonly ms: number; readonly thread: number };
  /** The same over `node:net`. */
  readonly ioNode: { readonly ms: number; readonly thread: number };
}

/** One CP of the fleet. */
interface HostedCp {
  readonly spec: CpSpec;
  readonly engine: EngineHandle;
  /** The engine's in-process listener, with `engineLinks: "memory"`. */
  readonly memoryLink?: MemoryListener;
  monitor?: MonitorHandle;
  loggedInOnce: boolean;
  /** The driver that picked it and has not had its ticket or denial yet. */
  claimedBy?: string;
}

/** One driver of the fleet. */
interface HostedDriver {
  readonly id: string;
  handle?: DriverHandle;
  /** Send times of requests not answered yet, by request id. */
  readonly sentAt: Map<string, number>;
  timer?: ReturnType<typeof setTimeout>;
  failed: boolean;
}

/** A driver's view of the shared Kafka; `delivered` hears how late each AUTHORIZED came. */
function driverTransport(
  hub: FleetKafka,
  driverId: string,
  authorized: (phases: AuthorizePhases) => void,
): DriverTransport {
  let unroute: (() => void) | undefined;
  // Per request in flight: when it was handed to the batcher, and when the broker had it.
  const sentAt = new Map<string, number>();
  const storedAt = new Map<string, number>();
  return {
    start: (inbox) => {
      unroute = hub.updates.router.route(driverId, {
        message: (m) => {
          const { type, requestId } = (m.value ?? {}) as { type?: unknown; requestId?: unknown };
          const sent = typeof requestId === "string" ? sentAt.get(requestId) : undefined;
          if (typeof requestId === "string" && sent !== undefined) {
            const stored = storedAt.get(requestId);
            sentAt.delete(requestId);
            storedAt.delete(requestId);
            if (type === "AUTHORIZED" && stored !== undefined) {
              const produced = Number(m.timestamp);
              authorized({
                outMs: stored - sent,
                centralMs: produced - stored,
                backMs: Date.now() - produced,
              });
            }
          }
          inbox.update(m);
        },
        invalid: (m) => inbox.invalid(m),
      });
      return Promise.resolve();
    },
    send: async (message) => {
      const { requestId } = message as { requestId?: unknown };
      const tracked = typeof requestId === "string";
      if (tracked) sentAt.set(requestId, Date.now());
      try {
        await hub.requests.send(TOPICS.driverRequests, driverId, message);
      } catch (error) {
        if (tracked) sentAt.delete(requestId); // no answer will come for it
        throw error;
      }
      // Unless the answer was quicker than the broker's acknowledgement.
      if (tracked && sentAt.has(requestId)) storedAt.set(requestId, Date.now());
    },
    stopReading: () => Promise.resolve(unroute?.()),
    close: () => Promise.resolve(),
  };
}

/** What the fleet counts as it runs: the figures of {@link FleetHandle.counts} and its lists. */
interface Tally {
  errors: number;
  lostLogins: number;
  relogins: number;
  monitorLinkDrops: number;
  requests: number;
  tickets: number;
  denials: number;
  readonly loginTimes: number[];
  readonly latencies: number[];
  readonly authorizePhases: AuthorizePhases[];
  readonly denialReasons: Record<string, number>;
  readonly ticketLines: (TicketLine & { driverId: string })[];
}

/** What every step of one fleet shares: its options, its Kafka and Registry, its tally. */
interface Fleet {
  readonly options: FleetOptions;
  readonly random: () => number;
  readonly hub: FleetKafka;
  /** Read once: thousands of monitors check the Registry's and Central's certificates with it. */
  readonly caCert: string;
  readonly registry: RegistryClient;
  readonly tally: Tally;
  /** Every login of this fleet's monitors, the first and the later ones, takes a turn here. */
  readonly loginTurns: ConcurrencyLimiter;
  /** Drivers keep charging; false once the fleet drains or stops. */
  driving: boolean;
}

/**
 * Starts the fleet: Kafka and every engine at once, then the monitors (at most
 * `loginConcurrency` logging in at a time) and the drivers, who start charging as soon as CPs
 * are logged in. Resolves once everything is started; {@link FleetHandle.ramped} tells when
 * every CP has logged in.
 */
export async function startFleet(options: FleetOptions): Promise<FleetHandle> {
  if (!PREFIX_PATTERN.test(options.prefix)) {
    throw new RangeError("a fleet prefix is 1–40 of A–Z, a–z, 0–9, _ or -");
  }
  const random = options.random ?? Math.random;
  const specs = Array.from(
    { length: options.cps },
    (_, i) => cpSpecFor(options.prefix, (options.cpOffset ?? 0) + i + 1, random),
  );
  const hub = await startFleetKafka(options.brokers, options.prefix);
  const caCert = await readPem(caFilePath(options.caFile), "CERTIFICATE");
  const registry: RegistryClient = await createRegistryClient({
    url: options.registryUrl,
    caCert,
    adminKey: options.registryAdminKey,
  });
  const fleet: Fleet = {
    options,
    random,
    hub,
    caCert,
    registry,
    tally: newTally(),
    loginTurns: new ConcurrencyLimiter(loginConcurrency(options)),
    driving: true,
  };
  // A CP with a credentials file was registered in an earlier run; the others once logged in.
  const registeredBefore = new Set(
    specs.filter((s) => existsSync(credentialsPath(options.credentialsDir, s.id))).map((s) => s.id),
  );
  const cps = await startEngines(fleet, specs);
  const free = freeCps(cps);
  const logins = loginRamp(fleet, cps, free.refresh);
  const drivers = await startDrivers(fleet, cps, free);
  logins.launch();
  return fleetHandle(fleet, { specs, cps, drivers, registeredBefore, ramped: logins.ramped });
}

function loginConcurrency(options: FleetOptions): number {
  return Math.max(1, options.loginConcurrency ?? defaultLoginConcurrency(1));
}

function newTally(): Tally {
  return {
    errors: 0,
    lostLogins: 0,
    relogins: 0,
    monitorLinkDrops: 0,
    requests: 0,
    tickets: 0,
    denials: 0,
    loginTimes: [],
    latencies: [],
    authorizePhases: [],
    denialReasons: {},
    ticketLines: [],
  };
}

/** Every CP's engine, started at once on the shared Kafka. */
function startEngines(fleet: Fleet, specs: readonly CpSpec[]): Promise<HostedCp[]> {
  const { options, hub } = fleet;
  const onTelemetry = options.onTelemetry;
  return Promise.all(specs.map(async (spec) => {
    const memoryLink = options.engineLinks === "memory"
      ? new MemoryListener(`${spec.id} engine (in process)`)
      : undefined;
    return {
      spec,
      memoryLink,
      engine: await startEngine({
        brokers: options.brokers,
        kafka: engineKafka(hub),
        port: 0,
        memoryLink,
        cpId: spec.id,
        powerKw: spec.powerKw,
        speed: options.speed ?? 60,
        plugDelayMs: options.plugDelayMs ?? 500,
        durationMs: options.durationMs ?? 30 * 60_000,
        headless: true,
        onTelemetry: onTelemetry && ((cpId, payload) => onTelemetry(cpId, payload, Date.now())),
        onKey: options.onKey,
      }),
      loggedInOnce: false,
    };
  }));
}

/**
 * The CPs a driver may pick, kept up to date on every change so a pick costs nothing however
 * many CPs there are; `refresh` re-reads one CP (its engine's changes do so already).
 */
function freeCps(cps: readonly HostedCp[]) {
  const free = new RandomSet<HostedCp>();
  /**
   * Logged in, idle on the engine's side, and not picked by a driver. The engine must hold this
   * login's key: Central seals AUTHORIZE with it, and an engine still waiting for its KEY frame
   * drops the command, leaving the driver to Central's plug timeout.
   */
  const refresh = (cp: HostedCp) => {
    const engine = cp.engine.view();
    const monitor = cp.monitor?.view();
    const isFree = cp.claimedBy === undefined && monitor?.central.state === "logged_in" &&
      engine.state === "ACTIVATED" && engine.keyVersion !== undefined &&
      engine.keyVersion === monitor.keyVersion;
    if (isFree) free.add(cp);
    else free.delete(cp);
  };
  for (const cp of cps) cp.engine.onChange(() => refresh(cp));
  return { free, refresh };
}

/**
 * The monitors, started `loginConcurrency` at a time: each first login (or giving up) lets the
 * next one start. `ramped` resolves once every CP logged in once or gave up.
 */
function loginRamp(fleet: Fleet, cps: readonly HostedCp[], refresh: (cp: HostedCp) => void) {
  const { tally } = fleet;
  const ramped = Promise.withResolvers<void>();
  let settled = 0; // CPs that logged in once or gave up
  const waiting = [...cps];
  let launching = 0;
  const concurrency = loginConcurrency(fleet.options);
  /** One CP is past its first login or gave up: the next may start. */
  const settle = () => {
    launching--;
    if (++settled === cps.length) ramped.resolve();
    launch();
  };
  /** Starts monitors until `concurrency` are on their way to a first login. */
  const launch = () => {
    while (launching < concurrency && waiting.length > 0 && fleet.driving) {
      const cp = waiting.shift()!;
      launching++;
      startCpMonitor(fleet, cp, refresh, settle).catch((error) => {
        tally.errors++;
        log.error("CP {cpId} could not start its monitor: {error}", { cpId: cp.spec.id, error });
        settle();
      });
    }
  };
  if (cps.length === 0) ramped.resolve();
  return { launch, ramped: ramped.promise };
}

/** One CP's monitor, counting its logins, lost logins and engine links; `settle` at its first. */
async function startCpMonitor(
  fleet: Fleet,
  cp: HostedCp,
  refresh: (cp: HostedCp) => void,
  settle: () => void,
): Promise<void> {
  const { options, tally } = fleet;
  const monitor = await startMonitor({
    cpId: cp.spec.id,
    engine: cp.memoryLink ?? { host: "127.0.0.1", port: cp.engine.port },
    engineSecret: cp.engine.linkSecret, // same process: handed over in memory, no file
    central: options.central,
    registryUrl: options.registryUrl,
    registryAdminKey: options.registryAdminKey,
    registry: fleet.registry,
    caCert: fleet.caCert,
    location: cp.spec.location,
    priceEurKwh: cp.spec.priceEurKwh,
    powerKw: cp.spec.powerKw,
    credentialsDir: options.credentialsDir,
    random: fleet.random,
    loginTurns: fleet.loginTurns,
  });
  cp.monitor = monitor;
  let loggedIn = false;
  let engineLinked = false;
  monitor.onChange(() => {
    refresh(cp);
    const view = monitor.view();
    // Only while driving: stopping the fleet logs every CP out on purpose.
    const nowLoggedIn = view.central.state === "logged_in";
    if (nowLoggedIn !== loggedIn) {
      if (nowLoggedIn && cp.loggedInOnce) tally.relogins++;
      if (!nowLoggedIn && fleet.driving) tally.lostLogins++;
      loggedIn = nowLoggedIn;
    }
    if (engineLinked && !view.engine.connected && fleet.driving) tally.monitorLinkDrops++;
    engineLinked = view.engine.connected;
    if (cp.loggedInOnce || !nowLoggedIn) return;
    cp.loggedInOnce = true;
    tally.loginTimes.push(Date.now());
    settle();
  });
  monitor.done.then((outcome) => {
    if (outcome.kind !== "gave_up") return;
    tally.errors++;
    log.error("CP {cpId} gave up: {message}", { cpId: cp.spec.id, message: outcome.message });
    if (!cp.loggedInOnce) settle();
  });
}

/**
 * Every driver, started at once: each picks a free CP after a random part of a pause, and again
 * a pause after each ticket or denial.
 */
async function startDrivers(
  fleet: Fleet,
  cps: readonly HostedCp[],
  { free, refresh }: ReturnType<typeof freeCps>,
): Promise<HostedDriver[]> {
  const { options, tally, random } = fleet;
  const pauseMs = options.pauseMs ?? 1000;
  const byId = new Map(cps.map((cp) => [cp.spec.id, cp]));
  const drivers: HostedDriver[] = Array.from({ length: options.drivers }, (_, i) => ({
    id: driverIdFor(options.prefix, (options.driverOffset ?? 0) + i + 1),
    sentAt: new Map(),
    failed: false,
  }));
  const release = (driverId: string, cpId: string | undefined) => {
    const cp = cpId === undefined ? undefined : byId.get(cpId);
    if (cp?.claimedBy !== driverId) return;
    cp.claimedBy = undefined;
    refresh(cp);
  };
  const next = (driver: HostedDriver, delayMs: number) => {
    clearTimeout(driver.timer);
    if (!fleet.driving) return;
    driver.timer = setTimeout(() => {
      if (!fleet.driving || driver.handle === undefined) return;
      const cp = free.pick(random);
      if (cp === undefined) return next(driver, NO_FREE_CP_RETRY_MS);
      cp.claimedBy = driver.id;
      free.delete(cp);
      driver.handle.charge(cp.spec.id);
    }, delayMs);
  };
  const onEvent = (driver: HostedDriver, event: DriverEvent) => {
    const done = countDriverEvent(tally, driver, event);
    if (done !== undefined) {
      release(driver.id, done.cpId);
      next(driver, pauseMs);
    }
    options.onDriverEvent?.(driver.id, event);
  };
  await Promise.all(drivers.map(async (driver) => {
    driver.handle = await startDriver({
      brokers: options.brokers,
      driverId: driver.id,
      transport: driverTransport(fleet.hub, driver.id, (p) => tally.authorizePhases.push(p)),
      onEvent: (event) => onEvent(driver, event),
    });
    driver.handle.done.catch((error) => {
      tally.errors++;
      driver.failed = true;
      log.error("Driver {driverId} failed: {error}", { driverId: driver.id, error });
    });
    next(driver, random() * pauseMs); // spread the first requests
  }));
  return drivers;
}

/**
 * Counts one driver event; for a denial or a ticket (the driver is done with its CP) returns
 * that CP's id, so the driver lets it go and picks again.
 */
function countDriverEvent(
  tally: Tally,
  driver: HostedDriver,
  event: DriverEvent,
): { cpId: string | undefined } | undefined {
  switch (event.kind) {
    case "requested":
      tally.requests++;
      driver.sentAt.set(event.requestId, event.at);
      return undefined;
    case "authorized": {
      const sent = driver.sentAt.get(event.requestId);
      driver.sentAt.delete(event.requestId);
      if (sent !== undefined) tally.latencies.push(event.at - sent);
      return undefined;
    }
    case "denied":
      tally.denials++;
      tally.denialReasons[event.denial.reason] = 1 +
        (tally.denialReasons[event.denial.reason] ?? 0);
      driver.sentAt.delete(event.denial.requestId);
      return { cpId: event.denial.cpId };
    case "ticket":
      tally.tickets++;
      tally.ticketLines.push({ ...event.ticket, driverId: driver.id });
      return { cpId: event.ticket.cpId };
    case "refused":
      tally.errors++;
      return undefined;
    case "ignored":
      if (event.reason === "invalid") tally.errors++;
      return undefined;
  }
  return undefined; // another kind tells the view only
}

/** The running fleet's handle: its counts, its lists, drain and stop. */
function fleetHandle(
  fleet: Fleet,
  parts: {
    specs: readonly CpSpec[];
    cps: readonly HostedCp[];
    drivers: readonly HostedDriver[];
    registeredBefore: ReadonlySet<string>;
    ramped: Promise<void>;
  },
): FleetHandle {
  const { tally, hub } = fleet;
  const { cps, drivers, registeredBefore } = parts;
  let stopping: Promise<void> | undefined;
  const busy = (driver: HostedDriver) => {
    const kind = driver.handle?.state().phase.kind;
    return kind === "requested" || kind === "authorized" || kind === "supplying";
  };
  const drain = async (timeoutMs: number): Promise<boolean> => {
    fleet.driving = false;
    for (const driver of drivers) clearTimeout(driver.timer);
    const deadline = Date.now() + timeoutMs;
    while (drivers.some((d) => !d.failed && busy(d))) {
      if (Date.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
    return true;
  };
  return {
    cps: parts.specs,
    loginTimes: tally.loginTimes,
    authorizeLatenciesMs: tally.latencies,
    authorizePhases: tally.authorizePhases,
    denialReasons: tally.denialReasons,
    tickets: tally.ticketLines,
    ramped: parts.ramped,
    noteError: () => void tally.errors++,
    counts: () => {
      let loggedIn = 0;
      let charging = 0;
      for (const cp of cps) {
        if (cp.monitor?.view().central.state === "logged_in") loggedIn++;
        if (cp.engine.view().state === "SUPPLYING") charging++;
      }
      return {
        cps: cps.length,
        drivers: drivers.length,
        registered: cps.filter((cp) => cp.loggedInOnce || registeredBefore.has(cp.spec.id))
          .length,
        loggedIn,
        charging,
        requests: tally.requests,
        tickets: tally.tickets,
        denials: tally.denials,
        errors: tally.errors,
        sent: hub.requests.sent + hub.telemetry.sent,
        received: hub.commands.router.delivered + hub.updates.router.delivered,
        lostLogins: tally.lostLogins,
        relogins: tally.relogins,
        monitorLinkDrops: tally.monitorLinkDrops,
      };
    },
    drain,
    stop: (drainMs = 0) =>
      stopping ??= (async () => {
        if (drainMs > 0) await drain(drainMs);
        fleet.driving = false;
        for (const driver of drivers) clearTimeout(driver.timer);
        await Promise.all(drivers.map((d) => d.handle?.stop().catch(() => {})));
        await Promise.all(cps.map((cp) => cp.monitor?.stop()));
        await Promise.all(cps.map((cp) => cp.engine.stop()));
        fleet.registry.close();
        await hub.stop();
      })(),
  };
}
