import assert from "node:assert/strict";
import { BodyTooLarge, readLimited } from "./http_util.ts";

Deno.test("readLimited: an answer's body up to the limit as text, past it BodyTooLarge", async () => {
  assert.equal(await readLimited(new Response("a".repeat(30)), 30), "a".repeat(30));
  assert.equal(await readLimited(new Response(null), 30), "");
  await assert.rejects(readLimited(new Response("a".repeat(31)), 30), BodyTooLarge);
});
