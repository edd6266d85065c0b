/**
 * One versioned schema for every message of the system (ARCHITECTURE §Kafka topics for Kafka values,
 * §Framed protocol for framed TCP messages), built from shared field schemas so every component validates ids, numbers and
 * timestamps the same way.
 *
 * Conventions:
 * - Every message is a JSON object with `v: 1` (schema version) and a `type` literal; objects are
 *   strict (an unknown field is an error) and each channel is a `z.discriminatedUnion("type")`.
 * - Timestamps (`ts`) are ISO 8601 UTC strings exactly as `Date.prototype.toISOString()` writes
 *   them (`2025-01-31T12:00:00.000Z`). Every Kafka value and every payload inside an envelope
 *   carries one (stamped by the producer); framed TCP messages are live traffic and carry none.
 * - The encrypted envelope (`{v, cp, kv, seq, iv, ct}`) is defined and checked by
 *   `shared/envelope.ts`; here are only the payloads that travel inside it.
 * - A session whose vehicle is never plugged in (a time-out, ARCHITECTURE §Sessions) is closed by the engine
 *   with `SUPPLY_END{kwh: 0, eur: 0, endReason: "plug_timeout"}`; Central then sends the driver a
 *   zero `TICKET` with the same reason, so every `AUTHORIZED` ends with exactly one `TICKET`.
 *
 * Receivers call {@link parseMessage} (or {@link decodeMessage} on raw bytes): it never throws and
 * gives one human-readable line naming the failing field, to NACK, DENY or drop with.
 * Producers call {@link build}, which stamps `v`/`type`/`ts` and refuses to produce an invalid
 * message.
 *
 * @module
 */

import { isIP } from "node:net";
import { z } from "zod";
import { decodeBase64, ENTITY_ID_PATTERN } from "./encoding.ts";

// ---------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------

/** The schema version every message carries as `v`. */
export const SCHEMA_VERSION = 1;
/** Largest JSON document {@link decodeJson} accepts by default, in UTF-8 bytes (Kafka's 1 MiB). */
export const MAX_JSON_BYTES = 1024 * 1024;
/** Largest CP power rating or live power, in kW. */
export const MAX_POWER_KW = 5_000;
/** Largest price, in €/kWh. */
export const MAX_PRICE_EUR_KWH = 100;
/** Largest energy of one session, in kWh. */
export const MAX_ENERGY_KWH = 1_000_000;
/** Largest amount of one session, in € (the largest energy at the largest price). */
export const MAX_MONEY_EUR = MAX_ENERGY_KWH * MAX_PRICE_EUR_KWH;
/** Longest session, in seconds (366 days). */
export const MAX_DURATION_SECONDS = 366 * 24 * 3600;
/** Most CPs one `CP_LIST` message may carry (keeps it well under {@link MAX_JSON_BYTES}). */
export const MAX_CP_LIST_ENTRIES = 2_000;
/** Longest free-text `detail` field, in characters. */
export const MAX_DETAIL_CHARS = 500;
/** Longest CP `location`, in characters. */
export const MAX_LOCATION_CHARS = 200;

// ---------------------------------------------------------------------------------------------
// Field building blocks
// ---------------------------------------------------------------------------------------------

/** A string schema whose only rule is `test`; any failure (wrong type included) says `rule`. */
function ruleString(rule: string, test: (s: string) => boolean) {
  return z.string({ error: rule }).refine(test, rule);
}

/** A string schema that must fully match `re`; any failure says `rule`. */
function patternString(re: RegExp, rule: string) {
  return z.string({ error: rule }).regex(re, rule);
}

/** An enum schema whose failure lists the allowed values. */
function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: `must be one of ${values.join(", ")}` });
}

/** A finite number in [0, max]; any failure (NaN, ±Infinity, wrong type) says the range. */
function boundedNumber(max: number, unit: string) {
  const rule = `must be a finite number from 0 to ${max} ${unit}`;
  return z.number({ error: rule }).min(0, rule).max(max, rule);
}

