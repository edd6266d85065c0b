/**
 * The weather office as a whole, against a local server in OpenWeather's format and a local
 * stand-in for Central's `/weather/alert` and `/cps` that records every call. (The same contract
 * through the real Central is tested once Central has the endpoint.)
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parseConfig } from "../shared/config.ts";
import { memorySink, setupLogging, stopLogging } from "../shared/log.ts";
import { weatherConfig } from "../weather/config.ts";
import { startWeatherOffice, type WeatherOffice } from "../weather/office.ts";
import { runScenario } from "./scenario.ts";

const OPENWEATHER_KEY = "owm-office-test-key-7d41c0b9e2";
const SERVICE_KEY = "weather-service-key-office-test-0001";

/** Polls `check` until it holds or 15 s pass (back-offs grow on a loaded machine). */
async function eventually(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** OpenWeather's format; a city answers its temperature, or an error status set by the test. */
function fakeOpenWeather() {
  const temperatures = new Map<string, number>();
  const errors = new Map<string, number | "garbage">();
  /** Requests per city, answered or not: the office's rounds, counted. */
  const asked = new Map<string, number>();
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
    const query = new URL(req.url).searchParams;
    const city = query.get("q") ?? "";
    asked.set(city, (asked.get(city) ?? 0) + 1);
    if (query.get("appid") !== OPENWEATHER_KEY || query.get("units") !== "metric") {
      return Response.json({ cod: 401, message: "Invalid API key." }, { status: 401 });
    }
    const error = errors.get(city);
    if (error === "garbage") return new Response("not json");
    if (error !== undefined) {
      return Response.json({ cod: error, message: "trouble" }, { status: error });
    }
    const temp = temperatures.get(city);
    if (temp === undefined) {
      return Response.json({ cod: "404", message: "city not found" }, { status: 404 });
    }
    return Response.json({ main: { temp, humidity: 70 }, name: city, cod: 200 });
  });
  /**
   * Waits until the office has asked for `city` `n` more times. Its rounds run one after the
   * other, so by the (n+1)-th request of a later round everything the first n rounds sent to
   * Central has been sent: a check that nothing more came needs no fixed wait.
   */
  const rounds = async (n: number, city = "Madrid") => {
    const from = asked.get(city) ?? 0;
    await eventually(() => (asked.get(city) ?? 0) >= from + n + 1, `${n} more rounds`);
  };
  /** Waits until `city` has been asked once more (its answer, even an error, given). */
  const askedAgain = async (city: string) => {
    const from = asked.get(city) ?? 0;
    await eventually(() => (asked.get(city) ?? 0) > from, `${city} asked again`);
  };
  return {
    server,
    temperatures,
    errors,
    rounds,
    askedAgain,
    url: `http://127.0.0.1:${server.addr.port}`,
  };
}

interface AlertCall {
  readonly authorization: string | null;
  readonly contentType: string | null;
  readonly body: { cp_id: string; city: string; temperature: number; status: string };
}

/**
 * Central's side of the contract: records alerts, lists its CPs (in the city `locations` gives,
 * if any), and can go down and come back.
 */
function fakeCentral(knownCps: string[], locations: Record<string, string> = {}) {
  const calls: AlertCall[] = [];
  const lists = { served: 0 };
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  const handler = async (req: Request) => {
    const path = new URL(req.url).pathname;
    if (req.method === "GET" && path === "/cps") {
      lists.served++;
      return Response.json(
        knownCps.map((id) => ({ id, state: "ACTIVATED", location: locations[id] })),
      );
    }
    if (req.method === "POST" && path === "/weather/alert") {
      const body = await req.json();
      calls.push({
        authorization: req.headers.get("authorization"),
        contentType: req.headers.get("content-type"),
        body,
      });
      if (!knownCps.includes(body.cp_id)) {
        return Response.json({ error: "not_found", detail: "no such CP" }, { status: 404 });
      }
      return Response.json({ ok: true });
    }
    return Response.json({ error: "not_found" }, { status: 404 });
  };
  const start = (port: number) => {
    server = Deno.serve({ port, hostname: "127.0.0.1", onListen: () => {} }, handler);
    return server.addr.port;
  };
  const port = start(0);
  return {
    calls,
    lists,
    url: `http://127.0.0.1:${port}`,
    down: async () => {
      await server?.shutdown();
      server = undefined;
    },
    up: () => start(port),
    close: async () => await server?.shutdown(),
  };
}

