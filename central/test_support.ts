/**
 * Test-only helpers for tests that run a real Central (tests/central_*_test.ts): a real
 * Registry over TLS with a fresh development CA in a temp folder, a Central on free ports, and
 * a minimal CP monitor that speaks the login of docs/charging_loop.md §1 over the real framed
 * protocol. Not used by Central itself.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createDevCa, createServerCert, type DevCa } from "../infra/dev_ca.ts";
import { createRegistryClient, type RegistryClient } from "../registry/client.ts";
import {
  type RegistryServerOptions,
  type RunningRegistry,
  startRegistryServer,
} from "../registry/server.ts";
import {
  deriveCpKey,
  exportEcdhPublicKey,
  generateEcdhKeyPair,
  importEcdhPublicKey,
} from "../shared/cp_key.ts";
import { Beat } from "../shared/beat.ts";
import { FramedConn } from "../shared/framed_conn.ts";
import { ecdhJwk, verifyAuthOk } from "../shared/login_proof.ts";
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
import { testBrokers } from "../tests/kafka_env.ts";

/** A Registry on a free port with its admin client. */
export interface TestRegistry {
  /** The server (its signing key forges nothing: tests use it to issue odd tokens). */
  readonly server: RunningRegistry;
  /** A client with the admin key. */
  readonly client: RegistryClient;
  /** The CA that signed the server certificate. */
  readonly caCert: string;
  /** The CA itself, to sign more certificates (e.g. a man in the middle's). */
  readonly ca: DevCa;
  /** The server certificate and key (Registry and Central share it, as on one PC). */
  readonly tls: TlsFiles;
  /** Registers `cpId` and returns a fresh token for it, bound to a fresh ECDH pair. */
  registerCp(
    cpId: string,
    fields?: { price_eur_kwh?: number; power_kw?: number },
  ): Promise<BoundToken>;
  /** Another fresh token for a CP {@link registerCp} registered (each token logs in once). */
  freshToken(cpId: string): Promise<BoundToken>;
  /** Stops the server and closes the client; once (a test may stop it before its end). */
  close(): Promise<void>;
}

/** The admin token of {@link startTestCentral}'s Central. */
export const TEST_CENTRAL_ADMIN_TOKEN = "test-central-admin-token-0123456789";

/** The change feed key of {@link startTestRegistry}, which {@link startTestCentral} reads with. */
export const TEST_FEED_KEY = "test-registry-feed-key-0123456789";

/** A Registry token and the ECDH pair it is bound to (a login must use this very pair). */
export interface BoundToken {
  /** The JWT. */
  readonly token: string;
  /** The pair whose public half the token's `cnf.jkt` names. */
  readonly pair: CryptoKeyPair;
}

/** Authenticates `cpId` at the Registry with a fresh ECDH pair, as a monitor does. */
export async function authenticateBound(
  client: RegistryClient,
  cpId: string,
  credentials: string,
): Promise<BoundToken> {
  const pair = await generateEcdhKeyPair();
  const jwk = ecdhJwk(await exportEcdhPublicKey(pair.publicKey));
  const { token } = await client.authenticate(cpId, credentials, jwk);
  return { token, pair };
}

/** The Registry's admin key in these tests. */
export const TEST_REGISTRY_ADMIN_KEY = "test-registry-admin-key-0123456789";

/**
 * Starts a Registry over TLS in `dir`, trusting a CA made for this test only; `options` gives it
 * a brute-force guard or a hashing queue of the test's own.
 */
