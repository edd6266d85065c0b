import assert from "node:assert/strict";
import { notice } from "../shared/notices.ts";
import { type ReadyBody, statusPills } from "./pills.ts";
import type { StatusView } from "./state.ts";

const status: StatusView = {
  kafka: { status: "ok", detail: "producer connected", outbox_pending: 0 },
  registry: { status: "down", detail: "refused", last_ok_at: null },
  weather: { status: "unknown", detail: "no report yet", last_report_at: null, alerts: 0 },
};

Deno.test("pills: one per readiness check, in Central's order, then the weather office", () => {
  const ready: ReadyBody = {
    status: "unavailable",
    failing: ["database"],
    checks: {
      kafka: { status: "ok", detail: "fetching" },
      registry: { status: "ok", detail: "answered" },
      registry_feed: { status: "ok", detail: "following" },
      database: { status: "down", detail: "the last commit failed" },
      extra: { status: "ok", detail: "a part added later" },
    },
  };
  const pills = statusPills(ready, status, "en");
  assert.deepEqual(pills.map((p) => [p.key, p.status]), [
    ["kafka", "ok"],
    ["registry", "ok"],
    ["registry_feed", "ok"],
    ["database", "down"],
    ["extra", "ok"],
    ["weather", "unknown"],
  ]);
  assert.equal(pills[3].detail, "the last commit failed");
});

Deno.test("pills: before readiness answers, Kafka and the Registry come from the live status", () => {
  const pills = statusPills(null, status, "en");
  assert.deepEqual(pills.map((p) => [p.key, p.status]), [
    ["kafka", "ok"],
    ["registry", "down"],
    ["database", "unknown"],
    ["weather", "unknown"],
  ]);
});

Deno.test("pills: the reason in the page's language from Central's code, else its English", () => {
  const ready: ReadyBody = {
    status: "unavailable",
    failing: ["database"],
    checks: {
      kafka: { status: "ok", ...notice("kafka_ok") },
      database: { status: "down", ...notice("database_query_failed", { error: "disk I/O" }) },
      newer: { status: "ok", detail: "a part of a newer Central", detail_code: "newer_ok" },
    },
  };
  const live: StatusView = { ...status, weather: { ...status.weather, ...notice("weather_ok") } };
  const said = (lang: "en" | "es") => statusPills(ready, live, lang).map((p) => p.detail);
  assert.deepEqual(said("es"), [
    "productor conectado, consumidores leyendo",
    "una consulta falla: disk I/O",
    "a part of a newer Central",
    "los informes llegan cuando cambia el estado de un punto o se reinicia la Central",
  ]);
  assert.deepEqual(said("en"), [
    "producer connected, consumers fetching",
    "a query fails: disk I/O",
    "a part of a newer Central",
    "reports arrive when a CP's status changes or Central restarts",
  ]);
});
