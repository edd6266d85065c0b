/**
 * The OCPP-J 1.6 WebSocket server: `wss://host:port/ocpp/<chargePointId>`, subprotocol
 * `ocpp1.6`, HTTP Basic auth (security profile 2: the charger's id and its per-CP credential
 * over TLS with the project's certificate). Plain `ws` (profile 1) is served only on a loopback
 * address and only when asked for.
 *
 * The RPC framing and the official OCPP 1.6 JSON schemas are `ocpp-rpc`'s, in strict mode: every
 * incoming call is validated before it reaches the gateway, and a malformed one gets the
 * CALLERROR the schema violation calls for (FormationViolation, TypeConstraintViolation,
 * OccurenceConstraintViolation, PropertyConstraintViolation, ...) without harm to the socket or
 * the server. Upgrades are refused with 401 for an unknown id or a wrong password (both checked
 * by the Registry), 404 for another path, 429 when one (id, address) or one address keeps
 * failing (a stranger's failures never lock out a charger at another address).
 *
 * @module
 */

import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { createRPCError, createValidator, RPCServer } from "ocpp-rpc";
import ocpp16Schemas from "ocpp-rpc/lib/schemas/ocpp1_6.json" with { type: "json" };
import { SlidingWindowLimiter } from "../shared/rate_limit.ts";
import { getLogger } from "../shared/log.ts";
import { isLoopbackHost, type TlsFiles } from "../shared/tls.ts";
import { cpIdSchema } from "../shared/messages.ts";
import type { CallOutcome, ChargerSocket } from "./charger_cp.ts";

const log = getLogger(["evcharging", "ocpp", "server"]);

/** The OCPP subprotocol served. */
export const OCPP_SUBPROTOCOL = "ocpp1.6";
/** The path prefix: `/ocpp/<chargePointId>`. */
export const OCPP_PATH = "/ocpp";
/** The largest WebSocket message accepted, bytes (OCPP 1.6 messages are small). */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** Failed upgrades allowed per (id, address) and per address in {@link FAILURE_WINDOW_MS}. */
export const FAILURES_PER_ID = 5;
export const FAILURES_PER_ADDRESS = 30;
/** The window of those failures, ms. */
export const FAILURE_WINDOW_MS = 60_000;

/** What the gateway answers about a charger's credentials. */
export type Admission = "ok" | "refused" | "throttled" | "unavailable";

/** What the server needs from the gateway. */
export interface ChargerHub {
  /** Checks the (id, password) pair (at the Registry). */
  admit(cpId: string, password: string): Promise<Admission>;
  /** A charger was admitted and its socket is open; returns how to handle its calls. */
  connect(cpId: string, password: string, socket: ChargerSocket): Promise<ChargerSession>;
}

/** A connected charger, as the server drives it. */
export interface ChargerSession {
  /** A schema-valid call of the charger. */
  handle(action: string, payload: unknown): Promise<CallOutcome>;
  /** The socket closed. */
  closed(): Promise<void>;
}

/** Settings of {@link startOcppServer}. */
export interface OcppServerOptions {
  /** Address to listen on. */
  readonly hostname: string;
  /** Port; 0 picks a free one. */
  readonly port: number;
  /** Certificate and key: `wss`. Without them, plain `ws`, allowed on loopback only. */
  readonly tls?: TlsFiles;
  /** The gateway. */
  readonly hub: ChargerHub;
  /** WebSocket ping interval, ms (drops dead sockets). Default 30 s. */
  readonly pingIntervalMs?: number;
}

/** A listening server. */
export interface OcppServer {
  /** The URL prefix a charger appends its id to (`wss://host:port/ocpp`). */
  readonly url: string;
  /** The port listened on. */
  readonly port: number;
  /** Closes every charger socket and the listener. */
  close(): Promise<void>;
}

/**
 * `ocpp-rpc`'s validator of the official OCPP 1.6 JSON schemas, except that an action the
 * schemas do not know is `NotImplemented` ("Requested Action is not known by receiver", as
 * OCPP-J says) rather than the library's `ProtocolError`, and a value outside an enumeration is
 * `PropertyConstraintViolation` rather than `FormationViolation`.
 */
export function ocpp16Validator(): ReturnType<typeof createValidator> {
  const base = createValidator(OCPP_SUBPROTOCOL, ocpp16Schemas);
  const known = new Set(ocpp16Schemas.map((schema) => schema.$id));
  const validator = Object.create(base) as ReturnType<typeof createValidator>;
  validator.validate = (schemaId, params) => {
    if (!known.has(schemaId)) {
      throw createRPCError(
        "NotImplemented",
        `${schemaId.replace(/^urn:|\.req$|\.conf$/g, "")} is not known`,
      );
    }
    try {
      return base.validate(schemaId, params);
    } catch (error) {
      // A value outside an enumeration is a valid field with an invalid value.
      const first = (error as { details?: { errors?: { keyword?: string }[] } }).details?.errors
        ?.[0];
      if (first?.keyword !== "enum") throw error;
      throw createRPCError("PropertyConstraintViolation", (error as Error).message);
    }
  };
  return validator;
}

