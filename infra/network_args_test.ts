import assert from "node:assert/strict";
import {
  centralSpec,
  cpSpec,
  driverSpec,
  networkLayout,
  registrySpec,
  weatherSpec,
} from "./network_args.ts";

const certs = { caCert: "/c/ca.pem", cert: "/c/server.pem", key: "/c/server.key" };
const ports = { registry: 8443, tcp: 7000, http: 8080 };
const secrets = { registryAdminKey: "registry-admin-secret", adminToken: "central-admin-secret" };

Deno.test("network args: Central's REST API is plain HTTP on loopback and HTTPS off it", () => {
  const local = networkLayout({ dir: "/d", certs, brokers: ["k:9092"], ports });
  assert.equal(local.centralUrl, "http://127.0.0.1:8080");
  assert.equal(local.centralHttps, false);
  const open = networkLayout({
    dir: "/d",
    certs,
    brokers: ["k1:9092", "k2:9092"],
    centralHost: "0.0.0.0",
    ports,
  });
  assert.equal(open.centralUrl, "https://localhost:8080");
  assert.equal(open.brokers, "k1:9092,k2:9092");
  assert.deepEqual(
    centralSpec(open, secrets).args.slice(4, 8),
    ["--host", "0.0.0.0", "--broker", "k1:9092,k2:9092"],
  );
});

Deno.test("network args: secrets travel in the environment, never on a command line", () => {
  const layout = networkLayout({ dir: "/d", certs, brokers: ["k:9092"], ports });
  const plan = { id: "CP-001", location: "Madrid", priceEurKwh: 0.3, powerKw: 22 };
  const specs = [
    registrySpec(layout, secrets),
    centralSpec(layout, secrets),
    weatherSpec(layout, { port: 8090, locationsFile: "/d/weather_locations.json" }),
    cpSpec(layout, secrets, plan),
    driverSpec(layout, { id: "DRV-001", file: "/d/plan.txt" }),
  ];
  for (const spec of specs) {
    for (const arg of spec.args) {
      assert.ok(!arg.includes("secret"), `${spec.name} shows a secret in ${arg}`);
    }
  }
  assert.equal(specs[0].env?.REGISTRY_ADMIN_KEY, secrets.registryAdminKey);
  assert.equal(specs[1].env?.CENTRAL_ADMIN_TOKEN, secrets.adminToken);
  assert.equal(specs[3].env?.REGISTRY_ADMIN_KEY, secrets.registryAdminKey);
});

Deno.test("network args: a plan's own flags come last, after every default they may override", () => {
  const layout = networkLayout({ dir: "/d", certs, brokers: ["k:9092"], logLevel: "debug", ports });
  const cp = cpSpec(layout, secrets, {
    id: "CP-002",
    location: "Lugo",
    priceEurKwh: 0.25,
    powerKw: 50,
    args: ["--target-kwh", "2"],
  });
  assert.deepEqual(cp.args.slice(-4), ["--log-level", "debug", "--target-kwh", "2"]);
  assert.ok(cp.keys, "a CP reads the supervisor's keys on its input");
  const driver = driverSpec(layout, {
    id: "DRV-2",
    file: "/p",
    loop: true,
    args: ["--pause", "1s"],
  });
  assert.deepEqual(driver.args.slice(-5), ["--loop", "--log-level", "debug", "--pause", "1s"]);
  const central = centralSpec(layout, secrets, {
    supervisorUrl: "http://127.0.0.1:8099",
    args: ["--heartbeat-timeout", "2s"],
    denoFlags: ["--cpu-prof"],
  });
  assert.deepEqual(central.args.slice(-4), [
    "--supervisor-url",
    "http://127.0.0.1:8099",
    "--heartbeat-timeout",
    "2s",
  ]);
  assert.equal(central.permissions.at(-1), "--cpu-prof");
});

Deno.test("network args: a keyboard CP and an interactive driver read keys on their input", () => {
  const layout = networkLayout({ dir: "/d", certs, brokers: ["k:9092"], ports });
  const plan = { id: "CP-003", location: "Lugo", priceEurKwh: 0.25, powerKw: 50 };
  assert.ok(cpSpec(layout, secrets, plan).args.includes("--headless"), "plugs in by itself");
  const keyboard = cpSpec(layout, secrets, { ...plan, headless: false });
  assert.ok(!keyboard.args.includes("--headless"), "plugged in only with the p key");
  assert.ok(keyboard.keys);
  const fromFile = driverSpec(layout, { id: "DRV-3", file: "/p" });
  assert.ok(fromFile.args.includes("--file") && !fromFile.keys);
  const interactive = driverSpec(layout, { id: "DRV-4" });
  assert.ok(!interactive.args.includes("--file"), "no file: interactive");
  assert.ok(interactive.keys, "its commands arrive on its input");
});
