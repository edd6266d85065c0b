import assert from "node:assert/strict";
import { benchSummary, formatLosses, lossesBetween } from "./bench_summary.ts";
import { emptyCounts } from "./core.ts";

Deno.test("losses: the counts' growth between two moments, and the sessions failures ended", () => {
  const before = { ...emptyCounts(10, 10), lostLogins: 2, relogins: 1, monitorLinkDrops: 1 };
  const after = { ...before, lostLogins: 5, relogins: 3, monitorLinkDrops: 4 };
  const losses = lossesBetween(before, after, [
    { endReason: "target_reached" },
    { endReason: "unplugged" },
    { endReason: "fault" },
    { endReason: "plug_timeout" },
    { endReason: "fault" },
    { endReason: "stopped_admin" },
  ]);
  assert.deepEqual(losses, {
    lostLogins: 3,
    relogins: 2,
    monitorLinkDrops: 3,
    lostSessions: 3,
    lostSessionReasons: { fault: 2, plug_timeout: 1 },
  });
  assert.equal(
    formatLosses(losses),
    "3 lost logins (2 logged in again), 3 engine links lost, 3 lost sessions " +
      "(fault 2, plug_timeout 1)",
  );
  const none = lossesBetween(after, after, [{ endReason: "target_reached" }]);
  assert.equal(none.lostSessions, 0);
  assert.equal(
    formatLosses(none),
    "0 lost logins (0 logged in again), 0 engine links lost, 0 lost sessions",
  );
});

Deno.test("summary: the issue's field names, the ratio, and null for what was not measured", () => {
  const losses = lossesBetween(emptyCounts(1, 1), { ...emptyCounts(1, 1), lostLogins: 7 }, []);
  const summary = benchSummary({
    handledPerSecond: 500,
    rawPerSecond: 2000,
    lagMaxSeconds: 0.4,
    authP99Ms: 80,
    errors: 1,
    losses,
  });
  assert.deepEqual(summary, {
    handled_per_s: 500,
    raw_per_s: 2000,
    ratio: 0.25,
    lag_max_s: 0.4,
    auth_p99_ms: 80,
    errors: 1,
    lost_sessions: 0,
    lost_logins: 7,
    relogins: 0,
    monitor_link_drops: 0,
  });
  const unmeasured = benchSummary({
    handledPerSecond: 0,
    rawPerSecond: 0,
    lagMaxSeconds: null,
    authP99Ms: undefined,
    errors: 0,
    losses,
  });
  assert.equal(unmeasured.ratio, 0);
  assert.equal(unmeasured.auth_p99_ms, null);
});