/** A non-negative safe integer; any failure says so. */
function counter() {
  const rule = `must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}`;
  return z.int({ error: rule }).min(0, rule);
}

const ENTITY_ID_RULE = "must be 3–64 characters of A–Z, a–z, 0–9, _ or -";

/** A CP id: 3–64 characters of `[A-Za-z0-9_-]` (ARCHITECTURE §Registration). */
export const cpIdSchema = patternString(ENTITY_ID_PATTERN, ENTITY_ID_RULE);
/** A driver id: the same rule as a CP id. */
export const driverIdSchema = patternString(ENTITY_ID_PATTERN, ENTITY_ID_RULE);

const TOKEN_ID_RULE = "must be 1–128 characters of A–Z, a–z, 0–9, _ or -";
const TOKEN_ID_RE = /^[A-Za-z0-9_-]{1,128}$/;

/** A driver's request id (a UUID fits): 1–128 characters of `[A-Za-z0-9_-]`. */
export const requestIdSchema = patternString(TOKEN_ID_RE, TOKEN_ID_RULE);
/** A charging session id, chosen by Central: 1–128 characters of `[A-Za-z0-9_-]`. */
export const sessionIdSchema = patternString(TOKEN_ID_RE, TOKEN_ID_RULE);

const TIMESTAMP_RULE = "must be an ISO 8601 UTC timestamp like 2025-01-31T12:00:00.000Z";
const TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * A timestamp: an ISO 8601 UTC string in the exact form `Date.prototype.toISOString()` writes
 * (`YYYY-MM-DDTHH:mm:ss.sssZ`), and a real calendar instant (no 30 February).
 */
export const timestampSchema = ruleString(
  TIMESTAMP_RULE,
  (s) => TIMESTAMP_RE.test(s) && new Date(s).toISOString() === s,
);

/** The current time as a {@link timestampSchema} string. */
export function nowTs(): string {
  return new Date().toISOString();
}

/** Power in kW: finite, 0 to {@link MAX_POWER_KW}. */
export const powerKwSchema = boundedNumber(MAX_POWER_KW, "kW");
/** Energy in kWh: finite, 0 to {@link MAX_ENERGY_KWH}. */
export const energyKwhSchema = boundedNumber(MAX_ENERGY_KWH, "kWh");
/** An amount in €: finite, 0 to {@link MAX_MONEY_EUR}. */
export const moneyEurSchema = boundedNumber(MAX_MONEY_EUR, "€");
/** A price in €/kWh: finite, 0 to {@link MAX_PRICE_EUR_KWH}. */
export const priceEurKwhSchema = boundedNumber(MAX_PRICE_EUR_KWH, "€/kWh");
/** A duration in seconds: finite, 0 to {@link MAX_DURATION_SECONDS}. */
export const durationSecondsSchema = boundedNumber(MAX_DURATION_SECONDS, "seconds");

/** A key version (`kv`): a non-negative safe integer. */
export const keyVersionSchema = counter();
/** A sequence number (`seq`): a non-negative safe integer. */
export const seqSchema = counter();

/**
 * Standard base64 (RFC 4648 §4, `=` padded) whose decoded length is `minBytes`–`maxBytes`.
 * @throws {RangeError} if the bounds are not integers with 0 ≤ minBytes ≤ maxBytes.
 */
export function base64Schema(minBytes: number, maxBytes: number) {
  if (!Number.isSafeInteger(minBytes) || !Number.isSafeInteger(maxBytes)) {
    throw new RangeError(`base64Schema: bounds must be integers, got ${minBytes}, ${maxBytes}`);
  }
  if (minBytes < 0 || minBytes > maxBytes) {
    throw new RangeError(
      `base64Schema: need 0 ≤ minBytes ≤ maxBytes, got ${minBytes}, ${maxBytes}`,
    );
  }
  const size = minBytes === maxBytes ? `${minBytes}` : `${minBytes}–${maxBytes}`;
  const rule = `must be standard base64 (with = padding) of ${size} bytes`;
  const maxChars = Math.ceil(maxBytes / 3) * 4;
  return ruleString(rule, (s) => {
    if (s.length > maxChars) return false;
    const bytes = decodeBase64(s);
    return bytes !== null && bytes.length >= minBytes && bytes.length <= maxBytes;
  });
}

