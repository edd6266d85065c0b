import assert from "node:assert/strict";
import { parseTlsBenchArgs, renderTlsBench, tlsBenchRow } from "./bench_tls.ts";

Deno.test("bench:tls arguments: defaults, counts and JSON; a bad one is named", () => {
  assert.deepEqual(parseTlsBenchArgs([]), { connections: 200, requests: 500, json: false });
  assert.deepEqual(
    parseTlsBenchArgs(["--connections", "10", "--requests", "20", "--json"]),
    { connections: 10, requests: 20, json: true },
  );
  assert.throws(() => parseTlsBenchArgs(["--connections", "0"]), /--connections needs .* got 0/);
  assert.throws(() => parseTlsBenchArgs(["--requests", "x"]), /--requests needs .* got x/);
  assert.throws(() => parseTlsBenchArgs(["--fast"]), /unknown argument --fast/);
});

Deno.test("bench:tls figures: medians and 95th percentiles, one aligned row per server", () => {
  const row = tlsBenchRow("plain TCP", [1, 2, 3, 4, 100], [0.5, 0.5, 0.5, 0.5, 40]);
  assert.deepEqual(row, {
    server: "plain TCP",
    connectP50: 3,
    connectP95: 100,
    requestP50: 0.5,
    requestP95: 40,
  });
  const table = renderTlsBench([row, tlsBenchRow("Deno.listenTls", [44], [42.25])]).split("\n");
  assert.equal(table.length, 3);
  assert.match(table[0], /^server\s+connect p50 ms/);
  assert.match(table[1], /^plain TCP\s+3\.00\s+100\.00\s+0\.50\s+40\.00$/);
  assert.match(table[2], /^Deno\.listenTls\s+44\.00\s+44\.00\s+42\.25\s+42\.25$/);
  assert.equal(new Set(table.map((l) => l.length)).size, 1, "aligned");
});
