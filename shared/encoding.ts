/**
 * The small wire rules every component shares: what an id looks like, what a
 * counter is, and strict base64. Zod schemas in `messages.ts` and the
 * envelope code in `envelope.ts` both build on these, so the rules live once.
 *
 * @module
 */

/** A CP or driver id: 3–64 of `[A-Za-z0-9_-]` (ARCHITECTURE §Registration). */
export const ENTITY_ID_PATTERN = /^[A-Za-z0-9_-]{3,64}$/;

/** True when `id` is a valid CP id. */
export function isValidCpId(id: unknown): id is string {
  return typeof id === "string" && ENTITY_ID_PATTERN.test(id);
}

/** True when `n` is usable as a key version or sequence number (a non-negative safe integer). */
export function isValidCounter(n: unknown): n is number {
  return Number.isSafeInteger(n) && (n as number) >= 0;
}

/** Standard padded base64 (RFC 4648 §4): the only spelling accepted on the wire. */
export const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard padded base64 of `bytes`. */
export function encodeBase64(bytes: Uint8Array): string {
  return bytes.toBase64();
}

/**
 * Strict base64 decode: standard alphabet, padding required, no whitespace, no stray bits, so
 * each byte string has exactly one encoding. Returns `null` for anything else.
 */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> | null {
  if (!BASE64_PATTERN.test(text)) return null;
  try {
    return Uint8Array.fromBase64(text, { lastChunkHandling: "strict" });
  } catch {
    return null;
  }
}
