/**
 * Every message of the system, channel by channel: the Kafka values (`driver.requests`,
 * `driver.updates`, `audit.events`), the payloads inside the encrypted envelope (`cp.telemetry`,
 * `cp.commands`) and the framed TCP messages (monitor ↔ Central, monitor ↔ engine). Each channel
 * is a `z.discriminatedUnion("type")` of strict objects built from the fields of `fields.ts`.
 *
 * @module
 */

import { z } from "zod";
import { safeJson } from "./codec.ts";
import {
  actorSchema,
  aesKeySchema,
  auditActionSchema,
  auditOutcomeSchema,
  auditParamsSchema,
  authFailReasonSchema,
  base64Schema,
  certificatePemSchema,
  cpIdSchema,
  cpInfoSchema,
  cpListEntrySchema,
  cpProtocolSchema,
  cpStateSchema,
  denyReasonSchema,
  detailCodeSchema,
  detailParamsSchema,
  detailSchema,
  driverIdSchema,
  durationSecondsSchema,
  ecdhPublicKeySchema,
  endReasonSchema,
  energyKwhSchema,
  engineHealthSchema,
  engineStateSchema,
  ipAddressSchema,
  keyVersionSchema,
  logoutReasonSchema,
  MAX_CP_LIST_ENTRIES,
  moneyEurSchema,
  powerKwSchema,
  priceEurKwhSchema,
  requestIdSchema,
  saltSchema,
  SCHEMA_VERSION,
  seqSchema,
  sessionIdSchema,
  sha256HexSchema,
  stopReasonSchema,
  timestampSchema,
  tokenSchema,
} from "./fields.ts";

// ---------------------------------------------------------------------------------------------
// Message constructors (schemas)
// ---------------------------------------------------------------------------------------------

const versionSchema = z.literal(SCHEMA_VERSION, {
  error: (issue) =>
    issue.input === undefined
      ? "required"
      : `unsupported schema version ${safeJson(issue.input)}, expected ${SCHEMA_VERSION}`,
});

/** A strict message object: `v`, `type`, then `shape`. */
function message<const T extends string, S extends z.ZodRawShape>(type: T, shape: S) {
  return z.strictObject({ v: versionSchema, type: z.literal(type), ...shape });
}

/** A strict message object that also carries the producer's `ts` (Kafka values and payloads). */
function timedMessage<const T extends string, S extends z.ZodRawShape>(type: T, shape: S) {
  return message(type, { ...shape, ts: timestampSchema });
}

/** A message that reports energy and money must report none for a session never plugged in. */
function noEnergyWithoutPlug(
  msg: { kwh: number; eur: number; endReason: string },
  ctx: z.RefinementCtx,
): void {
  if (msg.endReason !== "plug_timeout") return;
  for (const field of ["kwh", "eur"] as const) {
    if (msg[field] !== 0) {
      ctx.addIssue({
        code: "custom",
        path: [field],
        message: "must be 0 when endReason is plug_timeout",
      });
    }
  }
}

// --- driver.requests (Driver → Central, plaintext) -------------------------------------------

/**
 * `CHARGE_REQUEST`: a driver asks to charge at a CP. `originIp` is the address the driver's host
 * reports for itself (optional, so older drivers still talk): Central cannot see it over Kafka,
 * so its audit record keeps it marked as self-reported.
 */
export const chargeRequestSchema = timedMessage("CHARGE_REQUEST", {
  requestId: requestIdSchema,
  driverId: driverIdSchema,
  cpId: cpIdSchema,
  originIp: ipAddressSchema.optional(),
});
/** `CP_LIST_REQUEST`: a driver asks for the list of CPs; the answer is a `CP_LIST`. */
export const cpListRequestSchema = timedMessage("CP_LIST_REQUEST", {
  requestId: requestIdSchema,
  driverId: driverIdSchema,
  originIp: ipAddressSchema.optional(),
});
/**
 * `CANCEL_REQUEST`: a driver ends its own charge (its open session, or the one `sessionId` names);
 * Central tickets it with reason `driver_cancelled`, or answers `DENIED no_session`.
 */
