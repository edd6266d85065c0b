/**
 * A CP's own X.509 certificate, as `POST /cp/register` may carry it (`certificate_pem`): checked
 * to be one PEM `CERTIFICATE` block that parses as X.509, and reduced to its SHA-256 fingerprint,
 * the only part the Registry keeps and shows. The PEM itself is never stored or echoed.
 *
 * @module
 */
// @peculiar/x509 (through tsyringe) needs the Reflect metadata API when it loads: this import
// must stay before it.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { createHash } from "node:crypto";

/** Longest `certificate_pem` accepted, in characters (a CP certificate is about 1 KiB). */
export const MAX_CERTIFICATE_PEM_CHARS = 16_384;

// One armoured block, nothing else: base64 lines between the BEGIN and END lines.
const PEM_BLOCK =
  /^\s*-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END CERTIFICATE-----\s*$/;

/**
 * Why `pem` is not one PEM X.509 certificate, in words for the caller, or `undefined` when it is.
 * Never quotes the input.
 */
export function certificateProblem(pem: string): string | undefined {
  if (pem.length > MAX_CERTIFICATE_PEM_CHARS) {
    return `must be at most ${MAX_CERTIFICATE_PEM_CHARS} characters`;
  }
  const block = PEM_BLOCK.exec(pem);
  if (block === null) {
    return "must be one PEM block from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----";
  }
  let der: Uint8Array<ArrayBuffer>;
  try {
    der = Uint8Array.fromBase64(block[1].replace(/\s/g, ""));
  } catch {
    return "is not valid base64 between its BEGIN and END lines";
  }
  try {
    new x509.X509Certificate(der);
  } catch {
    return "is not a valid X.509 certificate (its DER content does not parse)";
  }
  // The parser stops at the certificate's end: bytes after it would be kept, unseen, in the PEM.
  return derLength(der) === der.byteLength ? undefined : "has data after the certificate";
}

/** The length of the DER value at the start of `der` (tag, length and content), in bytes. */
function derLength(der: Uint8Array): number {
  const first = der[1] ?? 0;
  if (first < 0x80) return 2 + first;
  const count = first & 0x7f;
  let length = 0;
  for (let i = 0; i < count; i++) length = length * 256 + (der[2 + i] ?? 0);
  return 2 + count + length;
}

/**
 * The SHA-256 fingerprint of the certificate in `pem` (over its DER bytes), as uppercase hex pairs
 * joined by colons, the form `openssl x509 -noout -fingerprint -sha256` prints.
 * @throws {RangeError} if `pem` is not a certificate ({@link certificateProblem} says why).
 */
export function certificateFingerprint(pem: string): string {
  const problem = certificateProblem(pem);
  if (problem !== undefined) throw new RangeError(`certificate_pem ${problem}`);
  const der = new Uint8Array(new x509.X509Certificate(pem).rawData);
  const hex = createHash("sha256").update(der).digest("hex").toUpperCase();
  return hex.match(/../g)!.join(":");
}
