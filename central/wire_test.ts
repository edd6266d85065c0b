import assert from "node:assert/strict";
import { type Cp, NO_SECURITY_INFO, type Session, type WeatherReport } from "./core.ts";
import {
  CpBody,
  cpJson,
  DriverBody,
  driverJson,
  SessionBody,
  sessionJson,
  WeatherBody,
  weatherJson,
} from "./wire.ts";

const cp: Cp = {
  id: "CP-001",
  location: "Madrid",
  priceEurKwh: 0.35,
  powerKw: 22,
  status: { state: "SUPPLYING", stopReason: null, sessionId: "S-1" },
  security: "ACTIVE",
  keyVersion: 3,
  connection: 7,
  lastSeenMs: Date.UTC(2026, 0, 1, 12, 0, 0),
  securityInfo: NO_SECURITY_INFO,
};

const session: Session = {
  id: "S-1",
  cpId: "CP-001",
  driverId: "DRV-001",
  requestId: "R-1",
  priceEurKwh: 0.35,
  powerKw: 22,
  startedAt: "2026-01-01T11:59:00.000Z",
  pluggedAt: "2026-01-01T11:59:01.000Z",
  endedAt: null,
  kw: 21.5,
  kwh: 1.25,
  eur: 0.44,
  endReason: null,
  pendingEnd: null,
};

Deno.test("cpJson shows the CP with its open session's figures, and nulls without one", () => {
  const json = cpJson(cp, session);
  assert.deepEqual(CpBody.parse(json), json, "the answer fits its documented schema");
  assert.deepEqual(
    [json.state, json.driver_id, json.kw, json.kwh, json.eur, json.key_version, json.last_seen],
    ["SUPPLYING", "DRV-001", 21.5, 1.25, 0.44, 3, "2026-01-01T12:00:00.000Z"],
  );
  const idle = cpJson({ ...cp, lastSeenMs: null }, undefined);
  assert.deepEqual([idle.driver_id, idle.kw, idle.last_seen], [null, null, null]);
});

Deno.test("sessionJson, driverJson and weatherJson fit their documented schemas", () => {
  const s = sessionJson(session);
  assert.deepEqual(SessionBody.parse(s), s);
  assert.deepEqual([s.cp_id, s.driver_id, s.ended_at], ["CP-001", "DRV-001", null]);
  const d = driverJson({
    id: "DRV-001",
    firstSeen: "2026-01-01T10:00:00.000Z",
    lastSeen: "2026-01-01T12:00:00.000Z",
    sessions: 2,
    kwh: 10,
    eur: 3.5,
    activeSessionId: "S-1",
  });
  assert.deepEqual(DriverBody.parse(d), d);
  assert.equal(d.active_session_id, "S-1");
  const report: WeatherReport = {
    cpId: "CP-001",
    city: "Madrid",
    temperatureC: -2,
    status: "alert",
    since: "2026-01-01T11:00:00.000Z",
    updatedAt: "2026-01-01T12:00:00.000Z",
  };
  const stopped: Cp = {
    ...cp,
    status: { state: "STOPPED", stopReason: "weather", sessionId: null },
  };
  const w = weatherJson(report, stopped);
  assert.deepEqual(WeatherBody.parse(w), w);
  assert.deepEqual([w.weather_hold, w.state, w.stop_reason], [true, "STOPPED", "weather"]);
});

Deno.test("cpJson shows the charger protocol only for a CP that has one", () => {
  assert.equal("protocol" in cpJson(cp, undefined), false);
  const ocpp = cpJson({ ...cp, protocol: "ocpp1.6" }, undefined);
  assert.equal(ocpp.protocol, "ocpp1.6");
  assert.deepEqual(CpBody.parse(ocpp), ocpp);
});
