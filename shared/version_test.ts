import assert from "node:assert/strict";
import { EVCHARGING_VERSION, helpOrVersion, versionLine } from "./version.ts";

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
