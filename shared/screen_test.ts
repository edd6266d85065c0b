import assert from "node:assert/strict";
import type { LogRecord } from "./log.ts";
import { plainLine, recentLines, renderMessage, row, withoutEscapes } from "./screen.ts";

function record(message: unknown[], level: LogRecord["level"] = "info"): LogRecord {
  return {
    category: ["evcharging"],
    level,
    message,
    rawMessage: "",
    timestamp: Date.UTC(2026, 0, 1, 12, 0, 1),
    properties: {},
  };
}

Deno.test("recentLines keeps only the last `size` lines, oldest first", () => {
  const sink = recentLines(2);
  for (const text of ["one", "two", "three"]) sink(record([text]));
  assert.deepEqual(sink.lines(), ["12:00:01 two", "12:00:01 three"]);
});

Deno.test("recentLines leaves out the records its format turns down", () => {
  const sink = recentLines(5, (r) => r.level === "debug" ? undefined : `> ${r.message[0]}`);
  sink(record(["kept"]));
  sink(record(["dropped"], "debug"));
  assert.deepEqual(sink.lines(), ["> kept"]);
});

Deno.test("recentLines refuses a size that is not a positive integer", () => {
  assert.throws(() => recentLines(0), RangeError);
  assert.throws(() => recentLines(1.5), RangeError);
});

Deno.test("plainLine names every level but info and renders placeholder values", () => {
  assert.equal(plainLine(record(["CP ", "CP-001", " up"])), "12:00:01 CP CP-001 up");
  assert.equal(plainLine(record(["n=", 3, ""], "warning")), "12:00:01 WARNING n=3");
  assert.equal(renderMessage(["failed: ", new Error("boom"), ""]), "failed: boom");
});

Deno.test("withoutEscapes drops arrow and function keys whole and keeps plain keys", () => {
  assert.equal(withoutEscapes("p\x1b[Au\x1bOPq"), "puq");
});

Deno.test("row pads the label to one column width", () => {
  assert.equal(row("State", "OK"), "  State        OK");
});
