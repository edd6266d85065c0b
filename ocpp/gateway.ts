/**
 * The OCPP gateway: the WebSocket server (`server.ts`) and the chargers it hosts as CPs
 * (`charger_cp.ts`), wired to the Registry and Kafka.
 *
 * - A charger is admitted when the Registry accepts its (id, Basic password) pair, the same
 *   check a CP monitor's login starts with. Its credential is then kept like a monitor keeps
 *   its own (`<credentials-dir>/<id>.credentials`, 0600 in a 0700 folder), for the monitor the
 *   gateway runs for it; the pair it keeps is admitted again without asking (the monitor's login
 *   still asks the Registry, so a deregistered charger is still refused).
 * - Every charger reaches the Registry from the gateway's one address, which the Registry
 *   throttles per (CP id, address) and per address. So the gateway spends at most a budget of
 *   Registry failures per id and in all, below the Registry's limits: a stranger's wrong
 *   passwords then cost the charger it aims at nothing (its kept pair, its monitor's logins) and
 *   never lock out the others; pairs beyond the budget are refused with 429 at the gateway.
 * - A charger's own Authorize becomes a `CHARGE_REQUEST` on `driver.requests` for that driver;
 *   Central's `DENIED` for it, read on `driver.updates`, becomes `Invalid`.
 *
 * @module
 */

import { createRegistryClient, RegistryClient, RegistryError } from "../registry/client.ts";
import { exportEcdhPublicKey, generateEcdhKeyPair } from "../shared/cp_key.ts";
import {
  createKafka,
  createProducer,
  ensureTopics,
  type JsonProducer,
  TOPICS,
} from "../shared/kafka.ts";
import { runConsumer } from "../shared/kafka_consumer.ts";
import { secretsEqual } from "../shared/http_api.ts";
import { getLogger } from "../shared/log.ts";
import { SlidingWindowLimiter } from "../shared/rate_limit.ts";
import { ecdhJwk } from "../shared/login_proof.ts";
import {
  build,
  driverRequestSchema,
  driverUpdateSchema,
  parseMessage,
} from "../shared/messages.ts";
import type { TlsFiles } from "../shared/tls.ts";
import { credentialsPath, readCredentials, writeCredentials } from "../shared/cp_credentials.ts";
import { ownEngineKafka } from "../cp/engine_kafka.ts";
import type { Endpoint } from "../cp/monitor.ts";
import { ChargerCp } from "./charger_cp.ts";
import { type Admission, type ChargerHub, type OcppServer, startOcppServer } from "./server.ts";

const log = getLogger(["evcharging", "ocpp", "gateway"]);

/** Settings of {@link startGateway}. */
export interface GatewayOptions {
  /** Address to listen on. */
  readonly hostname: string;
  /** Port; 0 picks a free one. */
  readonly port: number;
  /** Certificate and key (`wss`); absent only for plain `ws` on loopback. */
  readonly tls?: TlsFiles;
  /** Kafka bootstrap brokers. */
  readonly brokers: readonly string[];
  /** Central's monitor socket. */
  readonly central: Endpoint;
  /** The Registry's base URL (`https:`). */
  readonly registryUrl: string;
  /** The project CA (PEM) that the Registry's and Central's certificates are checked against. */
  readonly caCert: string;
  /** Folder of the chargers' credentials files and their kept state (sessions, replay marks). */
  readonly credentialsDir: string;
  /** The heartbeat interval told to chargers at boot, seconds. Default 60. */
  readonly heartbeatIntervalS?: number;
  /** How long Authorize and StartTransaction wait for Central, ms. Default 20 s. */
  readonly authorizeWaitMs?: number;
  /** Consumer group of `driver.updates`. Default `ocpp-gateway`. */
  readonly group?: string;
  /** WebSocket ping interval, ms. */
  readonly pingIntervalMs?: number;
}

/** A running gateway. */
export interface Gateway {
  /** The URL prefix chargers append their id to. */
  readonly url: string;
  /** The port listened on. */
  readonly port: number;
  /** The hosted chargers (tests and the screen read them). */
  readonly chargers: ReadonlyMap<string, ChargerCp>;
  /** Closes every charger, the server and Kafka. */
  stop(): Promise<void>;
}

/** Starts the gateway: Kafka first (a charger's Authorize needs it), then the server. */
export async function startGateway(options: GatewayOptions): Promise<Gateway> {
  const registry = await createRegistryClient({
    url: options.registryUrl,
    caCert: options.caCert,
  });
  const kafka = createKafka({ brokers: [...options.brokers], clientId: "ocpp-gateway" });
  await ensureTopics(kafka);
  const producer = await createProducer(kafka);
  const chargers = new Map<string, ChargerCp>();
  const updates = await runConsumer({
    kafka,
    groupId: options.group ?? "ocpp-gateway",
    topics: [TOPICS.driverUpdates],
    handle: (record) => {
      const parsed = parseMessage(driverUpdateSchema, record.value);
      if (!parsed.ok || parsed.value.type !== "DENIED") return;
      const { requestId } = parsed.value;
      for (const charger of chargers.values()) {
        if (charger.waitsFor(requestId)) charger.denied(requestId);
      }
    },
  });
  const hub = new Hub(options, registry, producer, chargers);
  let server: OcppServer;
  try {
    server = await startOcppServer({
      hostname: options.hostname,
      port: options.port,
      tls: options.tls,
      hub,
      pingIntervalMs: options.pingIntervalMs,
    });
  } catch (error) {
    await updates.stop();
    await producer.disconnect();
    registry.close();
    throw error;
  }
  return {
    url: server.url,
    port: server.port,
    chargers,
    stop: async () => {
      await server.close();
      await Promise.all([...chargers.values()].map((c) => c.stop()));
      await updates.stop().catch(() => {});
      await producer.disconnect().catch(() => {});
      registry.close();
    },
  };
}

