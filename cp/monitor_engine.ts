/**
 * The monitor's side of the loopback link to its engine (ARCHITECTURE §Framed protocol): opens
 * it with the engine start's link secret, checks health every second, and hands over keys and
 * revocations. It reports what happens on the link as the core's inputs; the judgement (when a
 * silent engine is KO) is `monitor_core.ts`'s.
 *
 * @module
 */
import { Beat } from "../shared/beat.ts";
import { type ByteConn, FramedConn } from "../shared/framed_conn.ts";
import { getLogger } from "../shared/log.ts";
import {
  build,
  engineToMonitorSchema,
  type Key,
  monitorToEngineSchema,
  parseMessage,
} from "../shared/messages.ts";
import { sleep, whenAborted } from "../shared/sleep.ts";
import { LinkKey, type LinkSecretSource, openEngineLink, readLinkSecret } from "./engine_link.ts";
import { PeriodicLateness } from "../shared/loop_lag.ts";
import { HEALTH_TIMEOUT_MS, type MonitorInput } from "./monitor_core.ts";

const log = getLogger(["evcharging", "cp", "monitor"]);

/**
 * `HEARTBEAT` and `HEALTH` to Central, and `HEALTH_CHECK` to the engine, this often, each never
 * queued behind its own unanswered last round (shared/beat.ts).
 */
export const TICK_MS = 1000;
/** Pause between attempts to reach the engine (a local process: no backoff needed). */
const ENGINE_RETRY_MS = 1000;
/** How often the engine's health is re-evaluated, so a silent engine shows KO within ~2 s. */
const HEALTH_EVAL_MS = 250;
/**
 * How long a starting monitor waits for its engine's first answer before it logs in. An engine
 * started along with it may not listen yet, and Central would take that for a fault (`BROKEN`,
 * an audited `cp.fault`); an engine that is really down is reported after this wait.
 */
export const ENGINE_FIRST_ANSWER_MS = 3000;

/** A `host:port` to connect to. */
export interface Endpoint {
  /** Host name or IP. */
  readonly host: string;
  /** TCP port. */
  readonly port: number;
}

/** What happens on the engine link, as the monitor's core takes it. */
export type EngineLinkInput = Extract<
  MonitorInput,
  { type: "engine_connected" | "health_check_sent" | "engine_answered" | "engine_lost" | "tick" }
>;

/**
 * An engine in this process (the fleet's `--engine-links memory`): shared/memory_conn.ts's
 * `MemoryListener` is one.
 */
export interface EngineDialer {
  /** What the logs call it. */
  readonly name: string;
  /** Opens a connection to the engine; throws if it is gone. */
  connect(): ByteConn;
}

/** Where the engine is, in words: `host:port`, or the in-process link's name. */
export function engineAddress(address: Endpoint | EngineDialer): string {
  return "connect" in address ? address.name : `${address.host}:${address.port}`;
}

/**
 * The monitor's side of the loopback socket (or of an in-process link, in the fleet): keeps reconnecting, checks health every second,
 * and (re)sends the current key and any revocations each time it connects, so a restarted
 * engine gets its key back without a new login. What it sees goes to `report`, every
 * {@link HEALTH_EVAL_MS} a `tick` too, so a silent engine is judged KO in time.
 */
export class EngineLink {
  readonly #address: Endpoint | EngineDialer;
  readonly #secret: LinkSecretSource;
  readonly #signal: AbortSignal;
  readonly #report: (input: EngineLinkInput) => void;
  #conn: FramedConn | undefined;
  #key: Key | undefined;
  #revoked: number[] = [];
  #evalTimer: ReturnType<typeof setInterval> | undefined;
  /** The eval timer's lateness: how late this thread has run lately. */
  readonly #lateness = new PeriodicLateness(HEALTH_EVAL_MS, 2 * HEALTH_TIMEOUT_MS);
  readonly #answered = Promise.withResolvers<void>();

  constructor(
    address: Endpoint | EngineDialer,
    secret: LinkSecretSource,
    signal: AbortSignal,
    report: (input: EngineLinkInput) => void,
  ) {
    this.#address = address;
    this.#secret = secret;
    this.#signal = signal;
    this.#report = report;
  }

  /** How late this thread's timers have run lately (ms), for judging the engine's silence. */
  lagMs(at: number): number {
    return this.#lateness.lagMs(at);
  }

  get connected(): boolean {
    return this.#conn !== undefined;
  }

