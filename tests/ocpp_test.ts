/**
 * The OCPP 1.6J gateway with real parts: chargers are `ocpp-rpc`'s RPCClient (an OCPP-J
 * implementation that is not ours) over WebSockets with TLS under the test's CA and HTTP Basic
 * auth; the gateway logs each into a real Central over the monitor link and speaks Kafka (a real
 * broker) for it; the Registry is real over HTTPS.
 */
// First: registry/schemas.ts needs @hono/zod-openapi loaded before shared/messages.ts.
import {
  startTestCentral,
  type TestRegistry,
  waitFor,
  withTestRegistry,
} from "../central/test_support.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { RPCClient } from "ocpp-rpc";
import type { RunningCentral } from "../central/central.ts";
import { type Gateway, startGateway } from "../ocpp/gateway.ts";
import { centralGroupAtEnd, testBrokers, uniqueName } from "./kafka_env.ts";
import { KafkaWire } from "./kafka_wire.ts";

const ADMIN = "test-central-admin-token-0123456789";
const WEATHER_KEY = "ocpp-test-weather-key-0123456789";

interface Net {
  readonly registry: TestRegistry;
  readonly central: RunningCentral;
  /** Stops Central and starts it again on the same database, group and monitor port. */
  restartCentral(): Promise<void>;
  readonly gateway: Gateway;
  /** Stops the gateway and starts another on the same folders (a restart). */
  restartGateway(): Promise<void>;
  readonly wire: KafkaWire;
  readonly cpId: string;
  readonly driverId: string;
  readonly credentials: string;
  /** Every charger made on this net: `withNet` closes them when the test ends. */
  readonly chargers: Charger[];
}

/** Registry, Central, gateway and a Kafka view for one CP and one driver. */
function withNet(test: (net: Net) => Promise<void>): Promise<void> {
  return withTestRegistry("ocpp_test_", async (dir, registry) => {
    const cpId = uniqueName("OC");
    const driverId = uniqueName("DRV");
    const group = await centralGroupAtEnd("ocpp-central");
    const startCentral = (tcpPort = 0) =>
      startTestCentral(dir, registry, testBrokers(), {
        group,
        weatherServiceKey: WEATHER_KEY,
        tcpPort,
      });
    const central = await startCentral();
    const wire = await KafkaWire.open(driverId, [cpId], { atEnd: true });
    const { credentials } = await registry.client.register({
      cp_id: cpId,
      location: "Alicante",
      price_eur_kwh: 0.5,
      power_kw: 22,
    });
    const start = () =>
      startGateway({
        hostname: "127.0.0.1",
        port: 0,
        tls: registry.tls,
        brokers: testBrokers(),
        central: { host: "127.0.0.1", port: central.tcpAddr.port },
        registryUrl: registry.server.url,
        caCert: registry.caCert,
        credentialsDir: join(dir, "ocpp"),
        group: uniqueName("ocpp-gateway"),
        heartbeatIntervalS: 30,
      });
    const net = {
      registry,
      central,
      restartCentral: async () => {
        const port = net.central.tcpAddr.port;
        await net.central.stop();
        net.central = await startCentral(port);
      },
      gateway: await start(),
      restartGateway: async () => {
        await net.gateway.stop();
        net.gateway = await start();
      },
      wire,
      cpId,
      driverId,
      credentials,
      chargers: [] as Charger[],
    };
    try {
      await test(net);
    } finally {
      await Promise.all(net.chargers.map((c) => c.close()));
      await net.gateway.stop();
      await wire.close();
      await net.central.stop();
    }
  });
}

/** A charger: ocpp-rpc's client, answering the gateway's calls and recording them. */
class Charger {
  readonly client: RPCClient;
  readonly received: { method: string; params: Record<string, unknown> }[] = [];

