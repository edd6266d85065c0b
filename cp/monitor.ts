/**
 * The CP monitor process (ARCHITECTURE §Processes and ports, docs/charging_loop.md §1–§2): the thin
 * edges around the core in `monitor_core.ts`, whose effects it performs.
 *
 * - Registry (HTTPS, trusting the project CA): registers the CP on first start and keeps the
 *   credentials in a 0600 file; authenticates for a token before each login that needs one.
 * - Central (framed TCP client inside TLS, trusting the project CA): `AUTH` with a fresh ECDH
 *   key, derives the CP key from `AUTH_OK`, then `HEARTBEAT` every second, never queued behind
 *   the last second's unanswered one (shared/beat.ts), and `HEALTH` at once and on each change,
 *   until the connection ends; then steps the core with how it ended and does what it says: log
 *   in again now or after a wait, park at the menu, or give up with a clear message.
 * - Engine (framed TCP client on loopback): proves the engine's link secret at each opening and
 *   checks the engine's proof before anything else (`engine_link.ts`); then `HEALTH_CHECK`
 *   every second; what it sees goes through the core, which judges no answer within 1.5 s or a
 *   lost connection KO. It hands over each new key (`KEY`), again after an engine restart, and
 *   revocations (`KEY_REVOKED`).
 *
 * {@link startMonitor} runs it in-process and returns a handle (tests, the fleet, and the
 * process in `monitor_main.ts`); `deno run -A cp/monitor_main.ts --help` lists the flags. The
 * engine side is `monitor_engine.ts`, the screen `monitor_screen.ts`, and what a running monitor
 * offers its owner (view, handle) `monitor_handle.ts`.
 *
 * @module
 */

import { createRegistryClient, type RegistryClient } from "../registry/client.ts";
import {
  deriveCpKey,
  exportCpKey,
  exportEcdhPublicKey,
  generateEcdhKeyPair,
  importEcdhPublicKey,
} from "../shared/cp_key.ts";
import { awakeTimeout } from "../shared/awake_timeout.ts";
import { Beat } from "../shared/beat.ts";
import type { ConcurrencyLimiter } from "../shared/limiter.ts";
import { FramedConn } from "../shared/framed_conn.ts";
import { ecdhJwk, verifyAuthOk } from "../shared/login_proof.ts";
import { caFilePath, connectTls, readPem } from "../shared/tls.ts";
import { getLogger, literal } from "../shared/log.ts";
import {
  build,
  type CentralToMonitor,
  centralToMonitorSchema,
  type CpProtocol,
  monitorToCentralSchema,
  monitorToEngineSchema,
  parseMessage,
} from "../shared/messages.ts";
import { DEFAULT_CREDENTIALS_DIR, DEFAULT_REGISTRY_URL } from "./config.ts";
import { credentialsPath } from "../shared/cp_credentials.ts";
import { loadOrRegister, registryEnding } from "./monitor_registration.ts";
import type { LinkSecretSource } from "./engine_link.ts";
import {
  INITIAL_MODEL,
  type LoginEnding,
  type MonitorEffect,
  type MonitorInput,
  type MonitorSettings,
  REVOKED_WAIT_MS,
  step,
} from "./monitor_core.ts";
import { whenAborted } from "../shared/sleep.ts";
import { DEFAULT_LANG, type Lang } from "../shared/i18n.ts";
import { type CpWords, sayWords, words } from "./words.ts";
import { SHOWN } from "./terminal.ts";
import type {
  CentralLinkState,
  MonitorHandle,
  MonitorOutcome,
  MonitorView,
} from "./monitor_handle.ts";
import {
  type Endpoint,
  ENGINE_FIRST_ANSWER_MS,
  engineAddress,
  type EngineDialer,
  EngineLink,
  TICK_MS,
} from "./monitor_engine.ts";

export { type Endpoint, ENGINE_FIRST_ANSWER_MS, TICK_MS } from "./monitor_engine.ts";
export type {
  CentralLinkState,
  MonitorHandle,
  MonitorOutcome,
  MonitorView,
} from "./monitor_handle.ts";

const log = getLogger(["evcharging", "cp", "monitor"]);

/** How long Central may take to answer `AUTH` (it asks the Registry) before the try is lost. */
export const AUTH_ANSWER_TIMEOUT_MS = 15_000;

