/**
 * What binds a CP login to the keys that took part in it, beside the TLS around it:
 *
 * - **The monitor's key in its token** (RFC 7800 `cnf` with an RFC 7638 `jkt`). The monitor
 *   makes its ECDH pair before it asks the Registry for a token and sends the public half
 *   ({@link ecdhJwk}); the token carries its thumbprint ({@link ecdhThumbprint}), and Central
 *   refuses an `AUTH` whose ECDH key has another one. A sniffed or replayed token is useless
 *   without the private key, and a key swapped on the way no longer matches.
 * - **Central's share signed by Central** ({@link signAuthOk}, {@link verifyAuthOk}). `AUTH_OK`
 *   carries Central's certificate (the one its TLS port presents, signed by the project CA) and
 *   its signature, with the certificate's private key, over the CP id, key version, salt and both
 *   ECDH public keys. The monitor checks that the certificate chains to its CA and names the
 *   host it dialed, then the signature: a share swapped on the way fails.
 *
 * @module
 */
// @peculiar/x509 (through tsyringe) needs the Reflect metadata API when it loads: this import
// must stay before it.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { isIP } from "node:net";
import { CpKeyError, importEcdhPublicKey } from "./cp_key.ts";
import { decodeBase64, encodeBase64 } from "./encoding.ts";

// @peculiar/x509 needs a Web Crypto implementation; Deno's global one is complete.
x509.cryptoProvider.set(crypto);

/** The public half of a monitor's ECDH P-256 key as a JWK (only the RFC 7638 members). */
export interface EcdhJwk {
  /** Always `"EC"`. */
  readonly kty: "EC";
  /** Always `"P-256"`. */
  readonly crv: "P-256";
  /** base64url of the 32-byte x coordinate. */
  readonly x: string;
  /** base64url of the 32-byte y coordinate. */
  readonly y: string;
}

const b64url = (bytes: Uint8Array) => bytes.toBase64({ alphabet: "base64url", omitPadding: true });

/**
 * The JWK of an ECDH public key given as `AUTH` carries it (base64 of the 65-byte point).
 * @throws {CpKeyError} if it is not an uncompressed P-256 point.
 */
export function ecdhJwk(rawBase64: string): EcdhJwk {
  const raw = decodeBase64(rawBase64);
  if (raw === null || raw.length !== 65 || raw[0] !== 0x04) {
    throw new CpKeyError("ECDH public key must be base64 of an uncompressed P-256 point");
  }
  return { kty: "EC", crv: "P-256", x: b64url(raw.subarray(1, 33)), y: b64url(raw.subarray(33)) };
}

/**
 * The `AUTH` form (base64 of the uncompressed point) of a JWK from outside, checked: EC, P-256,
 * 32-byte coordinates of a point on the curve, no private part.
 * @throws {CpKeyError} naming what is wrong.
 */
export async function ecdhRawFromJwk(jwk: unknown): Promise<string> {
  if (jwk === null || typeof jwk !== "object") throw new CpKeyError("the key must be a JWK");
  const { kty, crv, x, y, d } = jwk as Record<string, unknown>;
  if (kty !== "EC" || crv !== "P-256") throw new CpKeyError("the key must be an EC P-256 JWK");
  if (d !== undefined) throw new CpKeyError("send the public key only, never `d`");
  const coordinate = (v: unknown) => {
    if (typeof v !== "string" || !/^[A-Za-z0-9_-]{43}$/.test(v)) return null;
    try {
      const bytes = Uint8Array.fromBase64(v, { alphabet: "base64url" });
      return bytes.length === 32 ? bytes : null;
    } catch {
      return null;
    }
  };
  const xs = coordinate(x);
  const ys = coordinate(y);
  if (xs === null || ys === null) throw new CpKeyError("x and y must be 32-byte base64url values");
  const raw = encodeBase64(Uint8Array.of(0x04, ...xs, ...ys));
  await importEcdhPublicKey(raw); // checks the point is on the curve
  return raw;
}

/** RFC 7638 thumbprint (SHA-256, base64url) of an ECDH public key (JWK or `AUTH`'s base64). */
export async function ecdhThumbprint(key: EcdhJwk | string): Promise<string> {
  const jwk = typeof key === "string" ? ecdhJwk(key) : key;
  // Required members only, in lexicographic order, no spaces (RFC 7638 §3).
  const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical));
  return b64url(new Uint8Array(digest));
}

