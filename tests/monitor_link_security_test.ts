/**
 * The CP's own link attacked as someone on the LAN would, against a real Central (real Kafka,
 * real Registry over TLS, real TLS on the monitor port with a CA made for the test): what a
 * sniffer records, a replayed token, a man in the middle that swaps the ECDH keys, a token from
 * before a key revocation.
 */
// First: registry/schemas.ts needs @hono/zod-openapi loaded before shared/messages.ts.
import {
  type BoundToken,
  MonitorStub,
  type TestCentral,
  type TestRegistry,
  waitFor,
  withTestCentral,
} from "../central/test_support.ts";
import assert from "node:assert/strict";
import type { CentralOptions, RunningCentral } from "../central/central.ts";
import { ACK, ENQ } from "../shared/framing.ts";
import { createServerCert } from "../infra/dev_ca.ts";
import { exportEcdhPublicKey, generateEcdhKeyPair } from "../shared/cp_key.ts";
import { FramedConn } from "../shared/framed_conn.ts";
import { LoginProofError } from "../shared/login_proof.ts";
import { build, monitorToCentralSchema } from "../shared/messages.ts";
import { connectTls } from "../shared/tls.ts";
import { uniqueName } from "./kafka_env.ts";

const ADMIN = "test-central-admin-token-0123456789";

/** Runs `test` against a Registry and a Central of its own, with `options` on top. */
const withCentral = (
  test: (s: TestCentral) => Promise<void>,
  options: Partial<CentralOptions> = {},
) =>
  withTestCentral("monitor_link_security_", {
    group: uniqueName("link-security"),
    adminToken: ADMIN,
    ...options,
  }, test);

const heartbeat = (seq: number) => build(monitorToCentralSchema, "HEARTBEAT", { seq });

/** A TCP proxy to `target` that records every byte, both ways. */
function recordingProxy(target: Deno.NetAddr) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const recorded: Uint8Array[] = [];
  const sockets: Deno.Conn[] = [];
  const pump = async (from: Deno.Conn, to: Deno.Conn) => {
    const buffer = new Uint8Array(16 * 1024);
    try {
      for (let n = await from.read(buffer); n !== null; n = await from.read(buffer)) {
        recorded.push(buffer.slice(0, n));
        await to.write(buffer.subarray(0, n));
      }
    } catch {
      // one side closed
    }
    for (const s of [from, to]) {
      try {
        s.close();
      } catch {
        // already closed
      }
    }
  };
  (async () => {
    for await (const client of listener) {
      const upstream = await Deno.connect({ hostname: target.hostname, port: target.port });
      sockets.push(client, upstream);
      pump(client, upstream);
      pump(upstream, client);
    }
  })().catch(() => {});
  return {
    addr: listener.addr,
    /** Everything that crossed, as one Latin-1 string (any byte sequence survives). */
    text: () => new TextDecoder("latin1").decode(new Uint8Array(recorded.flatMap((c) => [...c]))),
    close: () => {
      listener.close();
      for (const s of sockets) {
        try {
          s.close();
        } catch {
          // already closed
        }
      }
    },
  };
}

/**
 * A man in the middle that terminates TLS with a certificate the project CA signed for the same
 * address (the worst case: TLS alone no longer protects), speaks the framed protocol to both
 * sides, and replaces the monitor's and/or Central's ECDH public key with its own.
 */
async function keySwappingProxy(
  registry: TestRegistry,
  target: Deno.NetAddr,
  swap: { monitorKey: boolean; centralKey: boolean },
) {
  const tls = await createServerCert(registry.ca);
  const listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, ...tls });
  const ours = await exportEcdhPublicKey((await generateEcdhKeyPair()).publicKey);
  const conns: FramedConn[] = [];
  const relay = async (
    from: FramedConn,
    to: FramedConn,
    rewrite: (m: Record<string, unknown>) => void,
  ) => {
    try {
      for await (const value of from) {
        const message = { ...(value as Record<string, unknown>) };
        rewrite(message);
        await to.send(message);
      }
    } catch {
      // one side went away
    }
    await from.close();
    await to.close();
  };
  (async () => {
    for await (const socket of listener) {
      const monitor = await FramedConn.server(socket);
      const central = await FramedConn.client(
        await connectTls(target.hostname, target.port, [registry.caCert]),
      );
      conns.push(monitor, central);
      relay(monitor, central, (m) => {
        if (m.type === "AUTH" && swap.monitorKey) m.ecdhPublicKey = ours;
      });
      relay(central, monitor, (m) => {
        if (m.type === "AUTH_OK" && swap.centralKey) m.ecdhPublicKey = ours;
      });
    }
  })().catch(() => {});
  return {
    addr: listener.addr,
    close: async () => {
      listener.close();
      await Promise.all(conns.map((c) => c.close()));
    },
  };
}

/** The `cp.login` audit records filed against an address. */
function addressFailures(central: RunningCentral) {
  return central.runtime.auditPage({ action: "cp.login", limit: 1000 }).items
    .filter((r) => r.actor.startsWith("address:"));
}