/** An ephemeral ECDH P-256 public key: base64 of the 65-byte raw uncompressed point. */
export const ecdhPublicKeySchema = base64Schema(65, 65);
/** The HKDF salt Central picks at login: base64 of 16–64 random bytes. */
export const saltSchema = base64Schema(16, 64);
/** A raw AES-256-GCM key (Monitor → Engine `KEY` only): base64 of 32 bytes. */
export const aesKeySchema = base64Schema(32, 32);

const JWT_RULE = "must be a compact JWT (three base64url parts) of at most 4096 characters";
const JWT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** A Registry token: a compact JWS of at most 4096 characters (its signature is checked later). */
export const tokenSchema = ruleString(JWT_RULE, (s) => s.length <= 4096 && JWT_RE.test(s));

// C0 controls, DEL, C1 controls, line/paragraph separators, bidi embeddings/overrides/isolates.
// deno-lint-ignore no-control-regex -- matching control characters is the point
const UNSAFE_TEXT_RE = /[\u0000-\u001f\u007f-\u009f\u2028-\u202e\u2066-\u2069]/;

/**
 * Free text of `minChars`–`maxChars` UTF-16 characters with no control characters, line
 * separators or bidi overrides and no lone surrogates (safe to log and to show on a panel).
 * @throws {RangeError} if the bounds are not integers with 0 ≤ minChars ≤ maxChars.
 */
export function textSchema(maxChars: number, minChars = 1) {
  if (!Number.isSafeInteger(minChars) || !Number.isSafeInteger(maxChars)) {
    throw new RangeError(`textSchema: bounds must be integers, got ${minChars}, ${maxChars}`);
  }
  if (minChars < 0 || minChars > maxChars) {
    throw new RangeError(`textSchema: need 0 ≤ minChars ≤ maxChars, got ${minChars}, ${maxChars}`);
  }
  const rule = `must be ${minChars}–${maxChars} characters of text without control characters`;
  return ruleString(
    rule,
    (s) =>
      s.length >= minChars && s.length <= maxChars && s.isWellFormed() && !UNSAFE_TEXT_RE.test(s),
  );
}

/** A CP's location as registered: 1–{@link MAX_LOCATION_CHARS} characters of text. */
export const locationSchema = textSchema(MAX_LOCATION_CHARS);
/** An optional human explanation next to a reason code: 1–{@link MAX_DETAIL_CHARS} characters. */
export const detailSchema = textSchema(MAX_DETAIL_CHARS);

/** The CP states of ARCHITECTURE §CP states. */
export const cpStateSchema = oneOf([
  "ACTIVATED",
  "SUPPLYING",
  "STOPPED",
  "BROKEN",
  "DISCONNECTED",
]);
/**
 * The charger protocol a CP speaks beyond this network's own, told by its monitor at login:
 * `ocpp1.6` for a charger behind the OCPP gateway. Absent for the network's own CPs.
 */
export const cpProtocolSchema = oneOf(["ocpp1.6"]);
/** The states an engine reports about itself (BROKEN and DISCONNECTED are Central's view). */
export const engineStateSchema = cpStateSchema.extract(["ACTIVATED", "SUPPLYING", "STOPPED"], {
  error: "must be one of ACTIVATED, SUPPLYING, STOPPED",
});
/**
 * Why a CP is `STOPPED` (ARCHITECTURE §CP states); `maintenance`: its monitor's operator put it in
 * maintenance (`MAINTENANCE{on: true}`).
 */
export const stopReasonSchema = oneOf([
  "admin",
  "weather",
  "maintenance",
  "out_of_service",
  "revoked",
]);

