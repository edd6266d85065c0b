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
  withTestCentral,
} from "../central/test_support.ts";
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { DEFAULT_DB } from "../central/config.ts";
import { WEATHER_SERVICE_KEY_FILE } from "../central/central.ts";
import { parseConfig } from "../shared/config.ts";
import { TOPICS } from "../shared/kafka.ts";
import type { DriverUpdate } from "../shared/messages.ts";
import { DEFAULT_SERVICE_KEY_FILE, weatherConfig } from "../weather/config.ts";
import { startWeatherOffice, type WeatherOffice } from "../weather/office.ts";
import { openTestClient, testBrokers, uniqueName } from "./kafka_env.ts";
import { runScenario } from "./scenario.ts";

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
  const updates: DriverUpdate[] = [];
  const client = await openTestClient("weather-central-test", [TOPICS.driverUpdates], (m) => {
    if (m.key === driverId) updates.push(m.value as DriverUpdate);
  });
  let n = 0;
  return {
    updates,
    /** Asks to charge at `cpId`; returns the request id. */
    async charge(cpId: string): Promise<string> {
      const requestId = `${driverId}-r${++n}`;
      await client.producer.send(TOPICS.driverRequests, driverId, {
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
    close: () => client.close(),
  };
}

Deno.test("weather → real Central: the defaults of both sides name the same service key file", () => {
  assert.equal(join(dirname(DEFAULT_DB), WEATHER_SERVICE_KEY_FILE), DEFAULT_SERVICE_KEY_FILE);
});

/** What the scenario shares: the network, the office, the driver and the two CPs. */
interface World {
  readonly dir: string;
  readonly registry: Awaited<ReturnType<typeof startTestRegistry>>;
  /** Central's consumer group, kept over its restart. */
  readonly group: string;
  readonly keyFile: string;
  readonly openWeather: ReturnType<typeof fakeOpenWeather>;
  readonly driver: Awaited<ReturnType<typeof driverOnKafka>>;
  readonly cpA: string;
  readonly cpB: string;
  readonly locationsFile: string;
  central: Awaited<ReturnType<typeof startTestCentral>>;
  readonly monitors: MonitorStub[];
  office?: WeatherOffice;
  /** A's weather report while the cold holds it. */
  held?: Record<string, unknown>;
}

async function startWorld(): Promise<World> {
  const dir = await Deno.makeTempDir({ prefix: "weather_central_" });
  const registry = await startTestRegistry(dir);
  const group = uniqueName("weather-central");
  const openWeather = fakeOpenWeather();
  const driver = await driverOnKafka(uniqueName("D"));
  return {
    dir,
    registry,
    group,
    keyFile: join(dir, "central", WEATHER_SERVICE_KEY_FILE),
    openWeather,
    driver,
    cpA: uniqueName("CP-A"),
    cpB: uniqueName("CP-B"),
    locationsFile: join(dir, "weather_locations.json"),
    central: await startTestCentral(dir, registry, testBrokers(), { group, stopWaitMs: 1000 }),
    monitors: [],
  };
}

async function stopWorld(w: World): Promise<void> {
  await w.office?.stop();
  for (const monitor of w.monitors) await monitor.close().catch(() => {});
  await w.central.stop();
  await w.driver.close();
  await w.openWeather.server.shutdown();
  await w.registry.close();
  await Deno.remove(w.dir, { recursive: true });
}

async function get(w: World, path: string) {
  return await (await fetch(`${w.central.httpUrl}${path}`)).json();
}

/** A CP as Central shows it: `state/stop_reason`. */
async function shown(w: World, id: string): Promise<string> {
  const c = await get(w, `/cps/${id}`);
  return `${c.state}/${c.stop_reason}`;
}

/** Central's weather report of a CP. */
async function report(w: World, id: string) {
  return (await get(w, "/weather")).find((r: { cp_id: string }) => r.cp_id === id);
}

function until(what: string, check: () => boolean | Promise<boolean>) {
  return waitFor(what, check, 15_000);
}

/**
 * Resolves once the office has finished `n` more rounds. A round ends after Central answered
 * every report it delivered, so what a round made Central do is done by then. The office also
 * notifies on a change of the locations; the steps that wait for rounds change none.
 */
function roundsFinished(w: World, n: number): Promise<void> {
  const office = w.office;
  assert.ok(office, "the office runs");
  return new Promise((resolve) => {
    let left = n;
    const unsubscribe = office.subscribe(() => {
      if (--left > 0) return;
      unsubscribe();
      resolve();
    });
  });
}

async function centralMadeTheKeyFile(w: World) {
  assert.equal(w.central.weatherServiceKey.source, "file");
  assert.equal(w.central.weatherServiceKey.path, w.keyFile);
  assert.equal((await Deno.stat(w.keyFile)).mode! & 0o777, 0o600);
}

async function cpsLoggedInAndOfficeStarted(w: World) {
  for (const id of [w.cpA, w.cpB]) {
    const token = await w.registry.registerCp(id, { price_eur_kwh: 0.5, power_kw: 22 });
    const monitor = await MonitorStub.connect(w.central.tcpAddr, w.registry.caCert);
    const { answer } = await monitor.login(id, token);
    assert.equal(answer?.type, "AUTH_OK");
    monitor.keepAlive(300);
    w.monitors.push(monitor);
  }
  w.openWeather.temperatures.set("Madrid", 12).set("Oslo", -7);
  await Deno.writeTextFile(w.locationsFile, JSON.stringify({ [w.cpA]: "Madrid" }));
  // No key given to the office: it reads the file Central generated.
  const config = parseConfig(weatherConfig, [
    "--port=0",
    "--host=127.0.0.1",
    "--interval=100ms",
    "--request-timeout=500ms",
    `--central=${w.central.httpUrl}`,
    `--openweather-base-url=${w.openWeather.url}`,
    `--locations=${w.locationsFile}`,
    `--service-key-file=${w.keyFile}`,
  ], { OPENWEATHER_API_KEY: OPENWEATHER_KEY });
  w.office = await startWeatherOffice(config, { debounceMs: 30 });
  assert.equal(w.office.serviceKey.source, "file");
}

async function warmCpCharges(w: World) {
  await until("the first clear for A", async () => (await report(w, w.cpA))?.status === "clear");
  const r1 = await w.driver.charge(w.cpA);
  // The first request waits for Central's consumer group to get its partitions.
  await waitFor("AUTHORIZED", () => w.driver.answer(r1)?.type === "AUTHORIZED", 30_000);
  assert.equal(await shown(w, w.cpA), "SUPPLYING/null");
}

async function coldStopsAndTickets(w: World) {
  w.openWeather.temperatures.set("Madrid", -3);
  await until("A STOPPED for the weather", async () => await shown(w, w.cpA) === "STOPPED/weather");
  await until("the ticket", () => w.driver.updates.some((u) => u.type === "TICKET"));
  const ticket = w.driver.updates.find((u) => u.type === "TICKET");
  assert.ok(ticket?.type === "TICKET");
  assert.equal(ticket.cpId, w.cpA);
  assert.equal(ticket.endReason, "stopped_weather");
  w.held = await report(w, w.cpA);
  assert.deepEqual(
    [w.held?.status, w.held?.temperature, w.held?.city, w.held?.weather_hold],
    ["alert", -3, "Madrid", true],
  );
  const audited = w.central.runtime.auditPage({
    actor: "weather",
    action: "weather.alert",
    limit: 100,
  });
  assert.ok(audited.items.some((r) => r.params.cpId === w.cpA), "the alert is audited");
}

async function holdDeniesCharges(w: World) {
  const r2 = await w.driver.charge(w.cpA);
  await until("DENIED", () => w.driver.answer(r2) !== undefined);
  const denied = w.driver.answer(r2);
  assert.ok(denied?.type === "DENIED");
  assert.equal(denied.reason, "weather");
}

/** Provider trouble of every kind hides a warm Madrid: the hold and the report stand. */
async function providerTroubleChangesNothing(w: World) {
  w.openWeather.temperatures.set("Madrid", 15);
  for (const kind of ["timeout", 401, 404, 429, 503, "garbage"] as const) {
    w.openWeather.trouble.set("Madrid", kind);
    await until(
      `Madrid answering ${kind}`,
      () => w.openWeather.served("Madrid", String(kind)) >= 1,
    );
    // The round that read the failure is in progress or over: two more round ends cover it
    // and one whole round after it.
    await roundsFinished(w, 2);
    assert.equal(await shown(w, w.cpA), "STOPPED/weather", `after ${kind}`);
    assert.deepEqual(await report(w, w.cpA), w.held, `the report is untouched after ${kind}`);
  }
  w.openWeather.trouble.clear();
}

async function clearResumes(w: World) {
  await until("A ACTIVATED again", async () => await shown(w, w.cpA) === "ACTIVATED/null");
  assert.equal((await report(w, w.cpA)).status, "clear");
}

async function adminStopSurvivesClear(w: World) {
  w.openWeather.temperatures.set("Madrid", -1);
  await until("A held again", async () => await shown(w, w.cpA) === "STOPPED/weather");
  const stop = await fetch(`${w.central.httpUrl}/cps/${w.cpA}/stop`, {
    method: "POST",
    headers: { authorization: `Bearer ${w.central.adminToken.token}` },
  });
  assert.equal(stop.status, 200);
  await stop.body?.cancel();
  w.openWeather.temperatures.set("Madrid", 8);
  await until(
    "the clear after the admin stop",
    async () => (await report(w, w.cpA)).status === "clear",
  );
  // The round that delivered the clear may still be ending: a second round end is a whole
  // round after Central handled it.
  await roundsFinished(w, 2);
  assert.equal(await shown(w, w.cpA), "STOPPED/admin", "the admin stop still holds A");
}

/** The locations file edited while running: B (in freezing Oslo) is held next round. */
async function fileEditHoldsNewCp(w: World) {
  assert.equal(await shown(w, w.cpB), "ACTIVATED/null");
  await Deno.writeTextFile(w.locationsFile, JSON.stringify({ [w.cpA]: "Madrid", [w.cpB]: "Oslo" }));
  await until(
    "B held after the file edit",
    async () => await shown(w, w.cpB) === "STOPPED/weather",
  );
}

async function holdsSurviveRestart(w: World) {
  await w.office?.stop();
  w.office = undefined;
  for (const monitor of w.monitors.splice(0)) await monitor.close();
  await w.central.stop();
  w.central = await startTestCentral(w.dir, w.registry, testBrokers(), {
    group: w.group,
    stopWaitMs: 1000,
  });
  assert.equal(await shown(w, w.cpB), "DISCONNECTED/weather");
  assert.equal(await shown(w, w.cpA), "DISCONNECTED/admin");
  assert.equal((await report(w, w.cpB)).status, "alert");
  assert.equal((await report(w, w.cpB)).city, "Oslo");
}

Deno.test("weather → real Central: cold stops and tickets, holds, provider trouble, admin stop, file edits, restart", async (t) => {
  const w = await startWorld();
  try {
    await runScenario(t, w, [
      ["Central generates the office's service key file, 0600", centralMadeTheKeyFile],
      ["two CPs log in; the office starts with Central's key file", cpsLoggedInAndOfficeStarted],
      ["warm: Central hears a clear and a session starts", warmCpCharges],
      ["below 0 °C: the CP stops for the weather, its session is ticketed", coldStopsAndTickets],
      ["a request during the hold is denied for the weather", holdDeniesCharges],
      [
        "provider trouble of every kind leaves the hold and the report",
        providerTroubleChangesNothing,
      ],
      ["back above 0 °C: the clear resumes the CP", clearResumes],
      ["an admin stop during a weather hold survives the clear", adminStopSurvivesClear],
      ["the locations file edited while running holds the new CP", fileEditHoldsNewCp],
      ["the holds survive a restart of Central", holdsSurviveRestart],
    ]);
  } finally {
    await stopWorld(w);
  }
});

Deno.test("weather → real Central: bad input over HTTP is refused and changes nothing", async () => {
  const key = "weather-key-for-the-bad-input-test";
  await withTestCentral("weather_central_bad_", {
    group: uniqueName("weather-central-bad"),
    weatherServiceKey: key,
  }, async ({ registry, central }) => {
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
    }
  });
});