  constructor(
    net: Net,
    options: { password?: string; identity?: string; strict?: boolean; from?: string } = {},
  ) {
    this.client = new RPCClient(
      {
        endpoint: net.gateway.url.replace("127.0.0.1", "localhost"),
        identity: options.identity ?? net.cpId,
        password: options.password ?? net.credentials,
        protocols: ["ocpp1.6"],
        strictMode: options.strict ?? true,
        reconnect: false,
        wsOpts: { ca: net.registry.caCert, localAddress: options.from },
        // The library's typings demand every option; it fills the rest with its defaults.
      } as unknown as ConstructorParameters<typeof RPCClient>[0],
    );
    net.chargers.push(this);
    this.client.handle(({ method, params }) => {
      this.received.push({ method: method ?? "", params: params as Record<string, unknown> });
      return Promise.resolve({ status: "Accepted" });
    });
  }

  /** Connects, boots and reports its connector available. */
  async boot(): Promise<void> {
    await this.client.connect();
    const boot = await this.call("BootNotification", {
      chargePointVendor: "Acme",
      chargePointModel: "Wallbox-1",
    });
    assert.equal(boot.status, "Accepted");
    assert.equal(boot.interval, 30);
    await this.status("Available");
  }

  call(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.client.call(method, params) as Promise<Record<string, unknown>>;
  }

  status(status: string, connectorId = 1): Promise<Record<string, unknown>> {
    return this.call("StatusNotification", { connectorId, errorCode: "NoError", status });
  }

  /** The calls of `method` the gateway made on this charger. */
  calls(method: string): Record<string, unknown>[] {
    return this.received.filter((c) => c.method === method).map((c) => c.params);
  }

  /** Drops the connection at once (a second close does nothing). */
  close(): Promise<unknown> {
    return this.client.close({ force: true });
  }
}

async function cpState(net: Net): Promise<string | undefined> {
  const res = await fetch(`${net.central.httpUrl}/cps/${net.cpId}`);
  if (!res.ok) return void await res.body?.cancel();
  return (await res.json()).state;
}

async function waitForState(net: Net, state: string): Promise<void> {
  await waitFor(`${net.cpId} ${state}`, async () => (await cpState(net)) === state, 30_000);
}

