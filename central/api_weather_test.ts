/**
 * `POST /weather/alert` and `GET /weather` of central/api.ts, through `app.request()` over an
 * in-memory store: the weather office's contract (weather/central_client.ts) and bad input.
 */
import assert from "node:assert/strict";
import { MAX_BODY_BYTES } from "./api.ts";
import {
  ADMIN_TOKEN as ADMIN,
  memoryRuntime,
  testApp,
  WEATHER_KEY as KEY,
} from "./api_test_support.ts";
import { cpLogin, dispatch, T0 } from "./core_test_support.ts";
const NOW = new Date(T0 + 3000).toISOString();

/** A runtime with CP-1 logged in and ACTIVATED. */
function setup() {
  const { store, runtime } = memoryRuntime();
  dispatch(runtime, cpLogin("CP-1", 1));
  const app = testApp(runtime, { now: () => new Date(T0 + 3000) });
  const alert = (body: unknown, key: string | null = KEY, headers: Record<string, string> = {}) =>
    app.request("/weather/alert", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(key === null ? {} : { authorization: `Bearer ${key}` }),
        ...headers,
      },
      body: typeof body === "string" || body instanceof ReadableStream
        ? body
        : JSON.stringify(body),
    });
  const state = () => runtime.model.cps.get("CP-1")?.status;
  return { store, runtime, app, alert, state, [Symbol.dispose]: () => store.close() };
}

const body = (status: "alert" | "clear", temperature = -4, cp_id = "CP-1") => ({
  cp_id,
  city: "Madrid",
  temperature,
  status,
});

async function assertError(res: Response, status: number, error: string): Promise<string> {
  assert.equal(res.status, status);
  const answer = await res.json();
  assert.deepEqual(Object.keys(answer).sort(), ["detail", "error", "timestamp"]);
  assert.equal(answer.error, error);
  assert.equal(answer.timestamp, NOW);
  return answer.detail;
}

Deno.test("api weather: an alert with the service key stops the CP; the answer is its report", async () => {
  using t = setup();
  const res = await t.alert(body("alert"));
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {
    cp_id: "CP-1",
    city: "Madrid",
    temperature: -4,
    status: "alert",
    since: NOW,
    updated_at: NOW,
    weather_hold: true,
    state: "STOPPED",
    stop_reason: "weather",
  });
  assert.deepEqual(t.state(), { state: "STOPPED", stopReason: "weather", sessionId: null });
});

Deno.test("api weather: a repeated alert is answered 200 and changes nothing; a clear resumes", async () => {
  using t = setup();
  await (await t.alert(body("alert"))).body?.cancel();
  const pending = t.store.pendingCount();
  const again = await t.alert(body("alert", -6));
  assert.equal(again.status, 200);
  assert.equal((await again.json()).temperature, -6);
  assert.equal(t.store.pendingCount(), pending, "no second STOP command");
  const cleared = await t.alert(body("clear", 3));
  assert.equal(cleared.status, 200);
  assert.equal((await cleared.json()).state, "ACTIVATED");
  assert.equal(t.state()?.stopReason, null);
});

