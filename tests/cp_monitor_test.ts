/**
 * The CP monitor against a real Registry over HTTPS (fresh development CA), a stand-in Central
 * speaking the framed login protocol with real key agreement, and a stand-in engine. The real
 * Central's own tests and the end-to-end tests come with Central; these pin the monitor's side.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ENGINE_FIRST_ANSWER_MS, type MonitorOptions, startMonitor } from "../cp/monitor.ts";
import { waitFor } from "../cp/test_support.ts";
import { createHashQueue } from "../registry/credentials.ts";
import {
  createRegistryClient,
  type RegistryClient,
  RegistryUnavailableError,
} from "../registry/client.ts";
import { ConcurrencyLimiter } from "../shared/limiter.ts";
import { withLogRecords } from "../shared/log.ts";
import { notice } from "../shared/notices.ts";
import { freePort } from "../shared/ports.ts";
import { FakeEngine, withMonitor, withSetup } from "./cp_monitor_test_support.ts";

Deno.test("monitor: registers once, logs in, hands Central's key to the engine, reports health", async () => {
  await withSetup(async ({ options, central, engine, client, dir }) => {
    await withMonitor(options, async (monitor) => {
      await waitFor(() => monitor.view().central.state === "logged_in", "login");
      const credentials = join(dir, "data", "cp", "CP-MON-1.credentials");
      assert.equal((await Deno.stat(credentials)).mode! & 0o777, 0o600);
      assert.equal((await client.getCp("CP-MON-1")).location, "Test bench");

      const auth = central.of("AUTH")[0];
      assert.equal(auth.cpId, "CP-MON-1");
      assert.equal((await client.verifyToken(auth.token)).cpId, "CP-MON-1", "a Registry token");

      await waitFor(() => engine.keys().length === 1, "KEY at the engine");
      const key = engine.keys()[0];
      assert.deepEqual([key.cpId, key.keyVersion], ["CP-MON-1", 1]);
      assert.equal(key.key, central.keys.get(1), "both sides derived the same key");
      assert.equal(monitor.view().keyVersion, 1);
      assert.deepEqual(monitor.view().cp, {
        id: "CP-MON-1",
        location: "Test bench",
        priceEurKwh: 0.3,
        powerKw: 11,
      });

      await waitFor(() => central.of("HEARTBEAT").length >= 2, "heartbeats");
      const seqs = central.of("HEARTBEAT").map((h) => h.seq);
      assert.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]), `increasing: ${seqs}`);
      await waitFor(() => central.of("HEALTH").at(-1)?.engine === "OK", "HEALTH OK");
      const healths = central.of("HEALTH").length;
      const beats = central.of("HEARTBEAT").length;
      await waitFor(() => central.of("HEARTBEAT").length >= beats + 2, "two more heartbeats");
      assert.equal(central.of("HEALTH").length, healths, "an unchanged HEALTH is not repeated");

      engine.health = "KO"; // the engine's fault toggle
      await waitFor(() => central.of("HEALTH").at(-1)?.engine === "KO", "HEALTH KO", 2500);
      engine.health = "OK";
      await waitFor(() => central.of("HEALTH").at(-1)?.engine === "OK", "HEALTH OK again", 2500);

      const killedAt = Date.now();
      engine.kill();
      await waitFor(() => central.of("HEALTH").at(-1)?.engine === "KO", "KO after a kill", 2000);
      assert.ok(Date.now() - killedAt < 2000);
      assert.equal(monitor.view().engine.connected, false);
    });

    // A second start reuses the credentials: without the admin key it could not register.
    await withMonitor({ ...options, registryAdminKey: undefined }, async (monitor) => {
      await waitFor(() => monitor.view().central.state === "logged_in", "second login");
      assert.equal(monitor.view().keyVersion, 2);
    });
  });
});

Deno.test("monitor: while Central's answer is late, its heartbeats are owed, not queued: the seconds missed go as one", async () => {
  await withSetup(async ({ options, central, engine }) => {
    await withMonitor(options, async (monitor) => {
      await waitFor(() => monitor.view().central.state === "logged_in", "login");
      const release = await central.holdAtNextHeartbeat();
      const held = central.of("HEARTBEAT").at(-1)!.seq;
      // The engine link runs on its own timer of the same second: four checks span three seconds,
      // two heartbeat ticks at least beyond the held one, short of the monitor's 5 s ACK timeout.
      const checks = () => engine.frames.filter((f) => f.type === "HEALTH_CHECK").length;
      const checksAtHold = checks();
      await waitFor(() => checks() >= checksAtHold + 4, "four engine checks while held");
      release();

      await waitFor(() => central.of("HEARTBEAT").at(-1)!.seq > held, "the owed heartbeat");
      const after = central.of("HEARTBEAT").map((h) => h.seq).filter((seq) => seq > held);
      assert.ok(after[0] >= held + 2, `ticks skipped, not queued: ${held} then ${after}`);
      assert.equal(central.logins, 1, "the link stayed up");
    });
  });
});

Deno.test("monitor: reconnects with backoff and a new key after Central drops; a restarted engine gets the key", async () => {
  await withSetup(async ({ options, central, engine }) => {
    await withMonitor(options, async (monitor) => {
      await waitFor(() => engine.keys().length === 1, "first key");
      central.conns.at(-1)!.close(); // Central crashed or the network broke
      await waitFor(() => monitor.view().central.state === "waiting", "backoff");
      assert.match(monitor.view().central.detail ?? "", /Central/);
      await waitFor(() => monitor.view().keyVersion === 2, "second login");
      await waitFor(() => engine.keys().length === 2, "second key");
      assert.equal(engine.keys()[1].key, central.keys.get(2));
      assert.equal(central.of("AUTH").length, 2);
      assert.notEqual(central.of("AUTH")[0].ecdhPublicKey, central.of("AUTH")[1].ecdhPublicKey);

      // The engine restarts on the same port: the monitor hands it the current key again.
      const before = engine.keys().length;
      engine.kill();
      await waitFor(() => !monitor.view().engine.connected, "engine gone");
      const restarted = new FakeEngine(engine.port);
      try {
        await waitFor(() => restarted.keys().length === 1, "key after the engine restart");
        assert.equal(restarted.keys()[0].keyVersion, 2);
        assert.equal(engine.keys().length, before);
      } finally {
        restarted.kill();
      }
    });
  });
});

Deno.test("monitor: with shared login turns it logs in only in its turn, gives the turn back once logged in, and a stop ends its wait", async () => {
  await withSetup(async ({ options, central }) => {
    const turns = new ConcurrencyLimiter(1);
    const held = await turns.acquire(); // another CP of the same process is logging in
    const monitor = await startMonitor({ ...options, loginTurns: turns });
    try {
      await waitFor(() => turns.waiting === 1, "the monitor waiting for its turn");
      assert.equal(central.of("AUTH").length, 0, "no login before its turn");
      held();
      await waitFor(() => monitor.view().central.state === "logged_in", "login in its turn");
      assert.equal(turns.running, 0, "the turn is given back at login, not at the session's end");

      const again = await turns.acquire();
      central.conns.at(-1)!.close(); // dropped: the next try waits for a turn again
      await waitFor(() => turns.waiting === 1, "the next try waiting for its turn");
      assert.equal(central.of("AUTH").length, 1);
      await monitor.stop();
      assert.equal(turns.waiting, 0, "a stopped monitor's wait leaves the queue");
      again();
      assert.equal(turns.running, 0);
    } finally {
      await monitor.stop();
    }
  });
});

Deno.test("monitor: an expired token is replaced on the next try; retryable:false stops for good", async () => {
  await withSetup(async ({ options, central, engine }) => {
    central.policy = (_auth, n) =>
      n === 1
        ? { reason: "expired_token", retryable: true }
        : n === 2
        ? "ok"
        : { reason: "revoked", detail: "by an operator", retryable: false };
    await withMonitor(options, async (monitor) => {
      await waitFor(() => monitor.view().keyVersion === 2, "login after a new token");
      const [first, second] = central.of("AUTH");
      assert.notEqual(first.token, second.token, "a fresh token for the retry");

      await central.logout({ reason: "shutdown", retryable: true });
      const outcome = await monitor.done;
      assert.equal(outcome.kind, "gave_up");
      assert.match(outcome.kind === "gave_up" ? outcome.message : "", /revoked: by an operator/);
      assert.equal(monitor.view().central.state, "gave_up");
      assert.equal(central.of("AUTH").length, 3, "no retry after retryable:false");
      assert.ok(engine.frames.length > 0);
      // Giving up stops the whole monitor: once its engine link is closed too, nothing of it
      // is left to try again.
      await waitFor(() => engine.linksOpen === 0, "the engine link to close");
      assert.equal(central.of("AUTH").length, 3, "still none after the monitor stopped");
    });
  });
});

Deno.test("monitor: LOGOUT key_revoked drops the key at the engine, counts down --revoked-wait and logs in again", async () => {
  await withSetup(async ({ options, central, engine }) => {
    await withMonitor({ ...options, revokedWaitMs: 1500 }, async (monitor) => {
      await waitFor(() => engine.keys().length === 1, "first key");
      const events: string[] = [];
      monitor.onChange(() => {
        const last = monitor.view().lastEvent;
        if (last !== undefined && events.at(-1) !== last) events.push(last);
      });
      await central.logout({ reason: "key_revoked", retryable: true });
      await waitFor(() => engine.frames.some((f) => f.type === "KEY_REVOKED"), "KEY_REVOKED");
      await waitFor(() => monitor.view().central.state === "waiting", "the wait");
      const { central: link } = monitor.view();
      assert.match(link.detail ?? "", /key revoked by Central .*re-authenticating in 2 s/);
      const revoked = engine.frames.find((f) => f.type === "KEY_REVOKED");
      assert.deepEqual(revoked?.type === "KEY_REVOKED" && revoked.keyVersion, 1);
      await waitFor(() => engine.keys().length === 2, "a new key");
      assert.equal(monitor.view().keyVersion, 2);
      const [first, second] = central.of("AUTH");
      assert.notEqual(first.token, second.token, "re-authenticated at the Registry");
      assert.ok(events.includes("re-authenticating in 1 s"), events.join(" | "));
    });
  });
});

Deno.test("monitor: in Spanish, Central's logout and refusal read in Spanish on its view and outcome; the log stays English", async () => {
  await withSetup(async ({ options, central, engine }) => {
    central.policy = (_auth, n) =>
      n === 1
        ? "ok"
        : { reason: "revoked", retryable: false, ...notice("login_revoked", { id: "CP-MON-1" }) };
    await withLogRecords("info", async (records) => {
      await withMonitor({ ...options, lang: "es" }, async (monitor) => {
        await waitFor(() => engine.keys().length === 1, "first key");
        assert.equal(
          monitor.view().lastEvent,
          "sesión iniciada en la Central con la versión de clave 1",
        );
        assert.equal(monitor.setMaintenance(true), true);
        assert.equal(monitor.view().lastEvent, "activar el mantenimiento: pedido a la Central");
        await central.logout({
          reason: "key_rotated",
          retryable: true,
          ...notice("logout_key_rotated"),
        });
        const outcome = await monitor.done;
        assert.equal(
          outcome.kind === "gave_up" ? outcome.message.split(". ")[0] : outcome.kind,
          "La Central rechazó el inicio de sesión para siempre (revoked: CP-MON-1 está revocado en " +
            "la Central); no se reintenta",
        );
        assert.equal(
          monitor.view().central.detail,
          outcome.kind === "gave_up" ? outcome.message : "",
        );
        const lines = records.map((r) => [r.message.join(""), r.properties.shown]);
        const rotated = lines.find(([english]) => String(english).startsWith("logged out"));
        assert.deepEqual(rotated, [
          "logged out (key_rotated: an admin rotated this CP's key: log in again for a new one); " +
          "next try in 0 s",
          "sesión cerrada (key_rotated: un administrador rotó la clave de este punto: inicie sesión " +
          "de nuevo para obtener otra); próximo intento en 0 s",
        ]);
        const final = lines.at(-1)!;
        assert.match(
          String(final[0]),
          /^Central refused the login for good \(revoked: CP-MON-1 is revoked at Central\)/,
        );
        assert.equal(final[1], outcome.kind === "gave_up" ? outcome.message : "");
      });
    });
  });
});

Deno.test("monitor: Registry down at first start retries; without an admin key it says how to fix it", async () => {
  await withSetup(async ({ options }) => {
    const down = { ...options, registryUrl: "https://localhost:1" }; // nothing listens there
    await withMonitor(down, async (monitor) => {
      await waitFor(() => monitor.view().central.state === "waiting", "a wait");
      assert.match(monitor.view().central.detail ?? "", /Registry unavailable/);
    });
    await withMonitor({ ...down, registryAdminKey: undefined }, async (monitor) => {
      const outcome = await monitor.done;
      assert.equal(outcome.kind, "gave_up");
      assert.match(outcome.kind === "gave_up" ? outcome.message : "", /REGISTRY_ADMIN_KEY/);
    });
  });
});

Deno.test("monitor: a Registry whose hashing queue is full (503 Retry-After) is asked again no sooner than it said, with jitter", async () => {
  const queue = createHashQueue(1);
  const gate = Promise.withResolvers<void>();
  const hashing = queue.run(() => gate.promise); // one long hash runs…
  const waiting = queue.run(() => Promise.resolve()); // …and one waits: the queue is full
  await withSetup(async ({ options }) => {
    const waits: { retryAt: number; seenAt: number; detail: string }[] = [];
    const monitor = await startMonitor({ ...options, random: () => 0.5 });
    const unsubscribe = monitor.onChange(() => {
      const c = monitor.view().central;
      if (c.state === "waiting" && waits.length === 0) {
        waits.push({ retryAt: c.retryAt!, seenAt: Date.now(), detail: c.detail ?? "" });
      }
    });
    try {
      await waitFor(() => waits.length === 1, "the monitor to wait after the 503");
      const [wait] = waits;
      assert.match(wait.detail, /Registry unavailable \(503 .*too many credentials/);
      // Retry-After: 2, jittered by 0.5 to 3 s; the backoff alone would have been 375 ms.
      assert.ok(wait.retryAt - wait.seenAt > 2500, `waits ${wait.retryAt - wait.seenAt} ms`);
      gate.resolve();
      await waitFor(() => monitor.view().central.state === "logged_in", "login once served");
    } finally {
      unsubscribe();
      await monitor.stop();
    }
  }, { hashQueue: queue });
  await Promise.all([hashing, waiting]);
});

/**
 * The Registry client of `options`, except that its first `register` goes through and then
 * throws as if the answer had been lost on the way back (the Registry stored the CP, the
 * monitor never saw its credentials).
 */
