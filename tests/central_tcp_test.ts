/**
 * Central's monitor port over real TCP, with a real Registry over TLS and a real Kafka broker
 * (run with `deno task test`): hostile bytes are NACKed or dropped without harm, bad logins
 * get AUTH_FAIL, good ones AUTH_OK, and heartbeats and health drive the CP's state; a real
 * monitor in Spanish shows Central's refusal in Spanish.
 */
// First: registry/schemas.ts needs @hono/zod-openapi loaded before shared/messages.ts.
import {
  type BoundToken,
  MonitorStub,
  TEST_CENTRAL_ADMIN_TOKEN,
  TEST_REGISTRY_ADMIN_KEY,
  type TestCentral,
  waitFor,
  withTestCentral,
} from "../central/test_support.ts";
import assert from "node:assert/strict";
import { SignJWT } from "jose";
import { generateSigningKey, issueToken, TOKEN_AUDIENCE } from "../registry/tokens.ts";
import { exportEcdhPublicKey, generateEcdhKeyPair } from "../shared/cp_key.ts";
import { ecdhThumbprint } from "../shared/login_proof.ts";
import { ACK, encodeFrame, ENQ, EOT, ETX, NACK, STX } from "../shared/framing.ts";
import { build, monitorToCentralSchema } from "../shared/messages.ts";
import type { RunningCentral } from "../central/central.ts";
import { connectTls } from "../shared/tls.ts";
import { uniqueName } from "./kafka_env.ts";
import { type MonitorOptions, startMonitor } from "../cp/monitor.ts";
import { newLinkSecret } from "../cp/engine_link.ts";
import { freePort } from "../shared/ports.ts";
import { join } from "node:path";

/** Runs `test` against a Registry and a Central of its own (heartbeats time out after 1 s). */
const withCentral = (test: (s: TestCentral) => Promise<void>) =>
  withTestCentral("central_tcp_", {
    heartbeatTimeoutMs: 1000,
    group: uniqueName("central-tcp"),
  }, test);

/** A raw socket for bytes the framed client would never send. */
class Raw {
  readonly #conn: Deno.Conn;
  readonly #buffer = new Uint8Array(4096);

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Inside TLS, as every monitor connects. */
  static async open(s: TestCentral): Promise<Raw> {
    const { hostname, port } = s.central.tcpAddr;
    return new Raw(await connectTls(hostname, port, [s.registry.caCert]));
  }

  async write(bytes: Uint8Array): Promise<void> {
    for (let done = 0; done < bytes.length;) done += await this.#conn.write(bytes.subarray(done));
  }

