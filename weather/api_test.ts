import assert from "node:assert/strict";
import {
  createWeatherApp,
  MAX_BODY_BYTES,
  type OfficeSnapshot,
  type WeatherOfficeView,
} from "./api.ts";
import type { LocationRow } from "./core.ts";
import { LocationsFileError } from "./locations.ts";
import { SimulatedProvider } from "./providers.ts";

const KEY = "weather-service-key-for-tests-0123";
const T0 = Date.parse("2026-01-15T06:00:00.000Z");
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** An office with an in-memory location list; `broken` makes writes fail like a bad file. */
function fakeOffice(options: { simulated?: boolean } = {}) {
  const locations = new Map([["CP-001", "Madrid"], ["CP-002", "Oslo"]]);
  const fake = {
    broken: false,
    rows: [] as LocationRow[],
    snapshot: (): OfficeSnapshot => ({
      provider: options.simulated === false ? "openweather" : "simulated",
      thresholdC: 0,
      central: { url: "http://127.0.0.1:8080", reachable: false, lastError: "Connection refused" },
      locationsProblem: fake.broken ? "weather_locations.json is invalid" : undefined,
      lastRoundAt: T0,
      rows: fake.rows,
    }),
    setLocation(cpId: string, city: string) {
      if (fake.broken) return Promise.reject(new LocationsFileError("the file is invalid: fix it"));
      const before = locations.get(cpId);
      locations.set(cpId, city);
      return Promise.resolve(
        before === undefined ? "added" : before === city ? "unchanged" : "changed",
      );
    },
    removeLocation(cpId: string) {
      if (fake.broken) return Promise.reject(new LocationsFileError("the file is invalid: fix it"));
      const before = locations.get(cpId);
      locations.delete(cpId);
      return Promise.resolve(before);
    },
    simulated: options.simulated === false ? undefined : new SimulatedProvider(() => T0),
    pokes: 0,
    poke() {
      fake.pokes++;
    },
    locations,
  } satisfies WeatherOfficeView & Record<string, unknown>;
  return fake;
}

function harness(options: { simulated?: boolean } = {}) {
  const office = fakeOffice(options);
  const app = createWeatherApp({ office, serviceKey: KEY, now: () => new Date(T0) });
  const call = (
    method: string,
    path: string,
    init: {
      body?: unknown;
      raw?: string;
      key?: string | false;
      headers?: Record<string, string>;
      ip?: string;
    } = {},
  ) => {
    const headers: Record<string, string> = { ...init.headers };
    let body: string | undefined;
    if (init.body !== undefined || init.raw !== undefined) {
      headers["content-type"] ??= "application/json";
      body = init.raw ?? JSON.stringify(init.body);
    }
    const key = init.key ?? (method === "GET" ? false : KEY);
    if (key) headers.authorization = `Bearer ${key}`;
    // Each call from its own address unless told: the bearer throttle counts per address.
    const hostname = init.ip ?? `10.1.${(++calls >> 8) & 255}.${calls & 255}`;
    const remoteAddr = { transport: "tcp" as const, hostname, port: 40000 };
    return Promise.resolve(app.request(path, { method, headers, body }, { remoteAddr }));
  };
  let calls = 0;
  return { office, call };
}

/** Asserts the status and the exact error shape; returns the body. */
async function expectError(res: Response, status: number, code: string) {
  const text = await res.text();
  assert.equal(res.status, status, text);
  const body = JSON.parse(text);
  assert.deepEqual(Object.keys(body).sort(), ["detail", "error", "timestamp"], text);
  assert.equal(body.error, code, text);
  assert.ok(body.detail.length > 0);
  assert.match(body.timestamp, ISO);
  return body as { error: string; detail: string };
}

Deno.test("GET /health reports the provider, the threshold and Central's state", async () => {
  const { call } = harness();
  const res = await call("GET", "/health");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {
    service: "weather",
    status: "ok",
    provider: "simulated",
    threshold_celsius: 0,
    central: { url: "http://127.0.0.1:8080", reachable: false, last_error: "Connection refused" },
    locations: 0,
    locations_problem: null,
    last_round_at: new Date(T0).toISOString(),
    time: new Date(T0).toISOString(),
  });
});

