import assert from "node:assert/strict";
import { iso } from "./draft.ts";

Deno.test("draft: iso is the Date's ISO string, the same instant again or not", () => {
  const instants = [0, 0, 1_796_000_000_123, 1_796_000_000_123, 1_796_000_000_124, 0, -1];
  for (const ms of instants) assert.equal(iso(ms), new Date(ms).toISOString());
});
