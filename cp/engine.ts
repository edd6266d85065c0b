/**
 * The CP engine process (ARCHITECTURE §Processes and ports, docs/charging_loop.md §2–§4): the thin edges around the pure
 * simulation in `engine_core.ts`.
 *
 * - A loopback framed-TCP server for its monitor (one at a time, `engine_monitor_port.ts`; in
 *   memory in the fleet), which must first prove this start's link secret (`engine_link.ts`):
 *   `HEALTH_CHECK` → `HEALTH`, `KEY` installs a CP key (and which CP it is), `KEY_REVOKED` forgets.
 * - A Kafka consumer of `cp.commands` (group `engine-<cpId>`) that keeps its own key, opens each
 *   envelope with its keyring and drops what does not open or was taken before. A process hosting
 *   many engines passes a shared link (`engine_kafka.ts`): one consumer dispatching by key. With a
 *   state folder, the replay marks survive a restart (`replay_marks.ts`).
 * - A Kafka producer of `cp.telemetry`: every payload the core emits is sealed with the newest
 *   key and sent in order. Without a key, payloads wait; with Kafka or Central down they wait in
 *   the producer, so a session finishes and its telemetry reaches Central later.
 * - One timer, set to the core's next wake-up time.
 *
 * {@link startEngine} runs it all and returns a handle (for tests, the fleet and `engine_main.ts`,
 * whose `--help` lists the flags); the screen is `engine_screen.ts`.
 *
 * @module
 */

import { join } from "node:path";
import { importCpKey } from "../shared/cp_key.ts";
import {
  CpKeyring,
  DEFAULT_KEY_GRACE_MS,
  EnvelopeError,
  openEnvelope,
  parseEnvelope,
  ReplayGuard,
  sealEnvelope,
  SeqCounter,
} from "../shared/envelope.ts";
import { TOPICS } from "../shared/kafka.ts";
import { getLogger, literal } from "../shared/log.ts";
import type { MemoryListener } from "../shared/memory_conn.ts";
import {
  build,
  commandPayloadSchema,
  type EngineHealth,
  type EngineState,
  engineToMonitorSchema,
  type MonitorToEngine,
  parseMessage,
  type StopReason,
  type TelemetryPayload,
} from "../shared/messages.ts";
import { DEFAULT_ENGINE_PORT, DEFAULT_POWER_KW } from "./config.ts";
import { type CommandRecord, type EngineKafka, ownEngineKafka } from "./engine_kafka.ts";
import { newLinkSecret, readLinkSecret, writeLinkSecret } from "./engine_link.ts";
import { MonitorPort } from "./engine_monitor_port.ts";
import { ReplayMarksFile } from "./replay_marks.ts";
import {
  type EngineInput,
  type EngineModel,
  type EngineSettings,
  figuresAt,
  healthOf,
  initialModel,
  nextWakeAt,
  step,
} from "./engine_core.ts";
import { sleep, within } from "../shared/sleep.ts";

const log = getLogger(["evcharging", "cp", "engine"]);

/** How long a command under a key version not yet received waits for its `KEY` frame. */
export const KEY_WAIT_MS = 3000;
/** How long {@link EngineHandle.stop} waits for queued telemetry to reach Kafka. */
export const FLUSH_TIMEOUT_MS = 5000;
/** Pause between attempts to reach Kafka at start, ms. */
const KAFKA_RETRY_MS = 5000;

