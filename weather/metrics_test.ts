import assert from "node:assert/strict";
import { parsePromText, sampleValue } from "../shared/prom_text.ts";
import type { LocationRow, Reading } from "./core.ts";
import { OfficeMetrics } from "./metrics.ts";

Deno.test("weather metrics: reports, provider errors by kind, alerts by outcome, CPs held", async () => {
  const rows: LocationRow[] = [
    { cpId: "CP-001", city: "Madrid", state: "alert" },
    { cpId: "CP-002", city: "Oslo", state: "clear" },
    { cpId: "CP-003", city: "Nowhere", state: "unknown" },
  ];
  const metrics = new OfficeMetrics(() => rows);
  metrics.readings(
    new Map<string, Reading>([
      ["Madrid", { ok: true, temperature: -2 }],
      ["Oslo", { ok: true, temperature: 4 }],
      ["Nowhere", { ok: false, kind: "city_not_found", detail: "404" }],
    ]),
  );
  const body = { cp_id: "CP-001", city: "Madrid", temperature: -2, status: "alert" as const };
  metrics.deliveries([
    { body, outcome: { kind: "delivered" } },
    { body: { ...body, cp_id: "CP-009" }, outcome: { kind: "unknown_cp", detail: "404" } },
  ]);
  const m = parsePromText(await metrics.registry.metrics());
  assert.equal(sampleValue(m, "weather_reports_total"), 2);
  assert.equal(sampleValue(m, "weather_provider_errors_total", { kind: "city_not_found" }), 1);
  const sent = (status: string, outcome: string) =>
    sampleValue(m, "weather_alerts_sent_total", { status, outcome });
  assert.equal(sent("alert", "delivered"), 1);
  assert.equal(sent("alert", "unknown_cp"), 1);
  assert.equal(sent("clear", "delivered"), 0);
  assert.equal(sampleValue(m, "weather_cps_watched"), 3);
  assert.equal(sampleValue(m, "weather_cps_alerted"), 1);
});
