/**
 * Per-CP keys (ARCHITECTURE §Login and keys) and keys at rest (§Secrets at rest), with Web Crypto only.
 *
 * Login: the Monitor and Central each make an ephemeral ECDH P-256 key pair, swap public keys
 * (base64 of the raw uncompressed point) in `AUTH`/`AUTH_OK`, and derive the same AES-256-GCM
 * CP key with HKDF-SHA-256 (salt chosen by Central, info binding CP id and key version).
 *
 * Extractability is explicit: `deriveCpKey` returns a non-extractable key unless the caller
 * asks for `extractable: true`. Only two places need that: Central, to `wrapCpKey` it for its
 * database, and the Monitor, to `exportCpKey` it into the `KEY` frame for its Engine. Keys made
 * by `importCpKey` and `unwrapCpKey` are never extractable.
 *
 * @module
 */

import { dirname } from "node:path";
import { decodeBase64, encodeBase64, isValidCounter, isValidCpId } from "./encoding.ts";

/** Name of the environment variable suggested for the base64 master key. */
export const MASTER_KEY_ENV = "EVCHARGING_MASTER_KEY";

/** Thrown for bad key material or parameters: malformed public key, salt, wrapped key, master key file. */
export class CpKeyError extends Error {
  override name = "CpKeyError";
}

// ---------------------------------------------------------------------------------------------
// ECDH

const ECDH = { name: "ECDH", namedCurve: "P-256" } as const;

/** A fresh ephemeral ECDH P-256 key pair (private key not extractable). One per login. */
export async function generateEcdhKeyPair(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(ECDH, false, ["deriveBits"]);
}

/** Base64 of the raw uncompressed point (65 bytes) of an ECDH public key, for `AUTH`/`AUTH_OK`. */
export async function exportEcdhPublicKey(publicKey: CryptoKey): Promise<string> {
  return encodeBase64(new Uint8Array(await crypto.subtle.exportKey("raw", publicKey)));
}

// P-256 (y² = x³ − 3x + b mod p). Deno 2.9 imports a raw point without checking that it lies on
// the curve (deriveBits fails later with an obscure error), so the check is done here.
const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

function isOnP256(point: Uint8Array): boolean {
  const hex = (b: Uint8Array) => BigInt("0x" + b.toHex());
  const x = hex(point.subarray(1, 33));
  const y = hex(point.subarray(33, 65));
  if (x >= P || y >= P) return false;
  return (y * y - (x * x * x - 3n * x + B)) % P === 0n;
}

/**
 * Import a peer's ECDH public key from base64 of its raw uncompressed P-256 point.
 * Throws `CpKeyError` unless it is exactly 65 bytes, starts with 0x04 and lies on the curve.
 */
export async function importEcdhPublicKey(base64: string): Promise<CryptoKey> {
  const raw = typeof base64 === "string" ? decodeBase64(base64) : null;
  if (raw === null || raw.length !== 65 || raw[0] !== 0x04 || !isOnP256(raw)) {
    throw new CpKeyError(
      "ECDH public key must be base64 of an uncompressed P-256 point (65 bytes, 0x04, on the curve)",
    );
  }
  return await crypto.subtle.importKey("raw", raw, ECDH, true, []);
}

// ---------------------------------------------------------------------------------------------
// CP key

const AES_GCM_256 = { name: "AES-GCM", length: 256 } as const;
const SALT_BYTES = 32;

/** A fresh random HKDF salt (base64 of 32 bytes). Central picks one per login and sends it in `AUTH_OK`. */
export function newSalt(): string {
  return encodeBase64(crypto.getRandomValues(new Uint8Array(SALT_BYTES)));
}

/** The HKDF `info` string: binds the derived key to one CP and one key version. */
export function cpKeyInfo(cpId: string, keyVersion: number): string {
  return `evcharging/cp-key/v1|${cpId}|${keyVersion}`;
}

