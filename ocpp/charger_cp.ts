/**
 * One OCPP charger as a CP of the network: the thin edges around the mapping core (`core.ts`).
 *
 * The gateway hosts, per charger, what a CP host runs: an engine side (the loopback port its
 * monitor proves the link secret on and hands the key over, `cp/engine_monitor_port.ts`; the
 * CP's `cp.commands` consumer and `cp.telemetry` producer, `cp/engine_kafka.ts`; envelopes
 * sealed and opened under that key, `shared/envelope.ts`) and the CP monitor itself
 * (`cp/monitor.ts`), which logs in to Central over TLS with a proof-of-possession token and
 * derives the per-CP key by ECDH. So Central sees an ordinary CP. The monitor runs while the
 * charger's WebSocket is open; the rest (session, key, replay marks) lives on across
 * reconnects, so a charger that comes back and replays its queued messages finds its session.
 *
 * @module
 */

import { join } from "node:path";
import { importCpKey } from "../shared/cp_key.ts";
import {
  CpKeyring,
  EnvelopeError,
  openEnvelope,
  parseEnvelope,
  ReplayGuard,
  sealEnvelope,
  SeqCounter,
} from "../shared/envelope.ts";
import { TOPICS } from "../shared/kafka.ts";
import { type ConsumedMessage } from "../shared/kafka_consumer.ts";
import { getLogger } from "../shared/log.ts";
import {
  build,
  commandPayloadSchema,
  engineToMonitorSchema,
  type MonitorToEngine,
  parseMessage,
  type TelemetryPayload,
} from "../shared/messages.ts";
import { writePrivateFileAtomic } from "../shared/private_files.ts";
import { sleep } from "../shared/sleep.ts";
import type { RegistryClient } from "../registry/client.ts";
import type { EngineKafka } from "../cp/engine_kafka.ts";
import { newLinkSecret } from "../cp/engine_link.ts";
import { MonitorPort } from "../cp/engine_monitor_port.ts";
import { ReplayMarksFile } from "../cp/replay_marks.ts";
import { type Endpoint, type MonitorHandle, startMonitor } from "../cp/monitor.ts";
import {
  type ChargerEffect,
  type ChargerInput,
  type ChargerModel,
  healthOf,
  initialCharger,
  type OutgoingCall,
  step,
} from "./core.ts";
import { restoreCharger, savedText } from "./charger_state.ts";

const log = getLogger(["evcharging", "ocpp", "charger"]);

/** How long a command under a key version not yet installed waits for its `KEY`. */
const KEY_WAIT_MS = 3000;
/** How long the monitor's login waits for the commands consumer to be in the group. */
const COMMANDS_READY_MS = 20_000;
/** Pause after a failed Kafka step before the next try. */
const KAFKA_RETRY_MS = 2000;

