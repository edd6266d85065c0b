/**
 * CP tokens (ARCHITECTURE §Tokens): short-lived ES256 JWTs the Registry signs and Central verifies with
 * the Registry's public key (its JWKS).
 *
 * Claims: `iss` (the Registry), `aud` (Central, {@link TOKEN_AUDIENCE}), `sub` (CP id),
 * `location`, `jti`, `iat`, `nbf`, `exp`, `iat_ms` (the issue time in milliseconds: Central
 * refuses tokens issued at or before a key revocation, and a fresh one issued within the same
 * second as the revocation must still pass), and `cnf: {jkt}` (RFC 7800): the RFC 7638
 * thumbprint of the monitor's ECDH public key, so only the holder of that key can use the token
 * (shared/login_proof.ts). The header carries `kid` (the RFC 7638 thumbprint of the public key) so a verifier picks the
 * right key from the JWKS. The signing key is an ECDSA P-256 private JWK kept in a 0600 file,
 * so tokens issued before a restart still verify after it.
 *
 * @module
 */
import {
  calculateJwkThumbprint,
  errors,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  jwtVerify,
  type JWTVerifyGetKey,
  SignJWT,
} from "jose";
import { readOrCreateSecretFile } from "../shared/secret_file.ts";

/** The only signature algorithm issued or accepted. */
export const TOKEN_ALG = "ES256";
/** Default `iss` of Registry tokens. */
export const DEFAULT_ISSUER = "evcharging-registry";
/** The `aud` of CP tokens: only Central accepts them. */
export const TOKEN_AUDIENCE = "evcharging-central";
/** Default token lifetime: 10 minutes. */
export const DEFAULT_TOKEN_TTL_MS = 10 * 60_000;
/** Longest token lifetime allowed (ARCHITECTURE §Tokens): 15 minutes. */
export const MAX_TOKEN_TTL_MS = 15 * 60_000;

/** The Registry's signing key: the private key, its public JWK and key id. */
export interface SigningKey {
  /** Key id (`kid`), the JWK thumbprint of the public key. */
  readonly kid: string;
  /** Private key that signs tokens (not extractable). */
  readonly privateKey: CryptoKey;
  /** Public JWK as published in the JWKS (with `kid`, `alg`, `use`). */
  readonly publicJwk: JWK;
}

/** A JSON Web Key Set, as served at `/.well-known/jwks.json`. */
export interface Jwks {
  /** Public keys. */
  readonly keys: JWK[];
}

async function fromPrivateJwk(privateJwk: JWK): Promise<SigningKey> {
  const { d: _d, ...publicPart } = privateJwk;
  const base = { kty: publicPart.kty, crv: publicPart.crv, x: publicPart.x, y: publicPart.y };
  const kid = await calculateJwkThumbprint(base);
  const privateKey = await importJWK(privateJwk, TOKEN_ALG, { extractable: false }) as CryptoKey;
  return { kid, privateKey, publicJwk: { ...base, kid, alg: TOKEN_ALG, use: "sig" } };
}

/** A fresh signing key (and its private JWK, for storing). */
export async function generateSigningKey(): Promise<{ key: SigningKey; privateJwk: JWK }> {
  const { privateKey } = await generateKeyPair(TOKEN_ALG, { extractable: true });
  const privateJwk = await exportJWK(privateKey);
  return { key: await fromPrivateJwk(privateJwk), privateJwk };
}

/**
 * Loads the signing key from `path`, or creates one there (mode 0600) on first start.
 * @returns the key and whether it was created now.
 */
export async function loadOrCreateSigningKey(
  path: string,
): Promise<{ key: SigningKey; created: boolean }> {
  const file = await readOrCreateSecretFile(
    path,
    async () => JSON.stringify((await generateSigningKey()).privateJwk),
  );
  let jwk: JWK;
  try {
    jwk = JSON.parse(file.value);
  } catch {
    throw new Error(`${path} is not a JSON Web Key; move it away to make a new signing key`);
  }
  if (jwk.kty !== "EC" || jwk.crv !== "P-256" || typeof jwk.d !== "string") {
    throw new Error(`${path} is not an EC P-256 private JWK; move it away to make a new one`);
  }
  return { key: await fromPrivateJwk(jwk), created: file.created };
}

