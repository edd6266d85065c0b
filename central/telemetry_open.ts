/**
 * The stateless part of Central's `cp.telemetry` handling, which may run on another thread
 * (telemetry_opener.ts): parse each record's bytes, decode the envelope, check its CP, open it
 * with the key the batch was given for its (cp, kv), and validate the payload. What decides (the keyring's say at the time
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
  type GcmOpener,
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

/** A batch to open: each record's value as Kafka delivered it, its key, and the keys it may need. */
export interface OpenBatch {
  /** The topic the records came from (part of each envelope's AAD). */
  readonly channel: string;
  /**
   * The records' values end to end, in partition order (see {@link packValues}): raw bytes,
   * so that the thread that opens them parses them too, and the batch crosses as one buffer.
   */
  readonly bytes: Uint8Array<ArrayBuffer>;
  /** Where each record's value ends in `bytes`; the next one begins there. */
  readonly ends: Uint32Array<ArrayBuffer>;
  /** Each record's Kafka key: the CP it must come from (`null`: none given). */
  readonly expectCps: readonly (string | null)[];
  /** The keys of the (cp, kv) pairs the caller's keyring accepted for the records' CPs. */
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

/** `values` end to end in one new buffer, and where each ends: an {@link OpenBatch}'s records. */
export function packValues(
  values: readonly Uint8Array[],
): { bytes: Uint8Array<ArrayBuffer>; ends: Uint32Array<ArrayBuffer> } {
  const ends = new Uint32Array(values.length);
  let end = 0;
  values.forEach((value, i) => ends[i] = end += value.length);
  const bytes = new Uint8Array(end);
  values.forEach((value, i) => bytes.set(value, ends[i] - value.length));
  return { bytes, ends };
}

/**
 * {@link openRecord} for every record of `batch`, in order, with `gcm` running AES-256-GCM
 * (default `node:crypto`).
 */
export function openBatch(batch: OpenBatch, gcm?: GcmOpener): Opened[] {
  const keys = new Map(batch.keys.map((k) => [keyId(k.cp, k.kv), k.key]));
  return recordTexts(batch.bytes, batch.ends).map((text, i) =>
    openRecord(text, batch.expectCps[i], batch.channel, (cp, kv) => keys.get(keyId(cp, kv)), gcm)
  );
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** `bytes` as UTF-8 text, `null` if they are not UTF-8. */
export function utf8Text(bytes: Uint8Array): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * Each record's value as text, `null` where it is not UTF-8. Envelopes are ASCII, so the whole
 * buffer is decoded at once and cut at the byte offsets (one decode instead of thousands); text as
 * long as its bytes has no character past ASCII, which is what makes the offsets valid.
 */
function recordTexts(bytes: Uint8Array, ends: Uint32Array): (string | null)[] {
  const whole = utf8Text(bytes);
  const ascii = whole !== null && whole.length === bytes.length;
  const texts: (string | null)[] = [];
  let start = 0;
  for (const end of ends) {
    texts.push(ascii ? whole.slice(start, end) : utf8Text(bytes.subarray(start, end)));
    start = end;
  }
  return texts;
}

/**
 * {@link openOne} of a record's value as text (`null`: it was not UTF-8); one that is not JSON
 * is `malformed`, as one that is not an envelope.
 */
export function openRecord(
  text: string | null,
  expectCp: string | null,
  channel: string,
  keyOf: (cp: string, kv: number) => Uint8Array | undefined,
  gcm?: GcmOpener,
): Opened {
  if (text === null) return { type: "malformed", detail: "malformed envelope: not UTF-8" };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { type: "malformed", detail: "malformed envelope: not JSON" };
  }
  return openOne(value, expectCp, channel, keyOf, gcm);
}

/**
 * Decodes, checks the CP, opens with `keyOf(cp, kv)` (if it has one; through `gcm`, default
 * `node:crypto`) and validates one record. Throws only for a caller's bug (a bad channel or
 * key); bad input is an {@link Opened}.
 */
export function openOne(
  value: unknown,
  expectCp: string | null,
  channel: string,
  keyOf: (cp: string, kv: number) => Uint8Array | undefined,
  gcm?: GcmOpener,
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
    payload = openDecodedEnvelope(key, decoded, { channel, gcm });
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
 * The keys the keyring accepts now (`openable`) for the CPs the records were sent as, once
 * each: the raw bytes to open them with, and which `CryptoKey` each came from (the caller
 * checks, when it applies the results, that the keyring still gives that very key). An envelope
 * of another CP than its record's is refused before any key, so these are all a batch needs;
 * one under a version left out comes back `no_key`, and the keyring says why.
 */
export function batchKeys(
  expectCps: readonly (string | null)[],
  openable: (cp: string) => readonly { kv: number; key: CryptoKey }[],
): { keys: BatchKey[]; used: Map<string, CryptoKey> } {
  const keys: BatchKey[] = [];
  const used = new Map<string, CryptoKey>();
  for (const cp of new Set(expectCps)) {
    if (cp === null) continue;
    for (const { kv, key } of openable(cp)) {
      used.set(keyId(cp, kv), key);
      keys.push({ cp, kv, key: openingKeyBytes(key) });
    }
  }
  return { keys, used };
}
