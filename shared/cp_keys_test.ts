import assert from "node:assert/strict";
import { CP_KEYS, CP_KEYS_HELP, cpKeyAction, MONITOR_KEYS, monitorKeyAction } from "./cp_keys.ts";

Deno.test("cpKeyAction: each key names one action, k/K tell the engine from the monitor", () => {
  assert.equal(cpKeyAction("k"), "kill_engine");
  assert.equal(cpKeyAction("K"), "kill_monitor");
  assert.equal(cpKeyAction("e"), "restart_engine");
  assert.equal(cpKeyAction("m"), "restart_monitor");
  assert.equal(cpKeyAction("\x03"), "quit");
  assert.equal(cpKeyAction("z"), undefined);
  const keys = Object.values(CP_KEYS);
  assert.equal(new Set(keys).size, keys.length, "no key does two things");
  for (const key of keys) assert.ok(CP_KEYS_HELP.includes(`${key} `), `help names ${key}`);
});

Deno.test("monitor menu keys: upper case under deno task cp, either case at the monitor itself", () => {
  assert.equal(cpKeyAction("M"), "maintenance");
  assert.equal(cpKeyAction("m"), "restart_monitor", "lower-case m stays the restart");
  assert.equal(cpKeyAction("S"), "status");
  assert.equal(monitorKeyAction("m"), "maintenance");
  assert.equal(monitorKeyAction("R"), "register");
  assert.equal(monitorKeyAction("d"), "deregister");
  assert.equal(monitorKeyAction("A"), "authenticate");
  assert.equal(monitorKeyAction("s"), "status");
  assert.equal(monitorKeyAction("Q"), "quit");
  assert.equal(monitorKeyAction("k"), undefined, "the engine's keys mean nothing here");
  assert.equal(monitorKeyAction("p"), undefined);
  for (const key of Object.values(MONITOR_KEYS)) {
    assert.ok(CP_KEYS_HELP.includes(`${key} `), `deno task cp's help names ${key}`);
  }
});