/** The charger's side of its WebSocket, as the gateway may use it. */
export interface ChargerSocket {
  /** Calls the charger; resolves with its answer. */
  call(action: string, payload: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Closes the socket. */
  close(reason: string): void;
}

/** What a charger's call gets back: a result or a CALLERROR. */
export type CallOutcome =
  | { readonly ok: true; readonly result: Record<string, unknown> }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** Everything a hosted charger needs from the gateway. */
export interface ChargerCpOptions {
  /** The charger's id, its CP id. */
  readonly cpId: string;
  /** Its own Kafka link (commands consumer, telemetry producer). */
  readonly kafka: EngineKafka;
  /** Sends a `CHARGE_REQUEST` on `driver.requests` for a driver. */
  readonly chargeRequest: (requestId: string, driverId: string, cpId: string) => Promise<void>;
  /** Central's monitor socket. */
  readonly central: Endpoint;
  /** The Registry client the monitors share. */
  readonly registry: RegistryClient;
  /** The CA certificate (PEM) Central's is checked against. */
  readonly caCert: string;
  /** Folder of the chargers' `<cpId>.credentials` (0700). */
  readonly credentialsDir: string;
  /**
   * Folder (0700) of `<cpId>.state.json` and `<cpId>.replay.json`: the session and the commands'
   * replay marks, kept across a restart of the gateway.
   */
  readonly stateDir: string;
  /** The heartbeat interval told at boot, seconds. */
  readonly heartbeatIntervalS: number;
  /** How long Authorize/StartTransaction wait for Central's answer, ms. */
  readonly authorizeWaitMs: number;
}

/** A snapshot for logs, tests and the screen. */
export interface ChargerView {
  readonly model: ChargerModel;
  readonly keyVersion?: number;
  readonly monitor?: string;
  readonly pendingTelemetry: number;
}

/** One hosted charger: the engine side always, the monitor while the charger is connected. */
export class ChargerCp {
  readonly #o: ChargerCpOptions;
  #model: ChargerModel;
  #port: MonitorPort | undefined;
  readonly #secret = newLinkSecret();
  #socket: ChargerSocket | undefined;
  #monitor: MonitorHandle | undefined;
  /** The maintenance last asked of Central on this login, until Central shows it. */
  #maintenanceAsked: boolean | undefined;
  readonly #answers = new Map<string, (outcome: CallOutcome) => void>();
  readonly #abort = new AbortController();
  #stopped = false;

  readonly #keys = new CpKeyring();
  #newestKv: number | undefined;
  readonly #seq = new SeqCounter();
  readonly #guard = new ReplayGuard();
  readonly #outbox: TelemetryPayload[] = [];
  #pumping: Promise<void> | undefined;
  #kafkaUp = false;
  readonly #commandsReady = Promise.withResolvers<void>();
  /** Commands are applied one at a time, in the order they were read. */
  #commandChain: Promise<void> = Promise.resolve();
  readonly #marks: ReplayMarksFile;
  readonly #stateFile: string;
  #savedText: string;
  #saving: Promise<void> = Promise.resolve();

  constructor(options: ChargerCpOptions) {
    this.#o = options;
    this.#model = initialCharger(options.cpId);
    this.#savedText = savedText(this.#model);
    this.#stateFile = join(options.stateDir, `${options.cpId}.state.json`);
    this.#marks = new ReplayMarksFile(
      join(options.stateDir, `${options.cpId}.replay.json`),
      options.cpId,
    );
  }