async function admin(net: Net, path: string): Promise<void> {
  const res = await fetch(`${net.central.httpUrl}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ reason: "ocpp test" }),
  });
  assert.ok(res.ok, `${path}: ${res.status} ${await res.text()}`);
}

const now = () => new Date().toISOString();
const meter = (transactionId: number, wh: number) => ({
  connectorId: 1,
  transactionId,
  meterValue: [{
    timestamp: now(),
    sampledValue: [
      { value: String(wh), measurand: "Energy.Active.Import.Register", unit: "Wh" },
      { value: "7400", measurand: "Power.Active.Import", unit: "W" },
    ],
  }],
});

/** The charger authorizes and starts for the test's driver; returns the transaction id. */
async function startCharging(net: Net, charger: Charger, meterStart = 1000): Promise<number> {
  const auth = await charger.call("Authorize", { idTag: net.driverId });
  assert.deepEqual(auth, { idTagInfo: { status: "Accepted" } });
  const start = await charger.call("StartTransaction", {
    connectorId: 1,
    idTag: net.driverId,
    meterStart,
    timestamp: now(),
  });
  assert.deepEqual(start.idTagInfo, { status: "Accepted" });
  return start.transactionId as number;
}

/**
 * A charger boots, charges for the test's driver until a SUPPLY reaches it, then drops its
 * connection mid-session; returns the transaction id.
 */
async function chargeThenDrop(net: Net): Promise<number> {
  const first = await bootedCharger(net);
  const tx = await startCharging(net, first, 0);
  await first.call("MeterValues", meter(tx, 1000));
  await waitFor("SUPPLY", () => net.wire.of("SUPPLY").length >= 1);
  await first.close();
  return tx;
}

/**
 * An OCPP test: its own Registry, Central, gateway and Kafka view (`withNet`). The sanitizers are
 * off because kafkajs and ocpp-rpc keep timers and sockets a tick past their close.
 */
function ocppTest(name: string, test: (net: Net) => Promise<void>): void {
  Deno.test({ name, sanitizeOps: false, sanitizeResources: false, fn: () => withNet(test) });
}

/** A charger booted with its connector available, once Central shows the CP `ACTIVATED`. */
async function bootedCharger(net: Net): Promise<Charger> {
  const charger = new Charger(net);
  await charger.boot();
  await waitForState(net, "ACTIVATED");
  return charger;
}

ocppTest(
  "ocpp: boot → authorize → start → meter values → stop bills once and tickets the driver",
  async (net) => {
    const charger = await bootedCharger(net);
    const shown = await (await fetch(`${net.central.httpUrl}/cps/${net.cpId}`)).json();
    assert.equal(shown.protocol, "ocpp1.6", "Central shows the charger protocol");
    assert.equal(await charger.call("Heartbeat", {}).then((r) => typeof r.currentTime), "string");
    const tx = await startCharging(net, charger);
    await waitFor("AUTHORIZED", () => net.wire.of("AUTHORIZED").length === 1);
    await waitForState(net, "SUPPLYING");
    await charger.status("Charging");
    await charger.call("MeterValues", meter(tx, 3000));
    await waitFor("SUPPLY to the driver", () => net.wire.of("SUPPLY").length >= 1);
    const supply = net.wire.of("SUPPLY").at(-1)!;
    assert.deepEqual([supply.kwh, supply.kw, supply.eur], [2, 7.4, 1]);
    const stop = await charger.call("StopTransaction", {
      transactionId: tx,
      meterStop: 5000,
      timestamp: now(),
      reason: "EVDisconnected",
    });
    assert.deepEqual(stop, { idTagInfo: { status: "Accepted" } });
    await charger.status("Available");
    await waitFor("TICKET", () => net.wire.of("TICKET").length === 1);
    const ticket = net.wire.of("TICKET")[0];
    assert.deepEqual([ticket.kwh, ticket.eur, ticket.endReason], [4, 2, "unplugged"]);
    await waitForState(net, "ACTIVATED");
    const billed = async () => {
      const res = await fetch(`${net.central.httpUrl}/sessions?status=completed&cp=${net.cpId}`);
      const body = await res.json();
      const list: { cp_id: string; kwh: number; ended_at: string | null }[] = Array.isArray(body)
        ? body
        : body.items ?? body.sessions ?? [];
      return list.filter((s) => s.cp_id === net.cpId && s.ended_at !== null);
    };
    await waitFor("the session in /sessions", async () => (await billed()).length > 0);
    assert.deepEqual((await billed()).map((s) => s.kwh), [4], "billed once");
    assert.equal(net.wire.of("TICKET").length, 1, "one ticket only");
  },
);

ocppTest(
  "ocpp: a driver's request is RemoteStartTransaction; Central's stop is RemoteStop, " +
    "then Inoperative; resume is Operative",
  async (net) => {
    const charger = await bootedCharger(net);
    await net.wire.request(net.driverId, {
      type: "CHARGE_REQUEST",
      requestId: uniqueName("req"),
      driverId: net.driverId,
      cpId: net.cpId,
    });
    await waitFor(
      "RemoteStartTransaction",
      () => charger.calls("RemoteStartTransaction").length > 0,
    );
    assert.deepEqual(charger.calls("RemoteStartTransaction")[0], {
      connectorId: 1,
      idTag: net.driverId,
    });
    const start = await charger.call("StartTransaction", {
      connectorId: 1,
      idTag: net.driverId,
      meterStart: 0,
      timestamp: now(),
    });
    const tx = start.transactionId as number;
    await charger.call("MeterValues", meter(tx, 1500));
    await waitFor("SUPPLY to the driver", () => net.wire.of("SUPPLY").length >= 1);

    await admin(net, `/cps/${net.cpId}/stop`);
    await waitFor(
      "RemoteStopTransaction",
      () => charger.calls("RemoteStopTransaction").length > 0,
    );
    assert.deepEqual(charger.calls("RemoteStopTransaction")[0], { transactionId: tx });
    await charger.call("StopTransaction", {
      transactionId: tx,
      meterStop: 2000,
      timestamp: now(),
      reason: "Remote",
    });
    await waitFor("Inoperative", () => charger.calls("ChangeAvailability").length > 0);
    assert.deepEqual(charger.calls("ChangeAvailability")[0], {
      connectorId: 0,
      type: "Inoperative",
    });
    const order = charger.received.map((c) => c.method);
    assert.ok(order.indexOf("RemoteStopTransaction") < order.indexOf("ChangeAvailability"));
    await charger.status("Unavailable", 0);
    await waitFor("TICKET", () => net.wire.of("TICKET").length === 1);
    const ticket = net.wire.of("TICKET")[0];
    assert.deepEqual([ticket.kwh, ticket.endReason], [2, "stopped_admin"]);
    await waitForState(net, "STOPPED");

    await admin(net, `/cps/${net.cpId}/resume`);
    await waitFor("Operative", () => charger.calls("ChangeAvailability").length === 2);
    assert.deepEqual(charger.calls("ChangeAvailability")[1], {
      connectorId: 0,
      type: "Operative",
    });
    await charger.status("Available", 0);
    await waitForState(net, "ACTIVATED");
  },
);

ocppTest(
  "ocpp: a weather alert stops the charging session like Central's stop",
  async (net) => {
    const charger = await bootedCharger(net);
    const tx = await startCharging(net, charger, 0);
    await waitForState(net, "SUPPLYING");
    const res = await fetch(`${net.central.httpUrl}/weather/alert`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${WEATHER_KEY}` },
      body: JSON.stringify({
        cp_id: net.cpId,
        city: "Alicante",
        temperature: -3,
        status: "alert",
      }),
    });
    assert.ok(res.ok, await res.text());
    await waitFor(
      "RemoteStopTransaction",
      () => charger.calls("RemoteStopTransaction").length > 0,
    );
    await charger.call("StopTransaction", {
      transactionId: tx,
      meterStop: 800,
      timestamp: now(),
      reason: "Remote",
    });
    await waitFor("TICKET", () => net.wire.of("TICKET").length === 1);
    assert.equal(net.wire.of("TICKET")[0].endReason, "stopped_weather");
    assert.equal(net.wire.of("TICKET")[0].kwh, 0.8);
    await waitFor("Inoperative", () => charger.calls("ChangeAvailability").length > 0);
    await waitForState(net, "STOPPED");
  },
);

