/**
 * The Registry over real HTTPS: a fresh development CA and server certificate in a temp
 * folder, the real server on a free port, and `registry/client.ts` trusting that CA.
 */
import assert from "node:assert/strict";
import { exportEcdhPublicKey, generateEcdhKeyPair } from "../shared/cp_key.ts";
import { ecdhJwk, ecdhThumbprint } from "../shared/login_proof.ts";
import { join } from "node:path";
import { SignJWT } from "jose";
import {
  createDevCertificates,
  type DevCertificates,
  writeDevCertificates,
} from "../infra/dev_ca.ts";
import {
  createRegistryClient,
  InvalidTokenError,
  type RegistryClient,
  RegistryError,
  RegistryUnavailableError,
} from "../registry/client.ts";
import { type RunningRegistry, startRegistryServer } from "../registry/server.ts";
import { generateSigningKey, issueToken } from "../registry/tokens.ts";
import { httpsClient, loadTlsFiles } from "../shared/tls.ts";

/** The public ECDH key a monitor would send; its tokens are bound to it. */
const ECDH = ecdhJwk(await exportEcdhPublicKey((await generateEcdhKeyPair()).publicKey));

interface Setup {
  dir: string;
  certs: DevCertificates;
  registry: RunningRegistry;
  client: RegistryClient;
}

async function withRegistry(test: (s: Setup) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "registry_https_" });
  const certs = await createDevCertificates();
  await writeDevCertificates(join(dir, "certs"), certs);
  const registry = await startRegistryServer({
    port: 0,
    hostname: "127.0.0.1",
    tls: await loadTlsFiles({
      certFile: join(dir, "certs", "server.pem"),
      keyFile: join(dir, "certs", "server.key"),
    }),
    dbPath: join(dir, "data", "registry.db"),
  });
  const client = await createRegistryClient({
    url: `https://localhost:${registry.addr.port}`,
    caFile: join(dir, "certs", "ca.pem"),
    adminKey: registry.adminKey.key,
  });
  try {
    await test({ dir, certs, registry, client });
  } finally {
    client.close();
    await registry.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function includesBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

Deno.test("HTTPS round trip: register, authenticate, verify via JWKS, deregister, then 403", async () => {
  await withRegistry(async ({ dir, registry, client }) => {
    assert.equal(registry.adminKey.source, "file");
    assert.equal((await Deno.stat(join(dir, "data", "registry_admin.key"))).mode! & 0o777, 0o600);
    assert.equal(
      (await Deno.stat(join(dir, "data", "registry_signing_key.json"))).mode! & 0o777,
      0o600,
    );

    assert.equal((await client.health()).status, "ok");
    const registered = await client.register({
      cp_id: "CP-HTTPS-1",
      location: "Lab bench 3",
      power_kw: 11,
    });
    assert.equal(registered.status, "REGISTERED");
    const { token, expires_at } = await client.authenticate(
      "CP-HTTPS-1",
      registered.credentials,
      ECDH,
    );
    assert.ok(Date.parse(expires_at) > Date.now());

    const claims = await client.verifyToken(token);
    assert.equal(claims.cpId, "CP-HTTPS-1");
    assert.equal(claims.location, "Lab bench 3");
    assert.equal((await client.getCp("CP-HTTPS-1")).power_kw, 11);
    assert.equal((await client.listCps({ status: "REGISTERED" })).total, 1);
    assert.equal(
      (await client.updateCp("CP-HTTPS-1", { price_eur_kwh: 0.29 })).price_eur_kwh,
      0.29,
    );

    // The database and its WAL hold no credential in clear.
    const dbPath = join(dir, "data", "registry.db");
    for (const suffix of ["", "-wal", "-shm"]) {
      const bytes = await Deno.readFile(dbPath + suffix).catch(() => new Uint8Array());
      assert.ok(
        !includesBytes(bytes, new TextEncoder().encode(registered.credentials)),
        `credential in ${suffix}`,
      );
    }

    const gone = await client.deregister("CP-HTTPS-1");
    assert.equal(gone.status, "DEREGISTERED");
    await assert.rejects(
      client.authenticate("CP-HTTPS-1", registered.credentials, ECDH),
      (error) => {
        assert.ok(error instanceof RegistryError);
        assert.equal(error.status, 403);
        assert.equal(error.code, "cp_deregistered");
        return true;
      },
    );
    await assert.rejects(client.authenticate("CP-HTTPS-1", "wrong", ECDH), (error) => {
      assert.ok(error instanceof RegistryError && !(error instanceof RegistryUnavailableError));
      assert.deepEqual([error.status, error.code], [401, "invalid_credentials"]);
      return true;
    });
    await assert.rejects(client.getCp("CP-NOPE"), { status: 404, code: "not_found" });
  });
});

Deno.test("HTTPS: plain HTTP to the TLS port fails", async () => {
  await withRegistry(async ({ registry }) => {
    await assert.rejects(fetch(`http://127.0.0.1:${registry.addr.port}/`), TypeError);
  });
});

Deno.test("HTTPS: the client's timeout counts only time its thread could read: a held-up thread gets the prompt answer, a silent server still times out", async () => {
  await withRegistry(async ({ dir, registry }) => {
    const caFile = join(dir, "certs", "ca.pem");
    const url = `https://localhost:${registry.addr.port}`;
    const client = await createRegistryClient({ url, caFile, timeoutMs: 100 });
    try {
      const asked = client.health();
      const until = performance.now() + 400; // this thread held up four times the timeout
      while (performance.now() < until) { /* busy */ }
      assert.equal((await asked).status, "ok", "answered once the thread ran again");
    } finally {
      client.close();
    }

    const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 }); // accepts, never answers
    const held: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const conn of silent) held.push(conn);
    })();
    const stuck = await createRegistryClient({
      url: `https://localhost:${silent.addr.port}`,
      caFile,
      timeoutMs: 100,
    });
    try {
      await assert.rejects(stuck.health(), (error) => {
        assert.ok(error instanceof RegistryUnavailableError);
        assert.match(error.detail, /timed out/);
        return true;
      });
    } finally {
      stuck.close();
      silent.close();
      await accepting.catch(() => {});
      for (const conn of held) conn.close();
    }
  });
});

