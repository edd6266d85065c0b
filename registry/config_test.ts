import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../shared/config.ts";
import { registryConfig } from "./config.ts";

Deno.test("registry config defaults", () => {
  assert.deepEqual(parseConfig(registryConfig, [], {}), {
    port: 8443,
    host: "0.0.0.0",
    db: "data/registry.db",
    tokenTtlMs: 600_000,
    cert: "certs/server.pem",
    key: "certs/server.key",
    adminKey: undefined,
    feedKey: undefined,
    logLevel: "info",
  });
});

Deno.test("registry config reads flags and env", () => {
  const config = parseConfig(registryConfig, [
    "--port",
    "0",
    "--token-ttl",
    "5m",
    "--db",
    "/tmp/r.db",
  ], {
    REGISTRY_HOST: "127.0.0.1",
    REGISTRY_ADMIN_KEY: "an-admin-key-0123456789",
    REGISTRY_TLS_CERT: "a.pem",
    LOG_LEVEL: "debug",
  });
  assert.deepEqual(
    [
      config.port,
      config.tokenTtlMs,
      config.db,
      config.host,
      config.adminKey,
      config.cert,
      config.logLevel,
    ],
    [0, 300_000, "/tmp/r.db", "127.0.0.1", "an-admin-key-0123456789", "a.pem", "debug"],
  );
});

Deno.test("registry config refuses a TTL over 15 minutes and a short admin key (without echoing it)", () => {
  assert.throws(() => parseConfig(registryConfig, ["--token-ttl", "16m"], {}), /token-ttl.*15m/);
  assert.throws(() => parseConfig(registryConfig, ["--token-ttl", "500ms"], {}), ConfigError);
  assert.throws(
    () => parseConfig(registryConfig, [], { REGISTRY_ADMIN_KEY: "short-secret" }),
    (error) => error instanceof ConfigError && !error.message.includes("short-secret"),
  );
});
