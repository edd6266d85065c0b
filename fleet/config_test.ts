import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../shared/config.ts";
import { benchConfig, fleetConfig } from "./config.ts";

Deno.test("fleet config: the issue's flags, with defaults for the rest", () => {
  const c = parseConfig(fleetConfig, ["--cps", "50", "--drivers", "20", "--speed", "600"], {});
  assert.equal(c.cps, 50);
  assert.equal(c.drivers, 20);
  assert.equal(c.speed, 600);
  assert.equal(c.prefix, "FLEET");
  assert.equal(c.loginConcurrency, 8);
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