async function startOffice(
  dir: string,
  openWeatherUrl: string,
  centralUrl: string,
  env: Record<string, string> = { WEATHER_SERVICE_KEY: SERVICE_KEY },
): Promise<WeatherOffice> {
  const config = parseConfig(weatherConfig, [
    "--port",
    "0",
    "--host",
    "127.0.0.1",
    "--interval",
    "100ms",
    "--request-timeout",
    "500ms",
    "--central",
    centralUrl,
    "--openweather-base-url",
    openWeatherUrl,
    "--locations",
    join(dir, "weather_locations.json"),
    "--service-key-file",
    join(dir, "weather_service.key"),
  ], { OPENWEATHER_API_KEY: OPENWEATHER_KEY, ...env });
  return await startWeatherOffice(config, { debounceMs: 30 });
}

/** What the scenario shares: the office between its fake provider and its fake Central. */
interface World {
  readonly dir: string;
  readonly logs: ReturnType<typeof memorySink>;
  readonly openWeather: ReturnType<typeof fakeOpenWeather>;
  readonly central: ReturnType<typeof fakeCentral>;
  readonly office: WeatherOffice;
}

/** The alerts and clears sent to Central for `cpId` (of `status`, if given). */
function sent(w: World, cpId: string, status?: string): AlertCall[] {
  return w.central.calls.filter((c) =>
    c.body.cp_id === cpId && (status === undefined || c.body.status === status)
  );
}

/** Three CPs Central knows (two in Madrid, one in Oslo) and one it does not, CP-404. */
async function startWorld(): Promise<World> {
  const dir = await Deno.makeTempDir({ prefix: "weather-office-" });
  await Deno.writeTextFile(
    join(dir, "weather_locations.json"),
    JSON.stringify({
      "CP-001": "Madrid",
      "CP-002": "Madrid",
      "CP-003": "Oslo",
      "CP-404": "Madrid",
    }),
  );
  const logs = memorySink();
  await setupLogging({ level: "debug", stream: new WritableStream(), extraSinks: [logs] });
  const openWeather = fakeOpenWeather();
  openWeather.temperatures.set("Madrid", 5).set("Oslo", 8);
  const central = fakeCentral(["CP-001", "CP-002", "CP-003"]);
  const office = await startOffice(dir, openWeather.url, central.url);
  return { dir, logs, openWeather, central, office };
}

async function stopWorld(w: World): Promise<void> {
  await w.office.stop();
  await w.central.close();
  await w.openWeather.server.shutdown();
  await stopLogging();
  await Deno.remove(w.dir, { recursive: true });
}

/** First round: every CP Central knows gets its current status once; CP-404 is flagged. */
async function firstStatuses({ central, openWeather, office }: World) {
  await eventually(() => central.calls.length >= 3, "the first statuses");
  await openWeather.rounds(2);
  assert.deepEqual(
    central.calls.map((c) => c.body).sort((a, b) => a.cp_id.localeCompare(b.cp_id)),
    [
      { cp_id: "CP-001", city: "Madrid", temperature: 5, status: "clear" },
      { cp_id: "CP-002", city: "Madrid", temperature: 5, status: "clear" },
      { cp_id: "CP-003", city: "Oslo", temperature: 8, status: "clear" },
    ],
  );
  for (const call of central.calls) {
    assert.equal(call.authorization, `Bearer ${SERVICE_KEY}`);
    assert.match(call.contentType ?? "", /^application\/json/);
  }
  const flagged = office.snapshot().rows.find((r) => r.cpId === "CP-404");
  assert.equal(flagged?.knownToCentral, false);
}

