import assert from "node:assert/strict";
import { freePort } from "./ports.ts";

Deno.test("freePort gives a port that can be listened on at once", () => {
  const port = freePort();
  assert.ok(port > 0 && port < 65536);
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  listener.close();
});
