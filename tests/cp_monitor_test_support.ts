/**
 * Stand-ins for tests/cp_monitor_test.ts: a Central speaking the framed login protocol over TLS
 * with real key agreement, an engine running the real link opening, and a real Registry around
 * them, so each test pins the monitor's side.
 */
import { join } from "node:path";
import { type MonitorHandle, type MonitorOptions, startMonitor } from "../cp/monitor.ts";
import { acceptMonitorLink, LinkKey, newLinkSecret } from "../cp/engine_link.ts";
import { startTestRegistry } from "../cp/test_support.ts";
import { createRegistryClient, type RegistryClient } from "../registry/client.ts";
import {
  deriveCpKey,
  exportCpKey,
  exportEcdhPublicKey,
  generateEcdhKeyPair,
  importEcdhPublicKey,
  newSalt,
} from "../shared/cp_key.ts";
import { type ByteConn, FramedConn } from "../shared/framed_conn.ts";
import { loadTlsFiles, type TlsFiles } from "../shared/tls.ts";
import { type AuthOkSigner, authOkSigner, signAuthOk } from "../shared/login_proof.ts";
import {
  type Auth,
  type AuthFail,
  build,
  centralToMonitorSchema,
  type EngineHealth,
  engineToMonitorSchema,
  type Logout,
  type MonitorToCentral,
  monitorToCentralSchema,
  type MonitorToEngine,
  monitorToEngineSchema,
  parseMessage,
} from "../shared/messages.ts";

/**
 * A server that admits framed clients (inside TLS if `tls` is given) and hands each to `serve`;
 * `wrap` may stand between the framing and the socket.
 */
function framedServer(
  schema: typeof monitorToCentralSchema | typeof monitorToEngineSchema,
  serve: (conn: FramedConn) => Promise<void>,
  port = 0,
  tls?: TlsFiles,
  wrap: (conn: Deno.Conn) => ByteConn = (conn) => conn,
): { port: number; close(): void } {
  const listener = tls === undefined
    ? Deno.listen({ hostname: "127.0.0.1", port })
    : Deno.listenTls({ hostname: "127.0.0.1", port, ...tls });
  (async () => {
    for await (const tcp of listener) {
      FramedConn.server(wrap(tcp), {
        validate: (v) => {
          const r = parseMessage(schema, v);
          return r.ok ? undefined : r.reason;
        },
      }).then(serve, () => {});
    }
  })().catch(() => {});
  let open = true;
  return {
    port: listener.addr.port,
    close: () => {
      if (open) listener.close();
      open = false;
    },
  };
}

/** What the stand-in Central does with an `AUTH`. */
export type AuthPolicy = (auth: Auth, n: number) => "ok" | Omit<AuthFail, "v" | "type">;

/** A stand-in Central: answers logins per `policy`, derives the key, records every frame. */
export class FakeCentral {
  readonly frames: MonitorToCentral[] = [];
  readonly keys = new Map<number, string>(); // key version → base64 of the derived key
  readonly conns: FramedConn[] = [];
  logins = 0;
  policy: AuthPolicy = () => "ok";
  /** Signs other facts than those sent, as a proxy that swapped Central's share would. */
  forgeSignature = false;
  readonly #server;
  /** Set by {@link holdAtNextHeartbeat} until that heartbeat comes. */
  #armed: PromiseWithResolvers<void> | undefined;
  /** Set while answers wait; resolved when they may go. */
  #held: PromiseWithResolvers<void> | undefined;

  readonly #signer: Promise<AuthOkSigner>;

