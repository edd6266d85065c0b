import assert from "node:assert/strict";
import { join } from "node:path";
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  importJWK,
  SignJWT,
  UnsecuredJWT,
} from "jose";
import {
  DEFAULT_ISSUER,
  generateSigningKey,
  InvalidTokenError,
  issueToken,
  jwksOf,
  loadOrCreateSigningKey,
  MAX_TOKEN_TTL_MS,
  TOKEN_AUDIENCE,
  verifyCpToken,
} from "./tokens.ts";
import { withTempDir } from "../shared/temp_dir.ts";

const JKT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"; // RFC 7638's example thumbprint
const SUBJECT = { cpId: "CP-001", location: "Calle Mayor 1", jkt: JKT };
const T0 = new Date("2026-01-01T12:00:00.250Z");

async function rejects(promise: Promise<unknown>, reason: string): Promise<void> {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof InvalidTokenError, String(error));
    assert.equal(error.reason, reason);
    return true;
  });
}

Deno.test("issueToken signs ES256 with kid and every claim", async () => {
  const { key } = await generateSigningKey();
  const issued = await issueToken(key, SUBJECT, { ttlMs: 600_000, now: T0 });
  const header = decodeProtectedHeader(issued.token);
  assert.deepEqual(header, { alg: "ES256", kid: key.kid, typ: "JWT" });
  const claims = decodeJwt(issued.token);
  const iat = Math.floor(T0.getTime() / 1000);
  assert.deepEqual(claims, {
    location: SUBJECT.location,
    cnf: { jkt: JKT },
    iat_ms: T0.getTime(),
    iss: DEFAULT_ISSUER,
    aud: TOKEN_AUDIENCE,
    sub: "CP-001",
    jti: issued.jti,
    iat,
    nbf: iat,
    exp: iat + 600,
  });
  assert.equal(issued.expiresAt.getTime(), (iat + 600) * 1000);
});

Deno.test("issueToken refuses a lifetime over 15 minutes", async () => {
  const { key } = await generateSigningKey();
  await assert.rejects(issueToken(key, SUBJECT, { ttlMs: MAX_TOKEN_TTL_MS + 1 }), RangeError);
  await assert.rejects(issueToken(key, SUBJECT, { ttlMs: 0 }), RangeError);
});

Deno.test("verifyCpToken accepts a good token through the JWKS", async () => {
  const { key } = await generateSigningKey();
  const issued = await issueToken(key, SUBJECT, { now: T0 });
  const jwks = createLocalJWKSet(jwksOf(key));
  const verified = await verifyCpToken(issued.token, jwks, {
    now: new Date(T0.getTime() + 60_000),
  });
  assert.deepEqual(verified, {
    cpId: "CP-001",
    location: SUBJECT.location,
    jti: issued.jti,
    jkt: JKT,
    issuedAt: T0,
    expiresAt: issued.expiresAt,
  });
});

Deno.test("verifyCpToken refuses a token for another audience, unbound or with a bad iat_ms", async () => {
  const { key, privateJwk } = await generateSigningKey();
  const jwks = createLocalJWKSet(jwksOf(key));
  const other = (await issueToken(key, SUBJECT, { now: T0, audience: "someone-else" })).token;
  await rejects(verifyCpToken(other, jwks, { now: T0 }), "bad_claims");
  const signer = await importJWK(privateJwk, "ES256");
  const base = (claims: Record<string, unknown>) =>
    new SignJWT({ location: "x", ...claims })
      .setProtectedHeader({ alg: "ES256", kid: key.kid })
      .setIssuer(DEFAULT_ISSUER).setAudience(TOKEN_AUDIENCE).setSubject("CP-001").setJti("j")
      .setIssuedAt(T0).setNotBefore(T0).setExpirationTime(new Date(T0.getTime() + 60_000))
      .sign(signer);
  const iatMs = T0.getTime();
  await rejects(verifyCpToken(await base({ iat_ms: iatMs }), jwks, { now: T0 }), "bad_claims");
  await rejects(
    verifyCpToken(await base({ iat_ms: iatMs, cnf: { jkt: 7 } }), jwks, { now: T0 }),
    "bad_claims",
  );
  await rejects(
    verifyCpToken(await base({ iat_ms: iatMs + 5000, cnf: { jkt: JKT } }), jwks, { now: T0 }),
    "bad_claims",
  );
  await assert.rejects(issueToken(key, { ...SUBJECT, jkt: "short" }), RangeError);
});