/**
 * Starts the server.
 * @throws {Error} if plain `ws` is asked for on an address that is not loopback.
 */
export async function startOcppServer(options: OcppServerOptions): Promise<OcppServer> {
  if (options.tls === undefined && !isLoopbackHost(options.hostname)) {
    throw new Error(
      `plain ws (no TLS) is served only on loopback, not on ${options.hostname}: give a ` +
        "certificate (security profile 2)",
    );
  }
  const rpc = new RPCServer({
    protocols: [OCPP_SUBPROTOCOL],
    strictMode: true,
    strictModeValidators: [ocpp16Validator()],
    callTimeoutMs: 30_000,
    pingIntervalMs: options.pingIntervalMs ?? 30_000,
    respondWithDetailedErrors: false,
    wssOptions: { maxPayload: MAX_MESSAGE_BYTES },
  });
  const perId = new SlidingWindowLimiter({ limit: FAILURES_PER_ID, windowMs: FAILURE_WINDOW_MS });
  const perAddress = new SlidingWindowLimiter({
    limit: FAILURES_PER_ADDRESS,
    windowMs: FAILURE_WINDOW_MS,
  });
  rpc.auth(async (accept, reject, handshake) => {
    const cpId = handshake.identity;
    const address = handshake.remoteAddress ?? "unknown";
    if (handshake.endpoint !== OCPP_PATH || !cpIdSchema.safeParse(cpId).success) {
      return reject(404, "Not found");
    }
    const idKey = `${cpId}|${address}`;
    if (!perId.check(idKey).allowed || !perAddress.check(address).allowed) {
      return reject(429, "Too Many Requests");
    }
    const password = handshake.password?.toString("utf8");
    const verdict = password === undefined ? "refused" : await options.hub.admit(cpId, password);
    if (verdict === "ok") {
      perId.reset(idKey);
      return accept({ password });
    }
    if (verdict === "unavailable") return reject(503, "Service Unavailable");
    if (verdict === "throttled") return reject(429, "Too Many Requests");
    perId.fail(idKey);
    perAddress.fail(address);
    log.warning("refused charger {cpId} from {address}: unknown id or wrong password", {
      cpId,
      address,
    });
    reject(401, "Unauthorized");
  });
  // deno-lint-ignore no-explicit-any
  rpc.on("client", (client: any) => onClient(client, options.hub));
  rpc.on("error", (error: unknown) => log.warning("OCPP server error: {error}", { error }));

  const server = options.tls
    ? https.createServer({ cert: options.tls.cert, key: options.tls.key })
    : http.createServer();
  server.on("request", (_req, res) => {
    res.writeHead(426, { "content-type": "text/plain", upgrade: "websocket" });
    res.end(`connect with WebSocket, subprotocol ${OCPP_SUBPROTOCOL}, at ${OCPP_PATH}/<id>\n`);
  });
  server.on("upgrade", rpc.handleUpgrade);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.hostname.includes(":") ? `[${options.hostname}]` : options.hostname;
  const url = `${options.tls ? "wss" : "ws"}://${host}:${port}${OCPP_PATH}`;
  log.info("OCPP 1.6J gateway listening at {url}", { url });
  return {
    url,
    port,
    close: async () => {
      await rpc.close({ code: 1001, reason: "gateway stopping", force: true }).catch(() => {});
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Wires one admitted charger's socket to the gateway. */
// deno-lint-ignore no-explicit-any
function onClient(client: any, hub: ChargerHub): void {
  const cpId: string = client.identity;
  const socket: ChargerSocket = {
    call: (action, payload) => client.call(action, payload),
    close: (reason) => void client.close({ code: 1000, reason: reason.slice(0, 120) }),
  };
  // The handler is in place before anything is awaited: the charger may call at once.
  const session = hub.connect(cpId, client.session.password, socket);
  client.handle(async ({ method, params }: { method: string; params: unknown }) => {
    const outcome = await (await session).handle(method, params);
    if (outcome.ok) return outcome.result;
    throw createRPCError(outcome.code, outcome.message);
  });
  session.then(
    () => log.info("charger {cpId} connected", { cpId }),
    (error) => {
      log.error("could not host charger {cpId}: {error}", { cpId, error });
      client.close({ code: 1011, reason: "gateway error" });
    },
  );
  client.once("close", () => {
    log.info("charger {cpId} disconnected", { cpId });
    session.then((s) => s.closed()).catch((error) => log.error("{error}", { cpId, error }));
  });
  client.on("badMessage", ({ error }: { error: Error }) => {
    log.warning("bad message from charger {cpId}: {error}", { cpId, error: error.message });
  });
}