/** Inputs of `deriveCpKey`. */
export interface DeriveCpKeyParams {
  /** Our ephemeral ECDH private key (from `generateEcdhKeyPair`). */
  privateKey: CryptoKey;
  /** The peer's ECDH public key (from `importEcdhPublicKey`). */
  peerPublicKey: CryptoKey;
  /** Base64 of the 32 random bytes Central chose (`newSalt`). */
  salt: string;
  /** The CP the key belongs to. */
  cpId: string;
  /** The key version Central assigned to this login. */
  keyVersion: number;
  /** Only Central (to wrap it) and the Monitor (to hand it to its Engine) set this. Default false. */
  extractable?: boolean;
}

function checkCpAndKv(cpId: unknown, keyVersion: unknown): void {
  if (!isValidCpId(cpId)) throw new CpKeyError("CP id must be 3-64 of [A-Za-z0-9_-]");
  if (!isValidCounter(keyVersion)) {
    throw new CpKeyError("key version must be a non-negative safe integer");
  }
}

/**
 * Derive the CP's AES-256-GCM key: ECDH shared secret → HKDF-SHA-256(salt, info = `cpKeyInfo`).
 * Both sides get the same key; a different salt, CP id or key version gives an unrelated key.
 * Usages: encrypt, decrypt. Throws `CpKeyError` for a bad salt, CP id or key version.
 */
export async function deriveCpKey(params: DeriveCpKeyParams): Promise<CryptoKey> {
  const { privateKey, peerPublicKey, salt, cpId, keyVersion, extractable = false } = params;
  checkCpAndKv(cpId, keyVersion);
  const saltBytes = typeof salt === "string" ? decodeBase64(salt) : null;
  if (saltBytes === null || saltBytes.length !== SALT_BYTES) {
    throw new CpKeyError(`salt must be base64 of ${SALT_BYTES} bytes`);
  }
  const shared = await crypto.subtle.deriveBits(
    { name: "ECDH", public: peerPublicKey },
    privateKey,
    256,
  );
  const ikm = await crypto.subtle.importKey("raw", shared, "HKDF", false, ["deriveKey"]);
  const hkdf = {
    name: "HKDF",
    hash: "SHA-256",
    salt: saltBytes,
    info: new TextEncoder().encode(cpKeyInfo(cpId, keyVersion)),
  };
  return await crypto.subtle.deriveKey(hkdf, ikm, AES_GCM_256, extractable, ["encrypt", "decrypt"]);
}

/** Base64 of the raw 32 key bytes, for the Monitor's `KEY` frame. The key must be extractable. */
export async function exportCpKey(key: CryptoKey): Promise<string> {
  if (!key.extractable) {
    throw new CpKeyError("CP key is not extractable: derive it with extractable: true");
  }
  return encodeBase64(new Uint8Array(await crypto.subtle.exportKey("raw", key)));
}

/** Import a CP key from base64 of 32 raw bytes (the Engine, on a `KEY` frame). Not extractable. */
export async function importCpKey(base64: string): Promise<CryptoKey> {
  const raw = typeof base64 === "string" ? decodeBase64(base64) : null;
  if (raw === null || raw.length !== 32) throw new CpKeyError("CP key must be base64 of 32 bytes");
  return await crypto.subtle.importKey("raw", raw, AES_GCM_256, false, ["encrypt", "decrypt"]);
}

// ---------------------------------------------------------------------------------------------
// Keys at rest (Central)

/**
 * The master key that wraps CP keys at rest (usages wrapKey/unwrapKey, not extractable).
 * Source, in order: `envValue` (base64 of 32 bytes, typically `Deno.env.get(MASTER_KEY_ENV)`),
 * then the file at `path` (32 raw bytes). The file is created with mode 0600 (and its directory
 * with 0700) on first use. Throws `CpKeyError` for a bad env value, or a file that is not a
 * regular file, is readable or writable by group/others, or is not exactly 32 bytes.
 */
export async function loadOrCreateMasterKey(path: string, envValue?: string): Promise<CryptoKey> {
  let raw: Uint8Array<ArrayBuffer>;
  if (envValue !== undefined && envValue !== "") {
    const bytes = decodeBase64(envValue.trim());
    if (bytes === null || bytes.length !== 32) {
      throw new CpKeyError(`master key from the environment must be base64 of 32 bytes`);
    }
    raw = bytes;
  } else {
    raw = await readOrCreateKeyFile(path);
  }
  return await crypto.subtle.importKey("raw", raw, AES_GCM_256, false, ["wrapKey", "unwrapKey"]);
}