/**
 * Why a session ended (ARCHITECTURE §Sessions, §Failures, §Revocation and status):
 * - `unplugged`: the vehicle was unplugged;
 * - `target_reached`: the vehicle's target energy was reached;
 * - `stopped_admin` / `stopped_weather` / `stopped_maintenance`: Central stopped the CP (admin,
 *   weather, or its monitor's maintenance mode);
 * - `status_lost`: the CP's security status became OUT_OF_SERVICE or REVOKED;
 * - `key_lost`: the CP's key was rotated or revoked;
 * - `fault`: the engine went KO or unreachable;
 * - `plug_timeout`: authorized, but no vehicle was plugged in before the wait ran out (no energy);
 * - `deregistered`: the CP was deregistered in the Registry.
 */
export const endReasonSchema = oneOf([
  "unplugged",
  "target_reached",
  "stopped_admin",
  "stopped_weather",
  "stopped_maintenance",
  "status_lost",
  "key_lost",
  "fault",
  "plug_timeout",
  "deregistered",
  "driver_cancelled",
]);

/**
 * Why a charge request was refused (ARCHITECTURE §Sessions):
 * - `invalid_request`: the request itself was malformed (`detail` says which field);
 * - `unknown_cp`: no such CP;
 * - `busy`: the CP is supplying or holds another authorization;
 * - `stopped`: stopped by an admin; `weather`: held by a weather alert;
 * - `broken`, `disconnected`: the CP's state;
 * - `out_of_service`, `revoked`: the CP's security status;
 * - `no_key`: the CP has no live key (it must log in again);
 * - `deregistered`: the CP was deregistered in the Registry;
 * - `not_available`: any other reason it cannot charge now.
 */
export const denyReasonSchema = oneOf([
  "invalid_request",
  "unknown_cp",
  "busy",
  "stopped",
  "weather",
  "broken",
  "disconnected",
  "out_of_service",
  "revoked",
  "no_key",
  "deregistered",
  "not_available",
  "no_session",
]);

/**
 * Why Central refused a CP login (`AUTH_FAIL.reason`, ARCHITECTURE §Login and keys):
 * - `bad_request`: the `AUTH` frame was malformed;
 * - `bad_token`: the token's signature, issuer or claims are wrong;
 * - `expired_token`: the token is expired or not yet valid;
 * - `cp_mismatch`: the token's subject is not the `cpId` sent;
 * - `unknown_cp`, `deregistered`: the Registry does not know the CP, or it was deregistered;
 * - `revoked`: the CP's security status is REVOKED;
 * - `registry_unavailable`: the Registry could not be asked (retry later);
 * - `internal_error`: Central failed (retry later).
 */
export const authFailReasonSchema = oneOf([
  "bad_request",
  "bad_token",
  "expired_token",
  "cp_mismatch",
  "unknown_cp",
  "deregistered",
  "revoked",
  "registry_unavailable",
  "internal_error",
]);

/**
 * Why Central is about to close a monitor's connection (`LOGOUT.reason`, ARCHITECTURE §Revocation and status):
 * - `key_rotated`: log in again now for a new key;
 * - `key_revoked`: the key was revoked; the CP is disconnected until it re-authenticates;
 * - `revoked`: the CP's security status became REVOKED (do not retry);
 * - `deregistered`: the CP was deregistered (do not retry);
 * - `replaced`: another monitor logged in as this CP;
 * - `shutdown`: Central is stopping (reconnect with backoff).
 */
export const logoutReasonSchema = oneOf([
  "key_rotated",
  "key_revoked",
  "revoked",
  "deregistered",
  "replaced",
  "shutdown",
]);

/** An engine's health as its monitor sees it. */
export const engineHealthSchema = oneOf(["OK", "KO"]);

/** The outcome of an audited action: done, refused by policy, failed, or rejected as invalid. */
export const auditOutcomeSchema = oneOf(["ok", "denied", "failed", "rejected"]);

