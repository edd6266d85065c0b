/**
 * `POST /cp/authenticate`: tokens bound to the monitor's ECDH key, one answer for an unknown id
 * and a wrong credential, the limits per CP, address, hashing queue and authentications at once,
 * and the cache of checked credentials.
 *
 * @module
 */
import assert from "node:assert/strict";
import { createLocalJWKSet, decodeJwt } from "jose";
import { ecdhThumbprint } from "../shared/login_proof.ts";
import { ConcurrencyLimiter } from "../shared/limiter.ts";
import { parsePromText, sampleValue } from "../shared/prom_text.ts";
import { createHashQueue } from "./credentials.ts";
import { VerifiedCredentials } from "./verified_cache.ts";
import { verifyCpToken } from "./tokens.ts";
import { ADMIN, ECDH, expectError, T0, withHarness } from "./test_support.ts";

Deno.test("POST /cp/authenticate returns a token that verifies against the JWKS", async () => {
  await withHarness(async (h) => {
    const credentials = await h.register("CP-001", { location: "Calle Mayor 1" });
    const res = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-001", credentials, ecdh_public_key: ECDH },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "no-store");
    const body = await res.json();
    assert.deepEqual(Object.keys(body).sort(), ["expires_at", "token"]);
    assert.equal(body.expires_at, new Date(T0 + 10 * 60_000).toISOString());
    const jwks = await (await h.call("GET", "/.well-known/jwks.json")).json();
    const verified = await verifyCpToken(body.token, createLocalJWKSet(jwks), { now: h.now() });
    assert.equal(verified.cpId, "CP-001");
    assert.equal(verified.location, "Calle Mayor 1");
    assert.equal(verified.jkt, await ecdhThumbprint(ECDH), "bound to the monitor's ECDH key");
    const claims = decodeJwt(body.token);
    assert.equal(claims.iss, "evcharging-registry");
    assert.equal(claims.aud, "evcharging-central");
    assert.equal((claims.exp as number) - (claims.iat as number), 600);
    assert.equal(claims.nbf, claims.iat);
    assert.equal(typeof claims.jti, "string");
  });
});

Deno.test("authenticate: unknown id and wrong credentials get the same 401", async () => {
  await withHarness(async (h) => {
    const credentials = await h.register("CP-001");
    const wrong = await expectError(
      await h.call("POST", "/cp/authenticate", {
        // Another last character: one in 16 credentials already ends in "A".
        body: {
          cp_id: "CP-001",
          credentials: credentials.slice(0, -1) + (credentials.endsWith("A") ? "B" : "A"),
          ecdh_public_key: ECDH,
        },
      }),
      401,
      "invalid_credentials",
    );
    const unknown = await expectError(
      await h.call("POST", "/cp/authenticate", {
        body: { cp_id: "CP-404", credentials, ecdh_public_key: ECDH },
      }),
      401,
      "invalid_credentials",
    );
    assert.equal(wrong.detail, unknown.detail);
    await expectError(
      await h.call("POST", "/cp/authenticate", {
        body: { cp_id: "CP-001", credentials: "x", ecdh_public_key: ECDH },
      }),
      401,
      "invalid_credentials",
    );
  });
});

Deno.test("authenticate: a deregistered CP gets 403 only with the right credentials", async () => {
  await withHarness(async (h) => {
    const credentials = await h.register("CP-001");
    await (await h.call("DELETE", "/cp/CP-001", { admin: ADMIN })).body?.cancel();
    await expectError(
      await h.call("POST", "/cp/authenticate", {
        body: { cp_id: "CP-001", credentials, ecdh_public_key: ECDH },
      }),
      403,
      "cp_deregistered",
    );
    await expectError(
      await h.call("POST", "/cp/authenticate", {
        body: { cp_id: "CP-001", credentials: "wrong", ecdh_public_key: ECDH },
      }),
      401,
      "invalid_credentials",
    );
  });
});