/** The JWKS publishing `keys`' public halves. */
export function jwksOf(...keys: SigningKey[]): Jwks {
  return { keys: keys.map((k) => ({ ...k.publicJwk })) };
}

/** What a token is issued for. */
export interface TokenSubject {
  /** The CP id (`sub`). */
  readonly cpId: string;
  /** The CP's registered location. */
  readonly location: string;
  /** RFC 7638 thumbprint of the ECDH public key the token is bound to (`cnf.jkt`). */
  readonly jkt: string;
}

/** Settings of {@link issueToken}. */
export interface IssueOptions {
  /** `iss`. Default {@link DEFAULT_ISSUER}. */
  readonly issuer?: string;
  /** `aud`. Default {@link TOKEN_AUDIENCE}. */
  readonly audience?: string;
  /** Lifetime in ms, at most {@link MAX_TOKEN_TTL_MS}. Default {@link DEFAULT_TOKEN_TTL_MS}. */
  readonly ttlMs?: number;
  /** Issue time. Default now. */
  readonly now?: Date;
}

/** A signed token and when it expires. */
export interface IssuedToken {
  /** Compact JWS. */
  readonly token: string;
  /** Its `jti`. */
  readonly jti: string;
  /** Its `exp`. */
  readonly expiresAt: Date;
}

/** Signs a token for `subject` with `key`. */
export async function issueToken(
  key: SigningKey,
  subject: TokenSubject,
  options: IssueOptions = {},
): Promise<IssuedToken> {
  const ttlMs = options.ttlMs ?? DEFAULT_TOKEN_TTL_MS;
  if (!(ttlMs > 0 && ttlMs <= MAX_TOKEN_TTL_MS)) {
    throw new RangeError(`token TTL must be 1 ms to ${MAX_TOKEN_TTL_MS} ms`);
  }
  if (!/^[A-Za-z0-9_-]{43}$/.test(subject.jkt)) {
    throw new RangeError("jkt must be a SHA-256 JWK thumbprint (43 base64url characters)");
  }
  const iatMs = (options.now ?? new Date()).getTime();
  const iat = Math.floor(iatMs / 1000);
  const exp = iat + Math.max(1, Math.floor(ttlMs / 1000));
  const jti = crypto.randomUUID();
  const token = await new SignJWT({
    location: subject.location,
    cnf: { jkt: subject.jkt },
    iat_ms: iatMs,
  })
    .setProtectedHeader({ alg: TOKEN_ALG, kid: key.kid, typ: "JWT" })
    .setIssuer(options.issuer ?? DEFAULT_ISSUER)
    .setAudience(options.audience ?? TOKEN_AUDIENCE)
    .setSubject(subject.cpId)
    .setJti(jti)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(exp)
    .sign(key.privateKey);
  return { token, jti, expiresAt: new Date(exp * 1000) };
}

/** The checked content of a token. */
export interface VerifiedToken {
  /** CP id (`sub`). */
  readonly cpId: string;
  /** Registered location at issue time. */
  readonly location: string;
  /** Token id (`jti`), for replay bookkeeping. */
  readonly jti: string;
  /** The issue time to the millisecond (`iat_ms`, checked to lie within `iat`'s second). */
  readonly issuedAt: Date;
  /** `cnf.jkt`: thumbprint of the ECDH public key the token is bound to. */
  readonly jkt: string;
  /** `exp`. */
  readonly expiresAt: Date;
}

/** A token that is malformed, badly signed, expired, not yet valid or from another issuer. */
export class InvalidTokenError extends Error {
  /** Always `"InvalidTokenError"`. */
  override name = "InvalidTokenError";
  /** Short machine reason: `expired`, `bad_signature`, `bad_claims`, `malformed`, `unknown_key`. */
  readonly reason: string;

