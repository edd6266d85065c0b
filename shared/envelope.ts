/**
 * The encrypted envelope (ARCHITECTURE §Envelope) around CP traffic on Kafka (`cp.telemetry`,
 * `cp.commands`) and on the Central ↔ Monitor socket (`tcp`), plus what a sender and a receiver
 * keep around it: a sequence counter, a replay guard and a keyring.
 *
 * `{v:1, cp, kv, seq, iv, ct}`: AES-256-GCM under the CP key of version `kv`, `iv` base64 of 12
 * random bytes, `ct` base64 of ciphertext ‖ 16-byte tag, AAD `v1|<cp>|<kv>|<seq>|<channel>`, so an
 * envelope cannot be moved to another CP, key version, position or channel.
 *
 * The keys are Web Crypto `CryptoKey`s (derived, wrapped and imported with Web Crypto), but the
 * AES-GCM itself runs through `node:crypto`: under Deno 2.9 a Web Crypto decrypt costs several
 * times as much CPU (BENCHMARKS.md, `deno bench shared/envelope_bench.ts`), and Central opens
 * every CP's telemetry.
 *
 * Typical receiver (Central on `cp.telemetry`):
 * ```ts
 * const payload = await openEnvelope(keyring, JSON.parse(value), {
 *   channel: "cp.telemetry", expectCp: record.key, guard,
 * });
 * ```
 *
 * @module
 */

import { createCipheriv, createDecipheriv, KeyObject } from "node:crypto";
import {
  concatBytes,
  decodeBase64,
  encodeBase64,
  isValidCounter,
  isValidCpId,
} from "./encoding.ts";

/** The wire form of an encrypted message. */
export interface Envelope {
  /** Envelope format version; only 1 exists. */
  v: 1;
  /** CP id the key belongs to. */
  cp: string;
  /** Key version. */
  kv: number;
  /** Sender's sequence number, strictly increasing per (cp, kv). */
  seq: number;
  /** Base64 of the 12-byte random IV. */
  iv: string;
  /** Base64 of ciphertext ‖ GCM tag. */
  ct: string;
}

/** What the AAD binds besides the format version. */
export interface EnvelopeHeader {
  /** CP id. */
  cp: string;
  /** Key version. */
  kv: number;
  /** Sequence number (from a `SeqCounter`). */
  seq: number;
  /** Kafka topic name, or `tcp` for the Central ↔ Monitor socket. */
  channel: string;
}

/** Why an envelope was rejected. */
export type EnvelopeErrorReason =
  /** Not a well-formed v1 envelope, or its plaintext is not JSON. */
  | "malformed"
  /** `cp` differs from the CP the message was expected from (Kafka key, socket's CP). */
  | "cp_mismatch"
  /** No key known for this (cp, kv). */
  | "unknown_kv"
  /** An older key version that was retired (or revoked) and then forgotten after its grace. */
  | "expired_kv"
  /** The key version was revoked. */
  | "revoked"
  /** `seq` is not above the highest already accepted for this (cp, kv, channel). */
  | "replay"
  /** Authentication failed: wrong key, or iv/ct/AAD (cp, kv, seq, channel) altered. */
  | "tag";

/** The only error `openEnvelope` throws for bad input. Messages never hold key material or plaintext. */
export class EnvelopeError extends Error {
  override name = "EnvelopeError";
  /** Machine-readable reason, for audit records and counters. */
  readonly reason: EnvelopeErrorReason;