/** Madrid drops below 0 °C: exactly one alert for each CP in Madrid, none for Oslo's. */
async function oneAlertPerFreeze(w: World) {
  w.openWeather.temperatures.set("Madrid", -2.5);
  await eventually(
    () => sent(w, "CP-001", "alert").length + sent(w, "CP-002", "alert").length === 2,
    "alerts",
  );
  await w.openWeather.rounds(5); // five more rounds at the same temperature
  assert.equal(sent(w, "CP-001", "alert").length, 1);
  assert.equal(sent(w, "CP-002", "alert").length, 1);
  assert.deepEqual(sent(w, "CP-001", "alert")[0].body, {
    cp_id: "CP-001",
    city: "Madrid",
    temperature: -2.5,
    status: "alert",
  });
  assert.equal(sent(w, "CP-003").length, 1, "Oslo's CP only had its first status");
  assert.equal(sent(w, "CP-404").length, 0, "a CP unknown to Central gets nothing");
}

/** Back at exactly 0 °C: one clear each. */
async function oneClearAtZero(w: World) {
  w.openWeather.temperatures.set("Madrid", 0);
  await eventually(
    () => sent(w, "CP-001", "clear").length === 2 && sent(w, "CP-002", "clear").length === 2,
    "clears",
  );
  await w.openWeather.rounds(5);
  assert.equal(sent(w, "CP-001", "clear").length, 2);
  assert.equal(sent(w, "CP-002", "clear").length, 2);
}

/** Provider trouble of every kind, while Madrid "would" be freezing: no call at all. */
async function providerErrorsSendNothing(w: World) {
  const { central, openWeather, office, logs } = w;
  const before = central.calls.length;
  openWeather.errors.set("Madrid", 500).set("Oslo", "garbage");
  openWeather.temperatures.set("Madrid", -9);
  await openWeather.askedAgain("Oslo");
  for (const status of [401, 404, 429, 503] as const) {
    openWeather.errors.set("Madrid", status);
    await openWeather.askedAgain("Madrid"); // each error answered at least once
  }
  await openWeather.askedAgain("Madrid"); // a later round: the one with 503 has finished
  assert.equal(central.calls.length, before, "errors never produce an alert or a clear");
  const row = office.snapshot().rows.find((r) => r.cpId === "CP-001");
  assert.equal(row?.temperature, 0, "the last good reading stands");
  assert.ok(row?.lastError !== undefined);
  const warnings = logs.records.filter((r) => r.level === "warning").map((r) => r.properties);
  assert.ok(warnings.some((p) => p.city === "Madrid" && p.kind === "server_error"));
  assert.ok(warnings.some((p) => p.city === "Oslo" && p.kind === "malformed"));
  openWeather.errors.clear();
  openWeather.temperatures.set("Madrid", -5);
  await eventually(
    () => sent(w, "CP-001", "alert").length === 2,
    "the alert after the errors (after back-off)",
  );
}

