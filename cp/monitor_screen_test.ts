import assert from "node:assert/strict";
import type { MonitorView } from "./monitor.ts";
import { renderMonitorScreen } from "./monitor_screen.ts";

// deno-lint-ignore no-control-regex -- stripping ANSI escapes is the point
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
const text = (lines: string[]) => lines.join("\n").replace(ANSI, "").replaceAll("\u00a0", " ");

const VIEW: MonitorView = {
  cpId: "CP-001",
  central: { state: "logged_in", address: "127.0.0.1:7000" },
  engine: { health: "OK", connected: true, address: "127.0.0.1:7100" },
  keyVersion: 2,
  cp: { id: "CP-001", location: "Alicante", priceEurKwh: 0.35, powerKw: 22 },
};

Deno.test("monitor screen in English: Central link, engine, key and the CP's terms", () => {
  const out = text(renderMonitorScreen(VIEW, []));
  for (
    const words of [
      "EVCharging CP monitor CP-001",
      "logged in at 127.0.0.1:7000",
      "version 2",
      "Alicante · €0.35/kWh · 22.0 kW",
      "q quit",
    ]
  ) assert.ok(out.includes(words), words);
});

Deno.test("monitor screen in Spanish: the same facts in Spanish, es-ES price", () => {
  const out = text(renderMonitorScreen(VIEW, [], "es"));
  for (
    const words of [
      "EVCharging monitor del punto CP-001",
      "sesión iniciada en 127.0.0.1:7000",
      "versión 2",
      "Alicante · 0,35 €/kWh · 22,0 kW",
      "q salir",
    ]
  ) assert.ok(out.includes(words), words);
  const down = text(renderMonitorScreen(
    {
      ...VIEW,
      central: { state: "gave_up", address: "x", detail: "revoked" },
      engine: { health: "KO", connected: false, address: "127.0.0.1:7100" },
    },
    [],
    "es",
  ));
  assert.ok(down.includes("ABANDONADO: revoked"), down);
  assert.ok(down.includes("KO (inaccesible en 127.0.0.1:7100)"), down);
});
