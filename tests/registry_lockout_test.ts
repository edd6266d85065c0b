/**
 * No lockouts, no floods at the Registry, over real HTTPS with a development CA and a real
 * SQLite file. The clients bind distinct loopback source addresses (127.0.0.1, 127.0.0.2, …:
 * all of 127/8 is loopback on Linux), so the Registry sees them as different machines.
 *
 * - A real `registry/main.ts` process with its default limits: 20 bad tries from one address
 *   never lock the CP out for another; a parallel burst gets no more failures in than the limit;
 *   the admin key from the guessing address still works.
 * - An in-process server whose hashing queue the test holds full: 503 with `Retry-After`.
 */
import assert from "node:assert/strict";
import { exportEcdhPublicKey, generateEcdhKeyPair } from "../shared/cp_key.ts";
import { ecdhJwk } from "../shared/login_proof.ts";
import { join } from "node:path";
import { TEST_REGISTRY_ADMIN_KEY, waitFor, withTestRegistry } from "../central/test_support.ts";
import { createDevCertificates } from "../infra/dev_ca.ts";
import { createHashQueue } from "../registry/credentials.ts";
import { freePort } from "../shared/ports.ts";

const ADMIN_KEY = "lockout-test-registry-admin-key-0123456789";
/** The public ECDH key a monitor would send; its tokens are bound to it. */
const ECDH = ecdhJwk(await exportEcdhPublicKey((await generateEcdhKeyPair()).publicKey));

/** A client trusting `ca` whose connections leave from `from`. */
function clientFrom(ca: string, from: string): Deno.HttpClient {
  return Deno.createHttpClient({ caCerts: [ca], localAddress: from });
}

interface Answer {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: Record<string, unknown>;
}

async function call(
  client: Deno.HttpClient,
  url: string,
  init: { method?: string; body?: unknown; admin?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (init.admin !== undefined) headers["x-admin-key"] = init.admin;
  const res = await fetch(url, {
    method: init.method ?? "POST",
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    client,
  });
  return {
    status: res.status,
    retryAfter: res.headers.get("retry-after"),
    body: await res.json(),
  };
}

Deno.test("Registry lockout: 20 bad tries from one address never lock the CP out for another", async () => {
  const dir = await Deno.makeTempDir({ prefix: "registry_lockout_" });
  const certs = await createDevCertificates();
  await Deno.writeTextFile(join(dir, "server.pem"), certs.server.cert);
  await Deno.writeTextFile(join(dir, "server.key"), certs.server.key, { mode: 0o600 });
  const port = freePort();
  const registry = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(import.meta.dirname!, "..", "registry", "main.ts"),
      ...["--port", String(port), "--host", "127.0.0.1", "--db", join(dir, "registry.db")],
      ...["--cert", join(dir, "server.pem"), "--key", join(dir, "server.key")],
    ],
    env: { REGISTRY_ADMIN_KEY: ADMIN_KEY },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const cp = clientFrom(certs.ca.cert, "127.0.0.1");
  const stranger = clientFrom(certs.ca.cert, "127.0.0.2");
  const burster = clientFrom(certs.ca.cert, "127.0.0.3");
  const base = `https://127.0.0.1:${port}`;
  try {
    await waitFor("the Registry to answer", async () => {
      try {
        return (await fetch(`${base}/`, { client: cp }).then((r) => r.json())).status === "ok";
      } catch {
        return false;
      }
    }, 30_000);
    const registered = await call(cp, `${base}/cp/register`, {
      body: { cp_id: "CP-LOCK-1", location: "Lab" },
      admin: ADMIN_KEY,
    });
    assert.equal(registered.status, 201);
    const credentials = registered.body.credentials as string;
    const auth = (client: Deno.HttpClient, secret: string) =>
      call(client, `${base}/cp/authenticate`, {
        body: { cp_id: "CP-LOCK-1", credentials: secret, ecdh_public_key: ECDH },
      });

    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const answer = await auth(stranger, `${credentials.slice(0, -2)}x${i}`);
      statuses.push(answer.status);
      if (answer.status === 429) assert.ok(Number(answer.retryAfter) >= 1, "429 has Retry-After");
    }
    assert.deepEqual(statuses, [...Array(10).fill(401), ...Array(10).fill(429)]);

    // The stranger's address is throttled even with the right credential…
    assert.equal((await auth(stranger, credentials)).status, 429);
    // …the CP from its own address is not.
    const token = await auth(cp, credentials);
    assert.equal(token.status, 200);
    assert.equal(typeof token.body.token, "string");
    // Management with the admin key from the stranger's address is not throttled either.
    const managed = await call(stranger, `${base}/cp/register`, {
      body: { cp_id: "CP-LOCK-2", location: "Lab" },
      admin: ADMIN_KEY,
    });
    assert.equal(managed.status, 201);

    // A burst in parallel from a third address: attempts being hashed count, so no more than
    // the limit (10) are let through to a 401, however the hashes and requests interleave.
    const burst = await Promise.all(
      Array.from({ length: 30 }, (_, i) => auth(burster, `${credentials.slice(0, -2)}y${i}`)),
    );
    const failed = burst.filter((a) => a.status === 401).length;
    const throttled = burst.filter((a) => a.status === 429).length;
    assert.equal(failed + throttled, 30, JSON.stringify(burst.map((a) => a.status)));
    assert.ok(failed <= 10, `${failed} wrong credentials were checked, the limit is 10`);
    assert.equal((await auth(cp, credentials)).status, 200, "and the CP still gets in");
  } finally {
    cp.close();
    stranger.close();
    burster.close();
    registry.kill("SIGTERM");
    await registry.status;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Registry overload: a full hashing queue answers 503 with Retry-After over HTTPS", async () => {
  const queue = createHashQueue(2);
  await withTestRegistry("registry_overload_", async (_dir, registry) => {
    const clients = ["127.0.0.1", "127.0.0.2", "127.0.0.3"].map((a) =>
      clientFrom(registry.caCert, a)
    );
    const base = registry.server.url;
    const auth = (client: Deno.HttpClient, cpId: string) =>
      call(client, `${base}/cp/authenticate`, {
        body: { cp_id: cpId, credentials: "wrong", ecdh_public_key: ECDH },
      });
    try {
      assert.equal((await auth(clients[0], "CP-WARM")).status, 401); // unknown ids' hash made
      const gate = Promise.withResolvers<void>();
      const hashing = queue.run(() => gate.promise); // one long hash runs
      const queued = [auth(clients[0], "CP-Q-1"), auth(clients[1], "CP-Q-2")];
      await waitFor("two checks to queue", () => queue.waiting === 2);
      const refused = await auth(clients[2], "CP-Q-3");
      assert.equal(refused.status, 503);
      assert.equal(refused.retryAfter, "2");
      assert.deepEqual(Object.keys(refused.body).sort(), ["detail", "error", "timestamp"]);
      assert.equal(refused.body.error, "busy");
      const register = await call(clients[2], `${base}/cp/register`, {
        body: { cp_id: "CP-Q-4", location: "Lab" },
        admin: TEST_REGISTRY_ADMIN_KEY,
      });
      assert.equal(register.status, 503);
      assert.equal(register.retryAfter, "2");
      gate.resolve();
      await hashing;
      assert.deepEqual((await Promise.all(queued)).map((a) => a.status), [401, 401]);
      assert.equal((await auth(clients[2], "CP-Q-3")).status, 401, "served once there is room");
    } finally {
      for (const client of clients) client.close();
    }
  }, { hashQueue: queue });
});
