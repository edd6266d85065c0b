/**
 * The engine's loopback port for its monitor: framed TCP on 127.0.0.1, one authenticated monitor
 * at a time, the opening proved with this start's link secret (`engine_link.ts`) before any
 * frame is taken. A host that runs the monitor too (the fleet) may join them in memory instead
 * (`MonitorPortOptions.memory`): the same frames and proof, no socket.
 *
 * Strangers cannot lock the monitor out: openings that have not proved the secret yet do not
 * hold the monitor's place, each has {@link LINK_OPENING_TIMEOUT_MS} to do so, and past
 * {@link MAX_UNPROVEN_OPENINGS} at once the oldest is dropped for the newcomer.
 *
 * @module
 */

import { type ByteConn, FramedConn } from "../shared/framed_conn.ts";
import { getLogger } from "../shared/log.ts";
import type { MemoryListener } from "../shared/memory_conn.ts";
import { type MonitorToEngine, monitorToEngineSchema, parseMessage } from "../shared/messages.ts";
import { acceptMonitorLink, LINK_OPENING_TIMEOUT_MS, LinkKey } from "./engine_link.ts";

const log = getLogger(["evcharging", "cp", "engine"]);

/** A monitor silent this long no longer holds the engine: a new one may take its place. */
export const STALE_MONITOR_MS = 3000;
/** Openings that have not proved the link secret yet, at most; the oldest goes first. */
export const MAX_UNPROVEN_OPENINGS = 8;

/** Settings of {@link MonitorPort.open}. */
export interface MonitorPortOptions {
  /** Loopback port to listen on; 0 picks a free one. Ignored with {@link memory}. */
  readonly port: number;
  /**
   * Accept the monitor in this process instead of on a socket: for a host that runs both (the
   * fleet). The frames and the link proof are the same.
   */
  readonly memory?: MemoryListener;
  /** This start's link secret. */
  readonly secret: Uint8Array;
  /** Handles one frame of the authenticated monitor; what it returns is sent back. */
  readonly onFrame: (frame: MonitorToEngine) => Promise<object | undefined>;
  /** Told when a monitor comes or goes. */
  readonly onChange: () => void;
  /** For the logs. */
  readonly cpId: () => string | undefined;
}

/** The listening port and the monitor it serves. */
export class MonitorPort {
  readonly #options: MonitorPortOptions;
  readonly #key: LinkKey;
  readonly #listener: AsyncIterable<ByteConn> & { close(): void };
  readonly #port: number;
  readonly #unproven = new Set<FramedConn>();
  #monitor: { conn: FramedConn; lastHeardAt: number } | undefined;
  #closing = false;

  private constructor(options: MonitorPortOptions, key: LinkKey) {
    this.#options = options;
    this.#key = key;
    if (options.memory !== undefined) {
      this.#listener = options.memory;
      this.#port = 0;
    } else {
      // Loopback only: the monitor is on the same machine.
      const listener = Deno.listen({ hostname: "127.0.0.1", port: options.port });
      this.#listener = listener;
      this.#port = listener.addr.port;
    }
  }

  /**
   * Listens at once and serves monitors in the background.
   * @throws {Deno.errors.AddrInUse} if the port is taken.
   */
  static async open(options: MonitorPortOptions): Promise<MonitorPort> {
    const port = new MonitorPort(options, await LinkKey.of(options.secret));
    port.#accept();
    return port;
  }

  /** The port listened on (the real one when opened with 0); 0 in memory. */
  get port(): number {
    return this.#port;
  }

  /** Whether an authenticated monitor is connected. */
  get connected(): boolean {
    return this.#monitor !== undefined;
  }

  /** Stops listening and ends every connection. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#listener.close();
    for (const conn of this.#unproven) conn.close();
    await this.#monitor?.conn.close();
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) this.#serve(conn);
    } catch (error) {
      if (!this.#closing) log.error("monitor listener failed: {error}", { error });
    }
  }

  /** Whether the monitor's place is free, or held by one silent too long. */
  #placeFree(): boolean {
    const current = this.#monitor;
    return current === undefined || Date.now() - current.lastHeardAt > STALE_MONITOR_MS;
  }

  /**
   * Only one monitor at a time, but a silent one (its process hung, its socket half-open) does
   * not lock the engine out: after {@link STALE_MONITOR_MS} a proven newcomer replaces it.
   */
  #takePlace(conn: FramedConn): boolean {
    const current = this.#monitor;
    if (current !== undefined) {
      if (!this.#placeFree()) {
        log.warning("refused a second monitor: one is connected", { cpId: this.#options.cpId() });
        return false;
      }
      log.warning("replacing a monitor silent for over {ms} ms", { ms: STALE_MONITOR_MS });
      current.conn.close();
    }
    this.#monitor = { conn, lastHeardAt: Date.now() };
    return true;
  }

  async #serve(socket: ByteConn): Promise<void> {
    let conn: FramedConn;
    try {
      conn = await FramedConn.server(socket, {
        openTimeoutMs: LINK_OPENING_TIMEOUT_MS,
        admit: () => {
          const free = this.#placeFree();
          if (!free) {
            log.warning("refused a second monitor: one is connected", {
              cpId: this.#options.cpId(),
            });
          }
          return free;
        },
        validate: (value) => {
          const result = parseMessage(monitorToEngineSchema, value);
          return result.ok ? undefined : result.reason;
        },
      });
    } catch {
      return; // refused or never opened; FramedConn has logged why
    }
    if (!(await this.#prove(conn)) || this.#closing || !this.#takePlace(conn)) {
      return void conn.close();
    }
    const monitor = this.#monitor!;
    log.info("monitor connected", { cpId: this.#options.cpId() });
    this.#options.onChange();
    try {
      for await (const value of conn) {
        monitor.lastHeardAt = Date.now();
        // Already validated by the connection; parsed again only to get the typed value.
        const parsed = parseMessage(monitorToEngineSchema, value);
        if (!parsed.ok || parsed.value.type === "LINK_PROOF") continue;
        const reply = await this.#options.onFrame(parsed.value);
        if (reply !== undefined) await conn.send(reply).catch(() => {}); // a loss ends the loop
      }
    } catch (error) {
      if (!this.#closing) log.warning("monitor connection lost: {error}", { error });
    } finally {
      if (this.#monitor === monitor) this.#monitor = undefined;
      this.#options.onChange();
    }
  }

  /** Runs the opening's proof; true if the peer holds the secret. */
  async #prove(conn: FramedConn): Promise<boolean> {
    this.#unproven.add(conn);
    if (this.#unproven.size > MAX_UNPROVEN_OPENINGS) {
      const oldest = this.#unproven.values().next().value!;
      this.#unproven.delete(oldest);
      oldest.close();
    }
    try {
      await acceptMonitorLink(conn, this.#key);
      return true;
    } catch (error) {
      if (!this.#closing) {
        log.warning("refused a monitor link: {reason}", {
          cpId: this.#options.cpId(),
          reason: (error as Error).message,
        });
      }
      return false;
    } finally {
      this.#unproven.delete(conn);
    }
  }
}