export async function startTestRegistry(
  dir: string,
  options: Pick<RegistryServerOptions, "guard" | "hashQueue"> = {},
): Promise<TestRegistry> {
  const ca = await createDevCa();
  const certs = { ca: { cert: ca.cert }, server: await createServerCert(ca) };
  const server = await startRegistryServer({
    port: 0,
    hostname: "127.0.0.1",
    tls: certs.server,
    dbPath: join(dir, "registry", "registry.db"),
    adminKey: TEST_REGISTRY_ADMIN_KEY,
    feedKey: TEST_FEED_KEY,
    scrypt: { N: 1024, r: 8, p: 1 },
    ...options,
  });
  const client = await createRegistryClient({
    url: server.url,
    caCert: certs.ca.cert,
    adminKey: TEST_REGISTRY_ADMIN_KEY,
  });
  const credentialsOf = new Map<string, string>();
  let closed: Promise<void> | undefined;
  return {
    server,
    client,
    caCert: certs.ca.cert,
    ca,
    tls: certs.server,
    registerCp: async (cpId, fields = {}) => {
      const { credentials } = await client.register({
        cp_id: cpId,
        location: `At ${cpId}`,
        ...fields,
      });
      credentialsOf.set(cpId, credentials);
      return await authenticateBound(client, cpId, credentials);
    },
    freshToken: async (cpId) => {
      const credentials = credentialsOf.get(cpId);
      if (credentials === undefined) throw new Error(`${cpId} was not registered by this test`);
      return await authenticateBound(client, cpId, credentials);
    },
    close: () =>
      closed ??= (async () => {
        client.close();
        await server.close();
      })(),
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
    adminToken: TEST_CENTRAL_ADMIN_TOKEN,
    registryFeedKey: TEST_FEED_KEY,
    ...options,
  });
}

/**
 * Runs `test` with a Registry ({@link startTestRegistry}, with `options`) in a new temporary
 * folder that `prefix` names; the Registry stops and the folder goes when the test ends, passed
 * or failed.
 */
