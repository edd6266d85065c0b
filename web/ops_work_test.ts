import assert from "node:assert/strict";
import type { Alarm } from "./alarm_list.ts";
import { opsWork, summaryDelay } from "./ops_work.ts";

const alarm = (id: number): Alarm => ({
  id,
  cp_id: "CP-001",
  kind: "cp_broken",
  began_at: "2026-12-05T10:00:00.000Z",
  cleared_at: null,
  detail: "the engine reports KO",
  detail_code: "alarm_engine_ko",
  detail_params: {},
});

Deno.test("ops work: a reset reloads alarms, readiness and figures", () => {
  assert.deepEqual(opsWork([{ type: "reset", data: null }]), {
    reloadAlarms: true,
    ready: true,
    summary: true,
    alarms: [],
  });
});

Deno.test("ops work: status re-reads readiness, alarms apply in order, the rest moves figures", () => {
  assert.deepEqual(opsWork([{ type: "status", data: {} }]), {
    reloadAlarms: false,
    ready: true,
    summary: false,
    alarms: [],
  });
  const work = opsWork([
    { type: "alarm", data: alarm(1) },
    { type: "alarm", data: alarm(2) },
  ]);
  assert.deepEqual(work.alarms.map((a) => a.id), [1, 2]);
  assert.equal(work.summary, false, "an alarm alone moves no figure");
  for (const type of ["cp", "telemetry", "session", "ticket"]) {
    assert.equal(opsWork([{ type, data: {} }]).summary, true, type);
  }
  assert.deepEqual(opsWork([]), { reloadAlarms: false, ready: false, summary: false, alarms: [] });
});

Deno.test("ops work: the figures are read at most once per gap", () => {
  assert.equal(summaryDelay(0, 10_000, 2_000), 0, "long ago: now");
  assert.equal(summaryDelay(9_500, 10_000, 2_000), 1_500, "just read: the rest of the gap");
  assert.equal(summaryDelay(10_000, 10_000, 2_000), 2_000);
});