ocppTest(
  "ocpp: a Faulted connector shows BROKEN; Available again shows ACTIVATED",
  async (net) => {
    const charger = await bootedCharger(net);
    await charger.call("StatusNotification", {
      connectorId: 1,
      errorCode: "GroundFailure",
      status: "Faulted",
    });
    await waitForState(net, "BROKEN");
    await charger.status("Available");
    await waitForState(net, "ACTIVATED");
    await charger.close();
    await waitForState(net, "DISCONNECTED");
  },
);

ocppTest(
  "ocpp: a charger that drops and replays its queued messages is billed once, same " +
    "transaction id",
  async (net) => {
    const tx = await chargeThenDrop(net);
    await waitForState(net, "DISCONNECTED");

    const again = new Charger(net);
    await again.boot();
    // The transaction started before the drop is still this one.
    const repeat = await again.call("StartTransaction", {
      connectorId: 1,
      idTag: net.driverId,
      meterStart: 0,
      timestamp: now(),
    });
    assert.equal(repeat.transactionId, tx);
    const queued = [meter(tx, 2000), meter(tx, 3000)];
    for (const m of queued) await again.call("MeterValues", m);
    const stop = {
      transactionId: tx,
      meterStop: 3500,
      timestamp: now(),
      reason: "EVDisconnected",
    };
    await again.call("StopTransaction", stop);
    await again.call("StopTransaction", stop); // its answer lost: the charger sends it again
    await waitFor("TICKET", () => net.wire.of("TICKET").length >= 1);
    // A positive marker after the replays: a fresh heartbeat round trip and the CP free.
    await waitForState(net, "ACTIVATED");
    assert.equal(net.wire.of("TICKET").length, 1, "billed once");
    assert.equal(net.wire.of("TICKET")[0].kwh, 3.5);
  },
);

