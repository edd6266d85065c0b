/**
 * `deno task start --ocpp` as a charger finds it: the OCPP 1.6J gateway (infra/start_ocpp.ts) on a
 * real local network (infra/network.ts: Registry, Central, a real broker, TLS to the project CA),
 * reached by `ocpp-rpc`'s charge point client at the URL the start line prints, with the demo
 * charger's credential from the file that line names.
 */
import assert from "node:assert/strict";
import { RPCClient } from "ocpp-rpc";
import { ocppLine } from "../infra/start.ts";
import { type StartedOcpp, startOcppGateway } from "../infra/start_ocpp.ts";
import { freePort } from "../shared/ports.ts";
import { centralGroupAtEnd } from "./kafka_env.ts";
import { integrationTest, inTempDir, startTestNetwork } from "./network_test_support.ts";

integrationTest(
  "ocpp: deno task start --ocpp's gateway takes a charger at the URL it prints, with the " +
    "demo charger's credential from the file it names",
  async () => {
    await inTempDir("ocpp_start_", async (dir) => {
      const net = await startTestNetwork(dir, {
        centralArgs: ["--group", await centralGroupAtEnd("ocpp-start")],
      });
      let ocpp: StartedOcpp | undefined;
      let charger: RPCClient | undefined;
      try {
        ocpp = await startOcppGateway(net, dir, "info", freePort());
        const line = ocppLine(ocpp);
        assert.ok(line.includes(`${ocpp.url}/<id>`) && ocpp.credentialsFile !== undefined, line);
        assert.ok(line.includes(ocpp.credentialsFile), "it names the credential's file");
        const stored = JSON.parse(await Deno.readTextFile(ocpp.credentialsFile));
        assert.ok(!line.includes(stored.credentials), "never the credential itself");
        charger = new RPCClient(
          {
            endpoint: ocpp.url,
            identity: ocpp.chargerId,
            password: stored.credentials,
            protocols: ["ocpp1.6"],
            strictMode: true,
            reconnect: false,
            wsOpts: { ca: await Deno.readTextFile(net.caFile) },
          } as unknown as ConstructorParameters<typeof RPCClient>[0],
        );
        await charger.connect();
        const boot = await charger.call("BootNotification", {
          chargePointVendor: "Acme",
          chargePointModel: "Wallbox-1",
        }) as { status: string };
        assert.equal(boot.status, "Accepted");
        await charger.call("StatusNotification", {
          connectorId: 1,
          errorCode: "NoError",
          status: "Available",
        });
        const shown = await net.waitForCp(ocpp.chargerId, (c) => c.state === "ACTIVATED", 60_000);
        assert.equal((shown as unknown as { protocol?: string }).protocol, "ocpp1.6");
      } finally {
        await charger?.close({ force: true });
        await ocpp?.service.stop();
        await net.stop();
      }
    });
  },
);