Deno.test("HTTPS: a client that does not trust the project CA fails", async () => {
  await withRegistry(async ({ registry }) => {
    const url = `https://localhost:${registry.addr.port}`;
    await assert.rejects(fetch(url), TypeError); // system roots only
    const stranger = await createDevCertificates(); // another CA
    const client = await createRegistryClient({ url, caCert: stranger.ca.cert });
    try {
      await assert.rejects(client.health(), (error) => {
        assert.ok(error instanceof RegistryUnavailableError);
        assert.equal(error.code, "registry_unavailable");
        assert.match(error.detail, /certificate|UnknownIssuer/i);
        return true;
      });
    } finally {
      client.close();
    }
  });
});

Deno.test("HTTPS: the client's verifyToken refuses tokens of another key and expired ones", async () => {
  await withRegistry(async ({ registry, client }) => {
    const subject = { cpId: "CP-HTTPS-2", location: "x", jkt: await ecdhThumbprint(ECDH) };
    const other = await generateSigningKey();
    const foreign = await issueToken(other.key, subject);
    await assert.rejects(client.verifyToken(foreign.token), InvalidTokenError);
    // Another key that borrows the Registry's kid.
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ location: "x" })
      .setProtectedHeader({ alg: "ES256", kid: registry.signingKey.kid })
      .setIssuer("evcharging-registry").setSubject("CP-HTTPS-2").setJti("j1")
      .setIssuedAt(now).setNotBefore(now).setExpirationTime(now + 60)
      .sign(other.key.privateKey);
    await assert.rejects(client.verifyToken(forged), {
      name: "InvalidTokenError",
      reason: "bad_signature",
    });
    // The Registry's own key, but issued 20 minutes ago for 10 minutes.
    const old = await issueToken(registry.signingKey, subject, {
      now: new Date(Date.now() - 20 * 60_000),
    });
    await assert.rejects(client.verifyToken(old.token), {
      name: "InvalidTokenError",
      reason: "expired",
    });
    const fresh = await issueToken(registry.signingKey, subject);
    assert.equal((await client.verifyToken(fresh.token)).cpId, "CP-HTTPS-2");
  });
});