ocppTest(
  "ocpp: malformed and unknown calls get CALLERROR and the gateway stays up",
  async (net) => {
    const charger = new Charger(net, { strict: false });
    await charger.boot();
    const errorOf = (p: Promise<unknown>) =>
      p.then(() => "no error", (e: { rpcErrorCode?: string }) => e.rpcErrorCode ?? String(e));
    const refusals: [method: string, params: Record<string, unknown>, code: string][] = [
      // The OCPP 1.6J errata spell it so (the 1.6 spec's "Occurence" was a typo).
      ["BootNotification", { chargePointVendor: 5 }, "OccurrenceConstraintViolation"],
      [
        "BootNotification",
        { chargePointVendor: 5, chargePointModel: "M" },
        "TypeConstraintViolation",
      ],
      ["MakeCoffee", {}, "NotImplemented"],
      [
        "StatusNotification",
        { connectorId: 99, errorCode: "NoError", status: "Available" },
        "PropertyConstraintViolation",
      ],
      [
        "StatusNotification",
        { connectorId: 1, errorCode: "NoError", status: "Exploded" },
        "PropertyConstraintViolation",
      ],
    ];
    for (const [method, params, code] of refusals) {
      assert.equal(
        await errorOf(charger.call(method, params)),
        code,
        `${method} ${JSON.stringify(params)}`,
      );
    }
    // Not even OCPP-J: garbage text on the socket.
    charger.client.sendRaw("this is not JSON");
    charger.client.sendRaw('[2,"x"]');
    const alive = await charger.call("Heartbeat", {});
    assert.equal(typeof alive.currentTime, "string");
    // A second charger still gets in.
    const other = new Charger(net);
    await other.boot();
  },
);

ocppTest(
  "ocpp: a wrong password or an unknown id is refused with 401 at the upgrade",
  async (net) => {
    const refused = async (options: { password?: string; identity?: string }) => {
      const charger = new Charger(net, options);
      const error = await charger.client.connect().then(
        () => undefined,
        (e: Error & { statusCode?: number }) => e,
      );
      assert.ok(error, "the connection must be refused");
      assert.match(error.message, /401|Unauthorized/);
    };
    await refused({ password: "not-the-credential" });
    await refused({ identity: uniqueName("NOPE") });
    await refused({ password: "" });
    // The right pair still gets in afterwards.
    const charger = new Charger(net);
    await charger.boot();
  },
);

ocppTest(
  "ocpp: after a gateway restart the charger's replayed StopTransaction bills its meter once",
  async (net) => {
    const tx = await chargeThenDrop(net);
    await net.restartGateway();

    const again = new Charger(net);
    await again.boot();
    await waitForState(net, "SUPPLYING"); // the session came back with the gateway
    const stop = { transactionId: tx, meterStop: 2500, timestamp: now(), reason: "Local" };
    assert.deepEqual(await again.call("StopTransaction", stop), {
      idTagInfo: { status: "Accepted" },
    });
    await waitFor("TICKET", () => net.wire.of("TICKET").length >= 1);
    await waitForState(net, "ACTIVATED");
    assert.equal(net.wire.of("TICKET").length, 1, "billed once");
    assert.deepEqual([net.wire.of("TICKET")[0].kwh, net.wire.of("TICKET")[0].endReason], [
      2.5,
      "unplugged",
    ]);
  },
);

