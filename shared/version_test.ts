import assert from "node:assert/strict";
import { EVCHARGING_VERSION, helpOrVersion, parseProgramArgs, versionLine } from "./version.ts";
import { printHelpOrVersion } from "./version.ts";

Deno.test("versionLine: the program, the version and Deno's", () => {
  assert.equal(
    versionLine("compile"),
    `compile ${EVCHARGING_VERSION} (EVCharging, Deno ${Deno.version.deno})`,
  );
});

Deno.test("helpOrVersion: -h and --help give the usage, --version the version line", () => {
  assert.equal(helpOrVersion("test", "Usage: test", ["-h"]), "Usage: test");
  assert.equal(helpOrVersion("test", "Usage: test", ["a_test.ts", "--help"]), "Usage: test");
  assert.equal(helpOrVersion("test", "Usage: test", ["--version"]), versionLine("test"));
});

Deno.test("helpOrVersion: nothing for other arguments, nor for what follows --", () => {
  assert.equal(helpOrVersion("test", "Usage: test", []), undefined);
  assert.equal(helpOrVersion("test", "Usage: test", ["--filter", "x"]), undefined);
  assert.equal(helpOrVersion("test", "Usage: test", ["--", "--help", "--version"]), undefined);
});

Deno.test("parseProgramArgs: the flags' values, or the exit code after printing help, version or a bad flag", () => {
  const printed: string[] = [];
  const { log, error } = console;
  console.log = console.error = (line: string) => printed.push(line);
  try {
    const options = { dir: { type: "string" } } as const;
    const parsed = parseProgramArgs("p", "Usage: p", ["--dir", "d"], options);
    assert.deepEqual("values" in parsed && { ...parsed.values }, { dir: "d" });
    assert.deepEqual(parseProgramArgs("p", "Usage: p", ["-h"], options), { exit: 0 });
    assert.deepEqual(parseProgramArgs("p", "Usage: p", ["--version"], options), { exit: 0 });
    assert.deepEqual(parseProgramArgs("p", "Usage: p", ["--bad"], options), { exit: 2 });
    assert.deepEqual(parseProgramArgs("p", "Usage: p", ["x"], options), { exit: 2 });
  } finally {
    console.log = log;
    console.error = error;
  }
  assert.equal(printed[0], "Usage: p");
  assert.equal(printed[1], versionLine("p"));
  assert.match(printed[2], /^p: .*--bad.*\n\nUsage: p$/s);
});

Deno.test("printHelpOrVersion: prints the answer and says so; nothing for other arguments", () => {
  const printed: unknown[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => void printed.push(...parts);
  try {
    assert.equal(printHelpOrVersion("test", "Usage: test", ["--help"]), true);
    assert.equal(printHelpOrVersion("test", "Usage: test", ["--filter", "x"]), false);
  } finally {
    console.log = log;
  }
  assert.deepEqual(printed, ["Usage: test"]);
});