/** What Central's signature in `AUTH_OK` covers. */
export interface AuthOkFacts {
  /** The CP logging in. */
  readonly cpId: string;
  /** The new key version. */
  readonly keyVersion: number;
  /** The HKDF salt (base64). */
  readonly salt: string;
  /** The monitor's ECDH public key (base64), as `AUTH` carried it. */
  readonly monitorKey: string;
  /** Central's ECDH public key (base64), as `AUTH_OK` carries it. */
  readonly centralKey: string;
}

/** The bytes signed: a context label, then every fact, `|`-separated (none contains `|`). */
export function authOkSigningInput(facts: AuthOkFacts): Uint8Array<ArrayBuffer> {
  const parts = [
    "evcharging-auth-ok-v1",
    facts.cpId,
    String(facts.keyVersion),
    facts.salt,
    facts.monitorKey,
    facts.centralKey,
  ];
  if (parts.some((p) => p.includes("|"))) throw new RangeError("a signed fact contains '|'");
  return new TextEncoder().encode(parts.join("|"));
}

/** Central's signing identity: its certificate (PEM) and the matching private key. */
export interface AuthOkSigner {
  /** The leaf certificate, PEM, sent in `AUTH_OK`. */
  readonly certificate: string;
  /** Its private key (ECDSA), not extractable. */
  readonly privateKey: CryptoKey;
  /** The ECDSA parameters to sign with. */
  readonly params: EcdsaParams;
}

/** The error of a failed {@link verifyAuthOk} or a certificate Central cannot sign with. */
export class LoginProofError extends Error {
  /** Always `"LoginProofError"`. */
  override name = "LoginProofError";
}

const HASH_OF_CURVE: Record<string, string> = {
  "P-256": "SHA-256",
  "P-384": "SHA-384",
  "P-521": "SHA-512",
};

function ecdsaOf(certificate: x509.X509Certificate): { curve: string; hash: string } {
  const algorithm = certificate.publicKey.algorithm as EcKeyAlgorithm;
  const hash = HASH_OF_CURVE[algorithm.namedCurve];
  if (algorithm.name !== "ECDSA" || hash === undefined) {
    throw new LoginProofError(
      `the certificate's key is ${algorithm.name}: an ECDSA certificate is needed (deno task certs makes one)`,
    );
  }
  return { curve: algorithm.namedCurve, hash };
}

/** The first certificate of a PEM chain. */
function leafPem(pem: string): string {
  const match = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  if (match === null) throw new LoginProofError("no PEM certificate found");
  return match[0];
}

/**
 * Central's signer from its TLS files (done once at start: no file is read per login).
 * @throws {LoginProofError} if the key is not ECDSA or does not match the certificate.
 */
export async function authOkSigner(tls: { cert: string; key: string }): Promise<AuthOkSigner> {
  const certificate = leafPem(tls.cert);
  const parsed = new x509.X509Certificate(certificate);
  const { curve, hash } = ecdsaOf(parsed);
  const body = tls.key.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "").replace(/\s+/g, "");
  const der = decodeBase64(body);
  if (der === null) throw new LoginProofError("the private key is not PEM PKCS#8");
  let privateKey: CryptoKey;
  try {
    privateKey = await crypto.subtle.importKey(
      "pkcs8",
      der,
      { name: "ECDSA", namedCurve: curve },
      false,
      [
        "sign",
      ],
    );
  } catch (error) {
    throw new LoginProofError(
      `the private key does not fit the certificate: ${(error as Error).message}`,
    );
  }
  const signer = { certificate, privateKey, params: { name: "ECDSA", hash } };
  // A key from another certificate would make every login fail at the monitor: say so now.
  const probe = { cpId: "probe", keyVersion: 1, salt: "", monitorKey: "", centralKey: "" };
  const signature = await signAuthOk(signer, probe);
  const publicKey = await parsed.publicKey.export({ name: "ECDSA", namedCurve: curve }, ["verify"]);
  const ok = await crypto.subtle.verify(
    signer.params,
    publicKey,
    decodeBase64(signature)!,
    authOkSigningInput(probe),
  );
  if (!ok) throw new LoginProofError("the private key does not belong to the certificate");
  return signer;
}

