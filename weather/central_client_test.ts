import assert from "node:assert/strict";
import { join } from "node:path";
import { createDevCertificates, writeDevCertificates } from "../infra/dev_ca.ts";
import { loadTlsFiles } from "../shared/tls.ts";
import { CentralClient } from "./central_client.ts";
import type { WeatherAlertBody } from "./core.ts";

const KEY = "weather-service-key-client-test-01";
const BODY: WeatherAlertBody = {
  cp_id: "CP-001",
  city: "Madrid",
  temperature: -1.5,
  status: "alert",
};

interface Seen {
  method: string;
  path: string;
  authorization: string | null;
  contentType: string | null;
  body: string;
}

/** A stand-in for Central that answers every request with `answer()` and records it. */
function standIn(answer: (seen: Seen) => Response | Promise<Response>) {
  const seen: Seen[] = [];
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const entry = {
      method: req.method,
      path: new URL(req.url).pathname,
      authorization: req.headers.get("authorization"),
      contentType: req.headers.get("content-type"),
      body: await req.text(),
    };
    seen.push(entry);
    return await answer(entry);
  });
  return { seen, server, url: `http://127.0.0.1:${server.addr.port}` };
}

const problem = (status: number, detail: string) =>
  Response.json({ error: "x", detail, timestamp: new Date().toISOString() }, { status });

Deno.test("POST /weather/alert: the bearer key, the exact JSON body, and each answer classified", async () => {
  let next: () => Response | Promise<Response> = () => new Response(null, { status: 204 });
  const central = standIn(() => next());
  const client = await CentralClient.create({ url: central.url, serviceKey: KEY, timeoutMs: 200 });
  try {
    assert.deepEqual(await client.sendAlert(BODY), { kind: "delivered" });
    const [request] = central.seen;
    assert.deepEqual(request, {
      method: "POST",
      path: "/weather/alert",
      authorization: `Bearer ${KEY}`,
      contentType: "application/json",
      body: JSON.stringify(BODY),
    });

    const cases: [() => Response | Promise<Response>, string, RegExp][] = [
      [() => Response.json({ ok: true }), "delivered", /.*/],
      [() => problem(404, "no CP CP-001"), "unknown_cp", /404: no CP CP-001/],
      [() => problem(401, "wrong key"), "unauthorized", /401/],
      [() => problem(403, "forbidden"), "unauthorized", /403/],
      [() => problem(400, "temperature: expected number"), "rejected", /400: temperature/],
      [() => problem(429, "slow down"), "unavailable", /429/],
      [() => new Response("oops", { status: 503 }), "unavailable", /^Central answered 503$/],
      [
        async () => {
          await new Promise((r) => setTimeout(r, 400));
          return new Response(null, { status: 204 });
        },
        "unavailable",
        /no answer within 200 ms/,
      ],
    ];
    for (const [answer, kind, detail] of cases) {
      next = answer;
      const outcome = await client.sendAlert(BODY);
      assert.equal(outcome.kind, kind, JSON.stringify(outcome));
      if ("detail" in outcome) assert.match(outcome.detail, detail);
    }
  } finally {
    client.close();
    await central.server.shutdown();
  }
  const gone = await CentralClient.create({ url: central.url, serviceKey: KEY, timeoutMs: 200 });
  const outcome = await gone.sendAlert(BODY);
  assert.equal(outcome.kind, "unavailable");
  assert.ok(!JSON.stringify(outcome).includes(KEY));
  gone.close();
});

Deno.test("GET /cps: the known ids and cities from a list, no flag from anything else", async () => {
  let next: () => Response = () => Response.json([]);
  const central = standIn(() => next());
  const client = await CentralClient.create({ url: central.url, serviceKey: KEY, timeoutMs: 500 });
  // Central's own shape (central/wire.ts cpJson).
  const cps = [
    { id: "CP-001", location: " Madrid ", state: "ACTIVATED" },
    { id: "CP-002", location: "", state: "STOPPED" },
    { id: "CP-003", location: "x".repeat(101), state: "STOPPED" },
    { id: "CP-004", state: "STOPPED" },
    { id: "CP 5", location: "Oslo", state: "ACTIVATED" },
  ];
  try {
    next = () => Response.json(cps);
    assert.deepEqual(await client.listCps(), {
      kind: "listed",
      cpIds: new Set(["CP-001", "CP-002", "CP-003", "CP-004", "CP 5"]),
      // Only what can be a locations file entry: no empty or overlong city, no odd id.
      locations: new Map([["CP-001", "Madrid"]]),
    });
    assert.equal(central.seen[0].authorization, null, "the list is open: no key sent");
    for (
      const answer of [
        () => Response.json({ items: cps }),
        () => Response.json({ error: "not_found" }, { status: 404 }),
        () => new Response("oops", { status: 500 }),
        () => new Response("not json"),
        () => Response.json([{ cp_id: "CP-001" }]),
      ]
    ) {
      next = answer;
      assert.deepEqual(await client.listCps(), { kind: "answered" });
    }
  } finally {
    client.close();
    await central.server.shutdown();
  }
  const gone = await CentralClient.create({ url: central.url, serviceKey: KEY, timeoutMs: 500 });
  assert.equal((await gone.listCps()).kind, "unreachable");
  gone.close();
});

Deno.test("an https Central is trusted through the project CA", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weather-central-tls-" });
  await writeDevCertificates(join(dir, "certs"), await createDevCertificates());
  const tls = await loadTlsFiles({
    certFile: join(dir, "certs", "server.pem"),
    keyFile: join(dir, "certs", "server.key"),
  });
  const server = Deno.serve(
    { port: 0, hostname: "127.0.0.1", cert: tls.cert, key: tls.key, onListen: () => {} },
    () => new Response(null, { status: 204 }),
  );
  const client = await CentralClient.create({
    url: `https://localhost:${server.addr.port}`,
    serviceKey: KEY,
    timeoutMs: 2000,
    caFile: join(dir, "certs", "ca.pem"),
  });
  try {
    assert.deepEqual(await client.sendAlert(BODY), { kind: "delivered" });
  } finally {
    client.close();
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
