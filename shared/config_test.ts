import assert from "node:assert/strict";
import {
  brokerList,
  ConfigError,
  decimal,
  defineConfig,
  duration,
  flag,
  formatUsage,
  HelpRequested,
  hostPort,
  httpUrl,
  integer,
  langOption,
  oneOf,
  option,
  parseConfig,
  port,
  secret,
  text,
  VersionRequested,
} from "./config.ts";
import { EVCHARGING_VERSION } from "./version.ts";

const spec = defineConfig({
  name: "central",
  summary: "Supervises the charging network.",
  options: {
    port: option(port, {
      flag: "port",
      env: "CENTRAL_PORT",
      position: 0,
      default: 8080,
      help: "HTTP port",
    }),
    brokers: option(brokerList, {
      flag: "broker",
      env: "KAFKA_BROKERS",
      position: 1,
      default: ["127.0.0.1:9092"],
      help: "Kafka brokers",
    }),
    db: option(text, {
      flag: "db",
      env: "CENTRAL_DB",
      position: 2,
      default: "data/central.db",
      help: "SQLite path",
    }),
    adminToken: option(text, {
      flag: "admin-token",
      env: "CENTRAL_ADMIN_TOKEN",
      secret: true,
      optional: true,
      help: "Admin token",
    }),
    noTui: flag({ flag: "no-tui", env: "NO_TUI", help: "Run headless" }),
  },
});

Deno.test("parseConfig gives defaults when nothing is set", () => {
  const config = parseConfig(spec, [], {});
  assert.deepEqual(config, {
    port: 8080,
    brokers: ["127.0.0.1:9092"],
    db: "data/central.db",
    adminToken: undefined,
    noTui: false,
  });
});

Deno.test("parseConfig prefers flag over positional over env over default", () => {
  const env = { CENTRAL_PORT: "7001", KAFKA_BROKERS: "k1:9092,k2:9093" };
  assert.equal(parseConfig(spec, [], env).port, 7001);
  assert.equal(parseConfig(spec, ["7002"], env).port, 7002);
  assert.equal(parseConfig(spec, ["7002", "--port", "7003"], env).port, 7003);
  assert.deepEqual(parseConfig(spec, [], env).brokers, ["k1:9092", "k2:9093"]);
});

Deno.test("parseConfig accepts the original brief's positional style", () => {
  const config = parseConfig(spec, ["9000", "10.0.0.5:9092", "/tmp/c.db"], {});
  assert.equal(config.port, 9000);
  assert.deepEqual(config.brokers, ["10.0.0.5:9092"]);
  assert.equal(config.db, "/tmp/c.db");
});

Deno.test("parseConfig reads switches from flags and the environment", () => {
  assert.equal(parseConfig(spec, ["--no-tui"], {}).noTui, true);
  assert.equal(parseConfig(spec, [], { NO_TUI: "yes" }).noTui, true);
  assert.equal(parseConfig(spec, [], { NO_TUI: "0" }).noTui, false);
});

Deno.test("parseConfig names the flag, its env variable and the bad value", () => {
  assert.throws(
    () => parseConfig(spec, ["--port", "http"], {}),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.message === '--port (env CENTRAL_PORT): expected a TCP port 1–65535, got "http"',
  );
  assert.throws(
    () => parseConfig(spec, [], { KAFKA_BROKERS: "localhost" }),
    /--broker \(env KAFKA_BROKERS\): expected host:port brokers, comma-separated \(bad entry "localhost"\)/,
  );
});

Deno.test("parseConfig never echoes a secret value in its error", () => {
  assert.throws(
    () => parseConfig(spec, ["--admin-token", "  "], {}),
    (e: unknown) => e instanceof ConfigError && !e.message.includes('"  "'),
  );
});

Deno.test("parseConfig rejects unknown flags, missing values and extra arguments", () => {
  assert.throws(() => parseConfig(spec, ["--prot", "1"], {}), /unknown flag --prot/);
  assert.throws(() => parseConfig(spec, ["--port"], {}), /--port needs a value/);
  assert.throws(
    () => parseConfig(spec, ["--port", "-1"], {}),
    /--port needs a value \(one that starts with "-" is written --port=-1\)/,
  );
  assert.throws(
    () => parseConfig(spec, ["1", "a:1", "db", "extra"], {}),
    /unexpected argument "extra"/,
  );
});

Deno.test("parseConfig reports a missing required option with its help", () => {
  const required = defineConfig({
    name: "monitor",
    summary: "CP monitor.",
    options: { cpId: option(text, { flag: "cp-id", env: "CP_ID", help: "The CP id" }) },
  });
  assert.throws(
    () => parseConfig(required, [], {}),
    /--cp-id \(env CP_ID\) is required: The CP id/,
  );
  assert.equal(parseConfig(required, [], { CP_ID: "CP-1" }).cpId, "CP-1");
});

Deno.test("parseConfig signals --help with the usage text", () => {
  assert.throws(
    () => parseConfig(spec, ["--help"], {}),
    (e: unknown) => e instanceof HelpRequested && e.usage.includes("--broker <value>"),
  );
});

