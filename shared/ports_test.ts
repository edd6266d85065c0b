import assert from "node:assert/strict";
import { freePort, holdFreePort } from "./ports.ts";

Deno.test("freePort gives a port that can be listened on at once", () => {
  const port = freePort();
  assert.ok(port > 0 && port < 65536);
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  listener.close();
});

Deno.test("freePort never gives this process the same port twice", () => {
  // The system offers a port it just gave back again and again (~1 in 8 here).
  const ports = Array.from({ length: 2000 }, freePort);
  assert.equal(new Set(ports).size, ports.length);
});

Deno.test("holdFreePort keeps its port from others until released, once or more", () => {
  const held = holdFreePort();
  assert.throws(
    () => Deno.listen({ hostname: "127.0.0.1", port: held.port }),
    Deno.errors.AddrInUse,
  );
  held.release();
  held.release();
  Deno.listen({ hostname: "127.0.0.1", port: held.port }).close();
});

Deno.test("holdFreePort never holds a port this process was given before", () => {
  const given = new Set(Array.from({ length: 1000 }, freePort));
  for (let i = 0; i < 200; i++) {
    const held = holdFreePort();
    held.release();
    assert.ok(!given.has(held.port), `port ${held.port} was given before`);
    given.add(held.port);
  }
});
