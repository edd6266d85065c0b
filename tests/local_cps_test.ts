/**
 * The dashboard's control of locally run CPs, as real processes: a network started like
 * `deno task start` (infra/network.ts) with the supervisor's control API
 * (infra/supervisor_api.ts), a real Registry, Central, weather office and Kafka. Every call goes
 * to Central's REST API with the admin token, as the dashboard sends it; Central forwards it to
 * the supervisor, which starts and stops `cp/main.ts` processes. The weather office learns the
 * new CP's city from Central's `GET /cps`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { waitUntil } from "../infra/network.ts";
import type { LocalCpView } from "../shared/local_cps.ts";
import { uniqueName } from "./kafka_env.ts";
import { integrationTest, inTempDir, startSupervisedNetwork } from "./network_test_support.ts";

integrationTest(
  "local CPs: through Central, a new CP starts and turns ACTIVATED, the weather office " +
    "watches its city, a stop makes it DISCONNECTED, and a start ACTIVATED again",
  async () => {
    await inTempDir("local_cps_test_", async (dir) => {
      const { net, supervisor, adminToken: token } = await startSupervisedNetwork(dir, {
        centralArgs: ["--group", uniqueName("local-cps")],
        weather: { args: ["--interval", "500ms"] },
      }, ["--speed", "60"]);
      const call = async (method: "GET" | "POST", path: string, body?: unknown) => {
        const res = await fetch(`${net.centralUrl}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        return { status: res.status, body: await res.json() };
      };
      try {
        const id = uniqueName("LOC");
        assert.equal((await net.api.get<{ local_cps: boolean }>("/snapshot")).local_cps, true);

        const added = await call("POST", "/local/cps", {
          id,
          location: "Murcia",
          price_eur_kwh: 0.33,
          power_kw: 11,
        });
        assert.equal(added.status, 201, JSON.stringify(added.body));
        assert.equal(added.body.running, true);
        assert.equal(added.body.pid, net.cps.get(id)!.pid, "the supervisor's own child");
        const activated = await net.waitForCp(id, (cp) => cp.state === "ACTIVATED", 60_000);
        assert.equal(activated.location, "Murcia", "registered by itself, with its location");

        // The weather office watches it without being told, and its cold stops the CP.
        const watched = await waitUntil("the office to watch the new CP", async () => {
          const list = await (await fetch(`${net.weatherUrl}/locations`)).json();
          return list.items.find((row: { cp_id: string }) => row.cp_id === id);
        });
        assert.equal(watched.city, "Murcia");
        const serviceKey = (await Deno.readTextFile(join(dir, "weather_service.key"))).trim();
        const hold = async (temperature: number) => {
          const res = await fetch(`${net.weatherUrl}/simulated/Murcia`, {
            method: "PUT",
            headers: { authorization: `Bearer ${serviceKey}`, "content-type": "application/json" },
            body: JSON.stringify({ temperature }),
          });
          assert.equal(res.status, 200, await res.text());
        };
        await hold(-3);
        await net.waitForCp(id, (cp) => cp.state === "STOPPED" && cp.stop_reason === "weather");
        await hold(15);
        await net.waitForCp(id, (cp) => cp.state === "ACTIVATED");

        const listed = await call("GET", "/local/cps");
        assert.deepEqual(
          (listed.body as LocalCpView[]).map((cp) => [cp.id, cp.price_eur_kwh, cp.running]),
          [[id, 0.33, true]],
        );

        const stopped = await call("POST", `/local/cps/${id}/stop`);
        assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
        assert.deepEqual([stopped.body.running, stopped.body.pid], [false, null]);
        assert.equal(net.cps.get(id)!.running, false, "the process is gone");
        await net.waitForCp(id, (cp) => cp.state === "DISCONNECTED", 30_000);

        const again = await call("POST", `/local/cps/${id}/stop`);
        assert.equal(again.status, 409, "the supervisor's refusal comes through Central");
        assert.equal(again.body.error, "not_running");

        const started = await call("POST", `/local/cps/${id}/start`);
        assert.equal(started.status, 200, JSON.stringify(started.body));
        assert.equal(started.body.running, true);
        await net.waitForCp(id, (cp) => cp.state === "ACTIVATED", 60_000);
      } finally {
        await supervisor.shutdown();
        await net.stop();
      }
    });
  },
);