/** Registry failures the gateway spends per charger id in {@link BUDGET_WINDOW_MS}. */
export const REGISTRY_FAILURES_PER_ID = 5;
/** Registry failures the gateway spends in all in {@link BUDGET_WINDOW_MS}. */
export const REGISTRY_FAILURES_IN_ALL = 50;
/** The window of those budgets: the Registry's own (5 minutes). */
export const BUDGET_WINDOW_MS = 5 * 60_000;

/** Admits chargers at the Registry and hosts each as a CP. */
class Hub implements ChargerHub {
  readonly #o: GatewayOptions;
  readonly #registry: RegistryClient;
  readonly #producer: JsonProducer;
  readonly #chargers: Map<string, ChargerCp>;
  readonly #starting = new Map<string, Promise<ChargerCp>>();
  readonly #perId = new SlidingWindowLimiter({
    limit: REGISTRY_FAILURES_PER_ID,
    windowMs: BUDGET_WINDOW_MS,
  });
  readonly #inAll = new SlidingWindowLimiter({
    limit: REGISTRY_FAILURES_IN_ALL,
    windowMs: BUDGET_WINDOW_MS,
  });

  constructor(
    options: GatewayOptions,
    registry: RegistryClient,
    producer: JsonProducer,
    chargers: Map<string, ChargerCp>,
  ) {
    this.#o = options;
    this.#registry = registry;
    this.#producer = producer;
    this.#chargers = chargers;
  }

  /**
   * The Registry's own check: authenticating with the pair succeeds only for a registered id and
   * its current credential (the token it issues, bound to a throwaway key, is never used).
   */
  async admit(cpId: string, password: string): Promise<Admission> {
    if (await this.#kept(cpId, password)) return "ok";
    const budgets = [this.#perId, this.#inAll];
    const keys = [cpId, "all"];
    if (budgets.some((b, i) => !b.check(keys[i]).allowed)) return "throttled";
    budgets.forEach((b, i) => b.begin(keys[i]));
    let failed = false;
    try {
      const pair = await generateEcdhKeyPair();
      const jwk = ecdhJwk(await exportEcdhPublicKey(pair.publicKey));
      await this.#registry.authenticate(cpId, password, jwk);
      return "ok";
    } catch (error) {
      if (!(error instanceof RegistryError)) throw error;
      if ([400, 401, 403, 404, 410].includes(error.status)) {
        failed = true;
        return "refused";
      }
      log.warning("cannot check charger {cpId} at the Registry: {code}", {
        cpId,
        code: error.code,
      });
      return "unavailable";
    } finally {
      budgets.forEach((b, i) => b.end(keys[i], failed));
    }
  }

  /** Whether `password` is the credential kept for `cpId` (constant time). */
  async #kept(cpId: string, password: string): Promise<boolean> {
    const path = credentialsPath(this.#o.credentialsDir, cpId);
    const stored = await readCredentials(path, cpId).catch(() => undefined);
    return stored !== undefined && await secretsEqual(stored.credentials, password);
  }

  async connect(cpId: string, password: string, socket: Parameters<ChargerCp["attach"]>[0]) {
    await this.#keepCredentials(cpId, password);
    const charger = await this.#charger(cpId);
    charger.attach(socket).catch((error) =>
      log.error("could not log charger {cpId} in: {error}", { cpId, error })
    );
    return {
      handle: (action: string, payload: unknown) => charger.handle(action, payload),
      closed: () => charger.detach(socket),
    };
  }

  /** Writes the checked credential for the monitor, unless the file already holds it. */
  async #keepCredentials(cpId: string, credentials: string): Promise<void> {
    const path = credentialsPath(this.#o.credentialsDir, cpId);
    const stored = await readCredentials(path, cpId).catch(() => undefined);
    if (stored?.credentials === credentials) return;
    await Deno.remove(path).catch(() => {});
    await writeCredentials(path, {
      cp_id: cpId,
      credentials,
      registry_url: this.#o.registryUrl,
      registered_at: new Date().toISOString(),
    });
  }

  /** The hosted charger of `cpId`, started at its first connection and kept after. */
  #charger(cpId: string): Promise<ChargerCp> {
    const existing = this.#chargers.get(cpId);
    if (existing !== undefined) return Promise.resolve(existing);
    let starting = this.#starting.get(cpId);
    if (starting === undefined) {
      starting = (async () => {
        const charger = new ChargerCp({
          cpId,
          kafka: ownEngineKafka(this.#o.brokers, cpId),
          chargeRequest: (requestId, driverId, cp) => this.#chargeRequest(requestId, driverId, cp),
          central: this.#o.central,
          registry: this.#registry,
          caCert: this.#o.caCert,
          credentialsDir: this.#o.credentialsDir,
          stateDir: this.#o.credentialsDir,
          heartbeatIntervalS: this.#o.heartbeatIntervalS ?? 60,
          authorizeWaitMs: this.#o.authorizeWaitMs ?? 20_000,
        });
        await charger.start();
        this.#chargers.set(cpId, charger);
        return charger;
      })().finally(() => this.#starting.delete(cpId));
      this.#starting.set(cpId, starting);
    }
    return starting;
  }

  async #chargeRequest(requestId: string, driverId: string, cpId: string): Promise<void> {
    const request = build(driverRequestSchema, "CHARGE_REQUEST", { requestId, driverId, cpId });
    await this.#producer.send(TOPICS.driverRequests, driverId, request);
    log.info("charger {cpId} asks Central to authorize driver {driverId}", { cpId, driverId });
  }
}

export type { TlsFiles };
