/**
 * The fields every message is built from (ARCHITECTURE §Kafka topics, §Framed protocol): the
 * limits, ids, numbers, timestamps, keys, free text, the reason vocabularies and the audit fields,
 * each one schema so every component validates them the same way. Each schema's failure says
 * the rule in words, never the value. The messages themselves are in `channels.ts`.
 *
 * @module
 */

import { isIP } from "node:net";
import { z } from "zod";
import { decodeBase64, ENTITY_ID_PATTERN } from "../encoding.ts";

// ---------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------

/** The schema version every message carries as `v`. */
export const SCHEMA_VERSION = 1;
/** Largest JSON document `decodeJson` accepts by default, in UTF-8 bytes (Kafka's 1 MiB). */
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

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Whether `s` is written exactly as `Date.prototype.toISOString()` writes an instant of years
 * 0000–9999 (`YYYY-MM-DDTHH:mm:ss.sssZ`) and names a real one: month 01–12, a day the month has
 * (29 February in leap years only), hours 00–23, minutes and seconds 00–59. Checked digit by
 * digit, not by building a `Date`: it runs for every message (BENCHMARKS.md, cost per telemetry
 * message), and `toISOString` throws on the invalid dates a `Date` makes of month 13 or second 60.
 */
export function isTimestamp(s: string): boolean {
  if (s.length !== 24 || !TIMESTAMP_RE.test(s)) return false;
  // The two digits at `at` as a number (the pattern has checked they are digits).
  const two = (at: number) => (s.charCodeAt(at) - 48) * 10 + s.charCodeAt(at + 1) - 48;
  const year = two(0) * 100 + two(2);
  const month = two(5);
  const day = two(8);
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1])) return false;
  return two(11) <= 23 && two(14) <= 59 && two(17) <= 59;
}

/**
 * A timestamp: an ISO 8601 UTC string in the exact form `Date.prototype.toISOString()` writes
 * (`YYYY-MM-DDTHH:mm:ss.sssZ`), and a real calendar instant (no 30 February): {@link isTimestamp}.
 */
export const timestampSchema = ruleString(TIMESTAMP_RULE, isTimestamp);

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
/**
 * The code of a `detail` (`detail_code`, shared/notices.ts): what a screen translates. Any
 * lower-case word passes, so a newer Central's code reaches an older screen, which shows `detail`.
 */
export const detailCodeSchema = patternString(
  /^[a-z][a-z0-9_]{0,63}$/,
  "must be 1–64 characters of a–z, 0–9 or _, starting with a letter",
);
/** Most parameters one `detail_params` carries. */
export const MAX_DETAIL_PARAMS = 8;
/**
 * A `detail`'s parameters (`detail_params`): at most {@link MAX_DETAIL_PARAMS}, keyed by
 * identifiers, each a finite number or text of at most {@link MAX_DETAIL_CHARS} characters, put
 * into the code's words on a screen.
 */
export const detailParamsSchema = z
  .record(
    patternString(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, "must be an identifier of 1–64 characters"),
    z.union([textSchema(MAX_DETAIL_CHARS, 0), z.number()], {
      error: "must be a string of text or a finite number",
    }),
    { error: (issue) => (issue.code === "invalid_type" ? "must be an object" : undefined) },
  )
  .refine(
    (params) => Object.keys(params).length <= MAX_DETAIL_PARAMS,
    `must have at most ${MAX_DETAIL_PARAMS} entries`,
  );

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

/** A PEM certificate, as `AUTH_OK` carries Central's. */
export const certificatePemSchema = ruleString(
  "must be one PEM certificate of at most 8 KiB",
  (s) =>
    s.length <= 8192 &&
    /^-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\r?\n?$/.test(s),
);

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
