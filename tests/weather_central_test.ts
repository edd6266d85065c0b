/**
 * The weather office against the REAL Central (issue 6): a real Kafka broker, a real Registry
 * over TLS, Central with its REST API and monitor port, stand-in monitors logged in over the
 * framed protocol, and the office reading a local server that answers in OpenWeather's format.
 * The office and Central share the generated service key file.
 */
// First: registry/schemas.ts needs @hono/zod-openapi loaded before shared/messages.ts.
import {
  MonitorStub,
  startTestCentral,
  startTestRegistry,
  waitFor,
} from "../central/test_support.ts";
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { DEFAULT_DB } from "../central/config.ts";
import { WEATHER_SERVICE_KEY_FILE } from "../central/central.ts";
import { parseConfig } from "../shared/config.ts";
import {
  createKafka,
  createProducer,
  ensureTopics,
  type JsonProducer,
  runConsumer,
  TOPICS,
} from "../shared/kafka.ts";
import type { DriverUpdate } from "../shared/messages.ts";
import { DEFAULT_SERVICE_KEY_FILE, weatherConfig } from "../weather/config.ts";
import { startWeatherOffice } from "../weather/office.ts";
import { testBrokers, uniqueName } from "./kafka_env.ts";

const OPENWEATHER_KEY = "owm-central-test-key-5a7e01";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Trouble = "timeout" | 401 | 404 | 429 | 503 | "garbage";

/** OpenWeather's answer format; per city a temperature, or trouble set by the test. */
function fakeOpenWeather() {
  const temperatures = new Map<string, number>();
  const trouble = new Map<string, Trouble>();
  const served = new Map<string, number>(); // `${city}:${outcome}` → count
  const count = (city: string, outcome: string) =>
    served.set(`${city}:${outcome}`, (served.get(`${city}:${outcome}`) ?? 0) + 1);
  const server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen: () => {} }, async (req) => {
    const query = new URL(req.url).searchParams;
    const city = query.get("q") ?? "";
    if (query.get("appid") !== OPENWEATHER_KEY || query.get("units") !== "metric") {
      return Response.json({ cod: 401, message: "Invalid API key." }, { status: 401 });
    }
    const problem = trouble.get(city);
    if (problem !== undefined) count(city, String(problem));
    if (problem === "timeout") {
      await sleep(1000); // past the office's 500 ms request timeout
      return Response.json({ main: { temp: 20 }, name: city, cod: 200 });
    }
    if (problem === "garbage") return new Response("<html>not json</html>");
    if (problem !== undefined) {
      return Response.json({ cod: problem, message: "trouble" }, { status: problem });
    }
    const temp = temperatures.get(city);
    if (temp === undefined) {
      return Response.json({ cod: "404", message: "city not found" }, { status: 404 });
    }
    count(city, "ok");
    return Response.json({
      coord: { lon: -3.7, lat: 40.4 },
      weather: [{ id: 800, main: "Clear", description: "clear sky", icon: "01d" }],
      main: { temp, feels_like: temp, pressure: 1012, humidity: 70 },
      name: city,
      cod: 200,
    });
  });
  return {
    server,
    temperatures,
    trouble,
    served: (city: string, outcome: string) => served.get(`${city}:${outcome}`) ?? 0,
    url: `http://127.0.0.1:${server.addr.port}`,
  };
}

/** A driver on Kafka: sends charge requests, collects its updates. */
async function driverOnKafka(driverId: string) {
  const kafka = createKafka({ brokers: testBrokers(), clientId: "weather-central-test" });
  await ensureTopics(kafka);
  const producer: JsonProducer = await createProducer(kafka);
  const updates: DriverUpdate[] = [];
  const consumer = await runConsumer({
    kafka,
    groupId: uniqueName("weather-central-test"),
    topics: [TOPICS.driverUpdates],
    fromBeginning: true,
    handle: (m) => {
      if (m.key === driverId) updates.push(m.value as DriverUpdate);
    },
  });
  let n = 0;
  return {
    updates,
    /** Asks to charge at `cpId`; returns the request id. */
    async charge(cpId: string): Promise<string> {
      const requestId = `${driverId}-r${++n}`;
      await producer.send(TOPICS.driverRequests, driverId, {
        v: 1,
        type: "CHARGE_REQUEST",
        requestId,
        driverId,
        cpId,
        ts: new Date().toISOString(),
      });
      return requestId;
    },
    answer: (requestId: string) =>
      updates.find((u) => "requestId" in u && u.requestId === requestId),
    close: async () => {
      await consumer.stop();
      await producer.disconnect();
    },
  };
}

Deno.test("weather → real Central: the defaults of both sides name the same service key file", () => {
  assert.equal(join(dirname(DEFAULT_DB), WEATHER_SERVICE_KEY_FILE), DEFAULT_SERVICE_KEY_FILE);
});