/** Central goes down; Madrid warms up (the clear cannot be sent), then freezes again. */
async function currentStateResent({ central, openWeather, office }: World) {
  await central.down();
  await eventually(() => office.snapshot().central.reachable === false, "Central seen down");
  openWeather.temperatures.set("Madrid", 4);
  await eventually(
    () => office.snapshot().rows.some((r) => r.city === "Madrid" && r.temperature === 4),
    "the office has read the warmer Madrid",
  );
  openWeather.temperatures.set("Madrid", -7);
  openWeather.temperatures.set("Oslo", 6);
  await eventually(
    () => office.snapshot().rows.every((r) => r.temperature === (r.city === "Madrid" ? -7 : 6)),
    "the office has read the new temperatures",
  );
  const beforeReturn = central.calls.length;
  central.up();
  await eventually(() => central.calls.length >= beforeReturn + 3, "the re-sent state");
  await openWeather.rounds(2);
  const resent = central.calls.slice(beforeReturn).map((c) => c.body)
    .sort((a, b) => a.cp_id.localeCompare(b.cp_id));
  assert.deepEqual(resent, [
    { cp_id: "CP-001", city: "Madrid", temperature: -7, status: "alert" },
    { cp_id: "CP-002", city: "Madrid", temperature: -7, status: "alert" },
    { cp_id: "CP-003", city: "Oslo", temperature: 6, status: "clear" },
  ], "the current state of every CP, not the clear that failed");
  assert.equal(office.snapshot().central.reachable, true);
}

function keysNeverLogged({ logs }: World) {
  assert.ok(
    !JSON.stringify(logs.records).includes(OPENWEATHER_KEY),
    "the API key is never logged",
  );
  assert.ok(
    !JSON.stringify(logs.records).includes(SERVICE_KEY),
    "the service key is never logged",
  );
}

Deno.test("weather office: alerts and clears on change only, nothing on provider errors, current state re-sent after Central returns", async (t) => {
  const w = await startWorld();
  try {
    await runScenario(t, w, [
      ["the first round sends every known CP its status; an unknown one is flagged", firstStatuses],
      ["below 0 °C: one alert per CP in the city, none elsewhere", oneAlertPerFreeze],
      ["back at exactly 0 °C: one clear each", oneClearAtZero],
      ["provider errors of every kind send nothing", providerErrorsSendNothing],
      ["Central back after an outage gets the current state of every CP", currentStateResent],
      ["neither key is ever logged", keysNeverLogged],
    ]);
  } finally {
    await stopWorld(w);
  }
});