export const cancelRequestSchema = timedMessage("CANCEL_REQUEST", {
  requestId: requestIdSchema,
  driverId: driverIdSchema,
  sessionId: sessionIdSchema.optional(),
  originIp: ipAddressSchema.optional(),
});
/** Every value of `driver.requests`. */
export const driverRequestSchema = z.discriminatedUnion("type", [
  chargeRequestSchema,
  cpListRequestSchema,
  cancelRequestSchema,
]);

// --- driver.updates (Central → Driver) --------------------------------------------------------

/** `AUTHORIZED`: the request was accepted and a session opened. */
export const authorizedSchema = timedMessage("AUTHORIZED", {
  requestId: requestIdSchema,
  driverId: driverIdSchema,
  cpId: cpIdSchema,
  sessionId: sessionIdSchema,
});
/** `DENIED`: the request was refused; `cpId` is absent only when the request's was invalid. */
export const deniedSchema = timedMessage("DENIED", {
  requestId: requestIdSchema,
  driverId: driverIdSchema,
  cpId: cpIdSchema.optional(),
  reason: denyReasonSchema,
  detail: detailSchema.optional(),
});
/** `SUPPLY` to a driver: live figures of the driver's session. */
export const driverSupplySchema = timedMessage("SUPPLY", {
  sessionId: sessionIdSchema,
  driverId: driverIdSchema,
  cpId: cpIdSchema,
  kw: powerKwSchema,
  kwh: energyKwhSchema,
  eur: moneyEurSchema,
});
/** `TICKET`: the final bill of a session. */
export const ticketSchema = timedMessage("TICKET", {
  sessionId: sessionIdSchema,
  driverId: driverIdSchema,
  cpId: cpIdSchema,
  kwh: energyKwhSchema,
  eur: moneyEurSchema,
  seconds: durationSecondsSchema,
  endReason: endReasonSchema,
  priceEurKwh: priceEurKwhSchema,
}).superRefine(noEnergyWithoutPlug);
/** `CP_LIST`: the CPs and their states; `requestId` echoes a `CP_LIST_REQUEST` if one asked. */
export const cpListSchema = timedMessage("CP_LIST", {
  requestId: requestIdSchema.optional(),
  driverId: driverIdSchema,
  cps: z
    .array(cpListEntrySchema, { error: "must be an array of CPs" })
    .max(MAX_CP_LIST_ENTRIES, `must list at most ${MAX_CP_LIST_ENTRIES} CPs`),
});
/** Every value of `driver.updates`. */
export const driverUpdateSchema = z.discriminatedUnion("type", [
  authorizedSchema,
  deniedSchema,
  driverSupplySchema,
  ticketSchema,
  cpListSchema,
]);

// --- cp.telemetry payloads (Engine → Central, inside the envelope) ----------------------------

/** `STATUS`: the engine's own state and health, with its session if it has one. */
export const statusSchema = timedMessage("STATUS", {
  engine: engineHealthSchema,
  state: engineStateSchema.optional(),
  sessionId: sessionIdSchema.optional(),
  stopReason: stopReasonSchema.optional(),
});
/** `PLUGGED`: the vehicle of an authorized session was plugged in; supply starts. */
export const pluggedSchema = timedMessage("PLUGGED", { sessionId: sessionIdSchema });
/** `SUPPLY` from an engine: the session's figures, about once a second. */
export const telemetrySupplySchema = timedMessage("SUPPLY", {
  sessionId: sessionIdSchema,
  kw: powerKwSchema,
  kwh: energyKwhSchema,
  eur: moneyEurSchema,
});
/**
 * `SUPPLY_END`: the session is over. Also sent with `endReason: "plug_timeout"` (and 0 kWh, 0 €)
 * when no vehicle was plugged in before the wait ran out, so Central can close the session.
 */