/** Settings of {@link startMonitor}. */
export interface MonitorOptions {
  /** The CP this monitor logs in as. */
  readonly cpId: string;
  /** Its engine's loopback socket, or its in-process listener when one process hosts both. */
  readonly engine: Endpoint | EngineDialer;
  /** The engine's link secret: the bytes, or the file its engine writes at each start. */
  readonly engineSecret: LinkSecretSource;
  /** Central's monitor socket. */
  readonly central: Endpoint;
  /** The Registry's base URL (`https:`). Default {@link DEFAULT_REGISTRY_URL}. */
  readonly registryUrl?: string;
  /**
   * CA file the Registry's and Central's certificates are checked against (default
   * `EV_CA_FILE`/`certs/ca.pem`).
   */
  readonly caFile?: string;
  /** The CA certificate itself (PEM), instead of reading `caFile` (a fleet reads it once). */
  readonly caCert?: string;
  /** Admin key: needed only to register the CP on its first start. */
  readonly registryAdminKey?: string;
  /** Registered on first start. */
  readonly location?: string;
  /** Registered on first start, €/kWh. */
  readonly priceEurKwh?: number;
  /** Registered on first start, kW. */
  readonly powerKw?: number;
  /** Folder of `<cpId>.credentials`. Default {@link DEFAULT_CREDENTIALS_DIR}. */
  readonly credentialsDir?: string;
  /** Jitter source in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
  /**
   * A Registry client shared with other monitors of this process (the fleet); it is left open
   * at stop. Default: the monitor's own, from `registryUrl`, `caFile` and `registryAdminKey`.
   */
  readonly registry?: RegistryClient;
  /**
   * Turns to log in, shared by the monitors of one process (the fleet): a try holds one from
   * its Registry steps until it is logged in or ends. Hundreds of CPs on one thread, dropped at
   * once, would otherwise all hash, handshake and derive at once, and time out together (a
   * login storm of their own making). Default: none, a monitor on its own logs in at once.
   */
  readonly loginTurns?: ConcurrencyLimiter;
  /** The charger protocol behind this CP, told to Central at login (the OCPP gateway's). */
  readonly protocol?: CpProtocol;
  /** How long to wait after a revoked key before re-authenticating, ms (default 10 s). */
  readonly revokedWaitMs?: number;
  /**
   * An operator drives it (the monitor's menu): after giving up it waits for them to register or
   * authenticate again instead of ending. Default false: giving up ends the monitor.
   */
  readonly interactive?: boolean;
  /**
   * The language of the lines its view and outcome give the operator, Central's refusals and
   * logouts included (default English); the log stays in English.
   */
  readonly lang?: Lang;
}

/**
 * Starts a monitor: checks its engine and logs in to Central in the background.
 * @throws {import("../shared/tls.ts").TlsFileError} if the CA file is missing.
 */
export async function startMonitor(options: MonitorOptions): Promise<MonitorHandle> {
  const caCert = options.caCert ?? await readPem(caFilePath(options.caFile), "CERTIFICATE");
  const registry = options.registry ?? await createRegistryClient({
    url: options.registryUrl ?? DEFAULT_REGISTRY_URL,
    caCert,
    adminKey: options.registryAdminKey,
  });
  const monitor = new Monitor({ ...options, caCert }, registry);
  monitor.start();
  return monitor;
}

// ---------------------------------------------------------------------------------------------
// The monitor

class Monitor implements MonitorHandle {
  readonly #options: MonitorOptions;
  readonly #registry: RegistryClient;
  readonly #abort = new AbortController();
  readonly #engine: EngineLink;
  readonly #settings: MonitorSettings;
  #model = INITIAL_MODEL;
  readonly #done = Promise.withResolvers<MonitorOutcome>();
  readonly #listeners = new Set<() => void>();
  readonly #credentialsFile: string;
  readonly #caCert: string;
  /** Whether a `register` got no answer (monitor_registration.ts). */
  readonly #registration = { uncertain: false };
  /** The first login waited for the engine's first answer (see {@link ENGINE_FIRST_ANSWER_MS}). */
  #engineAwaited = false;
  #central: FramedConn | undefined;
  #view: Omit<MonitorView, "engine">;
  #loops: Promise<unknown> | undefined;
  /** Ends a wait (a backoff, or giving up at a menu) early; set while one runs. */
  #wake: (() => void) | undefined;
  /** What the operator asked of the login under way once it ends: again at once, or park. */
  #asked: "login" | "deregistered" | undefined;
  #stopped: Promise<void> | undefined;

