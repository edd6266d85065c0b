import assert from "node:assert/strict";
import { join } from "node:path";
import { formatSummary, hangMinutes, parseOverdueLine, parseSummaryLine } from "./test.ts";
import { withTempDir } from "../shared/temp_dir.ts";

Deno.test("parseSummaryLine / formatSummary: deno test's last line to the CI form", () => {
  const ok = parseSummaryLine(
    "\x1b[0m\x1b[32mok\x1b[0m | 2 passed (2 steps) | 0 failed | 1 ignored \x1b[0m\x1b[38;5;245m(11ms)\x1b[0m",
  );
  assert.deepEqual(ok, { ok: true, passed: 2, failed: 0, ignored: 1 });
  assert.equal(formatSummary(ok), "tests: 2 passed, 0 failed, 1 ignored");
  const failed = parseSummaryLine("FAILED | 5 passed | 3 failed (2s)");
  assert.deepEqual(failed, { ok: false, passed: 5, failed: 3, ignored: 0 });
  assert.equal(formatSummary(failed), "tests: 5 passed, 3 failed");
  assert.equal(parseSummaryLine("ok | this is not it"), undefined);
  assert.equal(parseSummaryLine("running 3 tests from ./a_test.ts"), undefined);
});

Deno.test("parseOverdueLine: deno test's warning about a test still running, in minutes", () => {
  const line = "a test ...\x1b[0m\x1b[1m\x1b[33m'failures: a Kafka restart' has been running for " +
    "over \x1b[0m\x1b[38;5;245m(16m0s)\x1b[0m";
  assert.deepEqual(parseOverdueLine(line), { name: "failures: a Kafka restart", minutes: 16 });
  assert.deepEqual(parseOverdueLine("'it' has been running for over (1h4m0s)"), {
    name: "it",
    minutes: 64,
  });
  assert.equal(parseOverdueLine("ok | 2 passed | 0 failed (3s)"), undefined);
});

Deno.test("hangMinutes: 8 unless TEST_HANG_MINUTES names a whole number of minutes", () => {
  assert.equal(hangMinutes(undefined), 8);
  assert.equal(hangMinutes(""), 8);
  assert.equal(hangMinutes("3"), 3);
  for (const bad of ["0", "-1", "2.5", "soon"]) {
    assert.throws(() => hangMinutes(bad), /TEST_HANG_MINUTES must be a whole number/);
  }
});

Deno.test({
  name: "deno task test stops a run whose test hangs past TEST_HANG_MINUTES, naming it, and fails",
  // The test waits for deno test's first warning, printed after a minute.
  fn: () =>
    withTempDir(async (dir) => {
      const file = join(dir, "hung_test.ts");
      // A timer keeps the event loop alive, as a socket would in a test that really hangs.
      await Deno.writeTextFile(
        file,
        'Deno.test("waits forever", () => new Promise(() => setInterval(() => {}, 1000)));\n',
      );
      const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", join(import.meta.dirname!, "test.ts"), file],
        // A broker named, so none is started: this run needs none.
        env: { TEST_HANG_MINUTES: "1", KAFKA_BROKERS: "127.0.0.1:9", NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(stderr);
      assert.notEqual(code, 0, new TextDecoder().decode(stdout));
      assert.match(err, /"waits forever" has run for over 1 min \(TEST_HANG_MINUTES 1\)/);
      assert.match(
        err,
        /no summary line from deno test \(exit \d+, stopped: "waits forever" hung\)/,
      );
    }),
});