Deno.test("HTTPS: bad input over the wire gets 4xx with the error shape; the server keeps serving", async () => {
  await withRegistry(async ({ dir, registry, client }) => {
    const http = await httpsClient(join(dir, "certs", "ca.pem"));
    const url = `https://localhost:${registry.addr.port}`;
    const post = async (path: string, body: BodyInit, headers: Record<string, string> = {}) => {
      const res = await fetch(url + path, {
        method: "POST",
        body,
        client: http,
        headers: { "content-type": "application/json", ...headers },
      });
      const json = await res.json();
      assert.deepEqual(Object.keys(json).sort(), ["detail", "error", "timestamp"]);
      return [res.status, json.error];
    };
    try {
      assert.deepEqual(await post("/cp/authenticate", "x".repeat(1024 * 1024)), [
        413,
        "payload_too_large",
      ]);
      const chunks = ReadableStream.from([new Uint8Array(512 * 1024), new Uint8Array(512 * 1024)]);
      assert.deepEqual(await post("/cp/authenticate", chunks), [413, "payload_too_large"]);
      assert.deepEqual(await post("/cp/authenticate", "{oops"), [400, "invalid_json"]);
      assert.deepEqual(await post("/cp/authenticate", '{"cp_id":"a b","credentials":"x"}'), [
        400,
        "validation_failed",
      ]);
      assert.deepEqual(
        await post("/cp/register", '{"cp_id":"CP-9","location":"x"}', {
          "x-admin-key": "nope-nope-nope-nope",
        }),
        [401, "invalid_admin_key"],
      );
      assert.equal((await client.health()).status, "ok");
    } finally {
      http.close();
    }
  });
});

Deno.test("HTTPS: a stopped Registry is reported as unavailable, and tokens survive a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "registry_restart_" });
  const certs = await createDevCertificates();
  const options = {
    port: 0,
    hostname: "127.0.0.1",
    tls: certs.server,
    dbPath: join(dir, "registry.db"),
    adminKey: "a-test-admin-key-0123456789",
  };
  try {
    const first = await startRegistryServer(options);
    const port = first.addr.port;
    const url = `https://127.0.0.1:${port}`;
    const client = await createRegistryClient({
      url,
      caCert: certs.ca.cert,
      adminKey: options.adminKey,
    });
    let token: string;
    try {
      const { credentials } = await client.register({ cp_id: "CP-R1", location: "x" });
      token = (await client.authenticate("CP-R1", credentials, ECDH)).token;
    } finally {
      client.close();
      await first.close();
    }
    const down = await createRegistryClient({ url, caCert: certs.ca.cert });
    try {
      await assert.rejects(down.health(), RegistryUnavailableError);
      await assert.rejects(down.verifyToken(token), RegistryUnavailableError);
    } finally {
      down.close();
    }
    const second = await startRegistryServer({ ...options, port });
    const again = await createRegistryClient({ url, caCert: certs.ca.cert });
    try {
      assert.equal(second.signingKey.kid, first.signingKey.kid);
      assert.equal((await again.verifyToken(token)).cpId, "CP-R1");
      assert.equal((await again.getCp("CP-R1")).status, "REGISTERED");
    } finally {
      again.close();
      await second.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("client refuses a non-https Registry URL", async () => {
  await assert.rejects(
    createRegistryClient({ url: "http://localhost:8443", caCert: "x" }),
    TypeError,
  );
});
