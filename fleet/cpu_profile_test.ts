import assert from "node:assert/strict";
import { type CpuProfile, hotFunctions } from "./cpu_profile.ts";

const frame = (functionName: string, url = "", lineNumber = 0) => ({
  functionName,
  url,
  lineNumber,
  columnNumber: 0,
});

Deno.test("hotFunctions: self time per function, heaviest first, idle left out", () => {
  const profile: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame("(root)") },
      { id: 2, callFrame: frame("(idle)") },
      { id: 3, callFrame: frame("render", "http://x/app.js", 9) },
      { id: 4, callFrame: frame("", "http://x/app.js", 19) },
      { id: 5, callFrame: frame("(program)") },
    ],
    // Each sample lasts until the next: 3 → 1 ms, 3 → 2 ms, 2 → 5 ms, 4 → 1 ms, 5 → 1 ms.
    samples: [3, 3, 2, 4, 5, 3],
    timeDeltas: [0, 1000, 2000, 5000, 1000, 1000],
  };
  assert.deepEqual(hotFunctions(profile), [
    { name: "render", where: "app.js:10:1", self_ms: 3, share: 0.6 },
    { name: "(anonymous)", where: "app.js:20:1", self_ms: 1, share: 0.2 },
    { name: "(program)", where: "", self_ms: 1, share: 0.2 },
  ]);
  assert.equal(hotFunctions(profile, 1).length, 1);
});

Deno.test("hotFunctions: an empty profile has no hot function", () => {
  assert.deepEqual(hotFunctions({ nodes: [] }), []);
});
