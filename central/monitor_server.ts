/**
 * Central's TCP server for CP monitors (ARCHITECTURE §Framed protocol, docs/charging_loop.md §1): framed
 * conversations, the login (Registry token + Registry status + Central's own status, then the
 * ECDH key agreement), and heartbeats and health turned into core inputs.
 *
 * The sockets themselves are served on a thread of their own (monitor_links.ts); this side
 * holds the conversations. Every connection is independent: bad bytes are NACKed or skipped by
 * `FramedConn` there, a bad login gets `AUTH_FAIL` and EOT, and a failure in one conversation
 * is logged and closes only that one.
 *
 * @module
 */
import { CpKeyError } from "../shared/cp_key.ts";
import { FramedConnError } from "../shared/framed_conn.ts";
import { getLogger } from "../shared/log.ts";
import {
  type AuthOkSigner,
  authOkSigner,
  ecdhThumbprint,
  signAuthOk,
} from "../shared/login_proof.ts";
import type { TlsFiles } from "../shared/tls.ts";
import {
  type Auth,
  build,
  centralToMonitorSchema,
  type EngineHealth,
  type LogoutReason,
  type MonitorToCentral,
} from "../shared/messages.ts";
import {
  type CpJson,
  InvalidTokenError,
  RegistryError,
  RegistryUnavailableError,
  type VerifiedToken,
} from "../registry/client.ts";
import { notice, type NoticeCode } from "../shared/notices.ts";
import { type Cp, type LoginRefusal, loginRefusal, type Model, refuseLogin } from "./core.ts";
import type { KeyVault } from "./keys.ts";
import type { ReportedLateness } from "../shared/loop_lag.ts";
import { type Link, MonitorLinks } from "./monitor_links.ts";
import type { CentralRuntime } from "./runtime.ts";

const log = getLogger(["evcharging", "central", "tcp"]);

/**
 * How often gathered heartbeats become one core step. Far below the heartbeat timeout, so a
 * CP is never judged silent because its heartbeat waited here.
 */
export const BEATS_FLUSH_MS = 200;

/**
 * Default cap on connections one address holds without having logged in. A host running many
 * CPs (the fleet, a NAT) opens a few at a time; a stranger's flood stays below it and takes no
 * one else's place.
 */
export const DEFAULT_MAX_UNAUTHENTICATED_PER_ADDRESS = 64;

/** What Central asks the Registry at a login (`RegistryClient` has both). */
export interface RegistryPort {
  /** Checks the token's signature and claims against the Registry's JWKS. */
  verifyToken(token: string): Promise<VerifiedToken>;
  /** The CP as registered (404 → `RegistryError` with status 404). */
  getCp(cpId: string): Promise<CpJson>;
}

/** Settings of {@link MonitorServer.start}. */
export interface MonitorServerOptions {
  /** Address to listen on (default `0.0.0.0`). */
  readonly hostname?: string;
  /** TCP port (0: any free port). */
  readonly port: number;
  /** Central's certificate and key: monitors speak TLS to it, and it signs `AUTH_OK`. */
  readonly tls: TlsFiles;
  /** The jtis of tokens that logged in (each logs in once). */
  readonly usedTokens: TokenIds;
  /**
   * Time a new connection has from its accept to a committed login: TLS handshake, opening,
   * `AUTH` and its checks (default 10 s).
   */
  readonly loginTimeoutMs?: number;
  /** Most simultaneous connections, logged in or not (default 10 000). */
  readonly maxConnections?: number;
  /**
   * Most connections one address may hold open without having logged in, TLS handshakes
   * included (default {@link DEFAULT_MAX_UNAUTHENTICATED_PER_ADDRESS}); more are closed at once.
   */
  readonly maxUnauthenticatedPerAddress?: number;
  /** Where the socket thread's lateness goes (central/monitor_links.ts), for the heartbeat verdicts. */
  readonly lateness?: ReportedLateness;
}

/** Where the jtis of used tokens are kept (central/used_tokens.ts). */
export interface TokenIds {
  /** True the first time `jti` is claimed, false once it was. */
  claim(jti: string, expiresAtMs: number, now: number): boolean;
}