Deno.test("GET /locations lists each CP with temperature, state, last error and the Central flag", async () => {
  const { office, call } = harness();
  office.rows = [
    {
      cpId: "CP-001",
      city: "Madrid",
      temperature: -1.5,
      readAt: T0,
      state: "alert",
      centralState: "alert",
      knownToCentral: true,
    },
    {
      cpId: "CP-002",
      city: "Atlantis",
      state: "unknown",
      lastError: { kind: "city_not_found", detail: "OpenWeather does not know this city", at: T0 },
      knownToCentral: false,
    },
  ];
  const res = await call("GET", "/locations");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {
    provider: "simulated",
    threshold_celsius: 0,
    locations_problem: null,
    items: [
      {
        cp_id: "CP-001",
        city: "Madrid",
        temperature: -1.5,
        read_at: new Date(T0).toISOString(),
        state: "alert",
        central_state: "alert",
        last_error: null,
        known_to_central: true,
      },
      {
        cp_id: "CP-002",
        city: "Atlantis",
        temperature: null,
        read_at: null,
        state: "unknown",
        central_state: null,
        last_error: {
          kind: "city_not_found",
          detail: "OpenWeather does not know this city",
          at: new Date(T0).toISOString(),
        },
        known_to_central: false,
      },
    ],
  });
});

Deno.test("PUT /locations/{cpId} adds (201), changes (200) and trims the city", async () => {
  const { office, call } = harness();
  let res = await call("PUT", "/locations/CP-003", { body: { city: "  Lyon " } });
  assert.equal(res.status, 201);
  assert.deepEqual(await res.json(), { cp_id: "CP-003", city: "Lyon", result: "added" });
  assert.equal(office.locations.get("CP-003"), "Lyon");
  res = await call("PUT", "/locations/CP-003", { body: { city: "Porto" } });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { cp_id: "CP-003", city: "Porto", result: "changed" });
});

Deno.test("DELETE /locations/{cpId} removes a watched CP; 404 otherwise", async () => {
  const { office, call } = harness();
  const res = await call("DELETE", "/locations/CP-001");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { cp_id: "CP-001", city: "Madrid", result: "removed" });
  assert.equal(office.locations.has("CP-001"), false);
  await expectError(await call("DELETE", "/locations/CP-001"), 404, "not_found");
});

Deno.test("changes are refused with 409 while the locations file is malformed", async () => {
  const { office, call } = harness();
  office.broken = true;
  const put = await expectError(
    await call("PUT", "/locations/CP-003", { body: { city: "Lyon" } }),
    409,
    "locations_file_invalid",
  );
  assert.match(put.detail, /fix it/);
  await expectError(await call("DELETE", "/locations/CP-001"), 409, "locations_file_invalid");
});

Deno.test("PUT and DELETE /simulated/{city} hold a city at a temperature and release it", async () => {
  const { office, call } = harness();
  let res = await call("PUT", `/simulated/${encodeURIComponent("New York")}`, {
    body: { temperature: -3.5 },
  });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { city: "New York", temperature: -3.5 });
  assert.deepEqual(await office.simulated!.read("new york"), { ok: true, temperature: -3.5 });
  assert.equal(office.pokes, 1, "a round starts at once");
  res = await call("DELETE", "/simulated/New%20York");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { city: "New York", temperature: null });
  await expectError(await call("DELETE", "/simulated/New%20York"), 404, "not_found");
});

Deno.test("manual temperatures are 409 when the office reads OpenWeather", async () => {
  const { call } = harness({ simulated: false });
  await expectError(
    await call("PUT", "/simulated/Madrid", { body: { temperature: 1 } }),
    409,
    "not_simulated",
  );
  await expectError(await call("DELETE", "/simulated/Madrid"), 409, "not_simulated");
});

Deno.test("every change needs the service key as a bearer token; reads do not", async () => {
  const { office, call } = harness();
  const changes: [string, string, unknown?][] = [
    ["PUT", "/locations/CP-009", { city: "Lyon" }],
    ["DELETE", "/locations/CP-001"],
    ["PUT", "/simulated/Madrid", { temperature: 1 }],
    ["DELETE", "/simulated/Madrid"],
  ];
  for (const [method, path, body] of changes) {
    const missing = await call(method, path, { body, key: false });
    await expectError(missing, 401, "service_key_required");
    assert.match(missing.headers.get("www-authenticate") ?? "", /^Bearer/);
    await expectError(
      await call(method, path, { body, key: `${KEY}x` }),
      401,
      "invalid_service_key",
    );
    await expectError(
      await call(method, path, { body, key: false, headers: { authorization: KEY } }),
      401,
      "service_key_required",
    );
  }
  assert.equal(office.locations.size, 2, "nothing changed");
  for (const path of ["/health", "/locations", "/openapi.json"]) {
    assert.equal((await call("GET", path)).status, 200, path);
  }
});