Deno.test("weather → real Central: cold stops and tickets, holds, provider trouble, admin stop, file edits, restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weather_central_" });
  const registry = await startTestRegistry(dir);
  const group = uniqueName("weather-central");
  const keyFile = join(dir, "central", WEATHER_SERVICE_KEY_FILE);
  const openWeather = fakeOpenWeather();
  const driverId = uniqueName("D");
  const driver = await driverOnKafka(driverId);
  const cpA = uniqueName("CP-A");
  const cpB = uniqueName("CP-B");
  const locationsFile = join(dir, "weather_locations.json");
  let central = await startTestCentral(dir, registry, testBrokers(), { group, stopWaitMs: 1000 });
  const monitors: MonitorStub[] = [];
  let office: Awaited<ReturnType<typeof startWeatherOffice>> | undefined;
  const get = async (path: string) => await (await fetch(`${central.httpUrl}${path}`)).json();
  const cp = (id: string) => get(`/cps/${id}`);
  const shown = async (id: string) => {
    const c = await cp(id);
    return `${c.state}/${c.stop_reason}`;
  };
  const report = async (id: string) =>
    (await get("/weather")).find((w: { cp_id: string }) => w.cp_id === id);
  const until = (what: string, check: () => boolean | Promise<boolean>) =>
    waitFor(what, check, 15_000);
  try {
    assert.equal(central.weatherServiceKey.source, "file");
    assert.equal(central.weatherServiceKey.path, keyFile);
    assert.equal((await Deno.stat(keyFile)).mode! & 0o777, 0o600);

    for (const id of [cpA, cpB]) {
      const token = await registry.registerCp(id, { price_eur_kwh: 0.5, power_kw: 22 });
      const monitor = await MonitorStub.connect(central.tcpAddr, registry.caCert);
      const { answer } = await monitor.login(id, token);
      assert.equal(answer?.type, "AUTH_OK");
      monitor.keepAlive(300);
      monitors.push(monitor);
    }
    openWeather.temperatures.set("Madrid", 12).set("Oslo", -7);
    await Deno.writeTextFile(locationsFile, JSON.stringify({ [cpA]: "Madrid" }));
    // No key given to the office: it reads the file Central generated.
    const config = parseConfig(weatherConfig, [
      "--port=0",
      "--host=127.0.0.1",
      "--interval=100ms",
      "--request-timeout=500ms",
      `--central=${central.httpUrl}`,
      `--openweather-base-url=${openWeather.url}`,
      `--locations=${locationsFile}`,
      `--service-key-file=${keyFile}`,
    ], { OPENWEATHER_API_KEY: OPENWEATHER_KEY });
    office = await startWeatherOffice(config, { debounceMs: 30 });
    assert.equal(office.serviceKey.source, "file");

    // Warm: Central hears a clear, and a session starts.
    await until("the first clear for A", async () => (await report(cpA))?.status === "clear");
    const r1 = await driver.charge(cpA);
    // The first request waits for Central's consumer group to get its partitions.
    await waitFor("AUTHORIZED", () => driver.answer(r1)?.type === "AUTHORIZED", 30_000);
    assert.equal(await shown(cpA), "SUPPLYING/null");

    // Below 0 °C: A stops for the weather and its session is ticketed.
    openWeather.temperatures.set("Madrid", -3);
    await until("A STOPPED for the weather", async () => await shown(cpA) === "STOPPED/weather");
    await until(
      "the ticket",
      () => driver.updates.some((u) => u.type === "TICKET"),
    );
    const ticket = driver.updates.find((u) => u.type === "TICKET");
    assert.ok(ticket?.type === "TICKET");
    assert.equal(ticket.cpId, cpA);
    assert.equal(ticket.endReason, "stopped_weather");
    const held = await report(cpA);
    assert.deepEqual(
      [held.status, held.temperature, held.city, held.weather_hold],
      ["alert", -3, "Madrid", true],
    );

    const audited = central.runtime.auditPage({
      actor: "weather",
      action: "weather.alert",
      limit: 100,
    });
    assert.ok(audited.items.some((r) => r.params.cpId === cpA), "the alert is audited");

    // A request during the hold is denied for the weather.
    const r2 = await driver.charge(cpA);
    await until("DENIED", () => driver.answer(r2) !== undefined);
    const denied = driver.answer(r2);
    assert.ok(denied?.type === "DENIED");
    assert.equal(denied.reason, "weather");

    // Provider trouble of every kind hides a warm Madrid: the hold and the report stand.
    openWeather.temperatures.set("Madrid", 15);
    for (const kind of ["timeout", 401, 404, 429, 503, "garbage"] as const) {
      openWeather.trouble.set("Madrid", kind);
      await until(
        `Madrid answering ${kind}`,
        () => openWeather.served("Madrid", String(kind)) >= 1,
      );
      await sleep(kind === "timeout" ? 700 : 150);
      assert.equal(await shown(cpA), "STOPPED/weather", `after ${kind}`);
      assert.deepEqual(await report(cpA), held, `the report is untouched after ${kind}`);
    }
    openWeather.trouble.clear();

    // Back above 0 °C: the clear resumes A.
    await until("A ACTIVATED again", async () => await shown(cpA) === "ACTIVATED/null");
    assert.equal((await report(cpA)).status, "clear");

    // An admin stop during a weather hold survives the clear.
    openWeather.temperatures.set("Madrid", -1);
    await until("A held again", async () => await shown(cpA) === "STOPPED/weather");
    const stop = await fetch(`${central.httpUrl}/cps/${cpA}/stop`, {
      method: "POST",
      headers: { authorization: `Bearer ${central.adminToken.token}` },
    });
    assert.equal(stop.status, 200);
    await stop.body?.cancel();
    openWeather.temperatures.set("Madrid", 8);
    await until(
      "the clear after the admin stop",
      async () => (await report(cpA)).status === "clear",
    );
    await sleep(300);
    assert.equal(await shown(cpA), "STOPPED/admin", "the admin stop still holds A");

    // The locations file edited while running: B (in freezing Oslo) is held next round.
    assert.equal(await shown(cpB), "ACTIVATED/null");
    await Deno.writeTextFile(locationsFile, JSON.stringify({ [cpA]: "Madrid", [cpB]: "Oslo" }));
    await until("B held after the file edit", async () => await shown(cpB) === "STOPPED/weather");

    // The hold survives a restart of Central.
    await office.stop();
    office = undefined;
    for (const monitor of monitors.splice(0)) await monitor.close();
    await central.stop();
    central = await startTestCentral(dir, registry, testBrokers(), { group, stopWaitMs: 1000 });
    assert.equal(await shown(cpB), "DISCONNECTED/weather");
    assert.equal(await shown(cpA), "DISCONNECTED/admin");
    assert.equal((await report(cpB)).status, "alert");
    assert.equal((await report(cpB)).city, "Oslo");
  } finally {
    await office?.stop();
    for (const monitor of monitors) await monitor.close().catch(() => {});
    await central.stop();
    await driver.close();
    await openWeather.server.shutdown();
    await registry.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("weather → real Central: bad input over HTTP is refused and changes nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weather_central_bad_" });
  const registry = await startTestRegistry(dir);
  const key = "weather-key-for-the-bad-input-test";
  const central = await startTestCentral(dir, registry, testBrokers(), {
    group: uniqueName("weather-central-bad"),
    weatherServiceKey: key,
  });
  const cpId = uniqueName("CP");
  const monitor = await MonitorStub.connect(central.tcpAddr, registry.caCert);
  const post = (body: BodyInit, authorization: string | null = `Bearer ${key}`) =>
    fetch(`${central.httpUrl}/weather/alert`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(authorization === null ? {} : { authorization }),
      },
      body,
    });
  const expect = async (res: Response, status: number) => {
    assert.equal(res.status, status);
    const answer = await res.json();
    assert.deepEqual(Object.keys(answer).sort(), ["detail", "error", "timestamp"]);
    assert.ok(!JSON.stringify(answer).includes(key), "the key is never echoed");
  };
  try {
    assert.equal(central.weatherServiceKey.source, "given");
    const { answer } = await monitor.login(cpId, await registry.registerCp(cpId));
    assert.equal(answer?.type, "AUTH_OK");
    monitor.keepAlive(300);
    const good = { cp_id: cpId, city: "Madrid", temperature: -2, status: "alert" };
    await expect(await post(JSON.stringify(good), null), 401);
    await expect(await post(JSON.stringify(good), "Bearer wrong-key-wrong-key-wrong"), 401);
    await expect(await post(JSON.stringify(good), `Bearer ${central.adminToken.token}`), 401);
    await expect(await post('{"cp_id": "' + cpId + '", "city": '), 400);
    for (
      const cp_id of ["x' OR '1'='1", "CP-1; DROP TABLE cps; --", 'CP-1"); DELETE FROM weather']
    ) {
      await expect(await post(JSON.stringify({ ...good, cp_id })), 400);
    }
    await expect(await post(JSON.stringify({ ...good, cp_id: "CP-unknown-404" })), 404);
    // Streamed without a Content-Length: cut off past 64 KiB.
    const chunk = new TextEncoder().encode(" ".repeat(16 * 1024));
    let sent = 0;
    const huge = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += chunk.length;
        if (sent > 4 * 1024 * 1024) controller.close();
        else controller.enqueue(chunk);
      },
    });
    await expect(await post(huge), 413);
    await expect(await post(JSON.stringify({ ...good, city: "x".repeat(70_000) })), 413);

    const cps = await (await fetch(`${central.httpUrl}/cps`)).json();
    assert.deepEqual(cps.map((c: { id: string }) => c.id), [cpId], "the cps table is intact");
    assert.equal(cps[0].state, "ACTIVATED");
    assert.deepEqual(await (await fetch(`${central.httpUrl}/weather`)).json(), []);
    // And the right call still works.
    const ok = await post(JSON.stringify(good));
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).state, "STOPPED");
  } finally {
    await monitor.close().catch(() => {});
    await central.stop();
    await registry.close();
    await Deno.remove(dir, { recursive: true });
  }
});
