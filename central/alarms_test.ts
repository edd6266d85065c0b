import assert from "node:assert/strict";
import { noticeText } from "../shared/notices.ts";
import { AlarmBook, MAX_CLEARED_ALARMS } from "./alarms.ts";
import { operatorRuntime, T0 } from "./operator_test_support.ts";

function withBook() {
  const t = operatorRuntime();
  const book = new AlarmBook(t.runtime.model, T0);
  const changes: string[] = [];
  t.runtime.subscribe((c) => {
    for (const a of book.observe(c)) {
      changes.push(`${a.cleared_at === null ? "+" : "-"}${a.kind}:${a.cp_id}`);
    }
  });
  return Object.assign(t, { book, changes });
}

Deno.test("alarms: BROKEN and DISCONNECTED open with their start and clear with their end", () => {
  using t = withBook();
  t.login("CP-1", T0);
  t.engine("CP-1", "KO", T0 + 1000);
  assert.deepEqual(t.book.open().map((a) => [a.kind, a.began_at]), [
    ["cp_broken", new Date(T0 + 1000).toISOString()],
  ]);
  t.engine("CP-1", "OK", T0 + 2000);
  t.disconnect("CP-1", T0 + 3000);
  t.login("CP-1", T0 + 4000);
  assert.deepEqual(t.changes, [
    "+cp_broken:CP-1",
    "-cp_broken:CP-1",
    "+cp_disconnected:CP-1",
    "-cp_disconnected:CP-1",
  ]);
  assert.deepEqual(t.book.open(), []);
  const cleared = t.book.all();
  assert.equal(cleared[0].kind, "cp_disconnected", "newest first");
  assert.equal(cleared[0].began_at, new Date(T0 + 3000).toISOString());
  assert.equal(cleared[0].cleared_at, new Date(T0 + 4000).toISOString());
});

Deno.test("alarms: a weather hold and a key revocation; a rotation is no alarm", () => {
  using t = withBook();
  t.login("CP-1", T0);
  t.weather("CP-1", "alert", T0 + 1000);
  t.weather("CP-1", "alert", T0 + 1500); // the same hold: no second alarm
  t.weather("CP-1", "clear", T0 + 2000);
  t.revoke("CP-1", true, T0 + 3000); // rotate: logged out, so only DISCONNECTED
  t.login("CP-1", T0 + 3500);
  t.revoke("CP-1", false, T0 + 4000);
  assert.deepEqual(t.changes, [
    "+weather_hold:CP-1",
    "-weather_hold:CP-1",
    "+cp_disconnected:CP-1",
    "-cp_disconnected:CP-1",
    "+key_revoked:CP-1",
    "+cp_disconnected:CP-1",
  ]);
  t.login("CP-1", T0 + 5000);
  assert.deepEqual(t.book.open(), [], "a new login with a new key clears it");
});

Deno.test("alarms: CPs recovered disconnected are open alarms from the start", () => {
  using t = operatorRuntime();
  t.login("CP-1", T0);
  t.disconnect("CP-1", T0 + 100);
  const book = new AlarmBook(t.runtime.model, T0 + 60_000);
  assert.deepEqual(book.open().map((a) => [a.cp_id, a.kind, a.began_at]), [
    ["CP-1", "cp_disconnected", new Date(T0 + 60_000).toISOString()],
  ]);
});

Deno.test("alarms: cleared alarms are kept up to a bound", () => {
  using t = withBook();
  t.login("CP-1", T0);
  for (let i = 0; i < MAX_CLEARED_ALARMS + 50; i++) {
    t.engine("CP-1", "KO", T0 + 2 * i + 1);
    t.engine("CP-1", "OK", T0 + 2 * i + 2);
  }
  assert.equal(t.book.all().length, MAX_CLEARED_ALARMS);
});

Deno.test("alarms: each says why in English and as a code the dashboard shows in Spanish", () => {
  using t = withBook();
  t.login("CP-1", T0);
  t.engine("CP-1", "KO", T0 + 1000);
  t.weather("CP-1", "alert", T0 + 1500);
  t.revoke("CP-1", false, T0 + 2000);
  const said = t.book.all()
    .map((a) => [a.kind, a.detail, a.detail_code, noticeText(a, "es")])
    .sort((a, b) => a[0] < b[0] ? -1 : 1);
  assert.deepEqual(said, [
    ["cp_broken", "the engine reports KO", "alarm_engine_ko", "el motor informa de avería (KO)"],
    [
      "cp_disconnected",
      "monitor not logged in",
      "alarm_monitor_out",
      "el monitor no ha iniciado sesión",
    ],
    [
      "key_revoked",
      "keys revoked by an admin",
      "alarm_keys_revoked",
      "claves revocadas por un administrador",
    ],
    ["weather_hold", "Madrid: -3 °C", "alarm_weather", "Madrid: -3 °C"],
  ]);
  const { detail_params } = t.book.all().find((a) => a.kind === "weather_hold")!;
  assert.deepEqual(detail_params, { city: "Madrid", temperature: -3 });
});