/** Settings of {@link startEngine}; every field but `brokers` has the CLI's default. */
export interface EngineOptions {
  /** Kafka bootstrap brokers, `host:port` (unused when `kafka` is given). */
  readonly brokers: readonly string[];
  /** The link to Kafka; default: the engine's own ({@link ownEngineKafka}). */
  readonly kafka?: EngineKafka;
  /** Loopback port for the monitor; 0 picks a free one. Default {@link DEFAULT_ENGINE_PORT}. */
  readonly port?: number;
  /** Take the monitor from this in-process listener, not a port (the fleet's `--engine-links`). */
  readonly memoryLink?: MemoryListener;
  /** The CP id; when absent the engine learns it from the monitor's first `KEY`. */
  readonly cpId?: string;
  /** The secret its monitor must prove (32 bytes); default: a fresh one for this start. */
  readonly linkSecret?: Uint8Array;
  /**
   * Once listening, write the link secret here (0600, folder 0700) for a monitor process; a
   * function gets the port listened on.
   */
  readonly linkSecretFile?: string | ((port: number) => string);
  /**
   * Folder (created 0700) of `<cpId>.replay.json`, the replay marks of the commands taken, so a
   * command replayed after a restart is still refused. Default: marks kept in memory only.
   */
  readonly stateDir?: string;
  /**
   * How long a retired or revoked key version still opens commands after it stopped being live
   * (default {@link DEFAULT_KEY_GRACE_MS}, as at Central); then it is forgotten with its replay
   * marks, and a command under it is dropped as `expired_kv`.
   */
  readonly keyGraceMs?: number;
  /** Power when `AUTHORIZE` names none, kW. Default 22. */
  readonly powerKw?: number;
  /** Simulated time per wall time. Default 1. */
  readonly speed?: number;
  /** Wait for the plug at most this long, ms. Default 60 s. */
  readonly plugTimeoutMs?: number;
  /** Headless only: plug in this long after `AUTHORIZE`, ms. Default 2 s. */
  readonly plugDelayMs?: number;
  /** End the supply at this energy, kWh. */
  readonly targetKwh?: number;
  /** Unplug after this much simulated supply time, ms. */
  readonly durationMs?: number;
  /** Plug in automatically (no one at the keyboard). */
  readonly headless?: boolean;
  /** Told each telemetry payload as it goes to Kafka (the fleet benchmark times them). */
  readonly onTelemetry?: (cpId: string, payload: TelemetryPayload) => void;
  /**
   * Told each newest CP key the engine installs, as its monitor handed it over (base64 of the 32
   * raw bytes). Only for the fleet benchmark, which seals a telemetry backlog under the CPs' real
   * keys (`deno task bench --backlog`); a CP process never sets it.
   */
  readonly onKey?: (cpId: string, keyVersion: number, base64: string) => void;
}

/** What the engine shows on its screen; a snapshot, safe to keep. */
export interface EngineView {
  /** The CP id, once known. */
  readonly cpId?: string;
  /** The loopback port the monitor connects to. */
  readonly port: number;
  /** ACTIVATED, SUPPLYING or STOPPED. */
  readonly state: EngineState;
  /** OK, or KO while the fault toggle is on. */
  readonly health: EngineHealth;
  /** Why Central stopped the CP. */
  readonly stopReason?: StopReason;
  /** The session held, with its live figures. */
  readonly session?: {
    readonly sessionId: string;
    readonly driverId: string;
    readonly plugged: boolean;
    readonly kw: number;
    readonly kwh: number;
    readonly eur: number;
    readonly priceEurKwh: number;
  };
  /** The newest key version held; absent until the monitor hands one over. */
  readonly keyVersion?: number;
  /** Whether a monitor is connected. */
  readonly monitorConnected: boolean;
  /** Whether the Kafka producer is up. */
  readonly kafkaReady: boolean;
  /** Telemetry payloads not yet accepted by Kafka (waiting for a key or for the broker). */
  readonly pendingTelemetry: number;
  /** The last command taken from Central, e.g. `STOP weather`. */
  readonly lastCommand?: string;
  /** The last thing that happened, in words. */
  readonly lastEvent?: string;
}