  /** Speaks TLS with `tls`, and signs `AUTH_OK` with its key, as Central does. */
  constructor(tls: TlsFiles) {
    this.#signer = authOkSigner(tls);
    this.#server = framedServer(
      monitorToCentralSchema,
      (conn) => this.#serve(conn),
      0,
      tls,
      (conn) => this.#answeringWhenFree(conn),
    );
  }

  /**
   * From the next `HEARTBEAT` on, Central's answers (`ACK`s included) wait, as a Central too
   * busy to answer would make them: resolves once they do, with what lets them go.
   */
  async holdAtNextHeartbeat(): Promise<() => void> {
    this.#armed = Promise.withResolvers();
    await this.#armed.promise;
    const held = this.#held!;
    return () => {
      this.#held = undefined;
      held.resolve();
    };
  }

  #answeringWhenFree(conn: Deno.Conn): ByteConn {
    return {
      remoteAddr: conn.remoteAddr,
      read: (p) => conn.read(p),
      write: async (p) => {
        await this.#held?.promise;
        return await conn.write(p);
      },
      close: () => conn.close(),
    };
  }

  get port(): number {
    return this.#server.port;
  }

  of<T extends MonitorToCentral["type"]>(type: T): Extract<MonitorToCentral, { type: T }>[] {
    return this.frames.filter((f): f is Extract<MonitorToCentral, { type: T }> => f.type === type);
  }

  async #serve(conn: FramedConn): Promise<void> {
    this.conns.push(conn);
    try {
      for await (const value of conn) {
        const frame = value as MonitorToCentral;
        this.frames.push(frame);
        if (frame.type === "HEARTBEAT" && this.#armed !== undefined) {
          this.#held = Promise.withResolvers();
          this.#armed.resolve();
          this.#armed = undefined;
        }
        if (frame.type !== "AUTH") continue;
        const verdict = this.policy(frame, ++this.logins);
        if (verdict !== "ok") {
          await conn.send(build(centralToMonitorSchema, "AUTH_FAIL", verdict));
          await conn.close();
          return;
        }
        const keyVersion = this.logins;
        const ecdh = await generateEcdhKeyPair();
        const salt = newSalt();
        const key = await deriveCpKey({
          privateKey: ecdh.privateKey,
          peerPublicKey: await importEcdhPublicKey(frame.ecdhPublicKey),
          salt,
          cpId: frame.cpId,
          keyVersion,
          extractable: true,
        });
        this.keys.set(keyVersion, await exportCpKey(key));
        const centralKey = await exportEcdhPublicKey(ecdh.publicKey);
        const signer = await this.#signer;
        const facts = {
          cpId: frame.cpId,
          keyVersion,
          salt,
          monitorKey: frame.ecdhPublicKey,
          centralKey,
        };
        await conn.send(build(centralToMonitorSchema, "AUTH_OK", {
          keyVersion,
          salt,
          ecdhPublicKey: centralKey,
          cp: { id: frame.cpId, location: "Test bench", priceEurKwh: 0.3, powerKw: 11 },
          certificate: signer.certificate,
          signature: await signAuthOk(
            signer,
            this.forgeSignature ? { ...facts, salt: newSalt() } : facts,
          ),
        }));
      }
    } catch { /* the monitor went away */ }
  }

  /** Sends `LOGOUT` on the newest connection and closes it, as Central does. */
  async logout(fields: Omit<Logout, "v" | "type">): Promise<void> {
    const conn = this.conns.at(-1)!;
    await conn.send(build(centralToMonitorSchema, "LOGOUT", fields));
    await conn.close();
  }

  close(): void {
    this.#server.close();
    for (const c of this.conns) c.close();
  }
}

/** The link secret the stand-in engines of these tests share with the monitor. */
const LINK_SECRET = newLinkSecret();

/**
 * A stand-in engine: runs the real opening (`cp/engine_link.ts`), then answers health checks with
 * `health` and records keys.
 */
export class FakeEngine {
  health: EngineHealth = "OK";
  readonly frames: MonitorToEngine[] = [];
  /** Monitor connections not yet closed. */
  linksOpen = 0;
  readonly #server;
  readonly #conns: FramedConn[] = [];

  /** Listens on `port` (0: any free one; a given one: an engine process restarted). */
  constructor(port = 0) {
    this.#server = framedServer(monitorToEngineSchema, async (conn) => {
      this.#conns.push(conn);
      this.linksOpen++;
      try {
        await acceptMonitorLink(conn, await LinkKey.of(LINK_SECRET));
        for await (const value of conn) {
          const frame = value as MonitorToEngine;
          this.frames.push(frame);
          if (frame.type === "HEALTH_CHECK") {
            await conn.send(build(engineToMonitorSchema, "HEALTH", { engine: this.health }));
          }
        }
      } catch {
        /* closed */
      } finally {
        this.linksOpen--;
      }
    }, port);
  }

  get port(): number {
    return this.#server.port;
  }

  keys(): Extract<MonitorToEngine, { type: "KEY" }>[] {
    return this.frames.filter((f) => f.type === "KEY") as Extract<
      MonitorToEngine,
      { type: "KEY" }
    >[];
  }

  /** Drops every connection and stops listening: the engine process died. */
  kill(): void {
    this.#server.close();
    for (const c of this.#conns) c.close();
  }
}

export interface Setup {
  dir: string;
  client: RegistryClient;
  central: FakeCentral;
  engine: FakeEngine;
  options: MonitorOptions;
}

export async function withSetup(
  test: (s: Setup) => Promise<void>,
  registryOptions: Parameters<typeof startTestRegistry>[0] = {},
): Promise<void> {
  const registry = await startTestRegistry(registryOptions);
  const client = await createRegistryClient({ url: registry.url, caFile: registry.caFile });
  const central = new FakeCentral(
    await loadTlsFiles({
      certFile: join(registry.dir, "certs", "server.pem"),
      keyFile: join(registry.dir, "certs", "server.key"),
    }),
  );
  const engine = new FakeEngine();
  const options: MonitorOptions = {
    cpId: "CP-MON-1",
    engine: { host: "127.0.0.1", port: engine.port },
    engineSecret: LINK_SECRET,
    central: { host: "127.0.0.1", port: central.port },
    registryUrl: registry.url,
    caFile: registry.caFile,
    registryAdminKey: registry.registry.adminKey.key,
    location: "Test bench",
    priceEurKwh: 0.3,
    powerKw: 11,
    credentialsDir: join(registry.dir, "data", "cp"),
    random: () => 0, // shortest backoff: 250 ms first
  };
  try {
    await test({ dir: registry.dir, client, central, engine, options });
  } finally {
    central.close();
    engine.kill();
    client.close();
    await registry.close();
  }
}

export async function withMonitor(
  options: MonitorOptions,
  test: (m: MonitorHandle) => Promise<void>,
): Promise<void> {
  const monitor = await startMonitor(options);
  try {
    await test(monitor);
  } finally {
    await monitor.stop();
  }
}