Deno.test("monitor link: a sniffer between monitor and Central records no token, key, cp id or message", async () => {
  await withCentral(async ({ registry, central }) => {
    const cpId = uniqueName("CP-SNIFF");
    const bound = await registry.registerCp(cpId);
    const proxy = recordingProxy(central.tcpAddr);
    try {
      const monitor = await MonitorStub.connect(proxy.addr, registry.caCert);
      const { answer } = await monitor.login(cpId, bound);
      assert.ok(answer?.type === "AUTH_OK", JSON.stringify(answer));
      for (let seq = 1; seq <= 3; seq++) await monitor.send(heartbeat(seq));
      await monitor.send(build(monitorToCentralSchema, "HEALTH", { engine: "OK" }));
      await monitor.close();

      const recorded = proxy.text();
      assert.ok(recorded.length > 1000, "the proxy carried the conversation");
      const monitorKey = await exportEcdhPublicKey(bound.pair.publicKey);
      const secrets: Record<string, string> = {
        "the JWT": bound.token,
        "the JWT's payload": bound.token.split(".")[1],
        "the JWT's signature": bound.token.split(".")[2],
        "the monitor's ECDH key": monitorKey,
        "Central's ECDH key": answer.ecdhPublicKey,
        "the salt": answer.salt,
        "the cp id": cpId,
        "a message type": "HEARTBEAT",
        "a JSON field": '"type"',
      };
      for (const [what, value] of Object.entries(secrets)) {
        assert.ok(!recorded.includes(value), `${what} crossed the wire in clear`);
      }
    } finally {
      proxy.close();
    }
  });
});

Deno.test("monitor link: a captured token replayed from another connection is refused; the real CP stays", async () => {
  await withCentral(async ({ registry, central }) => {
    const cpId = uniqueName("CP-REPLAY");
    const bound = await registry.registerCp(cpId);
    const real = await MonitorStub.connect(central.tcpAddr, registry.caCert);
    const { answer } = await real.login(cpId, bound);
    assert.ok(answer?.type === "AUTH_OK");
    const connection = central.runtime.model.cps.get(cpId)?.connection;
    assert.notEqual(connection, null);

    // The attacker holds the token but not the private key: with its own key, and with the real
    // monitor's public key copied from the AUTH (it cannot derive anything with it).
    const ownKey: BoundToken = { token: bound.token, pair: await generateEcdhKeyPair() };
    const copied: BoundToken = { token: bound.token, pair: bound.pair };
    for (const [name, attempt] of [["own key", ownKey], ["copied key", copied]] as const) {
      const attacker = await MonitorStub.connect(central.tcpAddr, registry.caCert);
      const refused = await attacker.login(cpId, attempt);
      assert.ok(
        refused.answer?.type === "AUTH_FAIL" && refused.answer.reason === "bad_token",
        `${name}: ${JSON.stringify(refused.answer)}`,
      );
      assert.equal(
        refused.answer.detail_code,
        name === "own key" ? "login_key_mismatch" : "login_token_replayed",
      );
      assert.equal(await attacker.next(), undefined, `${name}: conversation over`);
    }

    // The real monitor is still the one logged in, and its frames are still taken.
    await real.send(heartbeat(1));
    const cp = central.runtime.model.cps.get(cpId);
    assert.equal(cp?.connection, connection);
    assert.equal(cp?.status.state, "ACTIVATED");
    assert.equal(cp?.securityInfo.failedLogins, 0, "a stranger's failures are not the CP's");
    await waitFor("both refusals audited against the address", () => {
      const whys = addressFailures(central).map((r) => r.params.reason);
      return whys.includes("key_mismatch") && whys.includes("token_replayed");
    });
    assert.ok(
      addressFailures(central).every((r) => r.actor === "address:127.0.0.1" && !r.params.cpId),
    );
    await real.close();
  });
});

Deno.test("monitor link: a man in the middle swapping the ECDH keys makes the login fail", async () => {
  await withCentral(async ({ registry, central }) => {
    const cpId = uniqueName("CP-MITM");
    await registry.registerCp(cpId);

    // Swapping the monitor's key: Central sees a key the token is not bound to.
    const both = await keySwappingProxy(registry, central.tcpAddr, {
      monitorKey: true,
      centralKey: true,
    });
    try {
      const monitor = await MonitorStub.connect(both.addr, registry.caCert);
      const { answer } = await monitor.login(cpId, await registry.freshToken(cpId));
      assert.ok(
        answer?.type === "AUTH_FAIL" && answer.reason === "bad_token",
        JSON.stringify(answer),
      );
    } finally {
      await both.close();
    }

    // Swapping only Central's share: Central's signature over the real one does not verify.
    const share = await keySwappingProxy(registry, central.tcpAddr, {
      monitorKey: false,
      centralKey: true,
    });
    try {
      const monitor = await MonitorStub.connect(share.addr, registry.caCert);
      await assert.rejects(
        monitor.login(cpId, await registry.freshToken(cpId)),
        (error) => error instanceof LoginProofError && /signature/.test(error.message),
      );
      await monitor.close();
    } finally {
      await share.close();
    }

    // Without the proxy the same CP logs in at once.
    const direct = await MonitorStub.connect(central.tcpAddr, registry.caCert);
    const { answer } = await direct.login(cpId, await registry.freshToken(cpId));
    assert.equal(answer?.type, "AUTH_OK");
    await direct.close();
  });
});

