import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../shared/config.ts";
import {
  benchConfig,
  benchNetwork,
  defaultCredentialsDir,
  findRegistryAdminKey,
  fleetConfig,
} from "./config.ts";
import { withTempDir } from "../shared/temp_dir.ts";

Deno.test("fleet config: the issue's flags, with defaults for the rest", () => {
  const c = parseConfig(fleetConfig, ["--cps", "50", "--drivers", "20", "--speed", "600"], {});
  assert.equal(c.cps, 50);
  assert.equal(c.drivers, 20);
  assert.equal(c.speed, 600);
  assert.equal(c.prefix, "FLEET");
  assert.equal(c.loginConcurrency, undefined, "the fleet sizes it by its threads");
  assert.equal(c.credentialsDir, undefined, "main puts it under data/fleet/<prefix>/cp");
  assert.equal(String(c.central), "127.0.0.1:7000");
});

Deno.test("fleet config: a prefix that would make invalid ids is refused", () => {
  assert.throws(() => parseConfig(fleetConfig, ["--prefix", "no spaces"], {}), ConfigError);
  assert.throws(() => parseConfig(fleetConfig, ["--prefix", "x".repeat(41)], {}), ConfigError);
});

Deno.test("bench config: 1000 CPs and as many drivers as CPs unless told", () => {
  const c = parseConfig(benchConfig, ["--hold", "30s"], {});
  assert.equal(c.cps, 1000);
  assert.equal(c.drivers, undefined);
  assert.equal(c.holdMs, 30_000);
});

Deno.test("bench network: fresh unless addresses are given", () => {
  const c = parseConfig(benchConfig, [], {});
  assert.deepEqual(benchNetwork(c, false), { kind: "fresh" });
  assert.deepEqual(
    benchNetwork(c, true),
    { kind: "fresh" },
    "KAFKA_BROKERS alone: a fresh network on it",
  );
});

Deno.test("bench network: a given network with all three addresses and its Kafka", () => {
  const c = parseConfig(benchConfig, [
    "--central",
    "10.0.0.5:7000",
    "--central-url",
    "http://10.0.0.5:8080/",
    "--registry-url",
    "https://10.0.0.6:8443",
    "--central-pid",
    "4242",
  ], {});
  const network = benchNetwork(c, true);
  assert.equal(network.kind, "given");
  if (network.kind !== "given") return;
  assert.equal(String(network.central), "10.0.0.5:7000");
  assert.equal(network.centralUrl, "http://10.0.0.5:8080");
  assert.equal(network.registryUrl, "https://10.0.0.6:8443");
  assert.equal(network.group, "central");
  assert.equal(network.centralPid, 4242);
});

Deno.test("bench network: a partial or Kafka-less given network is refused, naming what is missing", () => {
  const partial = parseConfig(benchConfig, ["--central", "10.0.0.5:7000"], {});
  assert.throws(
    () => benchNetwork(partial, true),
    /needs --central-url and --registry-url too \(got --central\)/,
  );
  const whole = parseConfig(benchConfig, [
    "--central",
    "10.0.0.5:7000",
    "--central-url",
    "http://10.0.0.5:8080",
    "--registry-url",
    "https://10.0.0.6:8443",
  ], {});
  assert.throws(() => benchNetwork(whole, false), /set KAFKA_BROKERS/);
  const stray = parseConfig(benchConfig, ["--central-group", "prod"], {});
  assert.throws(() => benchNetwork(stray, true), /--central-group is for a given network/);
});

Deno.test("bench config: the Registry of a given network is spoken to over HTTPS only", () => {
  assert.throws(
    () => parseConfig(benchConfig, ["--registry-url", "http://10.0.0.6:8443"], {}),
    ConfigError,
  );
});

Deno.test("registry admin key: the given one, else the first file there is", async () => {
  await withTempDir(async (dir) => {
    const registry = `${dir}/registry_admin.key`;
    const start = `${dir}/network/registry_admin.key`;
    await Deno.mkdir(`${dir}/network`);
    await Deno.writeTextFile(start, "from-start\n");
    assert.equal(await findRegistryAdminKey("given", [registry, start]), "given");
    assert.equal(await findRegistryAdminKey(undefined, [registry, start]), "from-start");
    await Deno.writeTextFile(registry, "from-registry\n");
    assert.equal(await findRegistryAdminKey(undefined, [registry, start]), "from-registry");
    assert.equal(await findRegistryAdminKey(undefined, [`${dir}/none`]), undefined);
  });
});

Deno.test("fleet credentials: kept under data/fleet/<prefix>/cp unless told", () => {
  assert.equal(defaultCredentialsDir("BENCH"), "data/fleet/BENCH/cp");
});

Deno.test("fleet and bench config: engine links over loopback sockets unless told memory", () => {
  const parsers = [
    (args: string[]) => parseConfig(fleetConfig, args, {}).engineLinks,
    (args: string[]) => parseConfig(benchConfig, args, {}).engineLinks,
  ];
  for (const engineLinks of parsers) {
    assert.equal(engineLinks([]), "tcp");
    assert.equal(engineLinks(["--engine-links", "memory"]), "memory");
    assert.throws(
      () => engineLinks(["--engine-links", "pipes"]),
      (e: Error) => e instanceof ConfigError && /engine-links/.test(e.message),
    );
  }
});