/** Who did an audited action, also the `audit.events` key (`central`, `admin`, `cp:CP01`, …). */
export const actorSchema = patternString(
  /^[A-Za-z0-9_.:-]{1,128}$/,
  "must be 1–128 characters of A–Z, a–z, 0–9, _, ., : or -",
);
/** An audited action, lower-case dotted words (`cp.login`, `key.rotate`, `charge.request`). */
export const auditActionSchema = patternString(
  /^(?=.{1,64}$)[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*$/,
  "must be 1–64 characters of lower-case dotted words like cp.login",
);
/** A SHA-256 hash as 64 lower-case hex digits. */
export const sha256HexSchema = patternString(/^[0-9a-f]{64}$/, "must be 64 lower-case hex digits");
/** The client IP address an action came from (IPv4 or IPv6). */
export const ipAddressSchema = ruleString(
  "must be an IPv4 or IPv6 address",
  (s) => s.length <= 64 && isIP(s) !== 0,
);

/**
 * Audit parameters: at most 32 entries keyed by identifiers, each a string (≤ 500 characters of
 * text), a finite number, a boolean or null. Flat on purpose: it is public and must never carry
 * a secret, and a flat record is simple to hash and to show.
 */
export const auditParamsSchema = z
  .record(
    patternString(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, "must be an identifier of 1–64 characters"),
    z.union([textSchema(MAX_DETAIL_CHARS, 0), z.number(), z.boolean(), z.null()], {
      error: "must be a string of text, a finite number, a boolean or null",
    }),
    { error: (issue) => (issue.code === "invalid_type" ? "must be an object" : undefined) },
  )
  .refine((params) => Object.keys(params).length <= 32, "must have at most 32 entries");

/** What a CP offers: id, location, price and power (`AUTH_OK.cp`). */
export const cpInfoSchema = z.strictObject({
  id: cpIdSchema,
  location: locationSchema,
  priceEurKwh: priceEurKwhSchema,
  powerKw: powerKwSchema,
});

/** One CP in a `CP_LIST`: {@link cpInfoSchema} plus its current state. */
export const cpListEntrySchema = cpInfoSchema.extend({ state: cpStateSchema });

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
/** A PEM certificate, as `AUTH_OK` carries Central's. */
export const certificatePemSchema = ruleString(
  "must be one PEM certificate of at most 8 KiB",
  (s) =>
    s.length <= 8192 &&
    /^-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\r?\n?$/.test(s),
);
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
/** `AUTH_FAIL` (Central → Monitor): the login was refused; `retryable` says whether to retry. */
export const authFailSchema = message("AUTH_FAIL", {
  reason: authFailReasonSchema,
  detail: detailSchema.optional(),
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
  detail: detailSchema.optional(),
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

/** A CP state (ARCHITECTURE §CP states). */
export type CpState = z.infer<typeof cpStateSchema>;
/** A state an engine reports about itself. */
export type EngineState = z.infer<typeof engineStateSchema>;
/** Why a CP is stopped. */
export type StopReason = z.infer<typeof stopReasonSchema>;
/** Why a session ended. */
export type EndReason = z.infer<typeof endReasonSchema>;
/** Why a charge request was refused. */
export type DenyReason = z.infer<typeof denyReasonSchema>;
/** Why a login was refused. */
export type AuthFailReason = z.infer<typeof authFailReasonSchema>;
/** Why Central closes a monitor's connection. */
export type LogoutReason = z.infer<typeof logoutReasonSchema>;
/** An engine's health. */
export type EngineHealth = z.infer<typeof engineHealthSchema>;
/** See {@link cpProtocolSchema}. */
export type CpProtocol = z.infer<typeof cpProtocolSchema>;
/** An audit outcome. */
export type AuditOutcome = z.infer<typeof auditOutcomeSchema>;
/** Audit parameters. */
export type AuditParams = z.infer<typeof auditParamsSchema>;
/** What a CP offers. */
export type CpInfo = z.infer<typeof cpInfoSchema>;
/** One CP of a `CP_LIST`. */
export type CpListEntry = z.infer<typeof cpListEntrySchema>;

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

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/** The result of {@link parseMessage}, {@link decodeJson} and {@link decodeMessage}. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * Validates `value` against `schema`. Never throws: on failure `reason` is one line naming the
 * first failing field and what it must be (`cpId: must be 3–64 characters of …`), or
 * `unknown message type "X" (expected …)` for a `type` the schema does not know. Reasons never
 * echo a field's value (it may be a secret), only a short escaped excerpt of an unknown type, an
 * unknown field's name or an unsupported version.
 */
export function parseMessage<S extends z.ZodType>(
  schema: S,
  value: unknown,
): ParseResult<z.output<S>> {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, reason: describeIssue(result.error.issues[0], value) };
}

/**
 * Decodes JSON from UTF-8 bytes or a string, refusing more than `maxBytes` UTF-8 bytes. Never
 * throws; the reason says whether the input was too large, not UTF-8, or not JSON.
 * @throws {RangeError} only if `maxBytes` is not a positive integer (a caller's bug).
 */
export function decodeJson(
  input: Uint8Array | string,
  maxBytes: number = MAX_JSON_BYTES,
): ParseResult<unknown> {
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
    throw new RangeError(`decodeJson: maxBytes must be a positive integer, got ${maxBytes}`);
  }
  let text: string;
  if (typeof input === "string") {
    if (utf8Length(input, maxBytes) > maxBytes) {
      return { ok: false, reason: `message is over the ${maxBytes}-byte limit` };
    }
    text = input;
  } else {
    if (input.byteLength > maxBytes) {
      return {
        ok: false,
        reason: `message is ${input.byteLength} bytes, over the ${maxBytes}-byte limit`,
      };
    }
    try {
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(input);
    } catch {
      return { ok: false, reason: "message is not valid UTF-8" };
    }
  }
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    // JSON.parse's own error quotes the input, which may hold a secret: keep it out.
    return { ok: false, reason: "message is not valid JSON" };
  }
}

