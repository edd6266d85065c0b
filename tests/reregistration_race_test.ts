/**
 * A CP deregistered and registered again (as a monitor does when the answer to its first
 * registration was lost: `409`, deregister, register) may log in to Central before Central's
 * change feed has delivered that deregistration. The late deregistration ends the registration
 * before the one the CP logged in with, so it must change nothing: the fresh login stays up.
 *
 * Real parts: a Registry over HTTPS, Central with a real Kafka broker, a login over TLS. Between
 * Central and the Registry sits an HTTPS relay (trusted by the same test CA) that holds the
 * change feed's requests until the test lets them through, so the feed arrives late every time
 * rather than only on a loaded machine (as in the 1000-CP benchmark, where this logged fresh
 * logins out with `deregistered`).
 */
// First: registry/schemas.ts needs @hono/zod-openapi loaded before shared/messages.ts.
import {
  authenticateBound,
  MonitorStub,
  startTestCentral,
  waitFor,
  withTestRegistry,
} from "../central/test_support.ts";
import assert from "node:assert/strict";
import { testBrokers, uniqueName } from "./kafka_env.ts";

/** An HTTPS relay to `target` that holds `GET /changes` until `release()`. */
function feedHoldingRelay(target: string, tls: { cert: string; key: string }, caCert: string) {
  const gate = Promise.withResolvers<void>();
  const client = Deno.createHttpClient({ caCerts: [caCert] });
  let held = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {}, cert: tls.cert, key: tls.key },
    async (request) => {
      const url = new URL(request.url);
      if (url.pathname === "/changes") {
        held++;
        await gate.promise;
      }
      const body = request.method === "GET" ? undefined : await request.arrayBuffer();
      const answer = await fetch(`${target}${url.pathname}${url.search}`, {
        method: request.method,
        headers: request.headers,
        body,
        client,
      });
      return new Response(await answer.arrayBuffer(), {
        status: answer.status,
        headers: answer.headers,
      });
    },
  );
  return {
    url: `https://127.0.0.1:${server.addr.port}`,
    held: () => held,
    release: () => gate.resolve(),
    close: async () => {
      gate.resolve();
      await server.shutdown();
      client.close();
    },
  };
}

Deno.test({
  name: "re-registration race: a deregistration the feed delivers after the CP logged in " +
    "with its new registration does not log it out",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await withTestRegistry("rereg_race_", async (dir, registry) => {
      const relay = feedHoldingRelay(registry.server.url, registry.tls, registry.caCert);
      const central = await startTestCentral(dir, registry, testBrokers(), {
        registryUrl: relay.url,
        group: uniqueName("rereg"),
      });
      let monitor: MonitorStub | undefined;
      try {
        await waitFor("Central to ask the feed", () => relay.held() > 0);
        const cpId = uniqueName("CP-RACE");
        await registry.client.register({ cp_id: cpId, location: "Murcia" }); // answer "lost"
        await registry.client.deregister(cpId);
        const again = await registry.client.register({ cp_id: cpId, location: "Murcia" });
        const lastSeq = (await registry.client.changes(0, {})).last_seq;
        assert.ok(central.runtime.store.registrySeq() < lastSeq, "the feed is still held");

        monitor = await MonitorStub.connect(central.tcpAddr, registry.caCert);
        const token = await authenticateBound(registry.client, cpId, again.credentials);
        const login = await monitor.login(cpId, token);
        assert.equal(login.answer?.type, "AUTH_OK");
        monitor.keepAlive(200);

        relay.release();
        await waitFor(
          "Central to apply the whole feed",
          () => central.runtime.store.registrySeq() >= lastSeq,
          20_000,
        );
        const cp = central.runtime.model.cps.get(cpId)!;
        assert.equal(cp.securityInfo.deregisteredAt, null, "not marked deregistered");
        assert.equal(cp.status.state, "ACTIVATED");
        assert.equal(
          cp.keyVersion,
          login.answer?.type === "AUTH_OK" ? login.answer.keyVersion : -1,
          "the key of the fresh login is kept",
        );
        assert.notEqual(cp.connection, null, "the monitor's connection is still the CP's");
      } finally {
        await monitor?.close();
        await central.stop();
        await relay.close();
      }
    });
  },
});