export const supplyEndSchema = timedMessage("SUPPLY_END", {
  sessionId: sessionIdSchema,
  kwh: energyKwhSchema,
  eur: moneyEurSchema,
  endReason: endReasonSchema,
}).superRefine(noEnergyWithoutPlug);
/** Every payload of `cp.telemetry`. */
export const telemetryPayloadSchema = z.discriminatedUnion("type", [
  statusSchema,
  pluggedSchema,
  telemetrySupplySchema,
  supplyEndSchema,
]);

// --- cp.commands payloads (Central → Engine, inside the envelope) -----------------------------

/** `AUTHORIZE`: wait for a vehicle for this session and driver, and bill at this price. */
export const authorizeSchema = timedMessage("AUTHORIZE", {
  sessionId: sessionIdSchema,
  driverId: driverIdSchema,
  priceEurKwh: priceEurKwhSchema,
  powerKw: powerKwSchema.optional(),
});
/** `STOP`: go to `STOPPED` for this reason. */
export const stopSchema = timedMessage("STOP", { reason: stopReasonSchema });
/** `RESUME`: leave `STOPPED` and be available again. */
export const resumeSchema = timedMessage("RESUME", {});
/** `END_SUPPLY`: end the session (the current one when `sessionId` is absent) for this reason. */
export const endSupplySchema = timedMessage("END_SUPPLY", {
  sessionId: sessionIdSchema.optional(),
  reason: endReasonSchema,
});
/** Every payload of `cp.commands`. */
export const commandPayloadSchema = z.discriminatedUnion("type", [
  authorizeSchema,
  stopSchema,
  resumeSchema,
  endSupplySchema,
]);

// --- audit.events (Central → anyone, public) --------------------------------------------------

/**
 * `AUDIT`: one hash-chained audit record (ARCHITECTURE §Audit). `prev_hash` is the previous record's
 * `hash`, so a reader of the stream can verify the chain. Never carries a secret.
 */
export const auditSchema = timedMessage("AUDIT", {
  seq: seqSchema,
  actor: actorSchema,
  action: auditActionSchema,
  outcome: auditOutcomeSchema,
  params: auditParamsSchema,
  origin_ip: ipAddressSchema.optional(),
  prev_hash: sha256HexSchema,
  hash: sha256HexSchema,
});
/** Every value of `audit.events`. */
export const auditEventSchema = z.discriminatedUnion("type", [auditSchema]);

// --- framed TCP (ARCHITECTURE §Framed protocol) -------------------------------------------------------------------

/** `AUTH` (Monitor → Central): log in with a Registry token and an ephemeral ECDH key. */
export const authSchema = message("AUTH", {
  cpId: cpIdSchema,
  token: tokenSchema,
  ecdhPublicKey: ecdhPublicKeySchema,
  protocol: cpProtocolSchema.optional(),
});
/**
 * `AUTH_OK` (Central → Monitor): Central's ECDH key and salt for the new key version, with its
 * certificate and its signature over cp id, key version, salt and both ECDH keys
 * (shared/login_proof.ts), so the monitor knows the share comes from Central.
 */
export const authOkSchema = message("AUTH_OK", {
  keyVersion: keyVersionSchema,
  salt: saltSchema,
  ecdhPublicKey: ecdhPublicKeySchema,
  cp: cpInfoSchema,
  certificate: certificatePemSchema,
  signature: base64Schema(8, 512),
});
/**
 * Why Central refused or ended a monitor's login, for its operator: `detail`, the English words
 * (for logs and older monitors), and `detail_code` with `detail_params`, the same words as a code
 * of shared/notices.ts that the monitor shows in its language, as the HTTP API's notices do.
 */