ocppTest(
  "ocpp: a stranger's wrong passwords from other addresses never lock the charger out",
  async (net) => {
    const charger = await bootedCharger(net);
    await charger.close();
    await waitForState(net, "DISCONNECTED");
    // Each stranger address stays under the gateway's per-address limit; together they try
    // more wrong passwords for this id than the Registry allows per (id, gateway address).
    const answers: string[] = [];
    for (const from of ["127.0.0.2", "127.0.0.3", "127.0.0.4"]) {
      for (let i = 0; i < 4; i++) {
        const stranger = new Charger(net, { password: `wrong-${from}-${i}`, from });
        answers.push(
          await stranger.client.connect().then(() => "in", (e: Error) => e.message),
        );
      }
    }
    assert.ok(answers.every((a) => /401|429|Unauthorized|Too Many/.test(a)), String(answers));
    assert.ok(answers.some((a) => /429|Too Many/.test(a)), "the gateway stops asking");
    const back = new Charger(net);
    await back.boot();
    await waitForState(net, "ACTIVATED"); // its monitor still logs in at the Registry
  },
);

ocppTest(
  "ocpp: a Central restarted while the charger is away still shows its protocol",
  async (net) => {
    const charger = await bootedCharger(net);
    await charger.close(); // the gateway logs its CP out: nobody tells Central again
    await waitForState(net, "DISCONNECTED");
    await net.restartCentral();
    const shown = await (await fetch(`${net.central.httpUrl}/cps/${net.cpId}`)).json();
    assert.deepEqual([shown.state, shown.protocol], ["DISCONNECTED", "ocpp1.6"]);
    const snapshot = await (await fetch(`${net.central.httpUrl}/snapshot`)).json();
    const tile = snapshot.cps.find((c: { id: string }) => c.id === net.cpId);
    assert.equal(tile?.protocol, "ocpp1.6", "the dashboard's badge");
  },
);

/** The CP as Central's REST shows it. */
async function cpView(net: Net): Promise<{ state: string; stop_reason: string | null }> {
  return await (await fetch(`${net.central.httpUrl}/cps/${net.cpId}`)).json();
}

/** Waits until Central shows the CP STOPPED for the charger's own maintenance. */
async function waitForMaintenance(net: Net): Promise<void> {
  await waitFor(`${net.cpId} STOPPED for maintenance`, async () => {
    const cp = await cpView(net);
    return cp.state === "STOPPED" && cp.stop_reason === "maintenance";
  }, 30_000);
}

/** A charger that comes back and boots, saying nothing of its connectors. */
async function bootSilently(net: Net): Promise<Charger> {
  const charger = new Charger(net);
  await charger.client.connect();
  await charger.call("BootNotification", { chargePointVendor: "Acme", chargePointModel: "W-1" });
  return charger;
}

ocppTest(
  "ocpp: a charger's own Unavailable holds the CP STOPPED for maintenance until it reports " +
    "Available, across its reconnects, an admin resume and a gateway restart",
  async (net) => {
    const first = await bootedCharger(net);
    await first.status("Unavailable", 0);
    await waitForMaintenance(net);
    // Central's resume cannot lift it: only the charger's operator can.
    await admin(net, `/cps/${net.cpId}/resume`);
    assert.deepEqual(await cpView(net).then((c) => [c.state, c.stop_reason]), [
      "STOPPED",
      "maintenance",
    ]);
    await first.close();
    await waitForState(net, "DISCONNECTED");

    // Back with a boot and no status at all: still out of service, after the new login.
    const again = await bootSilently(net);
    await waitFor("the charger's new login", async () => {
      const login = await fetch(`${net.central.httpUrl}/security/${net.cpId}`);
      return (await login.json()).state !== "DISCONNECTED";
    }, 30_000);
    await waitForMaintenance(net);
    await again.close();
    await waitForState(net, "DISCONNECTED");

    await net.restartGateway();
    const third = await bootSilently(net);
    await waitForMaintenance(net);
    assert.equal(third.calls("ChangeAvailability").length, 0, "never made Inoperative");

    await third.status("Available", 0);
    await waitForState(net, "ACTIVATED");
    const audit = await (await fetch(`${net.central.httpUrl}/audit?action=cp.maintenance`))
      .json();
    assert.deepEqual(
      audit.items.map((r: { params: { on: boolean } }) => r.params.on).reverse(),
      [true, false],
      "asked once on, once off",
    );
  },
);
