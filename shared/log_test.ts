import assert from "node:assert/strict";
import {
  chooseFormatter,
  emitForwarded,
  forwardable,
  type ForwardedRecord,
  getLogger,
  type LogRecord,
  lowestEnabledLevel,
  memorySink,
  REDACTED,
  setupForwardedLogging,
  setupLogging,
  stopLogging,
} from "./log.ts";

function record(properties: Record<string, unknown>): LogRecord {
  return {
    category: ["evcharging", "test"],
    level: "info",
    message: ["CP ", "CP-1", " logged in"],
    rawMessage: "CP {cpId} logged in",
    timestamp: Date.UTC(2026, 0, 1),
    properties,
  };
}

function collect(): { stream: WritableStream<Uint8Array>; text: () => string } {
  const chunks: Uint8Array[] = [];
  const stream = new WritableStream<Uint8Array>({ write: (chunk) => void chunks.push(chunk) });
  const text = () => chunks.map((c) => new TextDecoder().decode(c)).join("");
  return { stream, text };
}

Deno.test("chooseFormatter writes JSON lines when not on a terminal", () => {
  const line = chooseFormatter("auto", false)(record({ cpId: "CP-1" }));
  const parsed = JSON.parse(line);
  assert.equal(parsed.level, "INFO");
  assert.equal(parsed.logger, "evcharging.test");
  assert.equal(parsed.properties.cpId, "CP-1");
  assert.ok(line.endsWith("\n"));
});

Deno.test("chooseFormatter writes coloured readable lines on a terminal", () => {
  const line = chooseFormatter("auto", true)(record({}));
  const ESC = String.fromCharCode(27);
  assert.ok(line.includes(`${ESC}[`), "expected ANSI colour codes");
  assert.ok(
    line.replaceAll(new RegExp(`${ESC}\\[[0-9;]*m`, "g"), "").includes('CP "CP-1" logged in'),
  );
  assert.throws(() => JSON.parse(line));
});

Deno.test("chooseFormatter: NO_COLOR keeps readable lines on a terminal, without escape codes", () => {
  const line = chooseFormatter("auto", true, true)(record({}));
  assert.ok(!line.includes(String.fromCharCode(27)), line);
  assert.ok(line.includes('CP "CP-1" logged in'));
  assert.ok(line.includes("INFO"));
  assert.throws(() => JSON.parse(line), "still readable lines, not JSON");
  assert.ok(chooseFormatter("pretty", false, true)(record({})).includes('CP "CP-1" logged in'));
  assert.equal(JSON.parse(chooseFormatter("json", true, true)(record({}))).level, "INFO");
});

Deno.test("setupLogging redacts secret properties in every sink", async () => {
  const out = collect();
  const extra = memorySink();
  await setupLogging({
    format: "json",
    stream: out.stream,
    isTerminal: false,
    extraSinks: [extra],
  });
  try {
    getLogger(["evcharging", "registry"]).info("CP {cpId} authenticated", {
      cpId: "CP-1",
      credentials: "c2VjcmV0LWNyZWRlbnRpYWw",
      token: "eyJhbGciOiJFUzI1NiJ9.e30.sig",
      cpKey: "a2V5LWJ5dGVz",
      adminKey: "admin-key-value",
      keyVersion: 3,
    });
  } finally {
    await stopLogging();
  }
  const written = out.text();
  for (
    const secret of [
      "c2VjcmV0LWNyZWRlbnRpYWw",
      "eyJhbGciOiJFUzI1NiJ9",
      "a2V5LWJ5dGVz",
      "admin-key-value",
    ]
  ) {
    assert.ok(!written.includes(secret), `secret leaked: ${secret}`);
  }
  const line = JSON.parse(written.trim());
  assert.equal(line.properties.credentials, REDACTED);
  assert.equal(line.properties.keyVersion, 3);
  assert.equal(extra.records.length, 1);
  assert.equal(extra.records[0].properties.token, REDACTED);
});

Deno.test("setupLogging drops records below the chosen level", async () => {
  const out = collect();
  await setupLogging({ level: "warning", format: "json", stream: out.stream, isTerminal: false });
  try {
    const log = getLogger(["evcharging", "central"]);
    log.info("quiet");
    log.warn("loud");
  } finally {
    await stopLogging();
  }
  const lines = out.text().trim().split("\n");
  assert.equal(lines.length, 1);
  assert.equal(JSON.parse(lines[0]).message, "loud");
});

Deno.test("forwardable keeps what postMessage can copy and turns the rest into text", () => {
  const error = new Error("socket gone");
  const plain = forwardable({
    ...record({ cpId: "CP-1", error, onDone: () => {} }),
    message: ["failed: ", error, ""],
  });
  assert.deepEqual(plain.category, ["evcharging", "test"]);
  assert.equal(plain.message[1], error);
  assert.equal(plain.properties.cpId, "CP-1");
  assert.equal(plain.properties.error, error);
  assert.equal(typeof plain.properties.onDone, "string");
  // What it gives can cross a thread: structuredClone is postMessage's copy.
  structuredClone(plain);
});

Deno.test("forwardable turns a template message into its text", () => {
  const template = Object.assign(["CP ", " logged in"], { raw: ["CP ", " logged in"] });
  const plain = forwardable({ ...record({}), rawMessage: template as TemplateStringsArray });
  assert.equal(plain.rawMessage, "CP {} logged in");
});

Deno.test("a forwarded record is written by the receiving thread's sinks, redacted", async () => {
  const forwarded: ForwardedRecord[] = [];
  await setupForwardedLogging("info", (r) => forwarded.push(r));
  const log = getLogger(["evcharging", "central", "tcp"]);
  log.debug("too low to forward");
  log.warn("Login of {cpId} refused", { cpId: "CP-9", token: "abc.def.ghi" });
  assert.equal(forwarded.length, 1);

  const out = collect();
  await setupLogging({ level: "info", format: "json", stream: out.stream, isTerminal: false });
  try {
    emitForwarded(structuredClone(forwarded[0]));
  } finally {
    await stopLogging();
  }
  const line = JSON.parse(out.text().trim());
  assert.equal(line.message, 'Login of "CP-9" refused');
  assert.equal(line.logger, "evcharging.central.tcp");
  assert.equal(line.properties.token, REDACTED);
  assert.equal(line["@timestamp"], new Date(forwarded[0].timestamp).toISOString());
});

Deno.test("lowestEnabledLevel is the configured level, or fatal without a configuration", async () => {
  assert.equal(lowestEnabledLevel(), "fatal");
  await setupLogging({ level: "warning", stream: collect().stream, isTerminal: false });
  try {
    assert.equal(lowestEnabledLevel(), "warning");
  } finally {
    await stopLogging();
  }
});