Deno.test("weather office: a CP added through the API gets its status at once; the generated key is 0600", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weather-office-" });
  const openWeather = fakeOpenWeather();
  openWeather.temperatures.set("Oslo", -3);
  const central = fakeCentral(["CP-010"]);
  const office = await startOffice(dir, openWeather.url, central.url, {});
  try {
    const keyFile = join(dir, "weather_service.key");
    assert.equal((await Deno.stat(keyFile)).mode! & 0o777, 0o600);
    assert.deepEqual(office.serviceKey, { source: "file", path: keyFile });
    const key = (await Deno.readTextFile(keyFile)).trim();
    assert.ok(key.length >= 32);

    const refused = await fetch(`${office.url}/locations/CP-010`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ city: "Oslo" }),
    });
    assert.equal(refused.status, 401);
    await refused.body?.cancel();

    const added = await fetch(`${office.url}/locations/CP-010`, {
      method: "PUT",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({ city: "Oslo" }),
    });
    assert.equal(added.status, 201);
    await added.body?.cancel();
    await eventually(() => central.calls.length === 1, "the new CP's status");
    assert.deepEqual(central.calls[0].body, {
      cp_id: "CP-010",
      city: "Oslo",
      temperature: -3,
      status: "alert",
    });
    assert.equal(central.calls[0].authorization, `Bearer ${key}`);
    assert.deepEqual(
      JSON.parse(await Deno.readTextFile(join(dir, "weather_locations.json"))),
      { "CP-010": "Oslo" },
    );

    const listed = await (await fetch(`${office.url}/locations`)).json();
    assert.equal(listed.items[0].state, "alert");
    assert.equal(listed.items[0].central_state, "alert");
    assert.equal(listed.items[0].known_to_central, true);
  } finally {
    await office.stop();
    await central.close();
    await openWeather.server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("weather office: a CP Central places in a city is watched, a removed one stays removed, none with --file-only", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weather-office-" });
  const locationsFile = join(dir, "weather_locations.json");
  await Deno.writeTextFile(locationsFile, JSON.stringify({ "CP-021": "Madrid,ES" }));
  const openWeather = fakeOpenWeather();
  openWeather.temperatures.set("Oslo", -3).set("Madrid,ES", 10);
  const central = fakeCentral(["CP-020", "CP-021"], { "CP-020": "Oslo", "CP-021": "Madrid" });
  const office = await startOffice(dir, openWeather.url, central.url);
  const fileNow = async () => JSON.parse(await Deno.readTextFile(locationsFile));
  try {
    await eventually(
      () => central.calls.some((c) => c.body.cp_id === "CP-020"),
      "the status of the CP the office learnt from Central",
    );
    assert.deepEqual(central.calls.find((c) => c.body.cp_id === "CP-020")?.body, {
      cp_id: "CP-020",
      city: "Oslo",
      temperature: -3,
      status: "alert",
    });
    assert.deepEqual(await fileNow(), { "CP-020": "Oslo", "CP-021": "Madrid,ES" }, "file wins");

    const removed = await fetch(`${office.url}/locations/CP-020`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${SERVICE_KEY}` },
    });
    assert.equal(removed.status, 200);
    await removed.body?.cancel();
    await eventually(
      () => central.calls.some((c) => c.body.cp_id === "CP-020" && c.body.status === "clear"),
      "the clear of the removed CP",
    );
    const listsBefore = central.lists.served;
    // Four more rounds, each with Central's list (and one more, so the fourth has finished).
    await eventually(() => central.lists.served >= listsBefore + 5, "four more rounds");
    assert.deepEqual(await fileNow(), { "CP-021": "Madrid,ES" }, "not brought back");
  } finally {
    await office.stop();
  }

  const fileOnlyDir = await Deno.makeTempDir({ prefix: "weather-office-" });
  const fileOnly = await startOffice(fileOnlyDir, openWeather.url, central.url, {
    WEATHER_SERVICE_KEY: SERVICE_KEY,
    WEATHER_FILE_ONLY: "1",
  });
  try {
    await eventually(() => fileOnly.snapshot().central.reachable === true, "a round with Central");
    const listsBefore = central.lists.served;
    await eventually(() => central.lists.served >= listsBefore + 3, "two more rounds");
    assert.deepEqual(
      JSON.parse(await Deno.readTextFile(join(fileOnlyDir, "weather_locations.json"))),
      {},
    );
  } finally {
    await fileOnly.stop();
    await central.close();
    await openWeather.server.shutdown();
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(fileOnlyDir, { recursive: true });
  }
});

Deno.test("deno task weather: starts headless, logs JSON lines, stops on SIGTERM", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weather-main-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../weather/main.ts", import.meta.url).pathname,
      "--no-tui",
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--central",
      "http://127.0.0.1:9",
      "--locations",
      join(dir, "locations.json"),
      "--service-key-file",
      join(dir, "service.key"),
    ],
    env: { OPENWEATHER_API_KEY: "", WEATHER_SERVICE_KEY: "" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Read standard output to its end: cancelling it early would break the child's later writes.
  const lines: { message: string; level: string }[] = [];
  const started = Promise.withResolvers<void>();
  const reading = (async () => {
    let text = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      const complete = (text + chunk).split("\n");
      text = complete.pop()!;
      lines.push(...complete.map((line) => JSON.parse(line)));
      if (lines.some((l) => l.message.startsWith("weather office up"))) started.resolve();
    }
    started.reject(new Error("the office exited before it was up"));
  })();
  try {
    await started.promise;
    assert.ok(
      lines.some((l) => l.level === "WARN" && l.message.includes("SIMULATED")),
      "says clearly that temperatures are simulated",
    );
    assert.deepEqual(JSON.parse(await Deno.readTextFile(join(dir, "locations.json"))), {});
    child.kill("SIGTERM");
    const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
    assert.equal(status.code, 0, stderr);
    await reading;
    assert.equal(lines.at(-1)?.message, "weather office stopped");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