  /** Make an error with a reason code and a human-readable message. */
  constructor(reason: EnvelopeErrorReason, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Channel names: Kafka topic names (`[A-Za-z0-9._-]`, ≤ 249), which include `tcp`. */
export const CHANNEL_PATTERN = /^[A-Za-z0-9._-]{1,249}$/;

/** Largest JSON payload, in UTF-8 bytes (Kafka's default message limit is about 1 MB). */
export const MAX_PAYLOAD_BYTES = 1 << 20;

const IV_BYTES = 12;
const TAG_BYTES = 16;
const MAX_CT_CHARS = Math.ceil((MAX_PAYLOAD_BYTES + TAG_BYTES) / 3) * 4;
const FIELDS = ["cp", "ct", "iv", "kv", "seq", "v"]; // sorted

function checkHeader({ cp, kv, seq, channel }: EnvelopeHeader): void {
  if (!isValidCpId(cp)) throw new TypeError("cp must be 3-64 of [A-Za-z0-9_-]");
  if (!isValidCounter(kv)) throw new TypeError("kv must be a non-negative safe integer");
  if (!isValidCounter(seq)) throw new TypeError("seq must be a non-negative safe integer");
  if (typeof channel !== "string" || !CHANNEL_PATTERN.test(channel)) {
    throw new TypeError("channel must be a Kafka topic name or 'tcp'");
  }
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/** The additional authenticated data: UTF-8 of `v1|<cp>|<kv>|<seq>|<channel>`. */
export function envelopeAad({ cp, kv, seq, channel }: EnvelopeHeader): Uint8Array<ArrayBuffer> {
  return utf8Encoder.encode(`v1|${cp}|${kv}|${seq}|${channel}`);
}

// The raw bytes of each CP key, exported once on first use (`node:crypto` takes raw bytes most
// cheaply: a `KeyObject` is exported again on every cipher); they go when the CryptoKey does.
const rawKeys = new WeakMap<CryptoKey, Uint8Array>();

/** `key`'s 32 bytes for `node:crypto`, after checking it is an AES-256-GCM key allowed `usage`. */
function nodeKey(key: CryptoKey, usage: "encrypt" | "decrypt"): Uint8Array {
  const algorithm = key.algorithm as Partial<AesKeyAlgorithm>;
  if (algorithm?.name !== "AES-GCM" || algorithm.length !== 256 || !key.usages.includes(usage)) {
    throw new TypeError(`the key must be an AES-256-GCM key that may ${usage}`);
  }
  let raw = rawKeys.get(key);
  if (raw === undefined) {
    raw = new Uint8Array(KeyObject.from(key).export());
    rawKeys.set(key, raw);
  }
  return raw;
}

function rawAesKey(bytes: Uint8Array): Uint8Array {
  if (bytes.length !== 32) throw new TypeError("a raw AES-256-GCM key is 32 bytes");
  return bytes;
}

/**
 * The 32 bytes of a CP key that may decrypt, for {@link openDecodedEnvelope} on another thread
 * (a `CryptoKey` cannot cross to a worker without being extractable). A secret: never log it.
 * @throws {TypeError} if `key` is not an AES-256-GCM key that may decrypt.
 */
export function openingKeyBytes(key: CryptoKey): Uint8Array {
  return nodeKey(key, "decrypt");
}

/**
 * Encrypt `payload` (JSON-encoded) under `key` for (cp, kv, seq, channel). Rejects with
 * `TypeError` for an invalid header, a payload JSON cannot encode or a key that is not an
 * AES-256-GCM encryption key, `RangeError` above `MAX_PAYLOAD_BYTES`.
 */
export function sealEnvelope(
  key: CryptoKey,
  header: EnvelopeHeader,
  payload: unknown,
): Promise<Envelope> {
  try {
    return Promise.resolve(sealEnvelopeNow(key, header, payload));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** {@link sealEnvelope} on this turn: throws what it would reject with. */
export function sealEnvelopeNow(
  key: CryptoKey,
  header: EnvelopeHeader,
  payload: unknown,
): Envelope {
  checkHeader(header);
  const json = JSON.stringify(payload);
  if (json === undefined) throw new TypeError("payload cannot be encoded as JSON");
  const plain = utf8Encoder.encode(json);
  if (plain.length > MAX_PAYLOAD_BYTES) {
    throw new RangeError(`payload is ${plain.length} bytes, above ${MAX_PAYLOAD_BYTES}`);
  }
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const cipher = createCipheriv("aes-256-gcm", nodeKey(key, "encrypt"), iv, {
    authTagLength: TAG_BYTES,
  });
  cipher.setAAD(envelopeAad(header));
  const ct = concat(cipher.update(plain), cipher.final(), cipher.getAuthTag());
  const { cp, kv, seq } = header;
  return { v: 1, cp, kv, seq, iv: encodeBase64(iv), ct: encodeBase64(ct) };
}

/** The parts as one array; the first as it is when the others are empty (the usual case). */
function concat(...parts: Uint8Array[]): Uint8Array {
  const rest = parts.slice(1).filter((p) => p.length > 0);
  return rest.length === 0 ? parts[0] : concatBytes(parts);
}

function malformed(message: string): EnvelopeError {
  return new EnvelopeError("malformed", `malformed envelope: ${message}`);
}

/** A well-formed envelope with its iv and ciphertext decoded, ready to open. */
export interface DecodedEnvelope {
  /** The envelope's fields. */
  readonly envelope: Envelope;
  /** The 12 IV bytes. */
  readonly iv: Uint8Array<ArrayBuffer>;
  /** Ciphertext ‖ tag. */
  readonly ct: Uint8Array<ArrayBuffer>;
}

/**
 * Validate shape strictly and decode iv/ct, once: a receiver that looks at the header first
 * (Central's replay check) then opens this with {@link openDecodedEnvelope}. Throws
 * `EnvelopeError("malformed")`.
 */
export function decodeEnvelope(value: unknown): DecodedEnvelope {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw malformed("not an object");
  }
  const keys = Object.keys(value).sort();
  if (keys.length !== FIELDS.length || keys.some((k, i) => k !== FIELDS[i])) {
    throw malformed(`fields must be exactly ${FIELDS.join(", ")}`);
  }
  const e = value as Record<string, unknown>;
  if (e.v !== 1) throw malformed("v must be 1");
  if (!isValidCpId(e.cp)) throw malformed("cp must be 3-64 of [A-Za-z0-9_-]");
  if (!isValidCounter(e.kv)) throw malformed("kv must be a non-negative safe integer");
  if (!isValidCounter(e.seq)) throw malformed("seq must be a non-negative safe integer");
  const iv = typeof e.iv === "string" && e.iv.length === 16 ? decodeBase64(e.iv) : null;
  if (iv === null || iv.length !== IV_BYTES) throw malformed("iv must be base64 of 12 bytes");
  const ct = typeof e.ct === "string" && e.ct.length <= MAX_CT_CHARS ? decodeBase64(e.ct) : null;
  if (ct === null || ct.length < TAG_BYTES) {
    throw malformed(`ct must be base64 of ${TAG_BYTES} to ${MAX_PAYLOAD_BYTES + TAG_BYTES} bytes`);
  }
  const envelope: Envelope = {
    v: 1,
    cp: e.cp,
    kv: e.kv,
    seq: e.seq,
    iv: e.iv as string,
    ct: e.ct as string,
  };
  return { envelope, iv, ct };
}

/** Check that `value` is a well-formed v1 envelope (no crypto). Throws `EnvelopeError("malformed")`. */
export function parseEnvelope(value: unknown): Envelope {
  return decodeEnvelope(value).envelope;
}

/** Options of `openEnvelope`. */
export interface OpenOptions {
  /** The channel the envelope arrived on (topic name or `tcp`); part of the AAD. */
  channel: string;
  /** The CP the message must come from: the Kafka record key, or the socket's logged-in CP. */
  expectCp?: string;
  /** When given, reject a seq already seen, and record this one once it authenticates. */
  guard?: ReplayGuard;
  /** What runs AES-256-GCM (default {@link nodeGcm}; shared/openssl_gcm.ts is the other). */
  gcm?: GcmOpener;
}

/** An AES-256-GCM open, apart from the envelope around it. */
export interface GcmOpener {
  /**
   * The plaintext of `sealed` (ciphertext ‖ 16-byte tag) under `key` (32 bytes), `iv` (12 bytes)
   * and `aad`, or `null` when the tag does not verify.
   */
  open(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | null;
}

/** AES-256-GCM through `node:crypto`: what every envelope is opened with unless told otherwise. */
export const nodeGcm: GcmOpener = {
  open(key, iv, aad, sealed) {
    if (sealed.length < TAG_BYTES) return null;
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad);
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      return concat(
        decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)),
        decipher.final(),
      );
    } catch {
      // The tag and the key length are all that can fail here, and callers check the key.
      return null;
    }
  },
};

/**
 * Verify and decrypt an envelope; resolves with the JSON payload. `keys` is one CP key (its kv is
 * then only checked through the AAD) or a `CpKeyring` (unknown and revoked versions get their
 * own reasons). Checks, in order: shape (`malformed`), `expectCp` (`cp_mismatch`), keyring
 * (`unknown_kv`, `expired_kv`, `revoked`), replay guard (`replay`), GCM tag (`tag`). Bad input
 * only ever rejects with `EnvelopeError`; a `TypeError` means a bad `channel` option or a key
 * that is not an AES-256-GCM decryption key.
 */
export function openEnvelope(
  keys: CryptoKey | CpKeyring,
  value: unknown,
  options: OpenOptions,
): Promise<unknown> {
  try {
    return Promise.resolve(openDecodedEnvelope(keys, decodeEnvelope(value), options));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** Throws `EnvelopeError("cp_mismatch")` unless the envelope is from `expectCp` (when given). */
export function checkEnvelopeCp({ cp }: Envelope, expectCp: string | undefined): void {
  if (expectCp !== undefined && cp !== expectCp) {
    throw new EnvelopeError("cp_mismatch", `envelope for CP ${cp} arrived as CP ${expectCp}`);
  }
}

/**
 * {@link openEnvelope} of a {@link decodeEnvelope}d value, on this turn: throws what it would
 * reject with. `keys` may also be a key's raw bytes ({@link openingKeyBytes}), on a thread that
 * has no `CryptoKey`.
 */
export function openDecodedEnvelope(
  keys: CryptoKey | CpKeyring | Uint8Array,
  { envelope, iv, ct }: DecodedEnvelope,
  { channel, expectCp, guard, gcm = nodeGcm }: OpenOptions,
): unknown {
  if (typeof channel !== "string" || !CHANNEL_PATTERN.test(channel)) {
    throw new TypeError("channel must be a Kafka topic name or 'tcp'");
  }
  const { cp, kv, seq } = envelope;
  checkEnvelopeCp(envelope, expectCp);
  const key = keys instanceof Uint8Array
    ? rawAesKey(keys)
    : nodeKey(keys instanceof CpKeyring ? keys.keyFor(cp, kv) : keys, "decrypt");
  guard?.check(cp, kv, channel, seq);
  const plain = gcm.open(key, iv, envelopeAad({ cp, kv, seq, channel }), ct);
  if (plain === null) {
    throw new EnvelopeError("tag", `authentication failed for CP ${cp} kv ${kv} seq ${seq}`);
  }
  let payload: unknown;
  try {
    payload = JSON.parse(utf8Decoder.decode(plain));
  } catch {
    throw malformed("payload is not UTF-8 JSON");
  }
  guard?.accept(cp, kv, channel, seq); // after the tag, so a forgery cannot move the mark
  return payload;
}

// ---------------------------------------------------------------------------------------------

/**
 * Sender side: the next `seq` for (cp, kv), strictly increasing. Each value is at least the
 * clock (default: Date.now() × 1000), so a sender that restarts with the same key version
 * (Central reading its wrapped keys, an Engine handed the same key again) continues above what
 * it sent before, as long as it averaged under a million messages a second and the wall clock
 * did not go back. Use one counter for every channel of a (cp, kv): then (cp, kv, seq) is unique.
 */
export class SeqCounter {
  #last = new Map<string, number>();
  #clock: () => number;

  /** `clock` is injectable for tests. */
  constructor(clock: () => number = () => Date.now() * 1000) {
    this.#clock = clock;
  }

  /** The next sequence number for (cp, kv). */
  next(cp: string, kv: number): number {
    const k = `${cp}|${kv}`;
    const n = Math.max((this.#last.get(k) ?? -1) + 1, Math.floor(this.#clock()));
    if (!Number.isSafeInteger(n)) throw new RangeError(`seq for CP ${cp} kv ${kv} overflowed`);
    this.#last.set(k, n);
    return n;
  }

  /** Drop the state of a retired or revoked key version. */
  forget(cp: string, kv: number): void {
    this.#last.delete(`${cp}|${kv}`);
  }
}

/** One high-water mark: the highest seq accepted for (cp, kv, channel). */
export interface ReplayMark {
  /** CP id. */
  cp: string;
  /** Key version. */
  kv: number;
  /** Channel (topic name or `tcp`). */
  channel: string;
  /** Highest accepted seq. */
  seq: number;
}

/**
 * Receiver side: accepts only a seq above the highest already accepted, per (cp, kv, channel).
 *
 * Keyed by channel too: a sender uses one counter across channels, and Kafka and the socket
 * deliver at different speeds, so with one mark per (cp, kv) a TCP message could push the mark
 * past a Kafka message still in flight and get it rejected. The channel is in the AAD, so an
 * envelope cannot be moved to the other channel to slip past that channel's mark. Within one
 * channel delivery is in order (one Kafka partition per CP; one socket), so a mark suffices: one
 * number per (cp, kv, channel), persisted with `snapshot`/`restore`, dropped with `forget`.
 */
export class ReplayGuard {
  #marks = new Map<string, ReplayMark>();

  /** The highest accepted seq for (cp, kv, channel), or undefined if none. */
  highWater(cp: string, kv: number, channel: string): number | undefined {
    return this.#marks.get(`${cp}|${kv}|${channel}`)?.seq;
  }

  /** Throw `EnvelopeError("replay")` unless `seq` is above the high-water mark. */
  check(cp: string, kv: number, channel: string, seq: number): void {
    const mark = this.highWater(cp, kv, channel);
    if (mark !== undefined && seq <= mark) {
      throw new EnvelopeError(
        "replay",
        `seq ${seq} for CP ${cp} kv ${kv} on ${channel} is not above ${mark}, already accepted`,
      );
    }
  }

  /** `check`, then record `seq` as the new mark. Call only for an authenticated envelope. */
  accept(cp: string, kv: number, channel: string, seq: number): void {
    this.check(cp, kv, channel, seq);
    this.#marks.set(`${cp}|${kv}|${channel}`, { cp, kv, channel, seq });
  }

  /** Every mark, for persisting. */
  snapshot(): ReplayMark[] {
    return [...this.#marks.values()].map((m) => ({ ...m }));
  }

  /** Load persisted marks; where a mark exists already, the higher one wins. */
  restore(marks: Iterable<ReplayMark>): void {
    for (const { cp, kv, channel, seq } of marks) {
      checkHeader({ cp, kv, seq, channel });
      if (seq > (this.highWater(cp, kv, channel) ?? -1)) {
        this.#marks.set(`${cp}|${kv}|${channel}`, { cp, kv, channel, seq });
      }
    }
  }

  /** Drop every channel's mark of a key version that will never be accepted again. */
  forget(cp: string, kv: number): void {
    for (const [k, m] of this.#marks) if (m.cp === cp && m.kv === kv) this.#marks.delete(k);
  }
}

/**
 * State of a key version. `live`: the one to seal with (one per CP). `retired`: replaced by a
 * newer login but still opens, so messages that waited in Kafka can be read. `revoked`: rejected
 * at once; the key material is dropped.
 */
export type KeyState = "live" | "retired" | "revoked";

/** A key version the keyring dropped after its grace period (see {@link CpKeyring.forgetExpired}). */
export interface ForgottenKey {
  /** CP id. */
  readonly cp: string;
  /** Key version. */
  readonly kv: number;
}

/**
 * How long a retired or revoked key version is kept by default after it stopped being live (2
 * minutes): long enough for what waited in Kafka under it to be read, then it is forgotten.
 */
export const DEFAULT_KEY_GRACE_MS = 120_000;

/** Settings of {@link CpKeyring}. */
export interface KeyringOptions {
  /** Clock in epoch ms: when a version is retired or revoked (default `Date.now`). */
  readonly now?: () => number;
}

/**
 * CP keys by (cp, kv), for Central (every CP) or an Engine (its own). A retired or revoked
 * version remembers when it stopped being live; {@link forgetExpired} drops those older than a
 * grace period, so the owner decides how long old versions are kept. A version below the
 * highest the keyring has held that it no longer holds is `expired_kv`, one above it
 * `unknown_kv`.
 */
export class CpKeyring {
  #cps = new Map<string, Map<number, { state: KeyState; key?: CryptoKey; endedAt?: number }>>();
  // The highest version ever added per CP, so a forgotten one is told from one never seen.
  #highest = new Map<string, number>();
  readonly #now: () => number;

  /** `options.now` is injectable for tests. */
  constructor(options: KeyringOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  /**
   * Add a key; adding a `live` one retires the CP's previous live key. A revoked kv stays
   * revoked. `retiredAt` (epoch ms) is when a `retired` one stopped being live (default now).
   */
  add(
    cp: string,
    kv: number,
    key: CryptoKey,
    state: "live" | "retired" = "live",
    retiredAt?: number,
  ): void {
    const versions = this.#cps.get(cp) ?? new Map();
    if (versions.get(kv)?.state === "revoked") {
      throw new Error(`key version ${kv} of CP ${cp} is revoked`);
    }
    if (state === "live") {
      for (const entry of versions.values()) this.#end(entry, "retired");
    }
    versions.set(kv, {
      state,
      key,
      endedAt: state === "live" ? undefined : retiredAt ?? this.#now(),
    });
    this.#cps.set(cp, versions);
    this.#highest.set(cp, Math.max(this.#highest.get(cp) ?? kv, kv));
  }

  /** Mark a key version retired (still opens, no longer seals). */
  retire(cp: string, kv: number): void {
    const entry = this.#cps.get(cp)?.get(kv);
    if (entry) this.#end(entry, "retired");
  }

  /** Revoke one key version, or every known version of the CP when `kv` is omitted. */
  revoke(cp: string, kv?: number): void {
    for (const [v, entry] of this.#cps.get(cp) ?? []) {
      if (kv === undefined || v === kv) {
        this.#end(entry, "revoked");
        delete entry.key;
      }
    }
  }

  /** Drop a key version entirely (it becomes `expired_kv`). */
  forget(cp: string, kv: number): void {
    const versions = this.#cps.get(cp);
    versions?.delete(kv);
    if (versions?.size === 0) this.#cps.delete(cp);
  }

  /**
   * Forgets every retired or revoked version that stopped being live `graceMs` or more ago, and
   * returns them (the caller drops their stored copies and replay marks). Live keys stay.
   * @throws {RangeError} for a negative or non-finite `graceMs`.
   */
  forgetExpired(graceMs: number): ForgottenKey[] {
    if (!Number.isFinite(graceMs) || graceMs < 0) {
      throw new RangeError(`graceMs must be a non-negative number, got ${graceMs}`);
    }
    const before = this.#now() - graceMs;
    const forgotten: ForgottenKey[] = [];
    for (const [cp, versions] of this.#cps) {
      for (const [kv, entry] of versions) {
        if (entry.endedAt !== undefined && entry.endedAt <= before) forgotten.push({ cp, kv });
      }
    }
    for (const { cp, kv } of forgotten) this.forget(cp, kv);
    return forgotten;
  }

  /** The state of (cp, kv), or undefined if unknown. */
  state(cp: string, kv: number): KeyState | undefined {
    return this.#cps.get(cp)?.get(kv)?.state;
  }

  /** The CP's live key and its version, for sealing; undefined if it has none. */
  live(cp: string): { kv: number; key: CryptoKey } | undefined {
    for (const [kv, entry] of this.#cps.get(cp) ?? []) {
      if (entry.state === "live" && entry.key) return { kv, key: entry.key };
    }
    return undefined;
  }

  /** Every version of `cp` that {@link keyFor} gives a key for now, with that key. */
  openable(cp: string): { kv: number; key: CryptoKey }[] {
    const found: { kv: number; key: CryptoKey }[] = [];
    for (const [kv, entry] of this.#cps.get(cp) ?? []) {
      if (entry.state !== "revoked" && entry.key) found.push({ kv, key: entry.key });
    }
    return found;
  }

  /** The key to open (cp, kv) with; throws `EnvelopeError` `unknown_kv`, `expired_kv` or `revoked`. */
  keyFor(cp: string, kv: number): CryptoKey {
    const entry = this.#cps.get(cp)?.get(kv);
    if (entry?.state === "revoked") {
      throw new EnvelopeError("revoked", `key version ${kv} of CP ${cp} is revoked`);
    }
    if (entry?.key) return entry.key;
    if (kv < (this.#highest.get(cp) ?? 0)) {
      throw new EnvelopeError("expired_kv", `key version ${kv} of CP ${cp} has expired`);
    }
    throw new EnvelopeError("unknown_kv", `no key version ${kv} for CP ${cp}`);
  }

  /**
   * A live entry stops being live now (`retired` or `revoked`); a retired one may be revoked
   * and keeps its retirement time, as the grace runs from the end of its live use. A revoked one
   * stays as it is.
   */
  #end(entry: { state: KeyState; endedAt?: number }, state: "retired" | "revoked"): void {
    if (entry.state === "revoked") return;
    if (entry.state === "retired" && state === "retired") return;
    if (entry.state === "live") entry.endedAt = this.#now();
    entry.state = state;
  }
}