const operatorDetail = {
  detail: detailSchema.optional(),
  detail_code: detailCodeSchema.optional(),
  detail_params: detailParamsSchema.optional(),
};
/** `AUTH_FAIL` (Central → Monitor): the login was refused; `retryable` says whether to retry. */
export const authFailSchema = message("AUTH_FAIL", {
  reason: authFailReasonSchema,
  ...operatorDetail,
  retryable: z.boolean({ error: "must be true or false" }),
});
/** `HEARTBEAT` (Monitor → Central): the monitor is alive. */
export const heartbeatSchema = message("HEARTBEAT", { seq: seqSchema });
/** `HEALTH` (Monitor → Central and Engine → Monitor): the engine's health. */
export const healthSchema = message("HEALTH", { engine: engineHealthSchema });
/**
 * `COMMAND` (Central → Monitor): an encrypted envelope. Only its shape as a JSON object is checked
 * here; `shared/envelope.ts` checks the envelope strictly before decrypting it.
 */
export const commandSchema = message("COMMAND", {
  envelope: z.record(z.string(), z.unknown(), { error: "must be an envelope object" }),
});
/** `LOGOUT` (Central → Monitor): Central is closing the connection, and why. */
export const logoutSchema = message("LOGOUT", {
  reason: logoutReasonSchema,
  ...operatorDetail,
  retryable: z.boolean({ error: "must be true or false" }),
});
/**
 * `MAINTENANCE` (Monitor → Central, logged in): its operator puts the CP in maintenance (`on`),
 * which Central shows as STOPPED for `maintenance`, or takes it out again.
 */
export const maintenanceSchema = message("MAINTENANCE", {
  on: z.boolean({ error: "must be true or false" }),
});
/**
 * `CP_STATE` (Central → Monitor, logged in): the CP's state as Central shows it, after the login
 * and at each change, so the monitor's operator sees what the dashboard shows.
 */
export const cpStateMessageSchema = message("CP_STATE", {
  state: cpStateSchema,
  stopReason: stopReasonSchema.nullable(),
  maintenance: z.boolean({ error: "must be true or false" }),
});
/** `HEALTH_CHECK` (Monitor → Engine): answer with `HEALTH`. */
export const healthCheckSchema = message("HEALTH_CHECK", {});
/**
 * `KEY` (Monitor → Engine, loopback only): the CP's id and its current key. The engine learns
 * which CP it is from here (it needs the id for the envelope's `cp` and additional data).
 */
export const keySchema = message("KEY", {
  cpId: cpIdSchema,
  keyVersion: keyVersionSchema,
  key: aesKeySchema,
});
/** `KEY_REVOKED` (Monitor → Engine): forget this key version; wait for a new `KEY`. */
export const keyRevokedSchema = message("KEY_REVOKED", { keyVersion: keyVersionSchema });
/** Bytes of each side's nonce in the monitor ↔ engine opening (`cp/engine_link.ts`). */
export const LINK_NONCE_BYTES = 32;
/** An HMAC-SHA-256 proof of the monitor ↔ engine link secret. */
const linkProofSchema = base64Schema(32, 32);
/** `LINK_CHALLENGE` (Engine → Monitor, first frame): prove the link secret over this nonce. */
export const linkChallengeSchema = message("LINK_CHALLENGE", {
  nonce: base64Schema(LINK_NONCE_BYTES, LINK_NONCE_BYTES),
});
/** `LINK_PROOF` (Monitor → Engine, first frame): the monitor's nonce and its proof. */
export const linkProofMessageSchema = message("LINK_PROOF", {
  nonce: base64Schema(LINK_NONCE_BYTES, LINK_NONCE_BYTES),
  proof: linkProofSchema,
});
/** `LINK_OK` (Engine → Monitor): the engine's own proof; the link is open. */
export const linkOkSchema = message("LINK_OK", { proof: linkProofSchema });