  /** Loads what an earlier run kept, opens the engine port and starts reaching Kafka. */
  async start(): Promise<void> {
    await this.#restore();
    this.#port = await MonitorPort.open({
      port: 0,
      secret: this.#secret,
      onFrame: (frame) => this.#onMonitorFrame(frame),
      onChange: () => {},
      cpId: () => this.#o.cpId,
    });
    this.#connectKafka();
  }

  /** The charger's id. */
  get cpId(): string {
    return this.#o.cpId;
  }

  /** A snapshot. */
  view(): ChargerView {
    const monitor = this.#monitor?.view();
    return {
      model: this.#model,
      keyVersion: this.#newestKv,
      monitor: monitor?.central.state,
      pendingTelemetry: this.#outbox.length,
    };
  }

  /** The charger connected: the previous socket (if any) goes, the monitor logs in. */
  async attach(socket: ChargerSocket): Promise<void> {
    const previous = this.#socket;
    this.#socket = socket;
    if (previous !== undefined) {
      previous.close("replaced by a new connection");
      this.#input({ type: "disconnected" });
    }
    this.#input({ type: "connected" });
    if (this.#monitor === undefined) await this.#startMonitor();
  }

  /** The charger's socket closed: the monitor logs out, so Central shows it disconnected. */
  async detach(socket: ChargerSocket): Promise<void> {
    if (this.#socket !== socket) return; // an older socket, already replaced
    this.#socket = undefined;
    this.#input({ type: "disconnected" });
    for (const answer of this.#answers.values()) {
      answer({ ok: false, code: "GenericError", message: "the charger disconnected" });
    }
    this.#answers.clear();
    const monitor = this.#monitor;
    this.#monitor = undefined;
    await monitor?.stop();
  }

  /** A schema-valid call from the charger; resolves with what to answer. */
  handle(action: string, payload: unknown): Promise<CallOutcome> {
    const callId = crypto.randomUUID();
    const answered = new Promise<CallOutcome>((resolve) => this.#answers.set(callId, resolve));
    this.#input({ type: "call", callId, action, payload });
    if (this.#answers.has(callId)) {
      // Waiting for Central: the charger hears Invalid if Central does not answer in time.
      const timer = setTimeout(
        () => this.#input({ type: "call_expired", callId }),
        this.#o.authorizeWaitMs,
      );
      answered.finally(() => clearTimeout(timer));
    }
    return answered;
  }

  /** Central denied the charge request `requestId` (seen on `driver.updates`). */
  denied(requestId: string): void {
    this.#input({ type: "denied", requestId });
  }

  /** Whether `requestId` is one of this charger's charge requests waiting for an answer. */
  waitsFor(requestId: string): boolean {
    return this.#model.waiting.some((w) => w.requestId === requestId);
  }

  /** Stops the monitor, the port and Kafka; unsent telemetry is reported. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#abort.abort();
    this.#socket?.close("the gateway is stopping");
    await this.#monitor?.stop();
    await this.#port?.close();
    await Promise.race([this.#pump(), sleep(3000)]);
    await this.#saving;
    if (this.#outbox.length > 0) {
      log.warning("stopped with {count} telemetry messages unsent", {
        cpId: this.cpId,
        count: this.#outbox.length,
      });
    }
    await this.#o.kafka.close().catch(() => {});
  }

  // --- the state kept across restarts ---------------------------------------------------------

  /** The session and replay marks of an earlier run; what cannot be read is reported, not fatal. */
  async #restore(): Promise<void> {
    const text = await Deno.readTextFile(this.#stateFile).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      return undefined;
    });
    const { model, problem } = restoreCharger(this.cpId, text);
    if (problem !== undefined) {
      log.error("ignored {file}: {problem}", { cpId: this.cpId, file: this.#stateFile, problem });
    }
    this.#model = model;
    this.#savedText = savedText(model);
    if (model.session !== undefined) {
      log.info("resumed session {sessionId} from the last run", {
        cpId: this.cpId,
        sessionId: model.session.sessionId,
      });
    }
    await this.#marks.load(this.#guard).catch((error) =>
      log.error("could not load the replay marks: {error}", { cpId: this.cpId, error })
    );
  }

  /** Writes the kept state when it changed; writes go one after another, newest last. */
  #save(): void {
    const text = savedText(this.#model);
    if (text === this.#savedText) return;
    this.#savedText = text;
    this.#saving = this.#saving
      .then(() => writePrivateFileAtomic(this.#stateFile, `${text}\n`))
      .catch((error) =>
        log.error("could not keep the charger's state: {error}", {
          cpId: this.cpId,
          error,
        })
      );
  }

  // --- the core ------------------------------------------------------------------------------

  #input(input: ChargerInput): void {
    const result = step(this.#model, input, {
      now: Date.now(),
      heartbeatIntervalS: this.#o.heartbeatIntervalS,
      freshId: crypto.randomUUID(),
    });
    this.#model = result.model;
    this.#save();
    for (const effect of result.effects) this.#apply(effect);
  }

  #apply(effect: ChargerEffect): void {
    switch (effect.type) {
      case "reply":
        return this.#answer(effect.callId, { ok: true, result: effect.result });
      case "reply_error":
        return this.#answer(effect.callId, {
          ok: false,
          code: effect.code,
          message: effect.message,
        });
      case "call":
        return void this.#call(effect.call);
      case "telemetry":
        this.#outbox.push(effect.payload);
        return void this.#pump();
      case "charge_request":
        return void this.#o.chargeRequest(effect.requestId, effect.driverId, this.cpId).catch(
          (error) => log.error("could not send the charge request: {error}", { error }),
        );
      case "maintenance":
        return this.#tellMaintenance();
      case "note":
        if (effect.level === "warning") log.warning(effect.message, { cpId: this.cpId });
        else log.info(effect.message, { cpId: this.cpId });
    }
  }

  #answer(callId: string, outcome: CallOutcome): void {
    const answer = this.#answers.get(callId);
    this.#answers.delete(callId);
    answer?.(outcome);
  }

  async #call(call: OutgoingCall): Promise<void> {
    const socket = this.#socket;
    let status: string | undefined;
    try {
      const answer = await socket?.call(call.action, { ...call.payload });
      status = typeof answer?.status === "string" ? answer.status : undefined;
      log.info("{action} → {status}", { cpId: this.cpId, action: call.action, status });
    } catch (error) {
      log.warning("{action} failed: {error}", { cpId: this.cpId, action: call.action, error });
    }
    if (!this.#stopped) this.#input({ type: "call_answer", action: call.action, status });
  }

  // --- the monitor ---------------------------------------------------------------------------

  async #startMonitor(): Promise<void> {
    // A command sent right after the login must find the consumer in its group.
    await Promise.race([this.#commandsReady.promise, sleep(COMMANDS_READY_MS, this.#abort.signal)]);
    if (this.#socket === undefined || this.#monitor !== undefined || this.#stopped) return;
    const monitor = await startMonitor({
      cpId: this.cpId,
      engine: { host: "127.0.0.1", port: this.#port!.port },
      engineSecret: this.#secret,
      central: this.#o.central,
      caCert: this.#o.caCert,
      registry: this.#o.registry,
      credentialsDir: this.#o.credentialsDir,
      protocol: "ocpp1.6",
    });
    this.#monitor = monitor;
    this.#maintenanceAsked = undefined;
    // Central's CP_STATE after each login says whether it holds the CP in maintenance.
    monitor.onChange(() => this.#tellMaintenance());
    monitor.done.then((outcome) => {
      if (outcome.kind !== "gave_up") return;
      log.error("Central refused the charger for good: {message}", {
        cpId: this.cpId,
        message: outcome.message,
      });
      this.#socket?.close(outcome.message);
    });
  }

  /**
   * Central's maintenance hold follows the charger's own availability: asked (`MAINTENANCE`) when
   * what Central shows differs, once per login, so a change made while the monitor was out (a
   * reconnect, a gateway restart) is told at the next login, and nothing is asked twice.
   */
  #tellMaintenance(): void {
    const monitor = this.#monitor;
    const shown = monitor?.view().shown;
    if (monitor === undefined || shown === undefined) {
      this.#maintenanceAsked = undefined; // not logged in: told at the next login
      return;
    }
    const wanted = this.#model.chargerUnavailable;
    if (shown.maintenance === wanted) {
      this.#maintenanceAsked = undefined;
      return;
    }
    if (this.#maintenanceAsked === wanted) return;
    this.#maintenanceAsked = wanted;
    monitor.setMaintenance(wanted);
  }

  /** One frame of the authenticated monitor; what it returns goes back to it. */
  async #onMonitorFrame(frame: MonitorToEngine): Promise<object | undefined> {
    switch (frame.type) {
      case "HEALTH_CHECK":
        return build(engineToMonitorSchema, "HEALTH", { engine: healthOf(this.#model) });
      case "KEY":
        return void await this.#installKey(frame.keyVersion, frame.key);
      case "KEY_REVOKED":
        this.#keys.revoke(this.cpId, frame.keyVersion);
        this.#seq.forget(this.cpId, frame.keyVersion);
        this.#guard.forget(this.cpId, frame.keyVersion);
        return undefined;
      case "LINK_PROOF":
        return undefined;
    }
  }

  async #installKey(keyVersion: number, base64: string): Promise<void> {
    const key = await importCpKey(base64);
    const newer = this.#newestKv === undefined || keyVersion >= this.#newestKv;
    try {
      this.#keys.add(this.cpId, keyVersion, key, newer ? "live" : "retired");
    } catch {
      log.warning("refused KEY version {keyVersion}: it was revoked", {
        cpId: this.cpId,
        keyVersion,
      });
      return;
    }
    if (newer) this.#newestKv = keyVersion;
    log.info("key version {keyVersion} installed", { cpId: this.cpId, keyVersion });
    this.#input({ type: "announce" }); // STATUS under the new key; also sends what waited
  }

  // --- Kafka ---------------------------------------------------------------------------------

  async #connectKafka(): Promise<void> {
    while (!this.#stopped) {
      try {
        if (!this.#kafkaUp) {
          await this.#o.kafka.connect();
          this.#kafkaUp = true;
          this.#pump();
        }
        const { ready } = await this.#o.kafka.subscribeCommands(
          this.cpId,
          (record) => this.#onCommandRecord(record),
        );
        ready.then(() => this.#commandsReady.resolve());
        return;
      } catch (error) {
        log.warning("Kafka is not reachable yet ({error}); retrying", { cpId: this.cpId, error });
        await sleep(KAFKA_RETRY_MS, this.#abort.signal);
      }
    }
  }

  /** Seals and sends the outbox in order under the newest key; waits for a key and Kafka. */
  #pump(): Promise<void> {
    this.#pumping ??= this.#drain().finally(() => this.#pumping = undefined);
    return this.#pumping;
  }

  async #drain(): Promise<void> {
    while (this.#outbox.length > 0) {
      const live = this.#keys.live(this.cpId);
      if (!this.#kafkaUp || live === undefined) return;
      const payload = this.#outbox[0];
      const header = {
        cp: this.cpId,
        kv: live.kv,
        seq: this.#seq.next(this.cpId, live.kv),
        channel: TOPICS.cpTelemetry,
      };
      try {
        await this.#o.kafka.sendTelemetry(this.cpId, await sealEnvelope(live.key, header, payload));
        this.#outbox.shift();
      } catch (error) {
        log.error("could not send {type} to cp.telemetry: {error}", {
          cpId: this.cpId,
          type: payload.type,
          error,
        });
        if (this.#stopped) return;
        await sleep(1000, this.#abort.signal);
      }
    }
  }

  #onCommandRecord(record: ConsumedMessage): Promise<void> {
    this.#commandChain = this.#commandChain.then(() => this.#onCommand(record));
    return this.#commandChain;
  }

  async #onCommand(record: ConsumedMessage): Promise<void> {
    let payload: unknown;
    try {
      payload = await this.#open(record.value);
    } catch (error) {
      if (!(error instanceof EnvelopeError)) throw error;
      log.warning("dropped a command that does not open ({reason})", {
        cpId: this.cpId,
        reason: error.reason,
      });
      return;
    }
    const parsed = parseMessage(commandPayloadSchema, payload);
    if (!parsed.ok) {
      log.warning("dropped an invalid command: {reason}", {
        cpId: this.cpId,
        reason: parsed.reason,
      });
      return;
    }
    // Kept before it acts: a restart between the two must not leave the command replayable.
    await this.#marks.save(this.#guard).catch((error) =>
      log.error("could not keep the replay marks: {error}", { cpId: this.cpId, error })
    );
    log.info("command {type} from Central", { cpId: this.cpId, type: parsed.value.type });
    this.#input({ type: "command", command: parsed.value });
  }

  /** Opens a command; one under a key version not yet installed waits briefly for its `KEY`. */
  async #open(value: unknown): Promise<unknown> {
    const options = { channel: TOPICS.cpCommands, expectCp: this.cpId, guard: this.#guard };
    try {
      return await openEnvelope(this.#keys, value, options);
    } catch (error) {
      if (!(error instanceof EnvelopeError) || error.reason !== "unknown_kv") throw error;
      const kv = parseEnvelope(value).kv;
      const deadline = Date.now() + KEY_WAIT_MS;
      while (this.#keys.state(this.cpId, kv) === undefined && Date.now() < deadline) {
        await sleep(50, this.#abort.signal);
      }
      return await openEnvelope(this.#keys, value, options);
    }
  }
}