/** Central's signature (base64, IEEE P1363) over {@link authOkSigningInput}`(facts)`. */
export async function signAuthOk(signer: AuthOkSigner, facts: AuthOkFacts): Promise<string> {
  const signature = await crypto.subtle.sign(
    signer.params,
    signer.privateKey,
    authOkSigningInput(facts),
  );
  return encodeBase64(new Uint8Array(signature));
}

/** Whether `host` (as dialed: a name or an IP, IPv6 maybe in brackets) is one of `names`. */
export function namesHost(
  names: readonly { type: string; value: string }[],
  host: string,
): boolean {
  const bare = host.replace(/^\[(.*)\]$/, "$1").toLowerCase();
  if (isIP(bare) !== 0) {
    const canonical = (ip: string) => isIP(ip) === 6 ? new URL(`http://[${ip}]/`).hostname : ip;
    return names.some((n) =>
      n.type === "ip" && canonical(n.value.toLowerCase()) === canonical(bare)
    );
  }
  return names.some((n) => {
    if (n.type !== "dns") return false;
    const name = n.value.toLowerCase();
    if (!name.startsWith("*.")) return name === bare;
    const rest = bare.split(".").slice(1).join(".");
    return rest === name.slice(2);
  });
}

/** A certificate checked once against a CA and host: its verifying key (the fleet repeats). */
const checked = new Map<string, Promise<CryptoKey>>();
const MAX_CHECKED = 64;

async function checkCertificate(
  certificatePem: string,
  caPem: string,
  host: string,
  now: Date,
): Promise<CryptoKey> {
  let certificate: x509.X509Certificate;
  let ca: x509.X509Certificate;
  try {
    certificate = new x509.X509Certificate(leafPem(certificatePem));
    ca = new x509.X509Certificate(leafPem(caPem));
  } catch (error) {
    throw new LoginProofError(`Central's certificate cannot be read: ${(error as Error).message}`);
  }
  const valid = await certificate.verify({ publicKey: ca.publicKey, date: now }).catch(() => false);
  if (!valid) {
    throw new LoginProofError("Central's certificate is not signed by the trusted CA, or expired");
  }
  const san = certificate.getExtension(x509.SubjectAlternativeNameExtension);
  const names = san?.names.items.map((n) => ({ type: n.type, value: n.value })) ?? [];
  if (!namesHost(names, host)) {
    throw new LoginProofError(`Central's certificate does not name ${host}`);
  }
  const { curve } = ecdsaOf(certificate);
  return await certificate.publicKey.export({ name: "ECDSA", namedCurve: curve }, ["verify"]);
}

/**
 * The monitor's check of `AUTH_OK`: `certificatePem` chains to `caPem` and names `host`, and
 * `signature` is its key's signature over `facts`.
 * @throws {LoginProofError} saying which check failed.
 */
export async function verifyAuthOk(
  proof: { readonly certificate: string; readonly signature: string },
  facts: AuthOkFacts,
  trust: { readonly caPem: string; readonly host: string; readonly now?: Date },
): Promise<void> {
  const cacheKey = `${trust.host}\n${trust.caPem}\n${proof.certificate}`;
  let key = checked.get(cacheKey);
  if (key === undefined) {
    key = checkCertificate(proof.certificate, trust.caPem, trust.host, trust.now ?? new Date());
    if (checked.size >= MAX_CHECKED) checked.clear();
    checked.set(cacheKey, key);
    key.catch(() => checked.delete(cacheKey)); // a failure is checked afresh next time
  }
  const publicKey = await key;
  const { hash } = { hash: HASH_OF_CURVE[(publicKey.algorithm as EcKeyAlgorithm).namedCurve] };
  const signature = decodeBase64(proof.signature);
  const ok = signature !== null &&
    await crypto.subtle.verify(
      { name: "ECDSA", hash },
      publicKey,
      signature,
      authOkSigningInput(facts),
    ).catch(() => false);
  if (!ok) throw new LoginProofError("Central's signature over the key exchange does not verify");
}