/** Every frame Central sends a monitor. */
export const centralToMonitorSchema = z.discriminatedUnion("type", [
  authOkSchema,
  authFailSchema,
  commandSchema,
  logoutSchema,
  cpStateMessageSchema,
]);
/** Every frame a monitor sends Central. */
export const monitorToCentralSchema = z.discriminatedUnion("type", [
  authSchema,
  heartbeatSchema,
  healthSchema,
  maintenanceSchema,
]);
/** Every frame a monitor sends its engine. */
export const monitorToEngineSchema = z.discriminatedUnion("type", [
  linkProofMessageSchema,
  healthCheckSchema,
  keySchema,
  keyRevokedSchema,
]);
/** Every frame an engine sends its monitor. */
export const engineToMonitorSchema = z.discriminatedUnion("type", [
  linkChallengeSchema,
  linkOkSchema,
  healthSchema,
]);

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/** A `CHARGE_REQUEST`. */
export type ChargeRequest = z.infer<typeof chargeRequestSchema>;
/** A `CP_LIST_REQUEST`. */
export type CpListRequest = z.infer<typeof cpListRequestSchema>;
/** Any value of `driver.requests`. */
export type DriverRequest = z.infer<typeof driverRequestSchema>;
/** An `AUTHORIZED`. */
export type Authorized = z.infer<typeof authorizedSchema>;
/** A `DENIED`. */
export type Denied = z.infer<typeof deniedSchema>;
/** A `SUPPLY` sent to a driver. */
export type DriverSupply = z.infer<typeof driverSupplySchema>;
/** A `TICKET`. */
export type Ticket = z.infer<typeof ticketSchema>;
/** A `CP_LIST`. */
export type CpList = z.infer<typeof cpListSchema>;
/** Any value of `driver.updates`. */
export type DriverUpdate = z.infer<typeof driverUpdateSchema>;
/** A `STATUS` payload. */
export type Status = z.infer<typeof statusSchema>;
/** A `PLUGGED` payload. */
export type Plugged = z.infer<typeof pluggedSchema>;
/** A `SUPPLY` payload from an engine. */
export type TelemetrySupply = z.infer<typeof telemetrySupplySchema>;
/** A `SUPPLY_END` payload. */
export type SupplyEnd = z.infer<typeof supplyEndSchema>;
/** Any payload of `cp.telemetry`. */
export type TelemetryPayload = z.infer<typeof telemetryPayloadSchema>;
/** An `AUTHORIZE` payload. */
export type Authorize = z.infer<typeof authorizeSchema>;
/** A `STOP` payload. */
export type Stop = z.infer<typeof stopSchema>;
/** A `RESUME` payload. */
export type Resume = z.infer<typeof resumeSchema>;
/** An `END_SUPPLY` payload. */
export type EndSupply = z.infer<typeof endSupplySchema>;
/** Any payload of `cp.commands`. */
export type CommandPayload = z.infer<typeof commandPayloadSchema>;
/** An `AUDIT` record. */
export type AuditEvent = z.infer<typeof auditSchema>;
/** An `AUTH` frame. */
export type Auth = z.infer<typeof authSchema>;
/** An `AUTH_OK` frame. */
export type AuthOk = z.infer<typeof authOkSchema>;
/** An `AUTH_FAIL` frame. */
export type AuthFail = z.infer<typeof authFailSchema>;
/** A `HEARTBEAT` frame. */
export type Heartbeat = z.infer<typeof heartbeatSchema>;
/** A `HEALTH` frame. */
export type Health = z.infer<typeof healthSchema>;
/** A `COMMAND` frame. */
export type Command = z.infer<typeof commandSchema>;
/** A `LOGOUT` frame. */
export type Logout = z.infer<typeof logoutSchema>;
/** A `HEALTH_CHECK` frame. */
export type HealthCheck = z.infer<typeof healthCheckSchema>;
/** A `KEY` frame. */
export type Key = z.infer<typeof keySchema>;
/** A `KEY_REVOKED` frame. */
export type KeyRevoked = z.infer<typeof keyRevokedSchema>;
/** Any frame Central sends a monitor. */
export type CentralToMonitor = z.infer<typeof centralToMonitorSchema>;
/** Any frame a monitor sends Central. */
export type MonitorToCentral = z.infer<typeof monitorToCentralSchema>;
/** Any frame a monitor sends its engine. */
export type MonitorToEngine = z.infer<typeof monitorToEngineSchema>;
/** Any frame an engine sends its monitor. */
export type EngineToMonitor = z.infer<typeof engineToMonitorSchema>;