Deno.test("bad input is a 400 naming the field; strict bodies refuse unknown fields", async () => {
  const { call } = harness();
  const cases: [string, string, { body?: unknown; raw?: string }, string, RegExp][] = [
    ["PUT", "/locations/CP-001", { body: { city: "" } }, "validation_failed", /city/],
    ["PUT", "/locations/CP-001", { body: {} }, "validation_failed", /city: missing/],
    [
      "PUT",
      "/locations/CP-001",
      { body: { city: "Lyon", x: 1 } },
      "validation_failed",
      /unknown field x/,
    ],
    ["PUT", "/locations/CP%201", { body: { city: "Lyon" } }, "validation_failed", /cpId/],
    ["PUT", "/locations/CP-001", { raw: '{"city": "Ly' }, "invalid_json", /JSON/],
    [
      "PUT",
      "/simulated/Madrid",
      { body: { temperature: "cold" } },
      "validation_failed",
      /temperature/,
    ],
    [
      "PUT",
      "/simulated/Madrid",
      { body: { temperature: 500 } },
      "validation_failed",
      /temperature/,
    ],
    ["DELETE", "/locations/no", {}, "validation_failed", /cpId/],
  ];
  for (const [method, path, init, code, detail] of cases) {
    const body = await expectError(await call(method, path, init), 400, code);
    assert.match(body.detail, detail, `${method} ${path}: ${body.detail}`);
  }
});

Deno.test("a body that is not JSON is 415", async () => {
  const { call } = harness();
  const res = await call("PUT", "/locations/CP-001", {
    raw: '{"city": "Lyon"}',
    headers: { "content-type": "text/plain" },
  });
  await expectError(res, 415, "unsupported_media_type");
});

Deno.test("a body over 64 KiB is 413 before anything reads it", async () => {
  const { call } = harness();
  const raw = JSON.stringify({ city: "x".repeat(MAX_BODY_BYTES) });
  await expectError(await call("PUT", "/locations/CP-001", { raw }), 413, "payload_too_large");
});

Deno.test("an unknown route is 404 in the error shape", async () => {
  const { call } = harness();
  await expectError(await call("GET", "/nope"), 404, "not_found");
});

Deno.test("GET /openapi.json documents every route and the bearer scheme", async () => {
  const { call } = harness();
  const doc = await (await call("GET", "/openapi.json")).json();
  assert.deepEqual(Object.keys(doc.paths).sort(), [
    "/health",
    "/locations",
    "/locations/{cpId}",
    "/metrics",
    "/simulated/{city}",
  ]);
  assert.deepEqual(Object.keys(doc.paths["/locations/{cpId}"]).sort(), ["delete", "put"]);
  assert.equal(doc.components.securitySchemes.serviceKey.scheme, "bearer");
  assert.deepEqual(doc.paths["/simulated/{city}"].put.security, [{ serviceKey: [] }]);
  assert.equal(doc.paths["/locations"].get.security, undefined);
  assert.equal(doc.components.schemas.LocationRequest.additionalProperties, false);
});

Deno.test("wrong service keys are throttled per address (429 + Retry-After); the right key never is", async () => {
  const { call } = harness({ simulated: true });
  const put = (ip: string, key: string) =>
    call("PUT", "/simulated/Madrid", { body: { temperature: 1 }, key, ip });
  for (let i = 0; i < 10; i++) {
    await expectError(await put("192.0.2.7", `${KEY}${i}`), 401, "invalid_service_key");
  }
  const throttled = await put("192.0.2.7", `${KEY}x`);
  assert.ok(Number(throttled.headers.get("retry-after")) >= 1);
  await expectError(throttled, 429, "too_many_attempts");
  await expectError(await put("192.0.2.8", `${KEY}x`), 401, "invalid_service_key");
  assert.equal((await put("192.0.2.7", KEY)).status, 200, "the office's own key still works");
});