Deno.test("api weather: a clear does not lift an admin stop", async () => {
  using t = setup();
  await (await t.alert(body("alert"))).body?.cancel();
  const stop = await t.app.request("/cps/CP-1/stop", {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  assert.equal(stop.status, 200);
  await stop.body?.cancel();
  const cleared = await t.alert(body("clear", 3));
  assert.equal(cleared.status, 200);
  const report = await cleared.json();
  assert.equal(report.weather_hold, false);
  assert.deepEqual([report.state, report.stop_reason], ["STOPPED", "admin"]);
});

Deno.test("api weather: GET /weather is open and lists every report by CP id", async () => {
  using t = setup();
  assert.deepEqual(await (await t.app.request("/weather")).json(), []);
  await (await t.alert(body("alert"))).body?.cancel();
  const res = await t.app.request("/weather");
  assert.equal(res.status, 200);
  const list = await res.json();
  assert.equal(list.length, 1);
  assert.equal(list[0].cp_id, "CP-1");
  assert.equal(list[0].weather_hold, true);
  assert.ok(!JSON.stringify(list).includes(KEY));
});

Deno.test("api weather: a missing or wrong key is 401, and the admin token is not the service key", async () => {
  using t = setup();
  for (const key of [null, "wrong-key-wrong-key-wrong", ADMIN]) {
    const res = await t.alert(body("alert"), key);
    const detail = await assertError(res, 401, "unauthorized");
    assert.ok(!detail.includes(KEY) && !detail.includes(ADMIN));
    assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="central"');
  }
  // Nor does the service key open the admin calls.
  const stop = await t.app.request("/cps/CP-1/stop", {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}` },
  });
  await assertError(stop, 401, "unauthorized");
  assert.equal(t.state()?.state, "ACTIVATED");
});

Deno.test("api weather: an unknown CP is a 404 naming it", async () => {
  using t = setup();
  const detail = await assertError(await t.alert(body("alert", -4, "CP-404")), 404, "not_found");
  assert.match(detail, /CP-404/);
  assert.equal(t.runtime.model.weather.size, 0);
});

Deno.test("api weather: bad bodies are 400 (415 if not JSON) and change nothing", async () => {
  using t = setup();
  const bad: unknown[] = [
    "{not json",
    "",
    "[]",
    { ...body("alert"), status: "freezing" },
    { ...body("alert"), temperature: "-4" },
    { ...body("alert"), temperature: 1e6 },
    { city: "Madrid", temperature: -4, status: "alert" },
    { ...body("alert"), city: "" },
    { ...body("alert"), city: "x".repeat(101) },
    { ...body("alert"), city: "Mad\u0000rid" },
    { ...body("alert"), cp_id: "CP-1' OR '1'='1" },
    { ...body("alert"), cp_id: "CP-1; DROP TABLE cps; --" },
    '{"cp_id":"CP-1","city":"Madrid","temperature":1e999,"status":"alert"}',
  ];
  for (const b of bad) {
    const res = await t.alert(b);
    assert.equal(res.status, 400, `for ${JSON.stringify(b)}`);
    const answer = await res.json();
    assert.deepEqual(Object.keys(answer).sort(), ["detail", "error", "timestamp"]);
  }
  const plain = await t.alert(body("alert"), KEY, { "content-type": "text/plain" });
  await assertError(plain, 415, "http_error");
  assert.equal(t.state()?.state, "ACTIVATED");
  assert.equal(t.runtime.model.weather.size, 0);
  assert.equal(t.runtime.model.cps.size, 1, "the cps table is intact");
});

Deno.test("api weather: a body over 64 KiB is 413, declared or streamed without a length", async () => {
  using t = setup();
  const huge = JSON.stringify({ ...body("alert"), city: "x".repeat(MAX_BODY_BYTES) });
  await assertError(await t.alert(huge), 413, "payload_too_large");
  let pulled = 0;
  const chunk = new TextEncoder().encode(" ".repeat(16 * 1024));
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += chunk.length;
      if (pulled > 10 * MAX_BODY_BYTES) controller.close();
      else controller.enqueue(chunk);
    },
  });
  await assertError(await t.alert(stream), 413, "payload_too_large");
  assert.ok(pulled <= MAX_BODY_BYTES + 2 * chunk.length, `read ${pulled} bytes`);
  assert.equal(t.state()?.state, "ACTIVATED");
});

Deno.test("api weather: the OpenAPI document describes both routes and the service key", async () => {
  using t = setup();
  const doc = await (await t.app.request("/openapi.json")).json();
  assert.ok(doc.paths["/weather/alert"].post);
  assert.ok(doc.paths["/weather"].get);
  assert.deepEqual(doc.paths["/weather/alert"].post.security, [{ weatherServiceKey: [] }]);
  assert.equal(doc.components.securitySchemes.weatherServiceKey.scheme, "bearer");
});
