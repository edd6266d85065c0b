import assert from "node:assert/strict";
import { build, commandPayloadSchema } from "../shared/messages.ts";
import { initialCharger, step, transactionIdOf } from "./core.ts";
import { restoreCharger, savedText } from "./charger_state.ts";

const ctx = { now: Date.parse("2026-01-01T10:00:00Z"), heartbeatIntervalS: 60, freshId: "f-1" };

Deno.test("charger state: a session, hold and ended transactions survive; statuses do not", () => {
  let model = step(initialCharger("OC-1"), { type: "connected" }, ctx).model;
  model = step(model, {
    type: "command",
    command: build(commandPayloadSchema, "AUTHORIZE", {
      sessionId: "ses-1",
      driverId: "DRV-1",
      priceEurKwh: 0.5,
    }),
  }, ctx).model;
  model = step(model, {
    type: "call",
    callId: "c",
    action: "StartTransaction",
    payload: { connectorId: 1, idTag: "DRV-1", meterStart: 100, timestamp: "2026-01-01T10:00:00Z" },
  }, ctx).model;
  model = step(model, {
    type: "call",
    callId: "s",
    action: "StatusNotification",
    payload: { connectorId: 1, errorCode: "NoError", status: "Charging" },
  }, ctx).model;
  const { model: back, problem } = restoreCharger("OC-1", savedText(model));
  assert.equal(problem, undefined);
  assert.deepEqual(back.session, model.session);
  assert.equal(back.session?.transactionId, transactionIdOf("ses-1"));
  assert.deepEqual(back.statuses, {});
  assert.equal(back.connected, false);
});

Deno.test("charger state: a missing, broken or foreign file gives a fresh charger and says why", () => {
  assert.deepEqual(restoreCharger("OC-1", undefined), { model: initialCharger("OC-1") });
  assert.equal(restoreCharger("OC-1", "{nope").problem, "not JSON");
  assert.ok(restoreCharger("OC-1", JSON.stringify({ v: 9 })).problem);
  const other = savedText(initialCharger("OC-2"));
  assert.match(restoreCharger("OC-1", other).problem ?? "", /OC-2/);
  const bad = JSON.parse(savedText(initialCharger("OC-1")));
  bad.ended = ["x"];
  assert.ok(restoreCharger("OC-1", JSON.stringify(bad)).problem);
});

Deno.test("charger state: the charger's own Unavailable survives a restart, its Available clears it", () => {
  const status = (s: string) => ({
    type: "call" as const,
    callId: s,
    action: "StatusNotification",
    payload: { connectorId: 0, errorCode: "NoError", status: s },
  });
  let model = step(initialCharger("OC-1"), { type: "connected" }, ctx).model;
  model = step(model, status("Unavailable"), ctx).model;
  const back = restoreCharger("OC-1", savedText(model)).model;
  assert.equal(back.chargerUnavailable, true);
  model = step(back, status("Available"), ctx).model;
  assert.equal(restoreCharger("OC-1", savedText(model)).model.chargerUnavailable, false);
  assert.equal("chargerUnavailable" in JSON.parse(savedText(model)), false, "files stay as before");
});
