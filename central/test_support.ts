/**
 * Test-only helpers for tests that run a real Central (tests/central_*_test.ts): a real
 * Registry over TLS with a fresh development CA in a temp folder, a Central on free ports, and
 * a minimal CP monitor that speaks the login of docs/charging_loop.md §1 over the real framed
 * protocol. Not used by Central itself.
 *
 * @module
 */
import { join } from "node:path";
import { createDevCertificates } from "../infra/dev_ca.ts";
import { createRegistryClient, type RegistryClient } from "../registry/client.ts";
import { type RunningRegistry, startRegistryServer } from "../registry/server.ts";
import {
  deriveCpKey,
  exportEcdhPublicKey,
  generateEcdhKeyPair,
  importEcdhPublicKey,
} from "../shared/cp_key.ts";
import { FramedConn } from "../shared/framed_conn.ts";
import { connectTls, type TlsFiles } from "../shared/tls.ts";
import {
  type AuthOk,
  build,
  type CentralToMonitor,
  centralToMonitorSchema,
  type MonitorToCentral,
  monitorToCentralSchema,
  parseMessage,
} from "../shared/messages.ts";
import { type CentralOptions, type RunningCentral, startCentral } from "./central.ts";

/** A Registry on a free port with its admin client. */
export interface TestRegistry {
  /** The server (its signing key forges nothing: tests use it to issue odd tokens). */
  readonly server: RunningRegistry;
  /** A client with the admin key. */
  readonly client: RegistryClient;
  /** The CA that signed the server certificate. */
  readonly caCert: string;
  /** The server certificate and key (Registry and Central share it, as on one PC). */
  readonly tls: TlsFiles;
  /** Registers `cpId` and returns a fresh token for it. */
  registerCp(cpId: string, fields?: { price_eur_kwh?: number; power_kw?: number }): Promise<string>;
  /** Stops the server and closes the client. */
  close(): Promise<void>;
}

/** The change feed key of {@link startTestRegistry}, which {@link startTestCentral} reads with. */
export const TEST_FEED_KEY = "test-registry-feed-key-0123456789";

/** Starts a Registry over TLS in `dir`, trusting a CA made for this test only. */
export async function startTestRegistry(dir: string): Promise<TestRegistry> {
  const certs = await createDevCertificates();
  const server = await startRegistryServer({
    port: 0,
    hostname: "127.0.0.1",
    tls: certs.server,
    dbPath: join(dir, "registry", "registry.db"),
    adminKey: "test-registry-admin-key-0123456789",
    feedKey: TEST_FEED_KEY,
    scrypt: { N: 1024, r: 8, p: 1 },
  });
  const client = await createRegistryClient({
    url: server.url,
    caCert: certs.ca.cert,
    adminKey: "test-registry-admin-key-0123456789",
  });
  return {
    server,
    client,
    caCert: certs.ca.cert,
    tls: certs.server,
    registerCp: async (cpId, fields = {}) => {
      const { credentials } = await client.register({
        cp_id: cpId,
        location: `At ${cpId}`,
        ...fields,
      });
      return (await client.authenticate(cpId, credentials)).token;
    },
    close: async () => {
      client.close();
      await server.close();
    },
  };
}

/** Starts Central in `dir` on free loopback ports, trusting `registry`, with `options` on top. */
export function startTestCentral(
  dir: string,
  registry: TestRegistry,
  brokers: readonly string[],
  options: Partial<CentralOptions> = {},
): Promise<RunningCentral> {
  return startCentral({
    dbPath: join(dir, "central", "central.db"),
    brokers,
    registryUrl: registry.server.url,
    caCert: registry.caCert,
    tls: registry.tls,
    hostname: "127.0.0.1",
    tcpPort: 0,
    httpPort: 0,
    masterKey: "",
    adminToken: "test-central-admin-token-0123456789",
    registryFeedKey: TEST_FEED_KEY,
    ...options,
  });
}

/** A CP monitor reduced to what Central sees: the framed connection and the login. */
export class MonitorStub {
  /** The framed connection (send HEARTBEAT, HEALTH, raw frames). */
  readonly conn: FramedConn;
  readonly #messages: AsyncIterator<unknown>;

  private constructor(conn: FramedConn) {
    this.conn = conn;
    this.#messages = conn[Symbol.asyncIterator]();
  }

  /** Opens a framed connection inside TLS to Central's monitor port, trusting `caCert`. */
  static async connect(addr: Deno.NetAddr, caCert: string): Promise<MonitorStub> {
    const tls = await connectTls(addr.hostname, addr.port, [caCert]);
    const conn = await FramedConn.client(tls, {
      validate: (value) => {
        const parsed = parseMessage(centralToMonitorSchema, value);
        return parsed.ok ? undefined : parsed.reason;
      },
    });
    return new MonitorStub(conn);
  }

  /** Sends one message (checked against the monitor → Central schema first). */
  async send(message: MonitorToCentral): Promise<void> {
    const parsed = parseMessage(monitorToCentralSchema, message);
    if (!parsed.ok) throw new TypeError(parsed.reason);
    await this.conn.send(message);
  }

  /** The next message from Central, or undefined once the conversation ended. */
  async next(): Promise<CentralToMonitor | undefined> {
    try {
      const { value, done } = await this.#messages.next();
      return done ? undefined : value as CentralToMonitor;
    } catch {
      return undefined; // dropped without EOT
    }
  }

  /**
   * Sends `AUTH` with a fresh ECDH key and returns Central's answer; on `AUTH_OK`, also the CP
   * key derived on this side (it must equal Central's), `extractable` for a test that looks for
   * its bytes where they must not be.
   */
  async login(
    cpId: string,
    token: string,
    extractable = false,
  ): Promise<{ answer: CentralToMonitor | undefined; key?: CryptoKey }> {
    const pair = await generateEcdhKeyPair();
    await this.send(build(monitorToCentralSchema, "AUTH", {
      cpId,
      token,
      ecdhPublicKey: await exportEcdhPublicKey(pair.publicKey),
    }));
    const answer = await this.next();
    if (answer?.type !== "AUTH_OK") return { answer };
    const ok: AuthOk = answer;
    const key = await deriveCpKey({
      privateKey: pair.privateKey,
      peerPublicKey: await importEcdhPublicKey(ok.ecdhPublicKey),
      salt: ok.salt,
      cpId,
      keyVersion: ok.keyVersion,
      extractable,
    });
    return { answer, key };
  }

  /** Sends `HEARTBEAT` every `intervalMs` until the conversation ends, like a live monitor. */
  keepAlive(intervalMs = 500): void {
    let seq = 0;
    const timer = setInterval(() => {
      this.conn.send(build(monitorToCentralSchema, "HEARTBEAT", { seq: ++seq })).catch(() => {});
    }, intervalMs);
    this.conn.closed.then(() => clearInterval(timer));
  }

  /** Ends the conversation with EOT. */
  close(): Promise<void> {
    return this.conn.close();
  }
}

/** Polls `check` every 50 ms until it holds; throws naming `what` after `ms`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 10_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
