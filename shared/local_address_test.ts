import assert from "node:assert/strict";
import { localAddressToward, plainIp } from "./local_address.ts";

Deno.test("localAddressToward: the local end of a connection to a listener on loopback", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = listener.accept().then((conn) => conn.close());
  try {
    const address = await localAddressToward({ host: "127.0.0.1", port: listener.addr.port });
    assert.equal(address, "127.0.0.1");
    await accepted;
  } finally {
    listener.close();
  }
});

Deno.test("localAddressToward: nothing when nobody listens", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close(); // the port is free now: the connection is refused
  assert.equal(await localAddressToward({ host: "127.0.0.1", port }), undefined);
});

Deno.test("plainIp: an IPv4-mapped address as plain IPv4, any other host unchanged", () => {
  assert.equal(plainIp("::ffff:127.0.0.1"), "127.0.0.1");
  assert.equal(plainIp("::FFFF:10.77.0.2"), "10.77.0.2");
  assert.equal(plainIp("::1"), "::1");
  assert.equal(plainIp("::ffff:abcd"), "::ffff:abcd");
  assert.equal(plainIp("192.168.1.4"), "192.168.1.4");
});