  /** Resolves at the engine's first answer, or after `ms` (or at the stop) without one. */
  firstAnswer(ms: number): Promise<void> {
    return Promise.race([this.#answered.promise, sleep(ms, this.#signal)]);
  }

  /** Runs until the signal aborts. */
  async run(): Promise<void> {
    this.#lateness.started(Date.now());
    this.#evalTimer = setInterval(() => {
      this.#lateness.ran(Date.now());
      this.#evaluate({ type: "tick" });
    }, HEALTH_EVAL_MS);
    let reported = false; // log "unreachable" once per outage, not every second
    let reached = false;
    const startedAt = Date.now();
    while (!this.#signal.aborted) {
      let conn: FramedConn;
      try {
        conn = await this.#open();
      } catch (error) {
        // An engine started along with this monitor may not listen yet: no news in the first wait.
        const starting = !reached && Date.now() - startedAt < ENGINE_FIRST_ANSWER_MS;
        if (!reported && !starting) {
          log.warning("engine unreachable at {address}: {error}", {
            address: engineAddress(this.#address),
            error: (error as Error).message,
          });
          reported = true;
        }
        await sleep(ENGINE_RETRY_MS, this.#signal);
        continue;
      }
      reported = false;
      reached = true;
      await this.#serve(conn);
      await sleep(ENGINE_RETRY_MS, this.#signal);
    }
    clearInterval(this.#evalTimer);
  }

  /** Connects and runs the opening: both sides prove this engine start's secret. */
  async #open(): Promise<FramedConn> {
    // Read at every try: a restarted engine has a new secret.
    const key = await LinkKey.of(await readLinkSecret(this.#secret));
    const address = this.#address;
    const socket = "connect" in address
      ? address.connect()
      : await Deno.connect({ hostname: address.host, port: address.port });
    const conn = await FramedConn.client(socket, {
      ackTimeoutMs: HEALTH_TIMEOUT_MS, // a hung engine stops ACKing: drop it as fast
      openTimeoutMs: HEALTH_TIMEOUT_MS,
      validate: (v) => {
        const r = parseMessage(engineToMonitorSchema, v);
        return r.ok ? undefined : r.reason;
      },
    });
    try {
      await openEngineLink(conn, key);
    } catch (error) {
      await conn.close();
      throw error;
    }
    return conn;
  }

  async #serve(conn: FramedConn): Promise<void> {
    this.#conn = conn;
    this.#evaluate({ type: "engine_connected" });
    log.info("connected to the engine", {});
    const cancel = whenAborted(this.#signal, () => conn.close());
    const checks = new Beat(() => this.#check(conn));
    checks.start(TICK_MS);
    try {
      await this.#flushKeys();
      checks.tick();
      for await (const value of conn) {
        const parsed = parseMessage(engineToMonitorSchema, value);
        if (parsed.ok && parsed.value.type === "HEALTH") {
          this.#evaluate({ type: "engine_answered", engine: parsed.value.engine });
          this.#answered.resolve();
        } else this.#evaluate({ type: "tick" });
      }
    } catch (error) {
      if (!this.#signal.aborted) {
        log.warning("lost the engine: {error}", { error: (error as Error).message });
      }
    } finally {
      checks.stop();
      cancel();
      this.#conn = undefined;
      this.#evaluate({ type: "engine_lost" });
    }
  }

  /** Sends `HEALTH_CHECK`, settling once the engine has taken it (its `ACK`). */
  #check(conn: FramedConn): Promise<void> {
    this.#evaluate({ type: "health_check_sent" });
    return conn.send(build(monitorToEngineSchema, "HEALTH_CHECK", {}));
  }

  /** Reports what happened on the link, to be judged. */
  #evaluate(input: EngineLinkInput): void {
    // A stopping monitor closes the link itself: that is no news about the engine.
    if (this.#signal.aborted) return;
    this.#report(input);
  }

  /** Hands a new key to the engine now, or as soon as it is reachable. */
  async setKey(key: Key): Promise<void> {
    this.#key = key;
    await this.#flushKeys();
  }

  /** Tells the engine to forget a key version, now or as soon as it is reachable. */
  async revoke(keyVersion: number): Promise<void> {
    if (this.#key?.keyVersion === keyVersion) this.#key = undefined;
    this.#revoked.push(keyVersion);
    await this.#flushKeys();
  }

  /** Sends pending revocations, then the current key, over the current connection. */
  async #flushKeys(): Promise<void> {
    const conn = this.#conn;
    if (conn === undefined) return;
    try {
      while (this.#revoked.length > 0) {
        await conn.send(build(monitorToEngineSchema, "KEY_REVOKED", {
          keyVersion: this.#revoked[0],
        }));
        this.#revoked.shift();
      }
      if (this.#key) await conn.send(this.#key);
    } catch {
      // The connection broke: the next one sends them again.
    }
  }
}