async function readOrCreateKeyFile(path: string): Promise<Uint8Array<ArrayBuffer>> {
  try {
    const fresh = crypto.getRandomValues(new Uint8Array(32));
    await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await Deno.writeFile(path, fresh, { createNew: true, mode: 0o600 });
    return fresh;
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  }
  const info = await Deno.stat(path);
  if (!info.isFile) throw new CpKeyError(`master key file ${path} is not a regular file`);
  // `mode` is null on Windows, where POSIX permission bits do not apply.
  if (info.mode !== null && (info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8);
    throw new CpKeyError(
      `master key file ${path} has mode ${mode}: it must not be accessible by group or others (chmod 600)`,
    );
  }
  const raw = await Deno.readFile(path);
  if (raw.length !== 32) {
    throw new CpKeyError(`master key file ${path} must hold exactly 32 bytes, not ${raw.length}`);
  }
  return raw;
}

// Wrapping uses AES-GCM rather than AES-KW: AES-KW (RFC 3394) takes no associated data, so a
// wrapped key copied onto another CP's row would still unwrap. With AES-GCM the CP id and key
// version are the AAD, so it unwraps only for the CP and version it was wrapped for. A random
// 96-bit IV per wrap is safe for the few wraps (one per login) a master key will ever do.
const WRAP_IV_BYTES = 12;

/** Which CP key a wrapped blob belongs to; bound into the wrap as AAD. */
export interface CpKeyLabel {
  /** The CP id. */
  cpId: string;
  /** The key version. */
  keyVersion: number;
}

function wrapParams(iv: Uint8Array<ArrayBuffer>, { cpId, keyVersion }: CpKeyLabel): AesGcmParams {
  checkCpAndKv(cpId, keyVersion);
  const additionalData = new TextEncoder().encode(
    `evcharging/cp-key-wrap/v1|${cpId}|${keyVersion}`,
  );
  return { name: "AES-GCM", iv, additionalData };
}

/**
 * Wrap an (extractable) CP key under the master key for storage. Returns base64 of
 * `iv (12) ‖ wrapped key (32) ‖ tag (16)`, bound to `cpId` and `keyVersion`.
 */
export async function wrapCpKey(
  masterKey: CryptoKey,
  cpKey: CryptoKey,
  label: CpKeyLabel,
): Promise<string> {
  if (!cpKey.extractable) {
    throw new CpKeyError("CP key is not extractable: derive it with extractable: true to wrap it");
  }
  const iv = crypto.getRandomValues(new Uint8Array(WRAP_IV_BYTES));
  const wrapped = await crypto.subtle.wrapKey("raw", cpKey, masterKey, wrapParams(iv, label));
  const out = new Uint8Array(WRAP_IV_BYTES + wrapped.byteLength);
  out.set(iv);
  out.set(new Uint8Array(wrapped), WRAP_IV_BYTES);
  return encodeBase64(out);
}

/**
 * Unwrap a CP key stored by `wrapCpKey` (non-extractable, usages encrypt/decrypt). Throws
 * `CpKeyError` if the blob is malformed, or was wrapped under another master key or for another
 * CP or key version.
 */
export async function unwrapCpKey(
  masterKey: CryptoKey,
  wrapped: string,
  label: CpKeyLabel,
): Promise<CryptoKey> {
  const bytes = typeof wrapped === "string" ? decodeBase64(wrapped) : null;
  if (bytes === null || bytes.length !== WRAP_IV_BYTES + 32 + 16) {
    throw new CpKeyError("wrapped CP key is malformed");
  }
  const params = wrapParams(bytes.subarray(0, WRAP_IV_BYTES), label);
  try {
    return await crypto.subtle.unwrapKey(
      "raw",
      bytes.subarray(WRAP_IV_BYTES),
      masterKey,
      params,
      AES_GCM_256,
      false,
      ["encrypt", "decrypt"],
    );
  } catch (err) {
    if (!(err instanceof DOMException && err.name === "OperationError")) throw err;
    throw new CpKeyError(
      `cannot unwrap the key of CP ${label.cpId} version ${label.keyVersion}: wrong master key, or wrapped for another CP or version`,
    );
  }
}
