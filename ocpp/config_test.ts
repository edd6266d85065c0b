import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../shared/config.ts";
import { DEFAULT_OCPP_PORT, ocppConfig } from "./config.ts";

Deno.test("ocpp config: defaults are TLS on port 9000 with the project's certificate", () => {
  const config = parseConfig(ocppConfig, [], {});
  assert.equal(config.port, DEFAULT_OCPP_PORT);
  assert.equal(config.plainWs, false);
  assert.equal(config.certFile, "certs/server.pem");
  assert.equal(config.register, undefined);
  assert.deepEqual([config.central.host, config.central.port], ["127.0.0.1", 7000]);
});

Deno.test("ocpp config: --register takes a CP id and refuses anything else", () => {
  assert.equal(parseConfig(ocppConfig, ["--register", "OCPP-7"], {}).register, "OCPP-7");
  assert.throws(() => parseConfig(ocppConfig, ["--register", "no spaces"], {}), ConfigError);
});

Deno.test("ocpp config: the admin key is read from the environment", () => {
  const config = parseConfig(ocppConfig, [], { REGISTRY_ADMIN_KEY: "k".repeat(32) });
  assert.equal(config.registryAdminKey, "k".repeat(32));
});
