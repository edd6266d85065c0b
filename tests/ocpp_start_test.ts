/**
 * `deno task start --ocpp` as a charger finds it: the OCPP 1.6J gateway (infra/start_ocpp.ts) on a
 * real local network (infra/network.ts: Registry, Central, a real broker, TLS to the project CA),
 * reached by `ocpp-rpc`'s charge point client at the URL the start line prints, with the demo
 * charger's credential from the file that line names.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { RPCClient } from "ocpp-rpc";
import { startNetwork } from "../infra/network.ts";
import { ocppLine } from "../infra/start.ts";
import { type StartedOcpp, startOcppGateway } from "../infra/start_ocpp.ts";
import { freePort } from "../shared/ports.ts";
import { centralGroupAtEnd, testBrokers } from "./kafka_env.ts";

Deno.test({
  name: "ocpp: deno task start --ocpp's gateway takes a charger at the URL it prints, with the " +
    "demo charger's credential from the file it names",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ocpp_start_" });
    const net = await startNetwork({
      dir,
      certsDir: join(dir, "certs"),
      brokers: testBrokers(),
      centralArgs: ["--group", await centralGroupAtEnd("ocpp-start")],
    });
    let ocpp: StartedOcpp | undefined;
    let charger: RPCClient | undefined;
    let failed = true;
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
      failed = false;
    } finally {
      await charger?.close({ force: true });
      await ocpp?.service.stop();
      await net.stop();
      if (failed) console.error(`ocpp_test: logs kept in ${join(dir, "logs")}`);
      else await Deno.remove(dir, { recursive: true });
    }
  },
});