/** A running engine. */
export interface EngineHandle {
  /** The loopback port the monitor connects to (the real one when started with port 0). */
  readonly port: number;
  /** The secret its monitor proves at each opening (hand it to an in-process monitor). */
  readonly linkSecret: Uint8Array;
  /** The CP id, once known. */
  readonly cpId: string | undefined;
  /**
   * Resolves once the `cp.commands` consumer has joined its group and fetched once, i.e. a
   * command produced from now on will be seen. Needs the CP id (flag or first `KEY`).
   */
  readonly commandsReady: Promise<void>;
  /** A snapshot of the engine for a screen or a test. */
  view(): EngineView;
  /** Calls `listener` after every change; returns the function that removes it. */
  onChange(listener: () => void): () => void;
  /** The driver plugs the vehicle in (key `p`). */
  plug(): void;
  /** The driver unplugs the vehicle (key `u`). */
  unplug(): void;
  /** Flips the fault toggle (key `f`): KO ↔ OK. */
  toggleFault(): void;
  /**
   * Ends any session (reported as `fault`), sends what is queued (up to {@link FLUSH_TIMEOUT_MS}),
   * closes the monitor socket and leaves Kafka. Idempotent.
   */
  stop(): Promise<void>;
}

/**
 * Starts an engine: listens for its monitor at once (and writes the link secret file, if asked),
 * reaches Kafka in the background.
 * @throws {Deno.errors.AddrInUse} if the port is taken.
 */
export async function startEngine(options: EngineOptions): Promise<EngineHandle> {
  const engine = new Engine(options);
  await engine.start(options);
  return engine;
}

class Engine implements EngineHandle {
  readonly #settings: EngineSettings;
  readonly #onTelemetry: EngineOptions["onTelemetry"];
  readonly #onKey: EngineOptions["onKey"];
  readonly #kafka: EngineKafka;
  readonly #linkSecret: Uint8Array;
  #linkSecretFile: string | undefined;
  #monitorPort: MonitorPort | undefined;
  readonly #stateDir: string | undefined;
  #marks: ReplayMarksFile | undefined;
  #cpId: string | undefined;
  #model: EngineModel = initialModel();
  #wakeTimer: ReturnType<typeof setTimeout> | undefined;
  #stopping = false;
  readonly #abort = new AbortController(); // cuts every wait short at stop
  #stopped: Promise<void> | undefined;
  readonly #listeners = new Set<() => void>();

  // Keys and the envelope bookkeeping around them.
  readonly #keys = new CpKeyring();
  #newestKv: number | undefined;
  readonly #keyWaiters = new Set<() => void>();
  readonly #seq = new SeqCounter();
  readonly #guard = new ReplayGuard();
  readonly #keyGraceMs: number;
  #keySweep: ReturnType<typeof setInterval> | undefined;

  // Telemetry waiting to be sealed and sent, oldest first.
  readonly #outbox: TelemetryPayload[] = [];
  #pumping: Promise<void> | undefined;

  #kafkaUp = false;
  #subscribed = false;
  #consumerStarting = false;
  readonly #commandsReady = Promise.withResolvers<void>();
  #lastCommand: string | undefined;
  #lastEvent: string | undefined;

  constructor(options: EngineOptions) {
    this.#cpId = options.cpId;
    this.#onTelemetry = options.onTelemetry;
    this.#onKey = options.onKey;
    this.#settings = {
      powerKw: options.powerKw ?? DEFAULT_POWER_KW,
      speed: options.speed ?? 1,
      plugTimeoutMs: options.plugTimeoutMs ?? 60_000,
      autoPlugDelayMs: options.headless ? options.plugDelayMs ?? 2000 : undefined,
      targetKwh: options.targetKwh,
      durationMs: options.durationMs,
      reportIntervalMs: 1000,
    };
    this.#kafka = options.kafka ?? ownEngineKafka(options.brokers, options.cpId);
    this.#linkSecret = options.linkSecret ?? newLinkSecret();
    this.#stateDir = options.stateDir;
    this.#keyGraceMs = options.keyGraceMs ?? DEFAULT_KEY_GRACE_MS;
    if (!Number.isFinite(this.#keyGraceMs) || this.#keyGraceMs < 0) {
      throw new RangeError(`keyGraceMs must be a non-negative number, got ${this.#keyGraceMs}`);
    }
  }

