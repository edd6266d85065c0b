import assert from "node:assert/strict";
import { IoProbe, startEchoServer } from "./io_probe.ts";

for (const transport of ["deno", "node"] as const) {
  Deno.test(`io probe (${transport}): a round trip is measured once, then counting starts afresh`, async () => {
    const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    let now = 0;
    const probe = new IoProbe(transport, () => now);
    try {
      const accepted = server.accept();
      await probe.start(server.addr.port);
      const conn = await accepted;
      const byte = new Uint8Array(1);
      await conn.read(byte); // sent at 0
      now = 7;
      await conn.write(byte); // answered at 7
      await conn.read(byte); // the next probe: the first one's answer was counted
      assert.equal(probe.take(), 7);
      assert.equal(probe.take(), 0, "taken once, then counted afresh");
      conn.close();
    } finally {
      probe.stop();
      server.close();
    }
  });
}

Deno.test("io probe: the echo server sends every byte back", async () => {
  const echo = startEchoServer();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: echo.port });
  try {
    await conn.write(new TextEncoder().encode("ping"));
    const got = new Uint8Array(4);
    let read = 0;
    while (read < 4) {
      const n = await conn.read(got.subarray(read));
      if (n === null) break;
      read += n;
    }
    assert.equal(new TextDecoder().decode(got), "ping");
  } finally {
    conn.close();
    echo.close();
  }
});

Deno.test("io probe: a byte still unanswered counts by its age", async () => {
  // A listener that accepts and never answers: the probe's byte waits.
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted = silent.accept();
  let now = 100;
  const probe = new IoProbe("deno", () => now);
  try {
    await probe.start(silent.addr.port);
    const conn = await accepted;
    await conn.read(new Uint8Array(1)); // the byte was sent
    now = 3_100;
    assert.equal(probe.take(), 3_000);
    conn.close();
  } finally {
    probe.stop();
    silent.close();
  }
});

for (const transport of ["deno", "node"] as const) {
  Deno.test(`io probe (${transport}): an echo it cannot reach leaves it off, with the error`, async () => {
    // A port just freed: nothing listens there, so the connection is refused.
    const gone = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = gone.addr.port;
    gone.close();
    const probe = new IoProbe(transport);
    try {
      const error = await probe.start(port);
      assert.ok(error instanceof Error, `expected the refusal, got ${error}`);
      assert.equal(probe.take(), 0);
    } finally {
      probe.stop();
    }
  });
}
