import assert from "node:assert/strict";
import type { EngineView } from "./engine.ts";
import { renderEngineScreen } from "./engine_screen.ts";

// deno-lint-ignore no-control-regex -- stripping ANSI escapes is the point
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
const text = (lines: string[]) => lines.join("\n").replace(ANSI, "").replaceAll("\u00a0", " ");

const SUPPLYING: EngineView = {
  cpId: "CP-001",
  port: 7100,
  state: "SUPPLYING",
  health: "OK",
  session: {
    sessionId: "S-1",
    driverId: "DRV-001",
    plugged: true,
    kw: 22,
    kwh: 6.04,
    eur: 2.3,
    priceEurKwh: 0.35,
  },
  keyVersion: 3,
  monitorConnected: true,
  kafkaReady: true,
  pendingTelemetry: 0,
};

Deno.test("engine screen in English: state, session figures, key and keys", () => {
  const out = text(renderEngineScreen(SUPPLYING, ["10:00:00 hello"]));
  for (
    const words of [
      "EVCharging CP engine CP-001",
      "SUPPLYING",
      "S-1 for driver DRV-001",
      "22.0 kW   6.040 kWh   €2.30  (€0.35/kWh)",
      "version 3",
      "p plug in   u unplug",
      "10:00:00 hello",
    ]
  ) assert.ok(out.includes(words), words);
});

Deno.test("engine screen in Spanish: the seeds' words, es-ES figures and Spanish texts", () => {
  const out = text(renderEngineScreen(SUPPLYING, [], undefined, "es"));
  for (
    const words of [
      "EVCharging motor del punto CP-001",
      "SUMINISTRANDO",
      "S-1 para el conductor DRV-001",
      "22,0 kW   6,040 kWh   2,30 €  (0,35 €/kWh)",
      "versión 3",
      "p enchufar   u desenchufar",
    ]
  ) assert.ok(out.includes(words), words);
  const stopped = text(
    renderEngineScreen(
      { ...SUPPLYING, state: "STOPPED", stopReason: "weather", session: undefined },
      [],
      undefined,
      "es",
    ),
  );
  assert.ok(stopped.includes("PARADO · Fuera de servicio (meteorología)"), stopped);
  const idle = text(
    renderEngineScreen(
      { ...SUPPLYING, state: "ACTIVATED", session: undefined },
      [],
      undefined,
      "es",
    ),
  );
  assert.ok(idle.includes("ACTIVADO") && !idle.includes("ACTIVATED"), idle);
  const ko = text(renderEngineScreen({ ...SUPPLYING, health: "KO" }, [], undefined, "es"));
  assert.ok(ko.includes("KO (avería)"), ko);
});
