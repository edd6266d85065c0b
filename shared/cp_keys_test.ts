import assert from "node:assert/strict";
import { CP_KEYS, CP_KEYS_HELP, cpKeyAction } from "./cp_keys.ts";

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
