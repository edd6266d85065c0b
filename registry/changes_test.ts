import assert from "node:assert/strict";
import { createRegistryApp } from "./app.ts";
import { ChangeWaiters, MAX_WAITING } from "./changes.ts";
import { AuthGuard } from "./rate_limit.ts";
import { RegistryStore } from "./store.ts";
import { generateSigningKey } from "./tokens.ts";

const ADMIN = "test-admin-key-0123456789";
const FEED = "test-feed-key-0123456789";
const T0 = Date.parse("2026-03-01T09:00:00.000Z");

async function harness() {
  let t = T0;
  const store = RegistryStore.open(":memory:");
  const waiters = new ChangeWaiters(store);
  const { key } = await generateSigningKey();
  const app = createRegistryApp({
    store,
    signingKey: key,
    adminKey: ADMIN,
    feedKey: FEED,
    changeWaiters: waiters,
    scrypt: { N: 1024, r: 8, p: 1 },
    guard: new AuthGuard({ perCpLimit: 5, wrongKeyLimit: 3, windowMs: 60_000, now: () => t }),
    now: () => new Date(t),
  });
  const call = (
    method: string,
    path: string,
    headers: Record<string, string> = {},
    init: { body?: unknown; ip?: string; signal?: AbortSignal } = {},
  ) =>
    Promise.resolve(app.request(path, {
      method,
      headers: { "content-type": "application/json", ...headers },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
    }, { remoteAddr: { transport: "tcp", hostname: init.ip ?? "10.0.0.1", port: 50000 } }));
  const feed = (query: string, init: { ip?: string; signal?: AbortSignal } = {}) =>
    call("GET", `/changes?${query}`, { authorization: `Bearer ${FEED}` }, init);
  const admin = { "x-admin-key": ADMIN };
  return {
    store,
    waiters,
    call,
    feed,
    admin,
    advance: (ms: number) => t += ms,
    register: (cpId: string) =>
      call("POST", "/cp/register", admin, { body: { cp_id: cpId, location: "Madrid" } }),
    deregister: (cpId: string) => call("DELETE", `/cp/${cpId}`, admin),
    [Symbol.dispose]: () => {
      waiters.close();
      store.close();
    },
  };
}

Deno.test("registry changes: every action comes in order with the registration it belongs to", async () => {
  using h = await harness();
  assert.equal((await h.register("CP-001")).status, 201);
  h.advance(1000);
  assert.equal((await h.register("CP-002")).status, 201);
  h.advance(1000);
  assert.equal((await h.deregister("CP-001")).status, 200);
  h.advance(1000);
  assert.equal((await h.register("CP-001")).status, 201);
  const res = await h.feed("after=0");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("cache-control"), "no-store");
  const iso = (ms: number) => new Date(T0 + ms).toISOString();
  assert.deepEqual(await res.json(), {
    changes: [
      { seq: 1, cp_id: "CP-001", action: "registered", at: iso(0), registered_at: iso(0) },
      { seq: 2, cp_id: "CP-002", action: "registered", at: iso(1000), registered_at: iso(1000) },
      { seq: 3, cp_id: "CP-001", action: "deregistered", at: iso(2000), registered_at: iso(0) },
      { seq: 4, cp_id: "CP-001", action: "registered", at: iso(3000), registered_at: iso(3000) },
    ],
    last_seq: 4,
  });
  const page = await (await h.feed("after=2&limit=1")).json();
  assert.deepEqual(page.changes.map((c: { seq: number }) => c.seq), [3]);
  assert.equal(page.last_seq, 4);
});

Deno.test("registry changes: a held request answers at the next change", async () => {
  using h = await harness();
  await h.register("CP-001");
  const held = h.feed("after=1&wait=30");
  // The request is parked once the waiters count it: then the change happens.
  while (h.waiters.waiting === 0) await new Promise((r) => setTimeout(r, 0));
  await h.deregister("CP-001");
  const page = await (await held).json();
  assert.deepEqual(page.changes.map((c: { action: string }) => c.action), ["deregistered"]);
  assert.equal(h.waiters.waiting, 0);
});

Deno.test("registry changes: closing the waiters answers held requests at once, empty", async () => {
  using h = await harness();
  const held = h.feed("after=0&wait=30");
  while (h.waiters.waiting === 0) await new Promise((r) => setTimeout(r, 0));
  h.waiters.close();
  assert.deepEqual(await (await held).json(), { changes: [], last_seq: 0 });
});

Deno.test("registry changes: only so many requests wait; the next gets 503 with Retry-After", async () => {
  using h = await harness();
  const aborts = new AbortController();
  const held = Array.from(
    { length: MAX_WAITING },
    () => h.feed("after=0&wait=30", { signal: aborts.signal }),
  );
  while (h.waiters.waiting < MAX_WAITING) await new Promise((r) => setTimeout(r, 0));
  const refused = await h.feed("after=0&wait=30");
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get("retry-after"), "1");
  assert.equal((await refused.json()).error, "too_many_waiting");
  h.waiters.close();
  for (const res of await Promise.all(held)) assert.equal(res.status, 200);
});

Deno.test("registry changes: the admin key reads too; a wrong or missing key is 401 and counted per address", async () => {
  using h = await harness();
  await h.register("CP-001");
  const byAdmin = await h.call("GET", "/changes", h.admin);
  assert.equal(byAdmin.status, 200);
  assert.equal((await byAdmin.json()).changes.length, 1);
  const none = await h.call("GET", "/changes", {}, { ip: "10.0.0.9" });
  assert.equal(none.status, 401);
  assert.equal((await none.json()).error, "invalid_feed_key");
  const wrong = { authorization: "Bearer not-the-feed-key-at-all" };
  assert.equal((await h.call("GET", "/changes", wrong, { ip: "10.0.0.9" })).status, 401);
  assert.equal((await h.call("GET", "/changes", wrong, { ip: "10.0.0.9" })).status, 401);
  const locked = await h.call("GET", "/changes", wrong, { ip: "10.0.0.9" });
  assert.equal(locked.status, 429, "that address's wrong keys are throttled");
  assert.ok(Number(locked.headers.get("retry-after")) >= 1);
  assert.equal((await locked.json()).error, "too_many_attempts");
  // No lockout: the right key still reads, from that address (Central shares its machine's) too.
  assert.equal((await h.feed("after=0", { ip: "10.0.0.9" })).status, 200, "the right key reads");
  assert.equal((await h.feed("after=0", { ip: "10.0.0.2" })).status, 200, "others are not");
});

Deno.test("registry changes: a bad query is a 400 naming the field", async () => {
  using h = await harness();
  for (const query of ["after=-1", "after=x", "wait=31", "limit=0", "limit=501", "extra=1"]) {
    const res = await h.feed(query);
    assert.equal(res.status, 400, query);
    assert.equal((await res.json()).error, "validation_failed", query);
  }
});

Deno.test("registry changes: the feed and its seq survive a restart of the store", async () => {
  const dir = await Deno.makeTempDir({ prefix: "registry_changes_" });
  try {
    const path = `${dir}/registry.db`;
    const first = RegistryStore.open(path);
    first.register(
      { cpId: "CP-001", location: "Madrid", priceEurKwh: 0.3, powerKw: 22, metadata: {} },
      "hash",
      new Date(T0),
    );
    first.deregister("CP-001", new Date(T0 + 1000));
    first.close();
    const again = RegistryStore.open(path);
    try {
      assert.equal(again.lastChangeSeq(), 2);
      assert.deepEqual(again.changesAfter(1, 10).map((c) => [c.seq, c.action]), [
        [2, "deregistered"],
      ]);
    } finally {
      again.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