  /** The next byte Central sends, `"eof"` when it closed, `"silence"` after 3 s without one. */
  async byte(): Promise<number | "eof" | "silence"> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const silence = new Promise<"silence">((resolve) =>
      timer = setTimeout(() => resolve("silence"), 3000)
    );
    try {
      const n = await Promise.race([this.#conn.read(this.#buffer.subarray(0, 1)), silence]);
      if (n === "silence") return n;
      return n === null || n === 0 ? "eof" : this.#buffer[0];
    } catch {
      return "eof"; // reset by Central
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed by Central
    }
  }
}

/** A frame whose LRC is wrong. */
function badLrc(value: unknown): Uint8Array {
  const frame = encodeFrame(value);
  frame[frame.length - 1] ^= 0xff;
  return frame;
}

async function stateOf(central: RunningCentral, cpId: string): Promise<string | undefined> {
  const res = await fetch(`${central.httpUrl}/cps/${cpId}`);
  return res.ok ? (await res.json()).state : (await res.body?.cancel(), undefined);
}

const heartbeat = (seq: number) => build(monitorToCentralSchema, "HEARTBEAT", { seq });

Deno.test("central TCP: hostile bytes are NACKed or dropped; Central and other CPs carry on", async () => {
  await withCentral(async (s) => {
    const { registry, central } = s;
    const token = await registry.registerCp("CP-TCP-1", { price_eur_kwh: 0.42, power_kw: 11 });
    const monitor = await MonitorStub.connect(central.tcpAddr, registry.caCert);
    const { answer, key } = await monitor.login("CP-TCP-1", token);
    assert.ok(answer?.type === "AUTH_OK" && key);
    assert.equal(answer.keyVersion, 1);
    assert.deepEqual(answer.cp, {
      id: "CP-TCP-1",
      location: "At CP-TCP-1",
      priceEurKwh: 0.42,
      powerKw: 11,
    });
    monitor.keepAlive(300);

    const raw = await Raw.open(s);
    await raw.write(Uint8Array.of(ENQ));
    assert.equal(await raw.byte(), ACK);
    // Garbage between frames is skipped; every bad frame is NACKed, one NACK each.
    const noise = crypto.getRandomValues(new Uint8Array(2048)).map((b) => b < 0x07 ? 0x41 : b);
    await raw.write(noise);
    await raw.write(badLrc(heartbeat(1)));
    assert.equal(await raw.byte(), NACK, "wrong LRC");
    const oversize = new Uint8Array(70 * 1024 + 3).fill(0x20);
    oversize[0] = STX;
    oversize[oversize.length - 2] = ETX;
    await raw.write(oversize);
    assert.equal(await raw.byte(), NACK, "oversize frame");
    await raw.write(encodeFrame({ v: 1, type: "HACK" }));
    assert.equal(await raw.byte(), NACK, "unknown type");
    const notJson = new TextEncoder().encode("{nope");
    await raw.write(Uint8Array.of(STX, ...notJson, ETX, notJson.reduce((x, b) => x ^ b, ETX)));
    assert.equal(await raw.byte(), NACK, "not JSON");
    raw.close();

    // Random bytes instead of an opening: refused, never a crash.
    const rude = await Raw.open(s);
    const bytes = crypto.getRandomValues(new Uint8Array(4096));
    bytes[0] = NACK; // a control byte that is not ENQ: the opening is refused at once
    await rude.write(bytes);
    assert.equal(await rude.byte(), "eof", "refused opening: closed");
    rude.close();

    // The logged-in CP noticed nothing; Central still serves and takes new logins.
    assert.equal(await stateOf(central, "CP-TCP-1"), "ACTIVATED");
    assert.equal((await (await fetch(`${central.httpUrl}/health`)).json()).status, "ok");
    const token2 = await registry.registerCp("CP-TCP-5");
    const other = await MonitorStub.connect(central.tcpAddr, registry.caCert);
    assert.equal((await other.login("CP-TCP-5", token2)).answer?.type, "AUTH_OK");
    await other.close();
    await monitor.close();
    await waitFor(
      "DISCONNECTED after EOT",
      async () => await stateOf(central, "CP-TCP-1") === "DISCONNECTED",
    );
  });
});

Deno.test("central TCP: bad logins get AUTH_FAIL with the right reason, then EOT", async () => {
  await withCentral(async ({ registry, central }) => {
    const good = await registry.registerCp("CP-TCP-2");
    const signing = registry.server.signingKey;
    const other = (await generateSigningKey()).key;
    // Odd tokens, each bound to the key the stand-in monitor will log in with.
    const pair = await generateEcdhKeyPair();
    const jkt = await ecdhThumbprint(await exportEcdhPublicKey(pair.publicKey));
    const bound = (token: string): BoundToken => ({ token, pair });
    const now = Math.floor(Date.now() / 1000);
    const borrowedKid = await new SignJWT({ location: "x", cnf: { jkt }, iat_ms: now * 1000 })
      .setProtectedHeader({ alg: "ES256", kid: signing.kid })
      .setIssuer("evcharging-registry").setAudience(TOKEN_AUDIENCE).setSubject("CP-TCP-2")
      .setJti("j1").setIssuedAt(now).setNotBefore(now).setExpirationTime(now + 60)
      .sign(other.privateKey);
    const subject = { cpId: "CP-TCP-2", location: "x", jkt };
    const cases: [string, string, BoundToken, boolean][] = [
      ["forged (another key)", "CP-TCP-2", bound((await issueToken(other, subject)).token), true],
      ["forged (borrowed kid)", "CP-TCP-2", bound(borrowedKid), true],
      [
        "expired",
        "CP-TCP-2",
        bound(
          (await issueToken(signing, subject, { now: new Date(Date.now() - 20 * 60_000) })).token,
        ),
        true,
      ],
      [
        "for another audience",
        "CP-TCP-2",
        bound((await issueToken(signing, subject, { audience: "someone-else" })).token),
        true,
      ],
      ["token of another CP", "CP-TCP-3", good, false],
      [
        "unknown to the Registry",
        "CP-NOBODY",
        bound((await issueToken(signing, { cpId: "CP-NOBODY", location: "x", jkt })).token),
        false,
      ],
    ];
    // Each reason with the code of the operator's line (shared/notices.ts) beside its words.
    const reasons = [
      ["bad_token", "login_token_refused"],
      ["bad_token", "login_token_refused"],
      ["expired_token", "login_token_expired"],
      ["bad_token", "login_token_refused"],
      ["cp_mismatch", "login_other_cp"],
      ["unknown_cp", "login_unknown_cp"],
    ];
    for (const [i, [name, cpId, token, retryable]] of cases.entries()) {
      const monitor = await MonitorStub.connect(central.tcpAddr, registry.caCert);
      const { answer } = await monitor.login(cpId, token);
      assert.equal(answer?.type, "AUTH_FAIL", name);
      assert.ok(answer?.type === "AUTH_FAIL");
      assert.deepEqual([answer.reason, answer.detail_code], reasons[i], name);
      assert.ok(answer.detail, `${name}: the English words stay`);
      assert.equal(answer.retryable, retryable, name);
      assert.equal(await monitor.next(), undefined, `${name}: conversation over`);
    }

    // Not logging in first.
    const early = await MonitorStub.connect(central.tcpAddr, registry.caCert);
    await early.send(heartbeat(1));
    const refusal = await early.next();
    assert.ok(refusal?.type === "AUTH_FAIL" && refusal.reason === "bad_request");
    assert.equal(refusal.detail_code, "login_first");

    // A deregistered CP.
    await registry.client.deregister("CP-TCP-2");
    const gone = await MonitorStub.connect(central.tcpAddr, registry.caCert);
    const { answer } = await gone.login("CP-TCP-2", good);
    assert.ok(answer?.type === "AUTH_FAIL" && answer.reason === "deregistered");
    assert.equal(answer.retryable, false);
    assert.deepEqual(answer.detail_params, { id: "CP-TCP-2" });
    assert.equal(central.runtime.model.cps.size, 0, "no failed login created a CP");
  });
});

Deno.test("central TCP: a monitor in Spanish shows Central's logout and refusal in Spanish", async () => {
  await withCentral(async ({ registry, central, dir }) => {
    const cpId = "CP-TCP-ES";
    // A real monitor (it registers the CP with the admin key), its engine not running.
    const options: MonitorOptions = {
      cpId,
      lang: "es",
      engine: { host: "127.0.0.1", port: await freePort() },
      engineSecret: newLinkSecret(),
      central: { host: central.tcpAddr.hostname, port: central.tcpAddr.port },
      registry: registry.client,
      registryAdminKey: TEST_REGISTRY_ADMIN_KEY,
      caCert: registry.caCert,
      location: "Alicante",
      priceEurKwh: 0.3,
      powerKw: 11,
      credentialsDir: join(dir, "cp"),
    };
    const first = await startMonitor(options);
    try {
      await waitFor("logged in", () => first.view().central.state === "logged_in");
      const res = await fetch(`${central.httpUrl}/cps/${cpId}/security`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${TEST_CENTRAL_ADMIN_TOKEN}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ status: "REVOKED", reason: "stolen unit" }),
      });
      assert.equal(res.status, 200, await res.text());
      const out = await first.done; // LOGOUT revoked: for good
      assert.match(
        out.kind === "gave_up" ? out.message : out.kind,
        /^La Central cerró la sesión de este punto para siempre \(revoked: un administrador puso el estado de seguridad de este punto en REVOKED en la Central, para siempre\); no se reintenta\. Un administrador puede restaurar/,
      );
    } finally {
      await first.stop();
    }

    // Started again: the Registry still authenticates it, Central refuses it (AUTH_FAIL).
    const again = await startMonitor(options);
    try {
      const refused = await again.done;
      assert.match(
        refused.kind === "gave_up" ? refused.message : refused.kind,
        /^La Central rechazó el inicio de sesión para siempre \(revoked: CP-TCP-ES está revocado en la Central\); no se reintenta\./,
      );
      assert.equal(
        again.view().central.detail,
        refused.kind === "gave_up" ? refused.message : "",
      );
    } finally {
      await again.stop();
    }
  });
});

