import assert from "node:assert/strict";
import type { LogRecord } from "../shared/log.ts";
import type { OfficeSnapshot } from "./api.ts";
import { formatLogLine, parseTemperatureInput, renderScreen } from "./menu.ts";

const T0 = Date.parse("2026-01-15T06:00:00.000Z");
const BLUE = "\x1b[34m";
const RESET = "\x1b[0m";

const SNAPSHOT: OfficeSnapshot = {
  provider: "simulated",
  thresholdC: 0,
  central: { url: "http://127.0.0.1:8080", reachable: true },
  lastRoundAt: T0,
  rows: [
    {
      cpId: "CP-001",
      city: "Madrid",
      temperature: -1.5,
      state: "alert",
      centralState: "alert",
      knownToCentral: true,
    },
    { cpId: "CP-002", city: "Oslo", temperature: 0, state: "clear", centralState: "clear" },
    {
      cpId: "CP-003",
      city: "Atlantis",
      state: "unknown",
      lastError: { kind: "city_not_found", detail: "OpenWeather does not know this city", at: T0 },
    },
    { cpId: "CP-404", city: "Lyon", temperature: 7, state: "clear", knownToCentral: false },
  ],
};

Deno.test("the plain screen: header, one aligned row per CP, notes, commands", () => {
  const screen = renderScreen(SNAPSHOT, { color: false, messages: ["06:00:00 info    started"] });
  assert.equal(
    screen,
    [
      "EVCharging weather office",
      "Provider: SIMULATED temperatures (no OpenWeather key)   Threshold: 0.0 °C",
      "Central http://127.0.0.1:8080: answering",
      "",
      "CP      City      °C    State    Central  Note",
      "CP-001  Madrid    -1.5  alert    alert",
      "CP-002  Oslo      0.0   clear    clear",
      "CP-003  Atlantis  —     unknown  —        city_not_found: OpenWeather does not know this city",
      "CP-404  Lyon      7.0   clear    —        unknown to Central",
      "",
      "[a] add  [c] change  [r] remove  [t] simulated temperature  [l] list  [q] quit",
      "",
      "06:00:00 info    started",
      "",
    ].join("\n"),
  );
});

Deno.test("the screen in Spanish: texts, weather words and decimal commas", () => {
  const screen = renderScreen(SNAPSHOT, { color: false, lang: "es" });
  const lines = screen.split("\n");
  assert.equal(lines[0], "EVCharging oficina meteorológica");
  assert.equal(
    lines[1],
    "Proveedor: temperaturas SIMULADAS (sin clave de OpenWeather)   Umbral: 0,0 °C",
  );
  assert.equal(lines[2], "Central http://127.0.0.1:8080: responde");
  assert.match(lines[4], /^Punto +Ciudad +°C +Estado +Central +Nota$/);
  assert.match(lines[5], /^CP-001 +Madrid +-1,5 +alerta +alerta$/);
  assert.match(lines[6], /^CP-002 +Oslo +0,0 +normal +normal$/);
  assert.match(lines[8], /desconocido para la Central$/);
  assert.ok(screen.includes("[a] añadir  [c] cambiar"));
});

Deno.test("in colour, only temperatures below the threshold are blue", () => {
  const screen = renderScreen(SNAPSHOT, { color: true });
  assert.ok(screen.includes(`${BLUE}-1.5${RESET}`), "-1.5 °C is below 0 °C");
  assert.equal(screen.split(BLUE).length - 1, 1, "0.0 (at the threshold) and 7.0 are not blue");
});

Deno.test("the header says when Central is not answering and when the locations file is bad", () => {
  const screen = renderScreen({
    ...SNAPSHOT,
    provider: "openweather",
    rows: [],
    central: { url: "http://central:8080", reachable: false, lastError: "Connection refused" },
    locationsProblem: 'weather_locations.json is invalid: ["CP 1"]: …',
  }, { color: false });
  assert.match(screen, /Provider: OpenWeather/);
  assert.match(screen, /Central http:\/\/central:8080: not answering \(Connection refused\)/);
  assert.match(screen, /Locations file: weather_locations.json is invalid/);
  assert.match(screen, /no CPs watched: press a to add one/);
});

Deno.test("a long city is cut to keep the columns aligned", () => {
  const screen = renderScreen({
    ...SNAPSHOT,
    rows: [{
      cpId: "CP-001",
      city: "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch",
      state: "unknown",
    }],
  }, { color: false });
  assert.ok(screen.includes("CP-001  Llanfairpwllgwyngyllgogerychw…  —   unknown"), screen);
});

Deno.test("temperature input: numbers (comma or point), empty to release, nonsense refused", () => {
  assert.equal(parseTemperatureInput("-3"), -3);
  assert.equal(parseTemperatureInput(" 2,5 "), 2.5);
  assert.equal(parseTemperatureInput("0.25"), 0.25);
  assert.equal(parseTemperatureInput(""), null);
  assert.equal(parseTemperatureInput("cold"), undefined);
  assert.equal(parseTemperatureInput("1e3"), undefined);
});

Deno.test("a log record becomes one panel line with its values filled in", () => {
  const record: LogRecord = {
    category: ["evcharging", "weather"],
    level: "warning",
    message: ["no temperature for ", "Madrid", ": ", "timeout", "\nsecond line"],
    rawMessage: "no temperature for {city}: {kind}",
    timestamp: T0,
    properties: {},
  };
  assert.equal(
    formatLogLine(record, false),
    "06:00:00 warning no temperature for Madrid: timeout second line",
  );
  const coloured = formatLogLine(record, true);
  assert.ok(coloured.startsWith("\x1b[33m") && coloured.endsWith("\x1b[0m"), "warnings are yellow");
});
