/**
 * Central's REST API over HTTPS when it listens off loopback (`0.0.0.0`, the README's three-PC
 * setup), on a real Kafka broker with a real Registry over TLS: the API answers only TLS with
 * the certificate of the project's CA (plain HTTP and a client without the CA get nothing), and
 * a real weather office process (`weather/main.ts --central https://… --ca ca.pem`) learns the
 * CPs from it and delivers a weather alert over it with its service key.
 */
// First: registry/schemas.ts needs @hono/zod-openapi loaded before shared/messages.ts.
import {
  authenticateBound,
  MonitorStub,
  waitFor,
  withTestCentral,
} from "../central/test_support.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { freePort } from "../shared/ports.ts";
import { uniqueName } from "./kafka_env.ts";

Deno.test("Central off loopback: REST over HTTPS only, and the weather office alerts over it", async () => {
  await withTestCentral("central_https_", {
    hostname: "0.0.0.0",
    group: uniqueName("https"),
  }, async ({ dir, registry, central }) => {
    const caFile = join(dir, "ca.pem");
    await Deno.writeTextFile(caFile, registry.caCert);
    const tls = Deno.createHttpClient({ caCerts: [registry.caCert] });
    const get = async (path: string) => {
      const res = await fetch(`${central.httpUrl}${path}`, { client: tls });
      return { status: res.status, body: await res.json() };
    };
    let office: Deno.ChildProcess | undefined;
    let monitor: MonitorStub | undefined;
    try {
      assert.match(central.httpUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
      // Ready (200) once Kafka, the Registry, its change feed and the database have been seen well.
      await waitFor(
        "Central ready over HTTPS",
        async () => (await get("/health")).status === 200,
        30_000,
      );
      const port = central.httpAddr.port;
      await assert.rejects(
        fetch(`http://127.0.0.1:${port}/health`).then((r) => r.text()),
        "plain HTTP gets no answer",
      );
      await assert.rejects(
        fetch(`${central.httpUrl}/health`).then((r) => r.text()),
        (error: Error) => /UnknownIssuer|certificate/i.test(String(error.cause ?? error.message)),
        "a client without the project CA refuses the certificate",
      );

      const cpId = uniqueName("CP-HTTPS");
      const { credentials } = await registry.client.register({ cp_id: cpId, location: "Madrid" });
      const tcp = { ...central.tcpAddr, hostname: "127.0.0.1" }; // it listens on 0.0.0.0
      monitor = await MonitorStub.connect(tcp, registry.caCert);
      const token = await authenticateBound(registry.client, cpId, credentials);
      assert.equal((await monitor.login(cpId, token)).answer?.type, "AUTH_OK");
      monitor.keepAlive(300);

      const officePort = freePort();
      office = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          join(import.meta.dirname!, "..", "weather", "main.ts"),
          "--no-tui",
          ...["--port", String(officePort), "--host", "127.0.0.1", "--interval", "200ms"],
          ...["--central", central.httpUrl, "--ca", caFile],
          ...["--locations", join(dir, "weather_locations.json")],
        ],
        env: {
          OPENWEATHER_API_KEY: "",
          WEATHER_SERVICE_KEY: central.weatherServiceKey.key,
        },
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
      const officeUrl = `http://127.0.0.1:${officePort}`;
      const officeHealth = async () => {
        try {
          return await (await fetch(`${officeUrl}/health`)).json();
        } catch {
          return undefined;
        }
      };
      await waitFor(
        "the office to reach Central over HTTPS",
        async () => (await officeHealth())?.central?.reachable === true,
        30_000,
      );
      await waitFor("the office to watch the CP Central lists", async () => {
        const res = await fetch(`${officeUrl}/locations`);
        return JSON.stringify(await res.json()).includes(cpId);
      }, 30_000);

      const cold = await fetch(`${officeUrl}/simulated/Madrid`, {
        method: "PUT",
        headers: {
          authorization: `Bearer ${central.weatherServiceKey.key}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ temperature: -5 }),
      });
      assert.equal(cold.status, 200, await cold.text());
      await waitFor("Central to hold the weather alert", async () => {
        const weather = (await get("/weather")).body as { cp_id: string; status: string }[];
        return weather.some((w) => w.cp_id === cpId && w.status === "alert");
      }, 30_000);
      assert.equal((await get(`/cps/${cpId}`)).body.stop_reason, "weather");
    } finally {
      office?.kill("SIGTERM");
      await office?.status;
      await monitor?.close();
      tls.close();
    }
  });
});