  /** Creates the error with its reason and a readable message. */
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

/** Settings of {@link verifyCpToken}. */
export interface VerifyOptions {
  /** Expected `iss`. Default {@link DEFAULT_ISSUER}. */
  readonly issuer?: string;
  /** Expected `aud`. Default {@link TOKEN_AUDIENCE}. */
  readonly audience?: string;
  /** Verification time. Default now. */
  readonly now?: Date;
  /** Clock skew tolerated on `exp`/`nbf`, in seconds. Default 30. */
  readonly clockToleranceSec?: number;
}

function classify(error: unknown): InvalidTokenError | undefined {
  if (error instanceof errors.JWTExpired) return new InvalidTokenError("expired", "token expired");
  if (error instanceof errors.JWTClaimValidationFailed) {
    return new InvalidTokenError("bad_claims", `token claim check failed: ${error.message}`);
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new InvalidTokenError("bad_signature", "token signature does not verify");
  }
  if (
    error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys
  ) {
    return new InvalidTokenError("unknown_key", "token was not signed by a Registry key");
  }
  if (
    error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid ||
    error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported
  ) {
    return new InvalidTokenError("malformed", `token rejected: ${error.message}`);
  }
  return undefined;
}

/**
 * Checks a CP token: ES256 only, signature by `key` (a key or a JWKS resolver), `iss`, `aud`,
 * `exp`, `nbf`, the presence of every claim (`cnf.jkt` among them), and a lifetime of at most
 * 15 minutes. Whether the presenter holds the bound key is the caller's check.
 * @throws {InvalidTokenError} for any token problem; other errors (e.g. the JWKS cannot be
 * fetched) pass through unchanged so callers can tell "bad token" from "Registry down".
 */
export async function verifyCpToken(
  token: string,
  key: CryptoKey | JWTVerifyGetKey,
  options: VerifyOptions = {},
): Promise<VerifiedToken> {
  let payload;
  try {
    // The overloads of jwtVerify differ only in the key's type; pick one explicitly.
    const verifyOptions = {
      issuer: options.issuer ?? DEFAULT_ISSUER,
      audience: options.audience ?? TOKEN_AUDIENCE,
      algorithms: [TOKEN_ALG],
      currentDate: options.now,
      clockTolerance: options.clockToleranceSec ?? 30,
      requiredClaims: ["aud", "sub", "jti", "iat", "nbf", "exp", "cnf", "iat_ms"],
    };
    payload = typeof key === "function"
      ? (await jwtVerify(token, key, verifyOptions)).payload
      : (await jwtVerify(token, key, verifyOptions)).payload;
  } catch (error) {
    throw classify(error) ?? error;
  }
  const { sub, jti, iat, exp, location, cnf, iat_ms: iatMs } = payload;
  if (typeof location !== "string" || typeof sub !== "string" || typeof jti !== "string") {
    throw new InvalidTokenError("bad_claims", "token lacks sub, jti or location");
  }
  const jkt = (cnf as { jkt?: unknown } | null)?.jkt;
  if (typeof cnf !== "object" || typeof jkt !== "string" || !/^[A-Za-z0-9_-]{43}$/.test(jkt)) {
    throw new InvalidTokenError("bad_claims", "token lacks cnf.jkt (it is bound to no key)");
  }
  if (
    typeof iatMs !== "number" || !Number.isSafeInteger(iatMs) ||
    Math.floor(iatMs / 1000) !== iat
  ) {
    throw new InvalidTokenError("bad_claims", "token's iat_ms does not fit its iat");
  }
  if ((exp as number) - (iat as number) > MAX_TOKEN_TTL_MS / 1000) {
    throw new InvalidTokenError("bad_claims", "token lifetime exceeds 15 minutes");
  }
  return {
    cpId: sub,
    location,
    jti,
    jkt,
    issuedAt: new Date(iatMs),
    expiresAt: new Date((exp as number) * 1000),
  };
}