  get port(): number {
    return this.#monitorPort!.port; // opened by start(), before the handle is given out
  }

  get linkSecret(): Uint8Array {
    return this.#linkSecret;
  }

  get cpId(): string | undefined {
    return this.#cpId;
  }

  get commandsReady(): Promise<void> {
    return this.#commandsReady.promise;
  }

  async start(options: EngineOptions): Promise<void> {
    this.#monitorPort = await MonitorPort.open({
      port: options.port ?? DEFAULT_ENGINE_PORT,
      memory: options.memoryLink,
      secret: this.#linkSecret,
      onFrame: (frame) => this.#onMonitorFrame(frame),
      onChange: () => this.#changed(),
      cpId: () => this.#cpId,
    });
    // Written once listening: an engine that failed to get its port must not overwrite the
    // secret of the one that has it.
    const file = typeof options.linkSecretFile === "function"
      ? options.linkSecretFile(this.port)
      : options.linkSecretFile;
    if (file !== undefined) {
      await writeLinkSecret(file, this.#linkSecret);
      this.#linkSecretFile = file;
    }
    log.info("engine listening for its monitor on {where}", {
      where: options.memoryLink === undefined ? `127.0.0.1:${this.port}` : "this process",
      port: this.port,
      cpId: this.#cpId,
      linkSecretFile: file,
    });
    this.#connectKafka();
    // Old key versions go after their grace: checked at every new key and now and then.
    this.#keySweep = setInterval(
      () => this.#forgetExpiredKeys(),
      Math.max(50, Math.min(5_000, this.#keyGraceMs / 4)),
    );
  }

  view(): EngineView {
    const m = this.#model;
    const s = m.session;
    const figures = s ? figuresAt(this.#settings, s, Date.now()) : undefined;
    return {
      cpId: this.#cpId,
      port: this.port,
      state: m.state,
      health: healthOf(m),
      stopReason: m.stopReason,
      session: s && figures
        ? {
          sessionId: s.sessionId,
          driverId: s.driverId,
          plugged: s.pluggedAt !== undefined,
          priceEurKwh: s.priceEurKwh,
          ...figures,
        }
        : undefined,
      keyVersion: this.#newestKv,
      monitorConnected: this.#monitorPort?.connected ?? false,
      kafkaReady: this.#kafkaUp,
      pendingTelemetry: this.#outbox.length,
      lastCommand: this.#lastCommand,
      lastEvent: this.#lastEvent,
    };
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  plug(): void {
    this.#input({ type: "plug" });
  }

  unplug(): void {
    this.#input({ type: "unplug" });
  }

  toggleFault(): void {
    this.#input({ type: "toggle_fault" });
  }

  stop(): Promise<void> {
    return this.#stopped ??= this.#shutdown();
  }

  // --- the core ------------------------------------------------------------------------------

  /** Feeds one input to the core, queues what it emits and re-arms the wake-up timer. */
  #input(input: EngineInput): void {
    if (this.#stopping && input.type !== "shutdown") return;
    const result = step(this.#model, input, { settings: this.#settings, now: Date.now() });
    this.#model = result.model;
    for (const effect of result.effects) {
      if (effect.type === "note") {
        log.info(literal(effect.text), { cpId: this.#cpId });
        this.#lastEvent = effect.text;
        continue;
      }
      const { payload } = effect;
      if (payload.type === "SUPPLY") {
        log.debug("SUPPLY {kwh} kWh {eur} €", { cpId: this.#cpId, ...payload });
      }
      this.#outbox.push(payload);
    }
    this.#schedule();
    this.#pump();
    this.#changed();
  }

  #schedule(): void {
    clearTimeout(this.#wakeTimer);
    this.#wakeTimer = undefined;
    const at = nextWakeAt(this.#settings, this.#model);
    if (at === undefined || this.#stopping) return;
    this.#wakeTimer = setTimeout(() => this.#input({ type: "tick" }), Math.max(0, at - Date.now()));
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }

  // --- telemetry -----------------------------------------------------------------------------

  /** Starts sending the outbox unless a send loop is already running. */
  #pump(): Promise<void> {
    this.#pumping ??= this.#drain().finally(() => this.#pumping = undefined);
    return this.#pumping;
  }

  /**
   * Seals and sends the outbox in order, one at a time, so `seq` grows in the order Central
   * reads them (its replay guard keeps one high-water mark per channel). Stops when the outbox is
   * empty or there is no producer, CP id or live key yet; whoever provides those pumps again.
   */
  async #drain(): Promise<void> {
    while (this.#outbox.length > 0) {
      const cp = this.#cpId;
      const live = cp === undefined ? undefined : this.#keys.live(cp);
      if (cp === undefined || !this.#kafkaUp || live === undefined) return;
      const payload = this.#outbox[0];
      const header = {
        cp,
        kv: live.kv,
        seq: this.#seq.next(cp, live.kv),
        channel: TOPICS.cpTelemetry,
      };
      try {
        this.#onTelemetry?.(cp, payload);
        const envelope = await sealEnvelope(live.key, header, payload);
        await this.#kafka.sendTelemetry(cp, envelope);
        this.#outbox.shift();
        this.#changed();
      } catch (error) {
        // The producer retries retriable errors itself; this is something it gave up on. The
        // payload stays first in line (resealed with a new seq: receivers are idempotent).
        log.error("could not send {type} to cp.telemetry: {error}", {
          cpId: cp,
          type: payload.type,
          error,
        });
        if (this.#stopping) return;
        await sleep(1000, this.#abort.signal);
      }
    }
  }

  // --- Kafka ---------------------------------------------------------------------------------

  /** Creates the topics and the producer, retrying until Kafka answers; then the consumer. */
  async #connectKafka(): Promise<void> {
    while (!this.#stopping && !this.#kafkaUp) {
      try {
        await this.#kafka.connect();
        if (this.#stopping) return;
        this.#kafkaUp = true;
        log.info("connected to Kafka", { cpId: this.#cpId });
        this.#changed();
        this.#pump();
      } catch (error) {
        log.warning("Kafka is not reachable yet ({error}); retrying in {seconds} s", {
          error,
          seconds: KAFKA_RETRY_MS / 1000,
        });
        await sleep(KAFKA_RETRY_MS, this.#abort.signal);
      }
    }
    await this.#startConsumer();
  }

  /**
   * Subscribes to this CP's `cp.commands` once both Kafka and the CP id are known (whichever
   * comes second calls this), retrying until it is in or the engine stops.
   */
  async #startConsumer(): Promise<void> {
    const cp = this.#cpId;
    if (cp === undefined || !this.#kafkaUp || this.#subscribed || this.#consumerStarting) return;
    this.#consumerStarting = true;
    try {
      await this.#loadMarks(cp);
      while (!this.#stopping) {
        try {
          const { ready } = await this.#kafka.subscribeCommands(
            cp,
            (record) => this.#onCommandRecord(cp, record),
          );
          this.#subscribed = true;
          ready.then(() => {
            this.#commandsReady.resolve();
            log.info("reading cp.commands", { cpId: cp });
          });
          // Subscribed while the engine was stopping: its close may have run before this.
          if (this.#stopping) await this.#kafka.close();
          return;
        } catch (error) {
          log.warning("cannot join cp.commands yet ({error}); retrying in {seconds} s", {
            error,
            seconds: KAFKA_RETRY_MS / 1000,
          });
          await sleep(KAFKA_RETRY_MS, this.#abort.signal);
        }
      }
    } finally {
      this.#consumerStarting = false;
    }
  }

  /**
   * Loads the replay marks kept by earlier starts, before the first command is read. A file that
   * cannot be read is reported loudly and the engine goes on without it: refusing every command
   * would stop the CP for good.
   */
  async #loadMarks(cp: string): Promise<void> {
    if (this.#stateDir === undefined || this.#marks !== undefined) return;
    this.#marks = new ReplayMarksFile(join(this.#stateDir, `${cp}.replay.json`), cp);
    try {
      const count = await this.#marks.load(this.#guard);
      log.info("loaded {count} replay marks from {file}", {
        cpId: cp,
        count,
        file: this.#marks.path,
      });
    } catch (error) {
      log.error("could not load the replay marks: {error}", { cpId: cp, error });
    }
  }

  /** One `cp.commands` record: keep only this CP's, open it, check it, feed it to the core. */
  async #onCommandRecord(cp: string, record: CommandRecord): Promise<void> {
    if (record.key !== cp) return; // another CP's command
    let payload: unknown;
    try {
      payload = await this.#open(cp, record.value);
    } catch (error) {
      if (!(error instanceof EnvelopeError)) throw error;
      log.warning("dropped a command that does not open ({reason}): {message}", {
        cpId: cp,
        reason: error.reason,
        message: error.message,
        offset: record.offset,
      });
      return;
    }
    const parsed = parseMessage(commandPayloadSchema, payload);
    if (!parsed.ok) {
      log.warning("dropped an invalid command: {reason}", { cpId: cp, reason: parsed.reason });
      return;
    }
    const command = parsed.value;
    // Kept before it acts: a crash between the two must not leave the command replayable.
    await this.#marks?.save(this.#guard).catch((error) => {
      log.error("could not keep the replay marks in {file}: {error}", {
        cpId: cp,
        file: this.#marks?.path,
        error,
      });
    });
    this.#lastCommand = command.type === "STOP"
      ? `STOP ${command.reason}`
      : command.type === "END_SUPPLY"
      ? `END_SUPPLY ${command.reason}`
      : command.type === "AUTHORIZE"
      ? `AUTHORIZE ${command.sessionId}`
      : command.type;
    log.info("command {command} from Central", { cpId: cp, command: this.#lastCommand });
    this.#input({ type: "command", command });
  }

  /**
   * Opens a command envelope. One sealed under a key version newer than any held may have
   * overtaken its `KEY` frame (Central sends commands as soon as the login is done, while the
   * monitor is still handing the key over), so it waits briefly for that key before giving up.
   */
  async #open(cp: string, value: unknown): Promise<unknown> {
    const options = { channel: TOPICS.cpCommands, expectCp: cp, guard: this.#guard };
    try {
      return await openEnvelope(this.#keys, value, options);
    } catch (error) {
      if (!(error instanceof EnvelopeError) || error.reason !== "unknown_kv") throw error;
      const kv = parseEnvelope(value).kv;
      if (kv <= (this.#newestKv ?? -1) || !(await this.#waitForKey(cp, kv))) throw error;
      return await openEnvelope(this.#keys, value, options);
    }
  }

  /** Waits up to {@link KEY_WAIT_MS} for key version `kv`; true if it came. */
  async #waitForKey(cp: string, kv: number): Promise<boolean> {
    const deadline = Date.now() + KEY_WAIT_MS;
    while (this.#keys.state(cp, kv) === undefined && !this.#stopping) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      const arrived = new AbortController();
      const wake = () => arrived.abort();
      this.#keyWaiters.add(wake);
      await sleep(left, AbortSignal.any([arrived.signal, this.#abort.signal]));
      this.#keyWaiters.delete(wake);
    }
    return this.#keys.state(cp, kv) !== undefined;
  }

  // --- the monitor ---------------------------------------------------------------------------

  /** One frame of the authenticated monitor; what it returns goes back to it. */
  async #onMonitorFrame(frame: MonitorToEngine): Promise<object | undefined> {
    switch (frame.type) {
      case "HEALTH_CHECK":
        return build(engineToMonitorSchema, "HEALTH", { engine: healthOf(this.#model) });
      case "KEY":
        return void await this.#installKey(frame.cpId, frame.keyVersion, frame.key);
      case "KEY_REVOKED":
        return void this.#revokeKey(frame.keyVersion);
      case "LINK_PROOF":
        return undefined; // the opening's, checked by the port
    }
  }

  async #installKey(cpId: string, keyVersion: number, base64: string): Promise<void> {
    if (this.#cpId !== undefined && cpId !== this.#cpId) {
      log.error("refused a KEY for CP {other}: this engine is CP {cpId}", {
        other: cpId,
        cpId: this.#cpId,
      });
      return;
    }
    const key = await importCpKey(base64); // the frame's schema already checked 32 bytes
    const newer = this.#newestKv === undefined || keyVersion >= this.#newestKv;
    try {
      // An older version (frames crossing on a reconnect) may still open old commands only.
      this.#keys.add(cpId, keyVersion, key, newer ? "live" : "retired");
    } catch {
      log.warning("refused KEY version {keyVersion}: it was revoked", { cpId, keyVersion });
      return;
    }
    const learnt = this.#cpId === undefined;
    this.#cpId = cpId;
    if (newer) {
      this.#newestKv = keyVersion;
      this.#onKey?.(cpId, keyVersion, base64);
    }
    log.info("key version {keyVersion} installed", { cpId, keyVersion });
    for (const wake of this.#keyWaiters) wake();
    this.#forgetExpiredKeys();
    if (learnt) this.#startConsumer();
    this.#input({ type: "announce" }); // STATUS under the new key; also pumps what waited
  }

  #revokeKey(keyVersion: number): void {
    const cp = this.#cpId;
    if (cp === undefined) return;
    const wasLive = this.#keys.live(cp)?.kv === keyVersion;
    this.#keys.revoke(cp, keyVersion);
    this.#seq.forget(cp, keyVersion);
    this.#guard.forget(cp, keyVersion);
    log.warning("key version {keyVersion} revoked", { cpId: cp, keyVersion });
    // Without its live key the CP may not go on charging: what it can no longer report it
    // must not supply. The SUPPLY_END waits for the next key.
    if (wasLive) this.#input({ type: "key_lost" });
    this.#changed();
  }

  /** Forgets the key versions whose grace is over, with their sequence counters and marks. */
  #forgetExpiredKeys(): void {
    for (const { cp, kv } of this.#keys.forgetExpired(this.#keyGraceMs)) {
      this.#seq.forget(cp, kv);
      this.#guard.forget(cp, kv);
      log.info("key version {keyVersion} forgotten: its grace of {graceMs} ms is over", {
        cpId: cp,
        keyVersion: kv,
        graceMs: this.#keyGraceMs,
      });
    }
  }

  // --- shutdown ------------------------------------------------------------------------------

  async #shutdown(): Promise<void> {
    this.#input({ type: "shutdown" });
    this.#stopping = true;
    this.#abort.abort();
    clearTimeout(this.#wakeTimer);
    clearInterval(this.#keySweep);
    await this.#monitorPort?.close();
    await this.#removeLinkSecretFile();
    const flushed = this.#pump().then(() => this.#outbox.length === 0);
    const sent = await within(flushed, FLUSH_TIMEOUT_MS, false);
    if (!sent) {
      log.warning("stopped with {count} telemetry messages unsent", {
        cpId: this.#cpId,
        count: this.#outbox.length,
      });
    }
    await this.#kafka.close().catch(() => {});
    log.info("engine stopped", { cpId: this.#cpId });
  }

  /** Nothing left behind: the secret file goes, unless a newer start has replaced it already. */
  async #removeLinkSecretFile(): Promise<void> {
    const file = this.#linkSecretFile;
    if (file === undefined) return;
    const current = await readLinkSecret({ file }).catch(() => undefined);
    const ours = current?.every((byte, i) => byte === this.#linkSecret[i]) ?? false;
    if (ours) await Deno.remove(file).catch(() => {});
  }
}
