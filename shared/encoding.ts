/**
 * The small wire rules every component shares: what an id looks like, what a
 * counter is, strict base64, and bytes received in parts joined into one array. Zod schemas in
 * `messages.ts` and the envelope code in `envelope.ts` both build on these, so the rules live once.
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

/** `parts` copied one after the other into a new array. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Standard padded base64 of `bytes`. */
export function encodeBase64(bytes: Uint8Array): string {
  return bytes.toBase64();
}

/**
 * Strict base64 decode: standard alphabet, padding required, no whitespace, no stray bits, so
 * each byte string has exactly one encoding. Returns `null` for anything else.
 *
 * `fromBase64` in strict mode refuses every other alphabet, missing padding and stray bits, but
 * skips ASCII whitespace; without whitespace, 4 characters make 3 bytes less the padding, so a
 * length check refuses that too. No regular expression: it was 4.6 % of Central's CPU a
 * telemetry message (BENCHMARKS.md); encoding_test.ts holds this to the RFC's pattern.
 */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> | null {
  if (text.length % 4 !== 0) return null;
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = Uint8Array.fromBase64(text, { lastChunkHandling: "strict" });
  } catch {
    return null;
  }
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  return bytes.length === (text.length / 4) * 3 - padding ? bytes : null;
}