/** One open conversation. */
interface Conversation {
  readonly id: number;
  readonly conn: Link;
  readonly peer: string;
  /** The monitor's IP address, for the audit (absent for a non-IP transport). */
  readonly ip?: string;
  /** Set once the login is committed. */
  cpId?: string;
  /** Set once the connection is closed, by either side. */
  gone: boolean;
  /** Set once `AUTH_OK` went out: from then on the monitor hears `CP_STATE`. */
  answered?: boolean;
  /** The last `CP_STATE` sent, as `state|stopReason|maintenance`, so a repeat is not sent. */
  stateSent?: string;
}

/** The listening server and its conversations. */
export class MonitorServer {
  readonly #links: MonitorLinks;
  readonly #runtime: CentralRuntime;
  readonly #vault: KeyVault;
  readonly #registry: RegistryPort;
  readonly #loginTimeoutMs: number;
  readonly #signer: AuthOkSigner;
  readonly #usedTokens: TokenIds;
  readonly #conversations = new Map<number, Conversation>();
  readonly #serving = new Set<Promise<void>>();
  readonly #unsubscribe: () => void;
  /** Signs of life not yet dispatched, by connection (see {@link BEATS_FLUSH_MS}). */
  #beats = new Map<number, { cpId: string; connection: number; seenMs: number }>();
  /** The last `HEALTH` each connection reported: a repeated `OK` is only a sign of life. */
  readonly #lastHealth = new Map<number, EngineHealth>();
  readonly #beatTimer: ReturnType<typeof setInterval>;

