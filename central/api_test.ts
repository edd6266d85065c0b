import assert from "node:assert/strict";
import { TOPICS } from "../shared/kafka.ts";
import { MAX_BODY_BYTES } from "./api.ts";
import { ADMIN_TOKEN as TOKEN, memoryRuntime, testApp } from "./api_test_support.ts";
import { DEFAULT_CORE_CONFIG } from "./core.ts";
import { CHARGE_S1, cpLogin, dispatch, T0, telemetryInput } from "./core_test_support.ts";

const NOW = () => new Date(T0 + 3000);

/** A runtime over an in-memory store with CP-1 (supplying for D-1) and CP-2 (available). */
function setup() {
  const { store, runtime } = memoryRuntime();
  dispatch(runtime, cpLogin("CP-1", 1));
  dispatch(runtime, cpLogin("CP-2", 2));
  dispatch(runtime, CHARGE_S1);
  dispatch(
    runtime,
    telemetryInput({ type: "SUPPLY", sessionId: "S1", kw: 22, kwh: 2, eur: 1 }, T0 + 2000),
  );
  const app = testApp(runtime, { now: NOW });
  const request = (path: string, init: RequestInit & { token?: string } = {}) => {
    const headers = new Headers(init.headers);
    if (init.token !== undefined) headers.set("authorization", `Bearer ${init.token}`);
    return app.request(path, { ...init, headers });
  };
  const post = (path: string, token = TOKEN, body?: BodyInit) =>
    request(path, { method: "POST", token, body });
  return { store, runtime, request, post, [Symbol.dispose]: () => store.close() };
}

async function assertError(res: Response, status: number, error: string): Promise<void> {
  assert.equal(res.status, status);
  const body = await res.json();
  // The error shape; a detail Central words as a notice also carries its code and parameters.
  const keys = Object.keys(body).sort();
  const plain = ["detail", "error", "timestamp"];
  const coded = ["detail", "detail_code", "detail_params", "error", "timestamp"];
  assert.ok([plain, coded].some((k) => k.join() === keys.join()), keys.join());
  assert.equal(body.error, error);
  assert.equal(body.timestamp, new Date(T0 + 3000).toISOString());
}

Deno.test("api: GET /health", async () => {
  using t = setup();
  const res = await t.request("/health");
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.status, "ok");
  assert.equal(body.cps, 2);
  assert.equal(body.connected, 2);
  assert.equal(body.active_sessions, 1);
  assert.equal(body.outbox_pending, 2, "AUTHORIZE, AUTHORIZED (SUPPLY skips the outbox)");
  assert.deepEqual(body.dropped, {
    duplicate_requests: 0,
    duplicate_telemetry: 0,
    rejected_telemetry: 0,
  });
});

Deno.test("api: GET /cps and /cps/{id} show state and live figures", async () => {
  using t = setup();
  const res = await t.request("/cps");
  assert.equal(res.status, 200);
  const cps = await res.json();
  assert.deepEqual(cps, [
    {
      id: "CP-1",
      location: "At CP-1",
      price_eur_kwh: 0.5,
      power_kw: 22,
      state: "SUPPLYING",
      stop_reason: null,
      driver_id: "D-1",
      kw: 22,
      kwh: 2,
      eur: 1,
      key_version: 1,
      last_seen: new Date(T0).toISOString(),
      deregistered_at: null,
      key_revoked: false,
      key_revoked_at: null,
    },
    {
      id: "CP-2",
      location: "At CP-2",
      price_eur_kwh: 0.5,
      power_kw: 22,
      state: "ACTIVATED",
      stop_reason: null,
      driver_id: null,
      kw: null,
      kwh: null,
      eur: null,
      key_version: 1,
      last_seen: new Date(T0).toISOString(),
      deregistered_at: null,
      key_revoked: false,
      key_revoked_at: null,
    },
  ]);
  assert.deepEqual(await (await t.request("/cps/CP-2")).json(), cps[1]);
  await assertError(await t.request("/cps/CP-9"), 404, "not_found");
  await assertError(await t.request("/cps/a%20b"), 400, "validation_failed");
});

Deno.test("api: GET /sessions and /drivers", async () => {
  using t = setup();
  const active = await (await t.request("/sessions?status=active")).json();
  assert.deepEqual(active, [{
    id: "S1",
    cp_id: "CP-1",
    driver_id: "D-1",
    started_at: new Date(T0 + 1000).toISOString(),
    ended_at: null,
    kwh: 2,
    eur: 1,
    end_reason: null,
  }]);
  assert.deepEqual(await (await t.request("/sessions")).json(), active, "active by default");
  assert.deepEqual(await (await t.request("/sessions?status=completed")).json(), []);
  await assertError(await t.request("/sessions?status=soon"), 400, "validation_failed");
  await assertError(await t.request("/sessions?limit=0"), 400, "validation_failed");
  assert.deepEqual(await (await t.request("/drivers")).json(), [{
    id: "D-1",
    first_seen: new Date(T0 + 1000).toISOString(),
    last_seen: new Date(T0 + 1000).toISOString(),
    sessions: 0,
    kwh: 0,
    eur: 0,
    active_session_id: "S1",
  }]);
});

