import assert from "node:assert/strict";
import { withLogRecords } from "../shared/log.ts";
import type { Reading } from "./core.ts";
import { createOpenWeatherProvider, SimulatedProvider, simulatedTemperature } from "./providers.ts";

const KEY = "owm-test-key-5f2c9e81d4b7a603";

/** OpenWeather's 200 answer for a city, trimmed to the usual fields. */
function currentWeather(name: string, temp: number) {
  return {
    coord: { lon: -3.7, lat: 40.42 },
    weather: [{ id: 800, main: "Clear", description: "clear sky", icon: "01n" }],
    base: "stations",
    main: {
      temp,
      feels_like: temp - 2,
      temp_min: temp - 1,
      temp_max: temp + 1,
      pressure: 1021,
      humidity: 60,
    },
    visibility: 10000,
    wind: { speed: 2.1, deg: 240 },
    clouds: { all: 0 },
    dt: 1768456800,
    sys: { country: "ES", sunrise: 1768462800, sunset: 1768498000 },
    timezone: 3600,
    id: 3117735,
    name,
    cod: 200,
  };
}

/**
 * A local server speaking OpenWeather's current-weather format; the city (`q`) picks the answer.
 * Records every query it gets.
 */
function fakeOpenWeather() {
  const queries: URLSearchParams[] = [];
  const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json; charset=utf-8", ...headers },
    });
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    if (url.pathname !== "/data/2.5/weather") {
      return json({ cod: 404, message: "Internal error" }, 404);
    }
    queries.push(url.searchParams);
    if (url.searchParams.get("appid") !== KEY) {
      return json({
        cod: 401,
        message:
          "Invalid API key. Please see https://openweathermap.org/faq#error401 for more info.",
      }, 401);
    }
    switch (url.searchParams.get("q")) {
      case "Madrid":
        return json(currentWeather("Madrid", 3.49));
      case "Reykjavík, IS":
        return json(currentWeather("Reykjavik", -4.2));
      case "Atlantis":
        return json({ cod: "404", message: "city not found" }, 404);
      case "Busy":
        return json(
          {
            cod: 429,
            message: "Your account is temporary blocked due to exceeding of requests limitation",
          },
          429,
          { "retry-after": "60" },
        );
      case "Broken":
        return json({ cod: 500, message: "Internal error" }, 500);
      case "Garbled":
        return new Response("<html>upstream error</html>", {
          headers: { "content-type": "text/html" },
        });
      case "NoTemp":
        return json({ cod: 200, main: { humidity: 50 } });
      case "Slow":
        await new Promise((r) => setTimeout(r, 400));
        return json(currentWeather("Slow", 10));
      default:
        return json({ cod: "400", message: "Nothing to geocode" }, 400);
    }
  });
  return { server, queries, baseUrl: `http://127.0.0.1:${server.addr.port}` };
}

/** Runs `test` with every log record kept; it reads them all as one JSON text. */
const withLogs = (test: (records: () => string) => Promise<void>) =>
  withLogRecords("trace", (records) => test(() => JSON.stringify(records)));

function assertFailure(reading: Reading, kind: string, detail?: RegExp) {
  assert.equal(reading.ok, false, JSON.stringify(reading));
  if (reading.ok) return;
  assert.equal(reading.kind, kind, reading.detail);
  if (detail) assert.match(reading.detail, detail);
  assert.ok(!reading.detail.includes(KEY), reading.detail);
}