Deno.test("parseConfig: -h is --help, --version signals the program's version", () => {
  assert.throws(() => parseConfig(spec, ["-h"], {}), HelpRequested);
  assert.throws(
    () => parseConfig(spec, ["--version"], {}),
    (e: unknown) =>
      e instanceof VersionRequested && e.text.startsWith(`central ${EVCHARGING_VERSION} `),
  );
  assert.match(formatUsage(spec), /-h, --help .*\n.*--version/);
});

Deno.test("defineConfig refuses an option that takes --help or --version", () => {
  for (const taken of ["help", "version"]) {
    assert.throws(
      () =>
        defineConfig({ name: "x", summary: "x", options: { a: flag({ flag: taken, help: "a" }) } }),
      /already taken/,
    );
  }
});

Deno.test("formatUsage lists env variables and defaults but never a secret's default", () => {
  const usage = formatUsage(spec);
  assert.match(usage, /Usage: central \[options\] \[port\] \[broker\] \[db\]/);
  assert.match(usage, /--port <value>\s+HTTP port \(env CENTRAL_PORT; default 8080\)/);
  assert.match(usage, /--no-tui\s+Run headless \(env NO_TUI\)/);
});

Deno.test("defineConfig rejects duplicate flags and positions", () => {
  assert.throws(
    () =>
      defineConfig({
        name: "x",
        summary: "x",
        options: {
          a: option(text, { flag: "same", help: "a", optional: true }),
          b: option(text, { flag: "same", help: "b", optional: true }),
        },
      }),
    /flag --same is already taken/,
  );
  assert.throws(
    () =>
      defineConfig({
        name: "x",
        summary: "x",
        options: { a: option(text, { flag: "Bad_Flag", help: "a", optional: true }) },
      }),
    /must be lower-case kebab-case/,
  );
});

Deno.test("parsers accept good values and explain bad ones", () => {
  assert.equal(port("443"), 443);
  assert.throws(() => port("0"), /a TCP port 1–65535/);
  assert.throws(() => port("99999"), /a TCP port/);
  assert.throws(() => port("12abc"), /a TCP port/);
  assert.equal(integer(1, 10)("10"), 10);
  assert.throws(() => integer(1, 10)("11"), /an integer 1–10/);
  assert.equal(decimal(0, 5)("0.35"), 0.35);
  assert.throws(() => decimal(0, 5)("NaN"), /a number 0–5/);
  assert.equal(duration("3s"), 3000);
  assert.equal(duration("250ms"), 250);
  assert.equal(duration("2m"), 120_000);
  assert.equal(duration("40"), 40);
  assert.throws(() => duration("soon"), /a duration like/);
  assert.throws(() => duration("0s"), /a positive duration/);
  assert.deepEqual(hostPort("[::1]:7000"), { host: "::1", port: 7000 });
  assert.deepEqual(hostPort("central.lan:7000"), { host: "central.lan", port: 7000 });
  assert.throws(() => hostPort("central.lan"), /host:port/);
  assert.equal(httpUrl("https://reg.lan:8443/"), "https://reg.lan:8443");
  assert.throws(() => httpUrl("ftp://x"), /an http\(s\) URL/);
  assert.equal(oneOf(["json", "pretty"] as const)("json"), "json");
  assert.throws(() => oneOf(["json", "pretty"] as const)("xml"), /one of json, pretty/);
  assert.throws(() => text("   "), /a non-empty value/);
  assert.throws(() => parseConfig(spec, ["--port", "'; DROP TABLE cps;--"], {}), ConfigError);
});

Deno.test("secret takes a long enough value as is and names the rule, never the value", () => {
  const key = secret(16);
  assert.equal(key("0123456789abcdef"), "0123456789abcdef");
  for (const bad of ["short-key", " 0123456789abcdef", "0123456789abcdef\n"]) {
    assert.throws(() => key(bad), (error: Error) => {
      assert.equal(error.message, "a secret of at least 16 characters without spaces around it");
      return true;
    });
  }
  assert.throws(() => secret(0), RangeError);
});

Deno.test("langOption: --lang wins over LANG, LANG's locale picks the language, en by default", () => {
  const spec = defineConfig({
    name: "screen",
    summary: "A screen.",
    options: { lang: langOption },
  });
  assert.equal(parseConfig(spec, [], {}).lang, "en");
  assert.equal(parseConfig(spec, [], { LANG: "es_ES.UTF-8" }).lang, "es");
  assert.equal(parseConfig(spec, [], { LANG: "C.UTF-8" }).lang, "en");
  assert.equal(parseConfig(spec, ["--lang", "en"], { LANG: "es_ES.UTF-8" }).lang, "en");
  assert.equal(parseConfig(spec, ["--lang", "es"], {}).lang, "es");
  assert.throws(
    () => parseConfig(spec, ["--lang", "123"], {}),
    /--lang \(env LANG\): expected en or es/,
  );
});
