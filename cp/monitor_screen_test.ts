import assert from "node:assert/strict";
import type { MonitorView } from "./monitor.ts";
import { monitorStatusLine, renderMonitorScreen } from "./monitor_screen.ts";

// deno-lint-ignore no-control-regex -- stripping ANSI escapes is the point
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
const text = (lines: string[]) => lines.join("\n").replace(ANSI, "").replaceAll("\u00a0", " ");

// 10:15:30 UTC; the screens write local time, so the tests expect what Intl makes of it.
const EXPIRES = "2026-12-06T10:15:30.000Z";
const at = (lang: string) =>
  new Intl.DateTimeFormat(lang, {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).format(new Date(EXPIRES));

const VIEW: MonitorView = {
  cpId: "CP-001",
  central: { state: "logged_in", address: "127.0.0.1:7000" },
  engine: { health: "OK", connected: true, address: "127.0.0.1:7100" },
  keyVersion: 2,
  tokenExpiresAt: EXPIRES,
  shown: { state: "ACTIVATED", stopReason: null, maintenance: false },
  cp: { id: "CP-001", location: "Alicante", priceEurKwh: 0.35, powerKw: 22 },
};
const MAINTENANCE: MonitorView = {
  ...VIEW,
  shown: { state: "STOPPED", stopReason: "maintenance", maintenance: true },
};

Deno.test("monitor screen in English: link, Central's state, key, token expiry and the menu", () => {
  const out = text(renderMonitorScreen(VIEW, []));
  for (
    const words of [
      "EVCharging CP monitor CP-001",
      "logged in at 127.0.0.1:7000",
      "central shows ACTIVATED",
      "maintenance  off",
      "version 2",
      `token expiry ${at("en-GB")}`,
      "Alicante · €0.35/kWh · 22.0 kW",
      "R register   D deregister   A authenticate again   M maintenance on/off   S status   q quit",
    ]
  ) assert.ok(out.includes(words), `${words}\n${out}`);
  const held = text(renderMonitorScreen(MAINTENANCE, []));
  assert.ok(held.includes("STOPPED · Out of Order (maintenance)"), held);
  assert.ok(held.includes("maintenance  on"), held);
});

Deno.test("monitor screen in Spanish: the same facts in Spanish, es-ES price and time", () => {
  const out = text(renderMonitorScreen(MAINTENANCE, [], "es"));
  for (
    const words of [
      "EVCharging monitor del punto CP-001",
      "sesión iniciada en 127.0.0.1:7000",
      "PARADO · Fuera de servicio (mantenimiento)",
      "mantenimiento sí",
      "versión 2",
      `token caduca ${at("es-ES")}`,
      "Alicante · 0,35 €/kWh · 22,0 kW",
      "R registrar   D dar de baja   A autenticar de nuevo   M mantenimiento sí/no   S estado",
      "q salir",
    ]
  ) assert.ok(out.includes(words), `${words}\n${out}`);
  const down = text(renderMonitorScreen(
    {
      ...VIEW,
      central: { state: "gave_up", address: "x", detail: "revoked" },
      engine: { health: "KO", connected: false, address: "127.0.0.1:7100" },
      shown: undefined,
      keyVersion: undefined,
    },
    [],
    "es",
  ));
  assert.ok(down.includes("ABANDONADO: revoked"), down);
  assert.ok(down.includes("KO (inaccesible en 127.0.0.1:7100)"), down);
  assert.ok(!down.includes(at("es-ES")), "no token expiry without a login");
});

Deno.test("monitor status line (the menu's S) in both languages, never the token", () => {
  assert.equal(
    monitorStatusLine(MAINTENANCE),
    "status: logged in · Central shows STOPPED · Out of Order (maintenance) · maintenance on · " +
      `key version 2 · token expires ${at("en-GB")}`,
  );
  assert.equal(
    monitorStatusLine(MAINTENANCE, "es"),
    "estado: sesión iniciada · la central muestra PARADO · Fuera de servicio (mantenimiento) · " +
      `mantenimiento sí · clave versión 2 · el token caduca ${at("es-ES")}`,
  );
  assert.equal(
    monitorStatusLine({ ...VIEW, central: { state: "waiting", address: "x" }, shown: undefined }),
    `status: waiting to retry · Central shows — · maintenance off · key version 2 · ` +
      `token expires ${at("en-GB")}`,
  );
});