Deno.test("OpenWeather: every answer maps to a temperature or a typed error, and the key never leaks", async () => {
  const fake = fakeOpenWeather();
  await withLogs(async (logs) => {
    const provider = createOpenWeatherProvider({
      baseUrl: fake.baseUrl,
      apiKey: KEY,
      timeoutMs: 150,
    });
    try {
      assert.deepEqual(await provider.read("Madrid"), { ok: true, temperature: 3.49 });
      assert.deepEqual(await provider.read("Reykjavík, IS"), { ok: true, temperature: -4.2 });
      assertFailure(await provider.read("Atlantis"), "city_not_found", /404: city not found/);
      const busy = await provider.read("Busy");
      assertFailure(busy, "rate_limited", /429/);
      assert.equal(!busy.ok && busy.retryAfterMs, 60_000);
      assertFailure(await provider.read("Broken"), "server_error", /500/);
      assertFailure(await provider.read("Garbled"), "malformed");
      assertFailure(await provider.read("NoTemp"), "malformed", /main\.temp/);
      assertFailure(await provider.read("Slow"), "timeout", /150 ms/);
      assertFailure(await provider.read("Nowhere"), "unexpected_status", /400/);

      const wrongKey = createOpenWeatherProvider({
        baseUrl: fake.baseUrl,
        apiKey: "not-the-key-0000",
        timeoutMs: 500,
      });
      assertFailure(await wrongKey.read("Madrid"), "unauthorized", /API key.*OPENWEATHER_API_KEY/);
    } finally {
      await fake.server.shutdown();
    }

    // The server is gone: connection refused. Deno's error quotes the URL, appid and all.
    const refused = await provider.read("Madrid");
    assertFailure(refused, "network", /refused/i);

    const captured = logs();
    assert.ok(captured.includes("Atlantis"), "failures are logged with their city");
    assert.ok(!captured.includes(KEY), "the API key is never logged");
  });
});

Deno.test("OpenWeather: the request carries q, units=metric and appid, the city encoded", async () => {
  const fake = fakeOpenWeather();
  try {
    const provider = createOpenWeatherProvider({
      baseUrl: fake.baseUrl,
      apiKey: KEY,
      timeoutMs: 1000,
    });
    await provider.read("Reykjavík, IS");
    assert.equal(fake.queries.length, 1);
    const [query] = fake.queries;
    assert.deepEqual([...query.keys()].sort(), ["appid", "q", "units"]);
    assert.equal(query.get("q"), "Reykjavík, IS");
    assert.equal(query.get("units"), "metric");
    assert.equal(query.get("appid"), KEY);
  } finally {
    await fake.server.shutdown();
  }
});

Deno.test("simulated: deterministic per city and time, drifting with the hour", () => {
  const night = Date.parse("2026-01-15T03:00:00.000Z");
  const afternoon = Date.parse("2026-01-15T15:00:00.000Z");
  assert.equal(simulatedTemperature("Madrid", night), simulatedTemperature("Madrid", night));
  assert.equal(simulatedTemperature("Madrid", night), simulatedTemperature(" madrid", night));
  assert.equal(
    Math.round(
      (simulatedTemperature("Madrid", afternoon) - simulatedTemperature("Madrid", night)) * 10,
    ),
    120,
    "a 12 °C swing between 03:00 and 15:00 UTC",
  );
  const cities = ["Madrid", "Oslo", "Alicante", "Helsinki", "Quito", "Lyon", "Bergen", "Porto"];
  const temps = cities.flatMap((
    c,
  ) => [simulatedTemperature(c, night), simulatedTemperature(c, afternoon)]);
  assert.ok(temps.every((t) => t >= -4 && t <= 24), String(temps));
  assert.ok(new Set(temps).size > cities.length, "cities differ");
});

Deno.test("simulated: a manual temperature holds the city until cleared", async () => {
  const at = Date.parse("2026-01-15T12:00:00.000Z");
  const provider = new SimulatedProvider(() => at);
  assert.deepEqual(await provider.read("Oslo"), {
    ok: true,
    temperature: simulatedTemperature("Oslo", at),
  });
  provider.setTemperature("Oslo", -7.5);
  assert.deepEqual(await provider.read("oslo"), { ok: true, temperature: -7.5 });
  assert.equal(provider.clearTemperature("OSLO"), true);
  assert.equal(provider.clearTemperature("Oslo"), false);
  assert.deepEqual(await provider.read("Oslo"), {
    ok: true,
    temperature: simulatedTemperature("Oslo", at),
  });
});

Deno.test("simulatedTemperature: Valencia stays above freezing all day (tests rely on a warm city)", () => {
  for (let hour = 0; hour < 24; hour++) {
    assert.ok(simulatedTemperature("Valencia", hour * 3_600_000) > 5, `at ${hour}:00 UTC`);
  }
});
