import assert from "node:assert/strict";
import { exportEcdhPublicKey, generateEcdhKeyPair } from "../shared/cp_key.ts";
import { ecdhJwk } from "../shared/login_proof.ts";
import { createRegistryApp } from "./app.ts";
import type { ScryptParams } from "./credentials.ts";
import { RegistryStore } from "./store.ts";
import { generateSigningKey } from "./tokens.ts";

const ADMIN = "test-admin-key-0123456789";
const ECDH = ecdhJwk(await exportEcdhPublicKey((await generateEcdhKeyPair()).publicKey));
const FAST: ScryptParams = { N: 1024, r: 8, p: 1 };

async function setup() {
  const store = RegistryStore.open(":memory:");
  const app = createRegistryApp({
    store,
    signingKey: (await generateSigningKey()).key,
    adminKey: ADMIN,
    scrypt: FAST,
  });
  const remoteAddr = { transport: "tcp" as const, hostname: "10.0.0.1", port: 50000 };
  const call = (method: string, path: string, body?: unknown, admin?: string) =>
    Promise.resolve(app.request(path, {
      method,
      headers: {
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...(admin === undefined ? {} : { "x-admin-key": admin }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }, { remoteAddr }));
  const authenticate = (credentials: string) =>
    call("POST", "/cp/authenticate", { cp_id: "CP-001", credentials, ecdh_public_key: ECDH });
  return { store, call, authenticate };
}

Deno.test("credentials reset: new credentials once (no-store), the old ones refused at once", async () => {
  const { store, call, authenticate } = await setup();
  try {
    const registered = await call("POST", "/cp/register", {
      cp_id: "CP-001",
      location: "Alicante",
    }, ADMIN);
    const old = (await registered.json()).credentials as string;
    const ok = await authenticate(old); // the verified cache now holds the old credentials
    assert.equal(ok.status, 200);
    await ok.body?.cancel();

    const reset = await call("POST", "/cp/CP-001/credentials", undefined, ADMIN);
    assert.equal(reset.status, 200);
    assert.equal(reset.headers.get("cache-control"), "no-store");
    const body = await reset.json();
    assert.equal(body.cp_id, "CP-001");
    assert.equal(body.status, "REGISTERED");
    assert.notEqual(body.credentials, old);

    assert.equal((await authenticate(old)).status, 401, "the old ones stop working");
    const fresh = await authenticate(body.credentials);
    assert.equal(fresh.status, 200);
    await fresh.body?.cancel();
    const history = store.history("CP-001");
    assert.deepEqual(history.at(-1)?.details, { fields: ["credentials"] }, "never the secret");
    assert.ok(!JSON.stringify(history).includes(body.credentials));
  } finally {
    store.close();
  }
});

Deno.test("credentials reset: admin key required; unknown 404, deregistered 409", async () => {
  const { store, call } = await setup();
  try {
    const none = await call("POST", "/cp/CP-001/credentials");
    assert.equal(none.status, 401);
    await none.body?.cancel();
    const wrong = await call("POST", "/cp/CP-001/credentials", undefined, "wrong-key-0123456789");
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
    const unknown = await call("POST", "/cp/CP-404/credentials", undefined, ADMIN);
    assert.equal((await unknown.json()).error, "not_found");
    await (await call("POST", "/cp/register", { cp_id: "CP-001", location: "x" }, ADMIN)).body
      ?.cancel();
    await (await call("DELETE", "/cp/CP-001", undefined, ADMIN)).body?.cancel();
    const gone = await call("POST", "/cp/CP-001/credentials", undefined, ADMIN);
    assert.equal(gone.status, 409);
    assert.equal((await gone.json()).error, "cp_deregistered");
  } finally {
    store.close();
  }
});