  private constructor(
    links: MonitorLinks,
    runtime: CentralRuntime,
    vault: KeyVault,
    registry: RegistryPort,
    loginTimeoutMs: number,
    guards: { signer: AuthOkSigner; usedTokens: TokenIds },
  ) {
    this.#signer = guards.signer;
    this.#usedTokens = guards.usedTokens;
    this.#links = links;
    this.#runtime = runtime;
    this.#vault = vault;
    this.#registry = registry;
    this.#loginTimeoutMs = loginTimeoutMs;
    // The core decides when a connection must go (replaced, heartbeat timeout); this acts.
    this.#unsubscribe = runtime.subscribe(({ effects }) => {
      // A step may save a CP more than once on its way: its monitor hears only the outcome.
      const saved = new Map<number, Cp>();
      for (const effect of effects) {
        if (effect.type === "close_connection") this.#end(effect.connection, effect.logout);
        if (effect.type === "save_cp" && effect.cp.connection !== null) {
          saved.set(effect.cp.connection, effect.cp);
        }
      }
      for (const [connection, cp] of saved) this.#tellState(connection, cp);
    });
    this.#beatTimer = setInterval(() => this.#flushBeats(), BEATS_FLUSH_MS);
    links.serve((link) => this.#take(link));
  }

  /** Dispatches the gathered signs of life as one step. */
  #flushBeats(): void {
    if (this.#beats.size === 0) return;
    const beats = [...this.#beats.values()];
    this.#beats = new Map();
    this.#runtime.dispatch({ type: "heartbeats", beats }, Date.now());
  }

  /** Listens and serves monitors until {@link close}; resolves once it listens. */
  static async start(
    runtime: CentralRuntime,
    vault: KeyVault,
    registry: RegistryPort,
    options: MonitorServerOptions,
  ): Promise<MonitorServer> {
    const loginTimeoutMs = options.loginTimeoutMs ?? 10_000;
    const signer = await authOkSigner(options.tls); // once: no file or key import per login
    const links = await MonitorLinks.start({
      hostname: options.hostname ?? "0.0.0.0",
      port: options.port,
      tls: options.tls,
      openTimeoutMs: loginTimeoutMs,
      loginTimeoutMs,
      maxConnections: options.maxConnections ?? 10_000,
      maxUnauthenticatedPerAddress: options.maxUnauthenticatedPerAddress ??
        DEFAULT_MAX_UNAUTHENTICATED_PER_ADDRESS,
      // Before any token: the address's failure, aggregated, never a CP's.
      onRefused: (ip, reason) =>
        runtime.audit({
          actor: `address:${ip}`,
          action: "cp.login",
          outcome: "rejected",
          params: { reason },
          originIp: ip,
        }, true),
      lateness: options.lateness,
    });
    return new MonitorServer(links, runtime, vault, registry, loginTimeoutMs, {
      signer,
      usedTokens: options.usedTokens,
    });
  }

  /** Where it listens. */
  get addr(): Deno.NetAddr {
    return this.#links.addr;
  }

  /**
   * Stops listening, tells every logged-in monitor `LOGOUT{shutdown}` (they reconnect with
   * backoff), and waits for every conversation to end.
   */
  async close(): Promise<void> {
    await this.#links.stopAccepting();
    for (const id of this.#conversations.keys()) this.#end(id, "shutdown");
    await Promise.allSettled(this.#serving);
    this.#links.terminate();
    clearInterval(this.#beatTimer);
    this.#unsubscribe();
  }

  /** Serves a conversation the socket thread opened. */
  #take(link: Link): void {
    const { id } = link;
    const serving = this.#serve(link)
      .catch((error) => log.error("Connection {id} failed: {error}", { id, error }))
      .finally(() => this.#serving.delete(serving));
    this.#serving.add(serving);
  }

  async #serve(conn: Link): Promise<void> {
    const { id, peer, ip } = conn;
    const conversation: Conversation = { id, conn, peer, ip, gone: false };
    conn.closed.then(() => conversation.gone = true);
    this.#conversations.set(id, conversation);
    const messages = conn[Symbol.asyncIterator]();
    try {
      const first = await firstMessage(messages, this.#loginTimeoutMs);
      if (first === undefined) {
        log.info("Connection {id} from {peer} sent no AUTH in time: closed", { id, peer });
        return;
      }
      if (first.type !== "AUTH") {
        await this.#refuse(conversation, refuseLogin("bad_request", true, "login_first"));
        return;
      }
      const cpId = await this.#login(conversation, first);
      if (cpId === undefined) return;
      for (let next = await messages.next(); !next.done; next = await messages.next()) {
        this.#handle(id, cpId, next.value as MonitorToCentral);
      }
    } catch (error) {
      // A dropped connection ends the conversation like an EOT: the core hears `disconnect`.
      if (!(error instanceof FramedConnError)) throw error;
    } finally {
      this.#conversations.delete(id);
      this.#lastHealth.delete(id);
      await conn.close();
      if (conversation.cpId !== undefined) {
        this.#runtime.dispatch({
          type: "disconnect",
          cpId: conversation.cpId,
          connection: id,
        }, Date.now());
      }
    }
  }

  /**
   * Runs the login; returns the CP id once it is committed, or undefined after an AUTH_FAIL.
   *
   * Until the token is proven (signature, audience, CP, bound key, not issued before the CP's
   * last key revocation, never used before) a failure is the address's, not the CP's: anyone
   * can name any CP. From then on failures count against the CP.
   */
  async #login(conversation: Conversation, auth: Auth): Promise<string | undefined> {
    const { cpId } = auth;
    const claims = await this.#proveToken(conversation, auth);
    if (claims === undefined) return undefined;
    let registered: CpJson | undefined;
    try {
      registered = await this.#registry.getCp(cpId).catch((error) => {
        if (error instanceof RegistryError && error.status === 404) return undefined;
        throw error;
      });
    } catch (error) {
      return await this.#refuse(conversation, registryFailure(error), cpId);
    }
    if (registered === undefined) {
      return await this.#refuse(
        conversation,
        refuseLogin("unknown_cp", false, "login_unknown_cp", { id: cpId }),
        cpId,
      );
    }
    const refusal = loginRefusal(this.#runtime.model, cpId, registered.status);
    if (refusal !== null) return await this.#refuse(conversation, refusal, cpId);
    let key;
    try {
      key = await this.#vault.agree(cpId, auth.ecdhPublicKey);
    } catch (error) {
      if (!(error instanceof CpKeyError)) throw error;
      return await this.#refuse(
        conversation,
        refuseLogin("bad_request", false, "login_bad_key", { error: error.message }),
        cpId,
      );
    }
    // The monitor may have gone while the Registry was asked: then there is nothing to log in.
    if (conversation.gone) return undefined;
    // An admin may have revoked the CP or its keys during the awaits above: that must win.
    const late = loginRefusal(this.#runtime.model, cpId, registered.status) ??
      staleToken(this.#runtime.model, cpId, claims.issuedAt);
    if (late !== null) return await this.#refuse(conversation, late, cpId);
    const cp = {
      id: cpId,
      location: registered.location,
      priceEurKwh: registered.price_eur_kwh,
      powerKw: registered.power_kw,
    };
    const signature = await signAuthOk(this.#signer, {
      cpId,
      keyVersion: key.keyVersion,
      salt: key.salt,
      monitorKey: auth.ecdhPublicKey,
      centralKey: key.ecdhPublicKey,
    });
    if (conversation.gone) return undefined;
    this.#runtime.dispatch({
      type: "login",
      cpId,
      connection: conversation.id,
      registry: cp,
      keyVersion: key.keyVersion,
      wrappedKey: key.wrappedKey,
      // Which registration this login belongs to: a deregistration the feed delivers later,
      // of an earlier registration (a CP registered again), must not log it out.
      registeredAt: registered.registered_at,
      protocol: auth.protocol,
      originIp: conversation.ip,
    }, Date.now());
    this.#vault.install(cpId, key);
    this.#links.loggedIn(conversation.id);
    conversation.cpId = cpId; // from now on, the end of the conversation disconnects the CP
    log.debug("CP {cpId} logged in from {peer} (connection {id}, key version {keyVersion})", {
      cpId,
      peer: conversation.peer,
      id: conversation.id,
      keyVersion: key.keyVersion,
      jti: claims.jti,
    });
    await conversation.conn.send(build(centralToMonitorSchema, "AUTH_OK", {
      keyVersion: key.keyVersion,
      salt: key.salt,
      ecdhPublicKey: key.ecdhPublicKey,
      cp,
      certificate: this.#signer.certificate,
      signature,
    }));
    conversation.answered = true;
    const now = this.#runtime.model.cps.get(cpId);
    if (now?.connection === conversation.id) this.#tellState(conversation.id, now);
    return cpId;
  }

  /** `CP_STATE` to the monitor of connection `id` when what it shows has changed. */
  #tellState(id: number, cp: Cp): void {
    const conversation = this.#conversations.get(id);
    if (conversation?.answered !== true) return; // AUTH_OK must be its first frame
    const { state, stopReason } = cp.status;
    const maintenance = cp.maintenance === true;
    const shown = `${state}|${stopReason}|${maintenance}`;
    if (conversation.stateSent === shown) return;
    conversation.stateSent = shown;
    conversation.conn
      .send(build(centralToMonitorSchema, "CP_STATE", { state, stopReason, maintenance }))
      .catch(() => {}); // a lost connection ends the conversation by itself
  }

  /**
   * The token's checks, in order: signature and claims (the Registry's JWKS), the CP it names,
   * the key it is bound to (`cnf.jkt` against the AUTH's ECDH key), its issue time against the
   * CP's last key revocation, and last its `jti`, taken for good (only the key's holder gets
   * that far, so no stranger can burn a CP's token). Returns the claims, or undefined after an
   * AUTH_FAIL filed against the address.
   */
  async #proveToken(conversation: Conversation, auth: Auth): Promise<VerifiedToken | undefined> {
    const { cpId } = auth;
    let claims: VerifiedToken;
    try {
      claims = await this.#registry.verifyToken(auth.token);
    } catch (error) {
      if (error instanceof InvalidTokenError) {
        return await this.#refuse(conversation, registryFailure(error), undefined, error.reason);
      }
      // Not the stranger's fault, and not the CP's: Central could not check.
      return await this.#refuse(conversation, registryFailure(error));
    }
    if (claims.cpId !== cpId) {
      return await this.#refuse(
        conversation,
        refuseLogin("cp_mismatch", false, "login_other_cp", { id: cpId }),
        undefined,
        "cp_mismatch",
      );
    }
    let thumbprint: string;
    try {
      thumbprint = await ecdhThumbprint(auth.ecdhPublicKey);
    } catch {
      thumbprint = "";
    }
    if (thumbprint !== claims.jkt) {
      return await this.#refuse(
        conversation,
        refuseLogin("bad_token", true, "login_key_mismatch"),
        undefined,
        "key_mismatch",
      );
    }
    const stale = staleToken(this.#runtime.model, cpId, claims.issuedAt);
    if (stale !== null) return await this.#refuse(conversation, stale, undefined, "stale_token");
    if (!this.#usedTokens.claim(claims.jti, claims.expiresAt.getTime(), Date.now())) {
      return await this.#refuse(
        conversation,
        refuseLogin("bad_token", true, "login_token_replayed"),
        undefined,
        "token_replayed",
      );
    }
    return claims;
  }

  #handle(id: number, cpId: string, message: MonitorToCentral): void {
    const now = Date.now();
    switch (message.type) {
      case "HEARTBEAT":
        this.#beats.set(id, { cpId, connection: id, seenMs: now });
        return;
      case "HEALTH":
        // Only an OK after an OK is certain to change nothing but the time last seen.
        if (message.engine === "OK" && this.#lastHealth.get(id) === "OK") {
          this.#beats.set(id, { cpId, connection: id, seenMs: now });
          return;
        }
        this.#lastHealth.set(id, message.engine);
        this.#runtime.dispatch({
          type: "health",
          cpId,
          connection: id,
          engine: message.engine,
        }, now);
        return;
      case "MAINTENANCE":
        this.#runtime.dispatch({
          type: "maintenance",
          cpId,
          connection: id,
          on: message.on,
          originIp: this.#conversations.get(id)?.ip,
        }, now);
        return;
      case "AUTH":
        log.warning("CP {cpId} sent AUTH again on connection {id}: ignored", { cpId, id });
        return;
    }
  }

  /**
   * Sends `AUTH_FAIL` and ends the conversation; always returns undefined (no login). With a
   * `cpId` the failure is the CP's (counted in its `failed_logins`); without one it is filed
   * against the address, aggregated (`why` says which check failed), and no CP is touched.
   */
  async #refuse(
    conversation: Conversation,
    refusal: LoginRefusal,
    cpId?: string,
    why?: string,
  ): Promise<undefined> {
    log.warning("Login from {peer} refused: {reason} ({detail})", {
      ...(cpId === undefined ? {} : { cpId }),
      peer: conversation.peer,
      id: conversation.id,
      ...refusal,
    });
    this.#runtime.dispatch({
      type: "login_failed",
      ...(cpId === undefined ? {} : { cpId }),
      reason: refusal.reason,
      ...(why === undefined ? {} : { why }),
      originIp: conversation.ip,
    }, Date.now());
    const { conn } = conversation;
    await conn.send(build(centralToMonitorSchema, "AUTH_FAIL", refusal)).catch(() => {});
    await conn.close();
    return undefined;
  }

  /** Ends conversation `id`, after a `LOGOUT` when a reason is given. */
  #end(id: number, logout: LogoutReason | null): void {
    const conversation = this.#conversations.get(id);
    if (conversation === undefined) return;
    const { conn } = conversation;
    const bye = logout === null ? Promise.resolve() : conn
      .send(build(centralToMonitorSchema, "LOGOUT", {
        reason: logout,
        ...notice(LOGOUT_NOTICE[logout]),
        // Only a REVOKED or deregistered CP must not come back.
        retryable: logout !== "revoked" && logout !== "deregistered",
      }))
      .catch(() => {});
    bye.then(() => conn.close());
  }
}

