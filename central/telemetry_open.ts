/**
 * The stateless part of Central's `cp.telemetry` handling, which may run on another thread
 * (telemetry_opener.ts): decode each envelope, check its CP, open it with the key the batch was
 * given for its (cp, kv), and validate the payload. What decides (the keyring's say at the time
 * of handling, the replay marks, the dispatch) stays with the caller, which gets per message
 * the envelope's header and how far it got. Pure: no clock, no socket, no keyring.
 *
 * @module
 */
import {
  checkEnvelopeCp,
  decodeEnvelope,
  EnvelopeError,
  type EnvelopeErrorReason,
  openDecodedEnvelope,
  openingKeyBytes,
} from "../shared/envelope.ts";
import { parseMessage, type TelemetryPayload, telemetryPayloadSchema } from "../shared/messages.ts";

/** One (cp, kv) key a batch may be opened with, as raw bytes (a secret: never logged). */
export interface BatchKey {
  /** CP id. */
  readonly cp: string;
  /** Key version. */
  readonly kv: number;
  /** The AES-256-GCM key's 32 bytes. */
  readonly key: Uint8Array;
}

/** A batch to open: each record's value and key, and the keys it may need. */
export interface OpenBatch {
  /** The topic the records came from (part of each envelope's AAD). */
  readonly channel: string;
  /** Each record's parsed JSON value, in partition order. */
  readonly values: readonly unknown[];
  /** Each record's Kafka key: the CP it must come from (`null`: none given). */
  readonly expectCps: readonly (string | null)[];
  /** The keys of the (cp, kv) pairs the values name that the caller's keyring accepted. */
  readonly keys: readonly BatchKey[];
}

/** An envelope's (cp, kv, seq). */
export interface Header {
  readonly cp: string;
  readonly kv: number;
  readonly seq: number;
}

/** How far one record got, in the order of the checks. */
export type Opened =
  /** Not a well-formed envelope; there is no header. */
  | { readonly type: "malformed"; readonly detail: string }
  /** Sent as another CP than its envelope names (checked before any key). */
  | { readonly type: "cp_mismatch"; readonly header: Header; readonly detail: string }
  /** The batch had no key for its (cp, kv): the caller's keyring says why. */
  | { readonly type: "no_key"; readonly header: Header }
  /** Opened with the batch's key for (cp, kv), and refused: `tag`, `malformed` or `invalid_payload`. */
  | {
    readonly type: "refused";
    readonly header: Header;
    readonly reason: EnvelopeErrorReason | "invalid_payload";
    readonly detail: string;
  }
  /** Opened with the batch's key for (cp, kv), and valid. */
  | { readonly type: "payload"; readonly header: Header; readonly payload: TelemetryPayload };

/** The map key of a (cp, kv) pair. */
export const keyId = (cp: string, kv: number): string => `${cp}|${kv}`;

/** {@link openOne} for every record of `batch`, in order. */
export function openBatch(batch: OpenBatch): Opened[] {
  const keys = new Map(batch.keys.map((k) => [keyId(k.cp, k.kv), k.key]));
  return batch.values.map((value, i) =>
    openOne(value, batch.expectCps[i], batch.channel, (cp, kv) => keys.get(keyId(cp, kv)))
  );
}

/**
 * Decodes, checks the CP, opens with `keyOf(cp, kv)` (if it has one) and validates one record.
 * Throws only for a caller's bug (a bad channel or key); bad input is an {@link Opened}.
 */
export function openOne(
  value: unknown,
  expectCp: string | null,
  channel: string,
  keyOf: (cp: string, kv: number) => Uint8Array | undefined,
): Opened {
  let decoded;
  try {
    decoded = decodeEnvelope(value);
  } catch (error) {
    return { type: "malformed", detail: envelopeError(error).message };
  }
  const { cp, kv, seq } = decoded.envelope;
  const header = { cp, kv, seq };
  try {
    checkEnvelopeCp(decoded.envelope, expectCp ?? "");
  } catch (error) {
    return { type: "cp_mismatch", header, detail: envelopeError(error).message };
  }
  const key = keyOf(cp, kv);
  if (key === undefined) return { type: "no_key", header };
  let payload: unknown;
  try {
    payload = openDecodedEnvelope(key, decoded, { channel });
  } catch (error) {
    const { reason, message } = envelopeError(error);
    return { type: "refused", header, reason, detail: message };
  }
  const parsed = parseMessage(telemetryPayloadSchema, payload);
  return parsed.ok
    ? { type: "payload", header, payload: parsed.value }
    : { type: "refused", header, reason: "invalid_payload", detail: parsed.reason };
}

function envelopeError(error: unknown): EnvelopeError {
  if (error instanceof EnvelopeError) return error;
  throw error;
}

/**
 * The keys `keyring` accepts now for the (cp, kv) pairs `values` name, once each: the raw
 * bytes to open them with, and which `CryptoKey` each came from (the caller checks, when it
 * applies the results, that the keyring still gives that very key). A pair the keyring
 * refuses, or a value that names none, is left out: its records come back `no_key`.
 */
export function batchKeys(
  values: readonly unknown[],
  keyFor: (cp: string, kv: number) => CryptoKey,
): { keys: BatchKey[]; used: Map<string, CryptoKey> } {
  const keys: BatchKey[] = [];
  const used = new Map<string, CryptoKey>();
  const tried = new Set<string>();
  for (const value of values) {
    const { cp, kv } = (typeof value === "object" && value !== null ? value : {}) as {
      cp?: unknown;
      kv?: unknown;
    };
    if (typeof cp !== "string" || typeof kv !== "number") continue;
    const id = keyId(cp, kv);
    if (tried.has(id)) continue;
    tried.add(id);
    let key;
    try {
      key = keyFor(cp, kv);
    } catch (error) {
      if (error instanceof EnvelopeError) continue;
      throw error;
    }
    used.set(id, key);
    keys.push({ cp, kv, key: openingKeyBytes(key) });
  }
  return { keys, used };
}
