import assert from "node:assert/strict";
import {
  type Alarm,
  applyAlarms,
  fromAlarms,
  MAX_CLEARED_SHOWN,
  newlyOpen,
  NO_ALARMS,
} from "./alarm_list.ts";

const alarm = (id: number, began: string, cleared: string | null = null): Alarm => ({
  id,
  cp_id: `CP-00${id}`,
  kind: "cp_disconnected",
  began_at: `2026-12-05T${began}:00.000Z`,
  cleared_at: cleared === null ? null : `2026-12-05T${cleared}:00.000Z`,
  detail: "monitor not logged in",
  detail_code: "alarm_monitor_out",
  detail_params: {},
});

Deno.test("alarm list: open alarms first, newest first, then the latest cleared", () => {
  const list = fromAlarms({
    items: [
      alarm(1, "10:00", "10:30"),
      alarm(2, "10:05"),
      alarm(3, "10:10", "10:20"),
      alarm(4, "11:00"),
    ],
  });
  assert.deepEqual(list.items.map((a) => a.id), [4, 2, 1, 3]);
  assert.equal(list.open, 2);
});

Deno.test("alarm list: an event replaces the alarm with its id, and the count follows", () => {
  let list = fromAlarms({ items: [alarm(1, "10:00")] });
  list = applyAlarms(list, [alarm(2, "10:05")]);
  assert.equal(list.open, 2);
  list = applyAlarms(list, [alarm(1, "10:00", "10:06")]);
  assert.deepEqual(list.items.map((a) => [a.id, a.cleared_at !== null]), [[2, false], [1, true]]);
  assert.equal(list.open, 1);
  assert.equal(applyAlarms(list, []), list, "no event: the same list");
});

Deno.test("alarm list: cleared alarms are bounded, open ones never dropped", () => {
  const cleared = Array.from(
    { length: MAX_CLEARED_SHOWN + 20 },
    (_, i) => ({ ...alarm(i + 10, "09:00", "09:30"), id: i + 10 }),
  );
  const list = applyAlarms(NO_ALARMS, [...cleared, alarm(1, "08:00")]);
  assert.equal(list.items.length, MAX_CLEARED_SHOWN + 1);
  assert.equal(list.items[0].id, 1);
});

Deno.test("alarm list: the newly open alarms are those not open before", () => {
  const before = fromAlarms({ items: [alarm(1, "10:00"), alarm(2, "10:01")] });
  const after = applyAlarms(before, [alarm(2, "10:01", "10:02"), alarm(3, "10:03")]);
  assert.deepEqual(newlyOpen(before, after).map((a) => a.id), [3]);
  assert.deepEqual(newlyOpen(after, after), []);
});