Deno.test("authenticate: failures are limited per CP id and address (429 + Retry-After), then the window slides", async () => {
  await withHarness(async (h) => {
    const credentials = await h.register("CP-001");
    for (let i = 0; i < 3; i++) {
      await expectError(
        await h.call("POST", "/cp/authenticate", {
          body: { cp_id: "CP-001", credentials: `bad-${i}`, ecdh_public_key: ECDH },
          ip: "10.0.1.1",
        }),
        401,
      );
      h.advance(1000);
    }
    // The guessing address waits now, even with the right credentials…
    const blocked = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-001", credentials, ecdh_public_key: ECDH },
      ip: "10.0.1.1",
    });
    const body = await expectError(blocked, 429, "too_many_attempts");
    assert.equal(blocked.headers.get("retry-after"), "57");
    assert.match(body.detail, /57 s/);
    // …but no lockout: the CP from its own address goes on (CP ids are public).
    const fromElsewhere = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-001", credentials, ecdh_public_key: ECDH },
      ip: "10.0.2.1",
    });
    assert.equal(fromElsewhere.status, 200);
    await fromElsewhere.body?.cancel();
    // Other CPs are not affected.
    const other = await h.register("CP-002");
    const ok = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-002", credentials: other, ecdh_public_key: ECDH },
    });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    h.advance(57_001);
    const later = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-001", credentials, ecdh_public_key: ECDH },
      ip: "10.0.1.1",
    });
    assert.equal(later.status, 200);
    await later.body?.cancel();
  }, { perCpLimit: 3 });
});

Deno.test("authenticate: failures are limited per client IP across ids", async () => {
  await withHarness(async (h) => {
    const credentials = await h.register("CP-001");
    for (let i = 0; i < 4; i++) {
      await expectError(
        await h.call("POST", "/cp/authenticate", {
          body: { cp_id: `CP-10${i}`, credentials: "guess", ecdh_public_key: ECDH },
          ip: "192.0.2.7",
        }),
        401,
      );
    }
    const blocked = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-001", credentials, ecdh_public_key: ECDH },
      ip: "192.0.2.7",
    });
    await expectError(blocked, 429, "too_many_attempts");
    const elsewhere = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-001", credentials, ecdh_public_key: ECDH },
      ip: "192.0.2.8",
    });
    assert.equal(elsewhere.status, 200);
    await elsewhere.body?.cancel();
  }, { perIpLimit: 4 });
});

Deno.test("authenticate: attempts still being hashed count, so a parallel burst gets 429s", async () => {
  const queue = createHashQueue(32);
  await withHarness(async (h) => {
    await h.register("CP-001");
    const gate = Promise.withResolvers<void>();
    const busy = queue.run(() => gate.promise); // the hasher is busy: every check waits
    const burst = Array.from({ length: 10 }, (_, i) =>
      h.call("POST", "/cp/authenticate", {
        body: { cp_id: "CP-001", credentials: `guess-${i}`, ecdh_public_key: ECDH },
        ip: "10.0.1.1",
      }));
    while (queue.waiting < 3) await new Promise((r) => setTimeout(r, 1));
    gate.resolve();
    await busy;
    const statuses = await Promise.all(burst.map(async (res) => {
      const r = await res;
      await r.body?.cancel();
      return r.status;
    }));
    assert.deepEqual(statuses.toSorted(), [401, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
    const after = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-001", credentials: "guess", ecdh_public_key: ECDH },
      ip: "10.0.1.1",
    });
    await expectError(after, 429, "too_many_attempts");
  }, { perCpLimit: 3, hashQueue: queue });
});

Deno.test("a full hashing queue answers 503 with Retry-After, and counts no failure", async () => {
  const queue = createHashQueue(1);
  await withHarness(async (h) => {
    const credentials = await h.register("CP-001");
    await (await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-404", credentials: "warm", ecdh_public_key: ECDH }, // the unknown ids' hash is made
      ip: "10.0.9.9",
    })).body?.cancel();
    const gate = Promise.withResolvers<void>();
    const hashing = queue.run(() => gate.promise);
    const waiting = h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-001", credentials: "wrong", ecdh_public_key: ECDH },
      ip: "10.0.1.1",
    });
    while (queue.waiting < 1) await new Promise((r) => setTimeout(r, 1));
    for (let i = 0; i < 3; i++) {
      const full = await h.call("POST", "/cp/authenticate", {
        body: { cp_id: "CP-001", credentials: `wrong-${i}`, ecdh_public_key: ECDH },
        ip: "10.0.1.2",
      });
      const body = await expectError(full, 503, "busy");
      assert.equal(full.headers.get("retry-after"), "2");
      assert.match(body.detail, /retry in 2 s/);
    }
    const register = await h.call("POST", "/cp/register", {
      body: { cp_id: "CP-002", location: "x" },
      admin: ADMIN,
    });
    await expectError(register, 503, "busy");
    assert.equal(register.headers.get("retry-after"), "2");
    gate.resolve();
    await hashing;
    await expectError(await waiting, 401, "invalid_credentials");
    // The three refused attempts were no failures: the limit of 2 is not reached.
    const right = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-001", credentials, ecdh_public_key: ECDH },
      ip: "10.0.1.2",
    });
    assert.equal(right.status, 200);
    await right.body?.cancel();
  }, { perCpLimit: 2, hashQueue: queue });
});