async function losingFirstRegisterAnswer(options: MonitorOptions): Promise<RegistryClient> {
  const real = await createRegistryClient({
    url: options.registryUrl!,
    caFile: options.caFile,
    adminKey: options.registryAdminKey,
  });
  let lost = false;
  return new Proxy(real, {
    get(target, name) {
      if (name === "register" && !lost) {
        return async (request: Parameters<RegistryClient["register"]>[0]) => {
          await target.register(request);
          lost = true;
          throw new RegistryUnavailableError("the connection closed before the answer");
        };
      }
      const value = Reflect.get(target, name, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * The Registry client of `options`, noting `attempts()` at the moment the monitor got its token
 * (`authenticate` answered).
 */
async function noticingToken(
  options: MonitorOptions,
  attempts: () => number,
): Promise<{ readonly client: RegistryClient; readonly attemptsAtToken: number | undefined }> {
  const real = await createRegistryClient({
    url: options.registryUrl!,
    caFile: options.caFile,
    adminKey: options.registryAdminKey,
  });
  const noticed: { client: RegistryClient; attemptsAtToken: number | undefined } = {
    client: real,
    attemptsAtToken: undefined,
  };
  noticed.client = new Proxy(real, {
    get(target, name) {
      const value = Reflect.get(target, name, target);
      if (name !== "authenticate") return typeof value === "function" ? value.bind(target) : value;
      return async (...args: Parameters<RegistryClient["authenticate"]>) => {
        const answer = await target.authenticate(...args);
        noticed.attemptsAtToken = attempts();
        return answer;
      };
    },
  });
  return noticed;
}

Deno.test("monitor: a registration whose answer was lost is started over, not given up", async () => {
  await withSetup(async ({ options, client }) => {
    const registry = await losingFirstRegisterAnswer(options);
    try {
      await withMonitor({ ...options, registry }, async (monitor) => {
        await waitFor(() => monitor.view().central.state === "logged_in", "login", 20_000);
        assert.equal((await client.getCp("CP-MON-1")).status, "REGISTERED");
      });
    } finally {
      registry.close();
    }
  });
});

Deno.test("monitor: stopping closes the engine link without reporting the engine KO", async () => {
  await withSetup(async ({ options }) => {
    await withLogRecords("debug", async (records) => {
      const monitor = await startMonitor(options);
      await waitFor(() => monitor.view().engine.health === "OK", "engine OK");
      await monitor.stop();
      const ko = records.filter((r) => r.message.join("").includes("engine KO"));
      assert.deepEqual(ko, [], "an engine that answered until the stop was never KO");
    });
  });
});

/** Runs `test` with every log record at warning or above gathered. */
const withWarnings = (test: (warnings: () => string[]) => Promise<void>) =>
  withLogRecords("warning", (records) => test(() => records.map((r) => r.message.join(""))));

Deno.test("monitor: at start it logs in once its engine first answers, so Central never hears a KO of an engine still starting", async () => {
  await withSetup(async ({ options, central }) => {
    // The engine process is still starting: its port takes each connection and drops it.
    const port = freePort();
    const starting = Deno.listen({ hostname: "127.0.0.1", port });
    let attempts = 0;
    const accepting = (async () => {
      for await (const conn of starting) {
        attempts++;
        conn.close();
      }
    })();
    const registry = await noticingToken(options, () => attempts);
    await withWarnings(async (warnings) => {
      const starts = {
        ...options,
        registry: registry.client,
        engine: { host: "127.0.0.1", port },
      };
      await withMonitor(starts, async (monitor) => {
        // Once the monitor holds its token and has tried its engine again, a login that did not
        // wait for the engine would be under way; the engine then answers only at the next try,
        // an engine retry later, so such a login would reach Central first, with a HEALTH KO.
        await waitFor(
          () => registry.attemptsAtToken !== undefined && attempts > registry.attemptsAtToken,
          "an engine try after the token",
        );
        assert.equal(central.of("AUTH").length, 0, "no login before the engine answered");
        starting.close();
        await accepting.catch(() => {});
        const engine = new FakeEngine(port);
        try {
          await waitFor(() => central.of("HEALTH").length >= 1, "a HEALTH at Central");
          assert.equal(central.of("HEALTH")[0].engine, "OK", "the first HEALTH says OK");
          assert.equal(monitor.view().central.state, "logged_in");
        } finally {
          engine.kill();
        }
      });
      assert.deepEqual(warnings(), [], "an engine still starting is no news");
    });
    registry.client.close();
  });
});

Deno.test("monitor: an engine that never answers is reported unreachable and KO right after the first wait", async () => {
  await withSetup(async ({ options, central }) => {
    const startedAt = Date.now();
    const engine = { host: "127.0.0.1", port: freePort() };
    await withWarnings(async (warnings) => {
      await withMonitor({ ...options, engine }, async () => {
        await waitFor(() => central.of("HEALTH").length >= 1, "a HEALTH at Central");
        assert.equal(central.of("HEALTH")[0].engine, "KO");
        assert.ok(Date.now() - startedAt >= ENGINE_FIRST_ANSWER_MS, "after the wait, not before");
        await waitFor(
          () => warnings().some((w) => w.includes("engine unreachable")),
          "the warning",
        );
      });
    });
  });
});
