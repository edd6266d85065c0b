import assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../shared/config.ts";
import { centralConfig } from "./config.ts";

Deno.test("config: defaults", () => {
  const config = parseConfig(centralConfig, [], {});
  assert.equal(config.tcpPort, 7000);
  assert.equal(config.httpPort, 8080);
  assert.deepEqual(config.brokers, ["127.0.0.1:9092"]);
  assert.equal(config.db, "data/central.db");
  assert.equal(config.registryUrl, "https://127.0.0.1:8443");
  assert.equal(config.heartbeatTimeoutMs, 3000);
  assert.equal(config.stopWaitMs, 10_000);
  assert.equal(config.plugWaitMs, 120_000);
  assert.equal(config.noTui, false);
  assert.equal(config.adminToken, undefined);
  assert.equal(config.cert, "certs/server.pem");
  assert.equal(config.key, "certs/server.key");
});

Deno.test("config: --cert and --key name Central's certificate, like the Registry's", () => {
  const config = parseConfig(centralConfig, ["--cert", "/c/central.pem"], {
    CENTRAL_TLS_KEY: "/c/central.key",
  });
  assert.equal(config.cert, "/c/central.pem");
  assert.equal(config.key, "/c/central.key");
});

Deno.test("config: --rest-tls is auto by default, always forces HTTPS, anything else is refused", () => {
  assert.equal(parseConfig(centralConfig, [], {}).restTls, "auto");
  assert.equal(parseConfig(centralConfig, ["--rest-tls", "always"], {}).restTls, "always");
  assert.equal(parseConfig(centralConfig, [], { CENTRAL_REST_TLS: "always" }).restTls, "always");
  assert.throws(() => parseConfig(centralConfig, ["--rest-tls", "never"], {}), ConfigError);
});

Deno.test("config: the brief's positional arguments are TCP port, broker, database", () => {
  const config = parseConfig(centralConfig, ["7100", "kafka:9092", "/tmp/c.db"], {});
  assert.deepEqual([config.tcpPort, config.brokers, config.db], [
    7100,
    ["kafka:9092"],
    "/tmp/c.db",
  ]);
});

Deno.test("config: flags beat the environment, which beats defaults", () => {
  const env = { KAFKA_BROKERS: "a:1,b:2", CENTRAL_HTTP_PORT: "9000", CENTRAL_NO_TUI: "1" };
  const config = parseConfig(centralConfig, ["--http-port", "0", "--heartbeat-timeout", "2s"], env);
  assert.deepEqual(config.brokers, ["a:1", "b:2"]);
  assert.equal(config.httpPort, 0);
  assert.equal(config.heartbeatTimeoutMs, 2000);
  assert.equal(config.noTui, true);
});

Deno.test("config: bad values are refused", () => {
  assert.throws(() => parseConfig(centralConfig, ["--registry-url", "ftp://x"], {}), ConfigError);
  assert.throws(() => parseConfig(centralConfig, ["70000"], {}), ConfigError);
  assert.throws(() => parseConfig(centralConfig, ["--nope"], {}), ConfigError);
});

const TOKEN = "given-admin-token-0123456789-abcd";

Deno.test("config: CENTRAL_ADMIN_TOKEN under 32 characters is a clear error", () => {
  assert.throws(
    () => parseConfig(centralConfig, [], { CENTRAL_ADMIN_TOKEN: "too-short-token" }),
    /admin-token.*at least 32 characters/s,
  );
  assert.equal(
    parseConfig(centralConfig, [], { CENTRAL_ADMIN_TOKEN: TOKEN }).adminToken,
    TOKEN,
  );
});