Deno.test("verifyCpToken refuses expired, not-yet-valid, other-issuer, other-key tokens", async () => {
  const { key } = await generateSigningKey();
  const other = await generateSigningKey();
  const jwks = createLocalJWKSet(jwksOf(key));
  const token = (await issueToken(key, SUBJECT, { ttlMs: 60_000, now: T0 })).token;
  await rejects(verifyCpToken(token, jwks, { now: new Date(T0.getTime() + 120_000) }), "expired");
  await rejects(
    verifyCpToken(token, jwks, { now: new Date(T0.getTime() - 120_000) }),
    "bad_claims",
  );
  await rejects(verifyCpToken(token, jwks, { now: T0, issuer: "someone-else" }), "bad_claims");
  const foreign = (await issueToken(other.key, SUBJECT, { now: T0 })).token;
  await rejects(verifyCpToken(foreign, jwks, { now: T0 }), "unknown_key");
  // Another key that claims our kid: the signature check catches it.
  const forged = await new SignJWT({ location: "x" })
    .setProtectedHeader({ alg: "ES256", kid: key.kid })
    .setIssuer(DEFAULT_ISSUER).setSubject("CP-001").setJti("j").setIssuedAt(T0).setNotBefore(T0)
    .setExpirationTime(new Date(T0.getTime() + 60_000))
    .sign(other.key.privateKey);
  await rejects(verifyCpToken(forged, jwks, { now: T0 }), "bad_signature");
});

Deno.test("verifyCpToken refuses tampered, unsigned, garbage and long-lived tokens", async () => {
  const { key, privateJwk } = await generateSigningKey();
  const jwks = createLocalJWKSet(jwksOf(key));
  const [h, p, s] = (await issueToken(key, SUBJECT, { now: T0 })).token.split(".");
  const payload = JSON.parse(atob(p.replace(/-/g, "+").replace(/_/g, "/")));
  payload.sub = "CP-666";
  const tampered = [h, btoa(JSON.stringify(payload)).replace(/=+$/, ""), s].join(".");
  await rejects(verifyCpToken(tampered, jwks, { now: T0 }), "bad_signature");
  const unsigned = new UnsecuredJWT({ location: "x" }).setIssuer(DEFAULT_ISSUER).setSubject(
    "CP-001",
  )
    .encode();
  await rejects(verifyCpToken(unsigned, jwks, { now: T0 }), "malformed");
  await rejects(verifyCpToken("not.a.jwt", jwks, { now: T0 }), "malformed");
  // Signed by the right key but valid for an hour: over the 15-minute cap.
  const signer = await importJWK(privateJwk, "ES256");
  const long = await new SignJWT({ location: "x", cnf: { jkt: JKT }, iat_ms: T0.getTime() })
    .setProtectedHeader({ alg: "ES256", kid: key.kid })
    .setIssuer(DEFAULT_ISSUER).setAudience(TOKEN_AUDIENCE).setSubject("CP-001").setJti("j")
    .setIssuedAt(T0).setNotBefore(T0)
    .setExpirationTime(new Date(T0.getTime() + 3600_000))
    .sign(signer);
  await rejects(verifyCpToken(long, jwks, { now: T0 }), "bad_claims");
});

Deno.test("the signing key is created once (0600) and survives a restart", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "data", "signing.json");
    const first = await loadOrCreateSigningKey(path);
    assert.equal(first.created, true);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    const token = (await issueToken(first.key, SUBJECT)).token;
    const second = await loadOrCreateSigningKey(path);
    assert.equal(second.created, false);
    assert.equal(second.key.kid, first.key.kid);
    const verified = await verifyCpToken(token, createLocalJWKSet(jwksOf(second.key)));
    assert.equal(verified.cpId, "CP-001");
    assert.equal(
      jwksOf(second.key).keys[0].d,
      undefined,
      "the JWKS never carries the private part",
    );
  });
});

Deno.test("a corrupt signing key file is an error, not silently replaced", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "signing.json");
    await Deno.writeTextFile(path, "not json", { mode: 0o600 });
    await assert.rejects(loadOrCreateSigningKey(path), /not a JSON Web Key/);
    await Deno.writeTextFile(path, JSON.stringify({ kty: "OKP" }));
    await assert.rejects(loadOrCreateSigningKey(path), /not an EC P-256 private JWK/);
  });
});