Deno.test("monitor link: a token from before a key revocation is refused, one fetched right after works", async () => {
  await withCentral(async ({ registry, central }) => {
    const cpId = uniqueName("CP-REVOKE");
    const first = await MonitorStub.connect(central.tcpAddr, registry.caCert);
    assert.equal(
      (await first.login(cpId, await registry.registerCp(cpId))).answer?.type,
      "AUTH_OK",
    );
    const before = await registry.freshToken(cpId); // issued, not yet used

    const res = await fetch(`${central.httpUrl}/cps/${cpId}/keys/revoke`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    assert.equal(res.status, 200, await res.text());
    const out = await first.next();
    assert.ok(out?.type === "LOGOUT" && out.reason === "key_revoked");
    assert.equal(out.detail_code, "logout_key_revoked");

    const stale = await MonitorStub.connect(central.tcpAddr, registry.caCert);
    const { answer } = await stale.login(cpId, before);
    assert.ok(
      answer?.type === "AUTH_FAIL" && answer.reason === "bad_token",
      JSON.stringify(answer),
    );
    assert.match(answer.detail ?? "", /predates the last revocation/);
    assert.equal(answer.detail_code, "login_stale_token");

    // A token issued right after, likely within the same second as the revocation, is fresh.
    const fresh = await MonitorStub.connect(central.tcpAddr, registry.caCert);
    const again = await fresh.login(cpId, await registry.freshToken(cpId));
    assert.equal(again.answer?.type, "AUTH_OK", JSON.stringify(again.answer));
    await fresh.close();
  });
});

Deno.test("monitor link: a stranger's flood from one address neither locks out a monitor elsewhere nor counts against the CP it names", async () => {
  await withCentral(async ({ registry, central }) => {
    const cpId = uniqueName("CP-FLOOD");
    const bound = await registry.registerCp(cpId);
    const port = central.tcpAddr.port;
    // The stranger comes over IPv4 (127.0.0.1), the monitor over IPv6 (::1): two
    // addresses on one machine, both reaching the dual-stack listener.
    const held: Deno.Conn[] = [];
    try {
      // Plaintext: an ENQ without TLS is never ACKed.
      const plain = await Deno.connect({ hostname: "127.0.0.1", port });
      await plain.write(Uint8Array.of(ENQ));
      const received: number[] = [];
      const buffer = new Uint8Array(512);
      for (
        let n = await plain.read(buffer);
        n !== null;
        n = await plain.read(buffer).catch(() => null)
      ) {
        received.push(...buffer.subarray(0, n));
      }
      plain.close();
      assert.ok(!received.includes(ACK), "a plaintext client got an ACK");

      // A forged AUTH naming the real CP, over TLS from the stranger's address.
      const forger = await MonitorStub.connect(
        { ...central.tcpAddr, hostname: "127.0.0.1" },
        registry.caCert,
      );
      const forged = await forger.login(cpId, { ...bound, token: `${bound.token}x` });
      assert.ok(forged.answer?.type === "AUTH_FAIL");

      // Then connections that never even start TLS, far beyond the per-address cap (4 here).
      for (let i = 0; i < 30; i++) held.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      await waitFor(
        "the flood refused at accept",
        () => addressFailures(central).some((r) => r.params.reason === "too_many_unauthenticated"),
      );

      const monitor = await MonitorStub.connect(
        { ...central.tcpAddr, hostname: "::1" },
        registry.caCert,
      );
      const { answer } = await monitor.login(cpId, bound);
      assert.equal(answer?.type, "AUTH_OK", JSON.stringify(answer));
      await monitor.close();

      const cp = central.runtime.model.cps.get(cpId);
      assert.equal(cp?.securityInfo.failedLogins, 0, "the stranger's failures are not the CP's");
      const stranger = addressFailures(central).filter((r) => r.actor === "address:127.0.0.1");
      assert.ok(stranger.some((r) => r.params.reason === "bad_signature"), "the forged token");
      assert.ok(stranger.some((r) => r.params.reason === "too_many_unauthenticated"));
      assert.ok(
        central.runtime.auditPage({ action: "cp.login", limit: 1000 }).items
          .filter((r) => r.outcome !== "ok")
          .every((r) => r.actor.startsWith("address:") && r.params.cpId === undefined),
        "no refusal was filed against the CP",
      );
    } finally {
      for (const c of held) {
        try {
          c.close();
        } catch {
          // closed by Central
        }
      }
    }
  }, { hostname: "::", maxUnauthenticatedPerAddress: 4 });
});