Deno.test("api: POST calls need the admin token", async () => {
  using t = setup();
  const missing = await t.request("/cps/CP-2/stop", { method: "POST" });
  assert.equal(missing.headers.get("www-authenticate"), 'Bearer realm="central"');
  await assertError(missing, 401, "unauthorized");
  await assertError(await t.post("/cps/CP-2/stop", "wrong"), 401, "unauthorized");
  await assertError(
    await t.request("/cps/stop", { method: "POST", headers: { authorization: TOKEN } }),
    401,
    "unauthorized",
  );
  assert.equal(t.runtime.model.cps.get("CP-2")?.status.state, "ACTIVATED", "nothing happened");
  assert.equal((await t.post("/cps/CP-2/stop")).status, 200);
});

Deno.test("api: stop ends the active session with a ticket and shows STOPPED; resume", async () => {
  using t = setup();
  const stopped = await t.post("/cps/CP-1/stop");
  assert.equal(stopped.status, 200);
  const cp = await stopped.json();
  assert.deepEqual([cp.state, cp.stop_reason], ["STOPPED", "admin"]);
  const resumed = await (await t.post("/cps/CP-2/resume")).json();
  assert.equal(resumed.state, "ACTIVATED", "resuming a CP that is not held changes nothing");
  // The engine gets STOP; if it never answers with SUPPLY_END, the stop wait ends the session.
  t.runtime.dispatch({ type: "tick" }, Date.now() + DEFAULT_CORE_CONFIG.stopWaitMs + 1);
  const sent = t.store.pendingOutbox(20).map((
    r,
  ) => [r.topic, (r.payload as { type: string }).type]);
  assert.deepEqual(sent.slice(-2), [[TOPICS.cpCommands, "STOP"], [TOPICS.driverUpdates, "TICKET"]]);
  const completed = await (await t.request("/sessions?status=completed")).json();
  assert.deepEqual([completed[0].id, completed[0].kwh, completed[0].end_reason], [
    "S1",
    2,
    "stopped_admin",
  ]);

  await assertError(await t.post("/cps/CP-9/stop"), 404, "not_found");
  await assertError(await t.post("/cps/CP-9/resume"), 404, "not_found");
});

Deno.test("api: stop all and resume all", async () => {
  using t = setup();
  const all = await (await t.post("/cps/stop")).json();
  assert.deepEqual(all.map((c: { state: string }) => c.state), ["STOPPED", "STOPPED"]);
  const back = await (await t.post("/cps/resume")).json();
  assert.deepEqual(back.map((c: { state: string }) => c.state), ["SUPPLYING", "ACTIVATED"]);
});

Deno.test("api: body limit, unknown routes, OpenAPI document", async () => {
  using t = setup();
  const big = "x".repeat(MAX_BODY_BYTES + 1);
  await assertError(
    await t.request("/cps/CP-1/stop", {
      method: "POST",
      body: big,
      headers: { "content-length": String(big.length) },
    }),
    413,
    "payload_too_large",
  );
  assert.equal(t.runtime.model.cps.get("CP-1")?.status.state, "SUPPLYING");
  await assertError(await t.request("/nope"), 404, "not_found");
  const doc = await (await t.request("/openapi.json")).json();
  assert.deepEqual(Object.keys(doc.paths).sort(), [
    "/audit",
    "/cps",
    "/cps/resume",
    "/cps/stop",
    "/cps/{id}",
    "/cps/{id}/keys/revoke",
    "/cps/{id}/keys/rotate",
    "/cps/{id}/restore",
    "/cps/{id}/resume",
    "/cps/{id}/security",
    "/cps/{id}/stop",
    "/drivers",
    "/health",
    "/health/live",
    "/health/ready",
    "/security",
    "/security/{id}",
    "/sessions",
    "/sessions.csv",
    "/weather",
    "/weather/alert",
  ]);
  assert.deepEqual(doc.paths["/cps/{id}/stop"].post.security, [{ adminToken: [] }]);
  const cp = doc.components.schemas.Cp.description as string;
  assert.ok(cp.includes("| `STOPPED` | STOPPED (Out of Order) | PARADO (Fuera de servicio) |"), cp);
});

Deno.test("api: wrong admin bearers are throttled per address (429 + Retry-After); the right one never is", async () => {
  using t = setup();
  const app = testApp(t.runtime, { now: NOW });
  const post = (ip: string, token: string) =>
    app.request("/cps/CP-2/stop", {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    }, { remoteAddr: { transport: "tcp", hostname: ip, port: 40000 } });
  for (let i = 0; i < 10; i++) {
    await assertError(await post("192.0.2.7", `guess-${i}`), 401, "unauthorized");
  }
  const throttled = await post("192.0.2.7", "guess-10");
  assert.ok(Number(throttled.headers.get("retry-after")) >= 1);
  await assertError(throttled, 429, "too_many_attempts");
  // The weather service key is the same flood from that address.
  const weather = await app.request("/weather/alert", {
    method: "POST",
    headers: { authorization: "Bearer guess", "content-type": "application/json" },
    body: "{}",
  }, { remoteAddr: { transport: "tcp", hostname: "192.0.2.7", port: 40000 } });
  await assertError(weather, 429, "too_many_attempts");
  await assertError(await post("192.0.2.8", "guess"), 401, "unauthorized");
  assert.equal((await post("192.0.2.8", TOKEN)).status, 200, "a right bearer from elsewhere");
  assert.equal((await post("192.0.2.7", TOKEN)).status, 200, "and from the flooding address");
});