Deno.test("authenticate: past the authentications served and waiting (both on /metrics), 503 with Retry-After, and the CP gets in once there is room", async () => {
  const authenticating = new ConcurrencyLimiter(1, 1);
  await withHarness(async (h) => {
    const credentials = await h.register("CP-001");
    const login = () =>
      h.call("POST", "/cp/authenticate", {
        body: { cp_id: "CP-001", credentials, ecdh_public_key: ECDH },
      });
    const gate = Promise.withResolvers<void>();
    const serving = authenticating.run(() => gate.promise); // one served, still busy
    const waiting = login(); // waits for its turn
    while (authenticating.waiting < 1) await new Promise((r) => setTimeout(r, 1));
    const metrics = await h.call("GET", "/metrics");
    const m = parsePromText(await metrics.text());
    assert.equal(sampleValue(m, "registry_authentications_running"), 1);
    assert.equal(sampleValue(m, "registry_authentications_waiting"), 1);
    const refused = await login();
    const body = await expectError(refused, 503, "busy");
    assert.equal(refused.headers.get("retry-after"), "2");
    assert.match(body.detail, /retry in 2 s/);
    gate.resolve();
    await serving;
    const served = await waiting;
    assert.equal(served.status, 200, "the one that waited is served");
    await served.body?.cancel();
    const again = await login();
    assert.equal(again.status, 200, "a refusal locks nobody out");
    await again.body?.cancel();
  }, { authenticating });
});

Deno.test("authenticate: a checked credential is remembered, a wrong one still fails", async () => {
  const verified = new VerifiedCredentials();
  await withHarness(async (h) => {
    const credentials = await h.register("CP-001");
    const stored = () => h.store.getAuth("CP-001")!.credentialHash;
    assert.ok(verified.matches("CP-001", stored(), credentials, h.now().getTime()), "registered");
    const wrong = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-001", credentials: `${credentials.slice(1)}x`, ecdh_public_key: ECDH },
    });
    await expectError(wrong, 401, "invalid_credentials");
    for (let i = 0; i < 2; i++) {
      const right = await h.call("POST", "/cp/authenticate", {
        body: { cp_id: "CP-001", credentials, ecdh_public_key: ECDH },
      });
      assert.equal(right.status, 200);
      await right.body?.cancel();
    }
    assert.equal((await h.call("DELETE", "/cp/CP-001", { admin: ADMIN })).status, 200);
    assert.equal(verified.size, 0, "deregistering forgets the CP");
    const refused = await h.call("POST", "/cp/authenticate", {
      body: { cp_id: "CP-001", credentials, ecdh_public_key: ECDH },
    });
    await expectError(refused, 403, "cp_deregistered");
    assert.equal(verified.size, 0, "a deregistered CP is not remembered");
  }, { verified });
});

Deno.test("authenticate: an unknown id costs one scrypt like a wrong credential, and the same answer", async () => {
  /** The hashing queue, counting the hashes it runs. */
  class CountingQueue extends ConcurrencyLimiter {
    hashes = 0;
    override run<T>(task: () => Promise<T>): Promise<T> {
      this.hashes++;
      return super.run(task);
    }
  }
  const queue = new CountingQueue(1);
  await withHarness(async (h) => {
    await h.register("CP-001");
    const attempt = async (cpId: string) => {
      const before = queue.hashes;
      const res = await h.call("POST", "/cp/authenticate", {
        body: { cp_id: cpId, credentials: "wrong", ecdh_public_key: ECDH },
      });
      await expectError(res, 401, "invalid_credentials");
      return queue.hashes - before;
    };
    await attempt("CP-404"); // the dummy hash is made once, at start or on first use
    assert.equal(await attempt("CP-001"), 1, "a wrong credential of a known id: one scrypt");
    assert.equal(await attempt("CP-404"), 1, "an unknown id: one scrypt too, against the dummy");
  }, { perCpLimit: 100, perIpLimit: 100, hashQueue: queue });
});