/** {@link decodeJson} then {@link parseMessage}: raw bytes or text in, a typed message out. */
export function decodeMessage<S extends z.ZodType>(
  schema: S,
  input: Uint8Array | string,
  maxBytes: number = MAX_JSON_BYTES,
): ParseResult<z.output<S>> {
  const json = decodeJson(input, maxBytes);
  return json.ok ? parseMessage(schema, json.value) : json;
}

/** The UTF-8 length of `s`, or any number above `limit` once it is known to exceed it. */
function utf8Length(s: string, limit: number): number {
  if (s.length > limit) return s.length; // each UTF-16 unit is at least one UTF-8 byte
  if (s.length * 3 <= limit) return s.length; // each UTF-16 unit is at most three UTF-8 bytes
  return new TextEncoder().encode(s).byteLength;
}

/** One human line for a zod issue, prefixed with the field path. */
function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  if (issue.code === "invalid_union" && issue.inclusive !== false && issue.discriminator) {
    return describeUnknownType(issue.discriminator, issue.options ?? [], input);
  }
  const path = formatPath(issue.path);
  if (issue.code === "unrecognized_keys") {
    const [first, ...rest] = issue.keys.map((k) => formatPath([...issue.path, k]));
    return rest.length === 0
      ? `${first}: unknown field`
      : `unknown fields ${[first, ...rest].slice(0, 5).join(", ")}${rest.length > 4 ? ", …" : ""}`;
  }
  if (issue.code === "invalid_key") {
    return `${path}: field name ${issue.issues[0]?.message ?? "is not allowed"}`;
  }
  if (isMissing(input, issue.path)) {
    return `${path || "message"}: required`;
  }
  const message = issue.message.replace(/^Invalid input: /, "");
  if (path !== "") return `${path}: ${message}`;
  return issue.code === "invalid_type" && issue.expected === "object"
    ? `message must be a JSON object, got ${kindOf(input)}`
    : message;
}

/** The reason for a value whose discriminator matched no option of the union. */
function describeUnknownType(
  discriminator: string,
  options: readonly unknown[],
  input: unknown,
): string {
  const record = isRecord(input) ? input : {};
  if ("v" in record && record.v !== SCHEMA_VERSION) {
    return `v: unsupported schema version ${safeJson(record.v)}, expected ${SCHEMA_VERSION}`;
  }
  const expected = `expected ${options.map(String).join(", ")}`;
  if (!(discriminator in record)) return `${discriminator}: required (${expected})`;
  const type = record[discriminator];
  if (typeof type !== "string") {
    return `${discriminator}: must be a string naming the message type (${expected})`;
  }
  return `unknown message type ${safeJson(type)} (${expected})`;
}