export async function withTestRegistry(
  prefix: string,
  test: (dir: string, registry: TestRegistry) => Promise<void>,
  options: Pick<RegistryServerOptions, "guard" | "hashQueue"> = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    const registry = await startTestRegistry(dir, options);
    try {
      await test(dir, registry);
    } finally {
      await registry.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** What {@link withTestCentral} gives its test. */
export interface TestCentral {
  /** The test's temporary folder, where both keep their data. */
  readonly dir: string;
  readonly registry: TestRegistry;
  readonly central: RunningCentral;
}

/**
 * Runs `test` with a Registry and a Central ({@link startTestCentral} on the test broker, with
 * `options` on top) in a new temporary folder that `prefix` names; Central stops, then the
 * Registry, and the folder goes when the test ends.
 */
export function withTestCentral(
  prefix: string,
  options: Partial<CentralOptions>,
  test: (s: TestCentral) => Promise<void>,
): Promise<void> {
  return withTestRegistry(prefix, async (dir, registry) => {
    const central = await startTestCentral(dir, registry, testBrokers(), options);
    try {
      await test({ dir, registry, central });
    } finally {
      await central.stop();
    }
  });
}

/** A CP monitor reduced to what Central sees: the framed connection and the login. */
export class MonitorStub {
  /** The framed connection (send HEARTBEAT, HEALTH, raw frames). */
  readonly conn: FramedConn;
  readonly #messages: AsyncIterator<unknown>;
  readonly #trust: { caPem: string; host: string };

  private constructor(conn: FramedConn, trust: { caPem: string; host: string }) {
    this.conn = conn;
    this.#messages = conn[Symbol.asyncIterator]();
    this.#trust = trust;
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
    return new MonitorStub(conn, { caPem: caCert, host: addr.hostname });
  }

  /** Sends one message (checked against the monitor → Central schema first). */
  async send(message: MonitorToCentral): Promise<void> {
    const parsed = parseMessage(monitorToCentralSchema, message);
    if (!parsed.ok) throw new TypeError(parsed.reason);
    await this.conn.send(message);
  }

  /** Every `CP_STATE` Central sent so far, oldest first ({@link next} passes over them). */
  readonly states: Extract<CentralToMonitor, { type: "CP_STATE" }>[] = [];

  /**
   * The next message from Central other than `CP_STATE` (kept in {@link states}), or undefined
   * once the conversation ended.
   */
  async next(): Promise<CentralToMonitor | undefined> {
    for (;;) {
      const message = await this.nextAny();
      if (message?.type !== "CP_STATE") return message;
      this.states.push(message);
    }
  }

  /** The next message from Central, `CP_STATE` too, or undefined once the conversation ended. */
  async nextAny(): Promise<CentralToMonitor | undefined> {
    try {
      const { value, done } = await this.#messages.next();
      return done ? undefined : value as CentralToMonitor;
    } catch {
      return undefined; // dropped without EOT
    }
  }

  /**
   * Sends `AUTH` with the token and the ECDH key it is bound to, and returns Central's answer; on
   * `AUTH_OK` it checks Central's signature as a monitor does (throws `LoginProofError` if it
   * fails), and returns the CP key derived on this side (it must equal Central's),
   * `extractable` for a test that looks for its bytes where they must not be.
   */
  async login(
    cpId: string,
    bound: BoundToken,
    extractable = false,
  ): Promise<{ answer: CentralToMonitor | undefined; key?: CryptoKey }> {
    const { token, pair } = bound;
    const monitorKey = await exportEcdhPublicKey(pair.publicKey);
    await this.send(build(monitorToCentralSchema, "AUTH", {
      cpId,
      token,
      ecdhPublicKey: monitorKey,
    }));
    const answer = await this.next();
    if (answer?.type !== "AUTH_OK") return { answer };
    const ok: AuthOk = answer;
    await verifyAuthOk(ok, {
      cpId,
      keyVersion: ok.keyVersion,
      salt: ok.salt,
      monitorKey,
      centralKey: ok.ecdhPublicKey,
    }, this.#trust);
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
    const beat = new Beat((seq) =>
      this.conn.send(build(monitorToCentralSchema, "HEARTBEAT", { seq }))
    );
    beat.start(intervalMs);
    this.conn.closed.then(() => beat.stop());
  }

  /** Ends the conversation with EOT. */
  close(): Promise<void> {
    return this.conn.close();
  }
}

/**
 * Connects a {@link MonitorStub} to `central` and logs `cpId` in with `token`, failing unless
 * Central answers `AUTH_OK`; then keeps the link alive (a heartbeat every `keepAliveMs`) as a
 * live monitor does. Returns the monitor, the CP key derived on this side and its version.
 */
export async function logInMonitor(
  central: RunningCentral,
  registry: TestRegistry,
  cpId: string,
  token: BoundToken,
  options: { readonly keepAliveMs?: number; readonly extractable?: boolean } = {},
): Promise<{ monitor: MonitorStub; key: CryptoKey; kv: number }> {
  const monitor = await MonitorStub.connect(central.tcpAddr, registry.caCert);
  const { answer, key } = await monitor.login(cpId, token, options.extractable);
  assert.ok(answer?.type === "AUTH_OK" && key, `login of ${cpId}: ${JSON.stringify(answer)}`);
  monitor.keepAlive(options.keepAliveMs);
  return { monitor, key, kv: answer.keyVersion };
}

/** One server-sent event as {@link SseClient} read it. */
export interface SseFrame {
  id?: string;
  event: string;
  data: Record<string, unknown>;
}

/** A client of Central's dashboard event stream (`GET /events`), reading it into frames until closed. */
export class SseClient {
  readonly frames: SseFrame[] = [];
  readonly #abort = new AbortController();
  readonly done: Promise<void>;

  constructor(url: string, lastEventId?: string) {
    const headers: Record<string, string> = lastEventId ? { "last-event-id": lastEventId } : {};
    this.done = (async () => {
      const res = await fetch(`${url}/events`, { headers, signal: this.#abort.signal });
      assert.equal(res.status, 200);
      let text = "";
      try {
        for await (const chunk of res.body!.pipeThrough(new TextDecoderStream())) {
          text += chunk;
          const parts = text.split("\n\n");
          text = parts.pop()!;
          for (const part of parts) {
            const lines = Object.fromEntries(
              part.split("\n").map((
                l,
              ) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)]),
            );
            if (lines.event) {
              this.frames.push({ id: lines.id, event: lines.event, data: JSON.parse(lines.data) });
            }
          }
        }
      } catch (error) {
        if (!this.#abort.signal.aborted) throw error;
      }
    })();
  }

  /** The id of the newest frame that had one (what a browser sends as Last-Event-ID). */
  get lastId(): string | undefined {
    return this.frames.findLast((f) => f.id !== undefined)?.id;
  }

  /** The data of every frame of `event` so far, oldest first. */
  data<T>(event: string): T[] {
    return this.frames.filter((f) => f.event === event).map((f) => f.data as T);
  }

  /** Stops reading. */
  async close(): Promise<void> {
    this.#abort.abort();
    await this.done;
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