Deno.test("central TCP: health, a replacing login, and the heartbeat timeout", async () => {
  await withCentral(async ({ registry, central }) => {
    const token = await registry.registerCp("CP-TCP-4");
    const first = await MonitorStub.connect(central.tcpAddr, registry.caCert);
    assert.equal((await first.login("CP-TCP-4", token)).answer?.type, "AUTH_OK");

    await first.send(build(monitorToCentralSchema, "HEALTH", { engine: "KO" }));
    await waitFor("BROKEN", async () => await stateOf(central, "CP-TCP-4") === "BROKEN");
    await first.send(build(monitorToCentralSchema, "HEALTH", { engine: "OK" }));
    await waitFor("ACTIVATED", async () => await stateOf(central, "CP-TCP-4") === "ACTIVATED");

    // A second login for the same CP replaces the first, which is told why.
    const second = await MonitorStub.connect(central.tcpAddr, registry.caCert);
    const { answer } = await second.login("CP-TCP-4", await registry.freshToken("CP-TCP-4"));
    assert.ok(answer?.type === "AUTH_OK");
    assert.equal(answer.keyVersion, 2, "every login makes a new key version");
    const logout = await first.next();
    assert.ok(logout?.type === "LOGOUT");
    assert.deepEqual([logout.reason, logout.retryable], ["replaced", true]);
    assert.equal(logout.detail_code, "logout_replaced");
    assert.equal(await first.next(), undefined);
    assert.equal(
      await stateOf(central, "CP-TCP-4"),
      "ACTIVATED",
      "the old connection's end is stale",
    );

    // Heartbeats keep it; silence past the timeout (1 s here) disconnects and closes.
    for (let seq = 1; seq <= 3; seq++) {
      await second.send(heartbeat(seq));
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
    assert.equal(await stateOf(central, "CP-TCP-4"), "ACTIVATED");
    await waitFor(
      "DISCONNECTED",
      async () => await stateOf(central, "CP-TCP-4") === "DISCONNECTED",
    );
    assert.equal(await second.next(), undefined, "Central closed the silent connection");

    // Central is still there for the next login.
    const third = await MonitorStub.connect(central.tcpAddr, registry.caCert);
    assert.equal(
      (await third.login("CP-TCP-4", await registry.freshToken("CP-TCP-4"))).answer?.type,
      "AUTH_OK",
    );
    await third.close();
  });
});

Deno.test("central TCP: MAINTENANCE holds the CP STOPPED and CP_STATE tells its monitor", async () => {
  await withCentral(async ({ registry, central }) => {
    const token = await registry.registerCp("CP-TCP-5");
    const monitor = await MonitorStub.connect(central.tcpAddr, registry.caCert);
    assert.equal((await monitor.login("CP-TCP-5", token)).answer?.type, "AUTH_OK");
    monitor.keepAlive();
    const state = async () => {
      const frame = await monitor.nextAny();
      assert.ok(frame?.type === "CP_STATE", `CP_STATE expected, got ${frame?.type}`);
      return [frame.state, frame.stopReason, frame.maintenance];
    };
    assert.deepEqual(await state(), ["ACTIVATED", null, false], "told right after AUTH_OK");

    await monitor.send(build(monitorToCentralSchema, "MAINTENANCE", { on: true }));
    assert.deepEqual(await state(), ["STOPPED", "maintenance", true]);
    const cp = await (await fetch(`${central.httpUrl}/cps/CP-TCP-5`)).json();
    assert.deepEqual([cp.state, cp.stop_reason], ["STOPPED", "maintenance"]);

    await monitor.send(build(monitorToCentralSchema, "MAINTENANCE", { on: false }));
    assert.deepEqual(await state(), ["ACTIVATED", null, false]);
    const audit = await (await fetch(`${central.httpUrl}/audit?action=cp.maintenance`)).json();
    assert.deepEqual(
      audit.items.map((r: { actor: string; params: { on: boolean } }) => [r.actor, r.params.on]),
      [["cp:CP-TCP-5", false], ["cp:CP-TCP-5", true]],
    );
    assert.ok(audit.items.every((r: { origin_ip?: string }) => r.origin_ip === "127.0.0.1"));
    await monitor.close();
  });
});

Deno.test("central TCP: EOT right after opening ends the conversation cleanly", async () => {
  await withCentral(async (s) => {
    const raw = await Raw.open(s);
    await raw.write(Uint8Array.of(ENQ));
    assert.equal(await raw.byte(), ACK);
    await raw.write(Uint8Array.of(EOT));
    assert.equal(await raw.byte(), "eof", "Central closes the socket");
    raw.close();
  });
});