/** `a.b[2]["odd key"]`: property names that are identifiers plain, others quoted. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(key)) {
      out += out === "" ? key : `.${key}`;
    } else out += `[${safeJson(String(key))}]`;
  }
  return out;
}

/** Whether the value at `path` inside `input` is absent (its parent lacks the key). */
function isMissing(input: unknown, path: readonly PropertyKey[]): boolean {
  if (path.length === 0) return input === undefined;
  let parent: unknown = input;
  for (const key of path.slice(0, -1)) {
    if (!isRecord(parent) && !Array.isArray(parent)) return false;
    parent = (parent as Record<PropertyKey, unknown>)[key];
  }
  const last = path[path.length - 1];
  return isRecord(parent) && (!Object.hasOwn(parent, last) || parent[last as string] === undefined);
}

/** Whether `value` is a non-array object. */
function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `array`, `null` or the `typeof` of a value, for messages. */
function kindOf(value: unknown): string {
  return value === null ? "null" : Array.isArray(value) ? "array" : typeof value;
}

/** A short, escaped JSON rendering of an untrusted value for a reason line. */
function safeJson(value: unknown): string {
  if (typeof value === "string") {
    const cut = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    return JSON.stringify(cut).replace(/[\u007f-\u009f\u2028-\u202e\u2066-\u2069]/g, "?");
  }
  if (typeof value === "number" || typeof value === "boolean" || value === null) {
    return String(value);
  }
  return kindOf(value);
}

// ---------------------------------------------------------------------------------------------
// Building
// ---------------------------------------------------------------------------------------------

/** A union of strict message objects discriminated by `type`. */
type MessageUnion = z.ZodDiscriminatedUnion<readonly z.ZodObject[], "type">;
/** The member of union `S` whose `type` is `T`. */
type MessageOf<S extends MessageUnion, T> = Extract<z.output<S>, { type: T }>;
/** What a caller supplies to {@link build}: every field but `v` and `type`; `ts` is optional. */
export type MessageFields<M> =
  & Omit<M, "v" | "type" | "ts">
  & ("ts" extends keyof M ? { ts?: string } : unknown);

/**
 * Builds a message of `type` from `schema` (a channel union such as `driverUpdateSchema`):
 * stamps `v`, `type` and — for messages that carry one — `ts` (now, unless given), then validates
 * it, so no component can emit a message its receiver would reject.
 *
 * ```ts
 * build(driverUpdateSchema, "DENIED", { requestId, driverId, cpId, reason: "busy" });
 * ```
 * @throws {TypeError} naming the message type and the failing field if a field is invalid.
 */
export function build<S extends MessageUnion, const T extends z.output<S>["type"]>(
  schema: S,
  type: T,
  fields: MessageFields<MessageOf<S, T>>,
): MessageOf<S, T> {
  const option = schema.options.find((o) =>
    o.shape.type instanceof z.ZodLiteral && o.shape.type.values.has(type as string)
  );
  if (option === undefined) {
    throw new TypeError(`build: unknown message type ${safeJson(type)} for this schema`);
  }
  const given: { ts?: unknown } = fields;
  const stamp = "ts" in option.shape ? { ts: given.ts ?? nowTs() } : {};
  const candidate = { ...fields, ...stamp, v: SCHEMA_VERSION, type };
  const result = parseMessage(option, candidate);
  if (!result.ok) throw new TypeError(`${type}: ${result.reason}`);
  return result.value as MessageOf<S, T>;
}

/** The session end reason that a stop of the CP for `reason` causes. */
export function endReasonForStop(reason: StopReason): EndReason {
  switch (reason) {
    case "admin":
      return "stopped_admin";
    case "weather":
      return "stopped_weather";
    case "maintenance":
      return "stopped_maintenance";
    case "out_of_service":
    case "revoked":
      return "status_lost";
  }
}