/** What a monitor's operator reads beside a `LOGOUT`, in their language (shared/notices.ts). */
const LOGOUT_NOTICE: Record<LogoutReason, NoticeCode> = {
  key_rotated: "logout_key_rotated",
  key_revoked: "logout_key_revoked",
  revoked: "logout_revoked",
  deregistered: "logout_deregistered",
  replaced: "logout_replaced",
  shutdown: "logout_shutdown",
};

/** The first message, or undefined if none came within `ms` (the connection is then closed). */
async function firstMessage(
  messages: AsyncIterator<unknown>,
  ms: number,
): Promise<MonitorToCentral | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) =>
    timer = setTimeout(() => resolve(undefined), ms)
  );
  try {
    const first = await Promise.race([messages.next(), timeout]);
    return first === undefined || first.done ? undefined : first.value as MonitorToCentral;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The refusal of a token issued at or before the CP's last key revocation (a key revoke, a
 * rotation, REVOKED), or null. Compared to the millisecond: a token fetched right after a
 * revocation, within the same second, is fresh.
 */
export function staleToken(model: Model, cpId: string, issuedAt: Date): LoginRefusal | null {
  const revokedAt = model.cps.get(cpId)?.securityInfo.revokedAt;
  if (revokedAt === null || revokedAt === undefined) return null;
  if (issuedAt.getTime() > Date.parse(revokedAt)) return null;
  return refuseLogin("bad_token", true, "login_stale_token");
}

/** The `AUTH_FAIL` for a token or Registry failure. */
export function registryFailure(error: unknown): LoginRefusal {
  if (error instanceof InvalidTokenError) {
    return error.reason === "expired"
      ? refuseLogin("expired_token", true, "login_token_expired")
      : refuseLogin("bad_token", true, "login_token_refused", { why: error.reason });
  }
  if (error instanceof RegistryUnavailableError) {
    return refuseLogin("registry_unavailable", true, "login_registry_unreachable");
  }
  log.error("Login failed on an unexpected error: {error}", { error });
  return refuseLogin("internal_error", true, "login_central_failed");
}