  constructor(options: MonitorOptions & { readonly caCert: string }, registry: RegistryClient) {
    this.#options = options;
    this.#caCert = options.caCert;
    this.#registry = registry;
    this.#credentialsFile = credentialsPath(
      options.credentialsDir ?? DEFAULT_CREDENTIALS_DIR,
      options.cpId,
    );
    this.#settings = {
      revokedWaitMs: options.revokedWaitMs ?? REVOKED_WAIT_MS,
      interactive: options.interactive === true,
    };
    this.#engine = new EngineLink(
      options.engine,
      options.engineSecret,
      this.#abort.signal,
      (input) => void this.#perform(this.#step(input)),
    );
    this.#view = {
      cpId: options.cpId,
      central: { state: "connecting", address: `${options.central.host}:${options.central.port}` },
    };
  }

  get done(): Promise<MonitorOutcome> {
    return this.#done.promise;
  }

  start(): void {
    this.#loops = Promise.all([this.#engine.run(), this.#centralLoop()]);
  }

  view(): MonitorView {
    return {
      ...this.#view,
      engine: {
        health: this.#model.health,
        connected: this.#engine.connected,
        address: engineAddress(this.#options.engine),
      },
    };
  }

  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  stop(): Promise<void> {
    return this.#stopped ??= (async () => {
      this.#abort.abort();
      await this.#loops;
      if (this.#options.registry === undefined) this.#registry.close();
      if (this.#view.central.state !== "gave_up") this.#setCentral({ state: "stopped" });
      this.#done.resolve({ kind: "stopped" }); // no effect if it gave up first
    })();
  }

  setMaintenance(on: boolean): boolean {
    const action = words(on ? "maintenanceOn" : "maintenanceOff");
    if (this.#view.central.state !== "logged_in" || this.#central === undefined) {
      this.#event(words("maintenanceNotSent", { action }), "warning");
      return false;
    }
    void this.#send(build(monitorToCentralSchema, "MAINTENANCE", { on }));
    this.#event(words("maintenanceAsked", { action }));
    return true;
  }

  reauthenticate(): void {
    if (this.#abort.signal.aborted) return;
    if (this.#central !== undefined) {
      this.#asked = "login";
      this.#event(words("reauthLoggingOut"));
      this.#central.close();
    } else if (this.#wake !== undefined) {
      this.#event(words("reauthNow"));
      this.#wake();
    } else {
      this.#event(words("alreadyLoggingIn"));
    }
  }

  async register(): Promise<void> {
    if (this.#view.central.state !== "gave_up" || this.#wake === undefined) {
      this.#event(words("alreadyRegistered", { file: this.#credentialsFile }), "warning");
      return;
    }
    const cp = await this.#registry.getCp(this.#options.cpId).catch(() => undefined);
    if (cp?.deregistered_at) await Deno.remove(this.#credentialsFile).catch(() => {});
    this.#event(words("registeringAgain"));
    this.#wake?.();
  }

  async deregister(): Promise<void> {
    const { cpId } = this.#options;
    if (this.#options.registryAdminKey === undefined) {
      this.#event(words("deregisterNeedsKey"), "warning");
      return;
    }
    // Asked first: Central learns of the deregistration from the Registry and may log this
    // monitor out before the Registry's answer is read; that ending is the operator's move too.
    this.#asked = "deregistered";
    try {
      await this.#registry.deregister(cpId);
    } catch (error) {
      if (this.#asked === "deregistered") this.#asked = undefined;
      const refused = { cp: cpId, error: (error as Error).message };
      this.#event(words("deregisterRefused", refused), "error");
      return;
    }
    // Dead credentials: a registration again issues new ones.
    await Deno.remove(this.#credentialsFile).catch(() => {});
    this.#event(words("deregisteredForgotten", { cp: cpId }), "warning");
    if (this.#view.central.state === "gave_up") return; // Central's logout came first: parked
    if (this.#central !== undefined) this.#central.close();
    else this.#wake?.();
  }

  // --- view ----------------------------------------------------------------------------------

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }

  /** `said` in the operator's language. */
  #say(said: CpWords): string {
    return sayWords(this.#options.lang ?? DEFAULT_LANG, said);
  }

  /**
   * Logs `said` in English and shows it to the operator in their language: in the view, and in
   * the record for the screens that show log lines (cp/terminal.ts `SHOWN`).
   */
  #event(said: CpWords, level: "info" | "warning" | "error" = "info"): void {
    const english = sayWords("en", said);
    const shown = this.#say(said);
    log[level](literal(english), {
      cpId: this.#options.cpId,
      ...(shown === english ? {} : { [SHOWN]: shown }),
    });
    this.#view = { ...this.#view, lastEvent: shown };
    this.#changed();
  }

  #setCentral(
    central: Omit<Partial<MonitorView["central"]>, "detail"> & {
      state: CentralLinkState;
      detail?: CpWords;
    },
  ): void {
    const { detail, ...link } = central;
    this.#view = {
      ...this.#view,
      central: {
        address: this.#view.central.address,
        ...link,
        ...(detail === undefined ? {} : { detail: this.#say(detail) }),
      },
    };
    this.#changed();
  }

  // --- Central -------------------------------------------------------------------------------

  /** Logs in, stays connected as long as Central lets it, and does what the core says next. */
  async #centralLoop(): Promise<void> {
    while (!this.#abort.signal.aborted) {
      const ending = await this.#attempt();
      if (this.#abort.signal.aborted) return;
      const asked = this.#asked;
      this.#asked = undefined;
      const effects = this.#step({ type: "login_ended", ending, asked });
      if (await this.#perform(effects) === "ended") return;
    }
  }

  /** Steps the core with `input` at this moment; returns the effects to perform. */
  #step(input: MonitorInput): readonly MonitorEffect[] {
    const random = (this.#options.random ?? Math.random)();
    const now = Date.now();
    const lagMs = this.#engine.lagMs(now);
    const next = step(this.#model, input, { settings: this.#settings, now, lagMs, random });
    this.#model = next.model;
    return next.effects;
  }

  /** Performs the core's effects in order; `ended` once the monitor gave up for good. */
  async #perform(effects: readonly MonitorEffect[]): Promise<"ended" | undefined> {
    for (const effect of effects) {
      switch (effect.type) {
        case "revoke_key": {
          const keyVersion = this.#view.keyVersion;
          if (keyVersion === undefined) break;
          await this.#engine.revoke(keyVersion);
          this.#view = { ...this.#view, keyVersion: undefined };
          break;
        }
        case "login":
          break;
        case "wait": {
          const { delayMs, reason, countdown } = effect;
          this.#setCentral({ state: "waiting", detail: reason, retryAt: Date.now() + delayMs });
          if (countdown) await this.#countDown(reason, delayMs);
          else {
            const seconds = Math.round(delayMs / 100) / 10;
            this.#event(words("nextTry", { reason, seconds }), "warning");
            await this.#pause(delayMs);
          }
          break;
        }
        case "park":
          await this.#park(effect.message);
          break;
        case "give_up":
          this.#setCentral({ state: "gave_up", detail: effect.message });
          this.#event(effect.message, "error");
          this.#abort.abort(); // nothing left to do: the engine link goes too
          this.#done.resolve({ kind: "gave_up", message: this.#say(effect.message) });
          return "ended";
        case "health_changed": {
          const level = effect.health === "OK" ? "info" : "warning";
          this.#event(words("engineHealthEvent", { health: effect.health }), level);
          void this.#sendHealth();
          break;
        }
      }
    }
    return undefined;
  }

  /**
   * Waits `delayMs`, saying every second how long is left (screen and log), so the operator
   * watching a revoked CP sees when it will re-authenticate.
   */
  async #countDown(reason: CpWords, delayMs: number): Promise<void> {
    const until = Date.now() + delayMs;
    let left = delayMs;
    while (left > 0 && !this.#abort.signal.aborted) {
      const seconds = Math.ceil(left / 1000);
      this.#event(left === delayMs ? reason : words("reauthenticatingIn", { seconds }), "warning");
      // To the next whole second; the operator's `A` (or a stop) ends the wait at once.
      if (await this.#pause(left - (seconds - 1) * 1000)) return;
      left = until - Date.now();
    }
  }

  /**
   * Gave up, at a menu (the core had the engine drop its key first: Central no longer takes it):
   * the monitor waits for its operator to register or authenticate again.
   */
  async #park(message: CpWords): Promise<void> {
    this.#view = { ...this.#view, keyVersion: undefined, shown: undefined };
    const waiting = words("parked", { message });
    this.#setCentral({ state: "gave_up", detail: waiting });
    this.#event(waiting, "error");
    await this.#pause();
  }

  /**
   * Waits `ms` (forever when absent) or until the operator or a stop ends the wait; true when
   * they did, false when the time ran out.
   */
  #pause(ms?: number): Promise<boolean> {
    const woken = Promise.withResolvers<boolean>();
    this.#wake = () => woken.resolve(true);
    const cancel = whenAborted(this.#abort.signal, () => woken.resolve(true));
    const timer = ms === undefined ? undefined : setTimeout(() => woken.resolve(false), ms);
    return woken.promise.finally(() => {
      clearTimeout(timer);
      cancel();
      this.#wake = undefined;
    });
  }

  /** One try, within a turn of {@link MonitorOptions.loginTurns} when there are turns. */
  async #attempt(): Promise<LoginEnding> {
    this.#setCentral({ state: "connecting" });
    let release = () => {};
    try {
      release = await this.#options.loginTurns?.acquire(this.#abort.signal) ?? release;
    } catch {
      return { kind: "lost", detail: words("monitorStopping") }; // stopped while waiting
    }
    try {
      return await this.#try(release);
    } finally {
      release();
    }
  }

  /**
   * Credentials, a fresh ECDH pair and a token bound to it (Central lets each token log in
   * once, and only with the key it names), the TLS connection, the login, then the logged-in
   * life until it ends. `loggedIn` is called once logged in.
   */
  async #try(loggedIn: () => void): Promise<LoginEnding> {
    const { cpId } = this.#options;

    let credentials: string;
    try {
      credentials = await loadOrRegister({
        ...this.#options,
        registry: this.#registry,
        credentialsFile: this.#credentialsFile,
        uncertain: this.#registration,
        event: (text, level) => this.#event(text, level),
      });
    } catch (error) {
      return registryEnding("register", error, this.#credentialsFile);
    }

    const ecdh = await generateEcdhKeyPair(); // ephemeral: a new pair for every login
    const ecdhPublicKey = await exportEcdhPublicKey(ecdh.publicKey);
    let token: string;
    let expiresAt: string;
    try {
      ({ token, expires_at: expiresAt } = await this.#registry.authenticate(
        cpId,
        credentials,
        ecdhJwk(ecdhPublicKey),
      ));
    } catch (error) {
      return registryEnding("authenticate", error, this.#credentialsFile);
    }

    if (!this.#engineAwaited) {
      // The Registry's steps above need no engine, the login does: Central would take an engine
      // still starting for a fault.
      await this.#engine.firstAnswer(ENGINE_FIRST_ANSWER_MS);
      this.#engineAwaited = true;
      if (this.#abort.signal.aborted) return { kind: "lost", detail: words("monitorStopping") };
    }
    const { host, port } = this.#options.central;
    let conn: FramedConn;
    try {
      // TLS to Central, checked against the project CA and the name dialed: the token, the
      // key exchange, heartbeats and health all travel encrypted.
      conn = await FramedConn.client(await connectTls(host, port, [this.#caCert]), {
        validate: (v) => {
          const r = parseMessage(centralToMonitorSchema, v);
          return r.ok ? undefined : r.reason;
        },
      });
    } catch (error) {
      const detail = words("centralUnreachable", { error: (error as Error).message });
      return { kind: "unreachable", detail };
    }
    this.#central = conn;
    const cancel = whenAborted(this.#abort.signal, () => conn.close());
    try {
      return await this.#login(conn, { token, expiresAt, ecdh, ecdhPublicKey, loggedIn });
    } catch (error) {
      return { kind: "lost", detail: words("centralLost", { error: (error as Error).message }) };
    } finally {
      cancel();
      this.#central = undefined;
      await conn.close();
    }
  }

  /**
   * `AUTH` → `AUTH_OK`/`AUTH_FAIL`, then heartbeats until Central ends the conversation. An
   * `AUTH_OK` whose ECDH share Central's certificate did not sign is a lost try, never a login.
   */
  async #login(
    conn: FramedConn,
    login: {
      token: string;
      expiresAt: string;
      ecdh: CryptoKeyPair;
      ecdhPublicKey: string;
      loggedIn: () => void;
    },
  ): Promise<LoginEnding> {
    const { cpId } = this.#options;
    const { token, ecdh, ecdhPublicKey } = login;
    const frames = conn[Symbol.asyncIterator]();
    const { protocol } = this.#options;
    await conn.send(build(monitorToCentralSchema, "AUTH", {
      cpId,
      token,
      ecdhPublicKey,
      ...(protocol === undefined ? {} : { protocol }),
    }));

    let timedOut = false;
    const cancelTimeout = awakeTimeout(() => {
      timedOut = true;
      conn.close();
    }, AUTH_ANSWER_TIMEOUT_MS);
    const first = await frames.next().finally(cancelTimeout);
    if (first.done) {
      const detail = timedOut
        ? words("centralSilent", { seconds: AUTH_ANSWER_TIMEOUT_MS / 1000 })
        : words("centralClosed");
      return { kind: "lost", detail };
    }
    const answer = first.value as CentralToMonitor; // validated by the connection
    if (answer.type === "AUTH_FAIL") {
      return { kind: "auth_fail", fail: answer };
    }
    if (answer.type !== "AUTH_OK") {
      return { kind: "lost", detail: words("centralOddAnswer", { type: answer.type }) };
    }
    try {
      await verifyAuthOk(answer, {
        cpId,
        keyVersion: answer.keyVersion,
        salt: answer.salt,
        monitorKey: ecdhPublicKey,
        centralKey: answer.ecdhPublicKey,
      }, { caPem: this.#caCert, host: this.#options.central.host });
    } catch (error) {
      return {
        kind: "lost",
        detail: words("centralUnproven", { error: (error as Error).message }),
      };
    }

    const key = await deriveCpKey({
      privateKey: ecdh.privateKey,
      peerPublicKey: await importEcdhPublicKey(answer.ecdhPublicKey),
      salt: answer.salt,
      cpId,
      keyVersion: answer.keyVersion,
      extractable: true, // only so it can be handed to the engine in the KEY frame
    });
    const since = Date.now();
    this.#view = {
      ...this.#view,
      keyVersion: answer.keyVersion,
      cp: answer.cp,
      tokenExpiresAt: login.expiresAt,
    };
    this.#setCentral({ state: "logged_in" });
    login.loggedIn();
    this.#event(words("loggedInVersion", { n: String(answer.keyVersion) }));
    await this.#engine.setKey(build(monitorToEngineSchema, "KEY", {
      cpId,
      keyVersion: answer.keyVersion,
      key: await exportCpKey(key),
    }));

    // `seq` counts the seconds since login, so a gap shows Central the beats skipped while its
    // answer was late. `HEALTH` goes now and on each change only: frames are acknowledged, so
    // repeating an unchanged one would only double every CP's traffic and its round trip.
    const beat = new Beat((seq) => this.#send(build(monitorToCentralSchema, "HEARTBEAT", { seq })));
    void this.#sendHealth();
    beat.start(TICK_MS);
    try {
      for (;;) {
        const next = await frames.next();
        if (next.done) {
          return {
            kind: "lost",
            detail: words("centralEnded"),
            connectedMs: Date.now() - since,
          };
        }
        const frame = next.value as CentralToMonitor;
        if (frame.type === "LOGOUT") {
          return { kind: "logout", logout: frame, connectedMs: Date.now() - since };
        }
        if (frame.type === "CP_STATE") {
          const { state, stopReason, maintenance } = frame;
          this.#view = { ...this.#view, shown: { state, stopReason, maintenance } };
          this.#event({ shows: { state, stopReason, maintenance } });
          continue;
        }
        // Commands reach the engine over Kafka; nothing else is expected once logged in.
        log.debug("ignored {type} from Central", { cpId, type: frame.type });
      }
    } catch (error) {
      return {
        kind: "lost",
        detail: words("centralLost", { error: (error as Error).message }),
        connectedMs: Date.now() - since,
      };
    } finally {
      beat.stop();
      this.#view = { ...this.#view, shown: undefined };
    }
  }

  /** `HEALTH{engine}` to Central if logged in: at login, and at once on a change. */
  #sendHealth(): Promise<void> {
    if (this.#view.central.state !== "logged_in") return Promise.resolve();
    return this.#send(build(monitorToCentralSchema, "HEALTH", { engine: this.#model.health }));
  }

  /**
   * Sends to Central, settling once it is answered; a failure shows up as the connection ending,
   * so it never rejects.
   */
  #send(frame: object): Promise<void> {
    return this.#central?.send(frame).catch(() => {}) ?? Promise.resolve();
  }
}
