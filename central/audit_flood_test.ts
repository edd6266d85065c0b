import assert from "node:assert/strict";
import type { AuditEntry } from "./audit_chain.ts";
import { AuditAggregator } from "./audit_flood.ts";
import { REPLAY } from "./audit_test_support.ts";

/**
 * An aggregator on a hand-moved clock, collecting what it emits; `summary` is the entry it
 * emits for a group (by default cp:CP01's replays) seen `count` times from `first` to `last` s.
 */
function aggregator(options: { maxKeys?: number } = {}) {
  const start = Date.parse("2025-01-31T12:00:00.000Z");
  let now = start;
  const emitted: AuditEntry[] = [];
  const agg = new AuditAggregator({
    emit: (entry) => emitted.push(entry),
    intervalMs: 10_000,
    now: () => now,
    ...options,
  });
  const at = (seconds: number) => {
    now = start + seconds * 1000;
  };
  const iso = (seconds: number) => new Date(start + seconds * 1000).toISOString();
  const summary = (
    count: number,
    first: number,
    last: number,
    { actor = "cp:CP01", action = "envelope.reject", reason = "replay" } = {},
  ) => ({
    actor,
    action,
    outcome: "rejected",
    params: { reason, count, first_ts: iso(first), last_ts: iso(last) },
  });
  return { agg, emitted, at, summary };
}

Deno.test("aggregator: first occurrence at once, then one summary per interval", () => {
  const { agg, emitted, at, summary } = aggregator();
  at(0);
  agg.offer(REPLAY);
  assert.deepEqual(emitted, [{
    actor: "cp:CP01",
    action: "envelope.reject",
    outcome: "rejected",
    params: { kv: 3, seq: 41, reason: "replay" },
    originIp: "192.0.2.7",
  }]);

  for (const s of [1, 2, 5, 9]) {
    at(s);
    agg.offer(REPLAY);
  }
  at(9.999);
  agg.tick();
  assert.equal(emitted.length, 1, "nothing more inside the window");

  at(10);
  agg.tick();
  assert.deepEqual(emitted.slice(1), [summary(4, 1, 9)]);

  // The flood goes on: the next summary comes at the end of the next window, not before.
  for (const s of [11, 12, 19]) {
    at(s);
    agg.offer(REPLAY);
    agg.tick();
  }
  at(20);
  agg.tick();
  assert.deepEqual(emitted.slice(2), [summary(3, 11, 19)]);

  // A quiet window forgets the group: its next occurrence is again written in full.
  at(30);
  agg.tick();
  assert.equal(agg.size, 0);
  at(31);
  agg.offer(REPLAY);
  assert.equal(emitted.length, 4);
  assert.deepEqual(emitted[3], emitted[0]);
});

Deno.test("aggregator: a late occurrence closes the window itself; groups are separate", () => {
  const { agg, emitted, at, summary } = aggregator();
  at(0);
  agg.offer(REPLAY);
  agg.offer({ ...REPLAY, reason: "tag" });
  agg.offer({ ...REPLAY, actor: "cp:CP02" });
  assert.equal(emitted.length, 3, "each (actor, action, reason) has its own first occurrence");
  at(4);
  agg.offer(REPLAY);
  at(15); // no tick in between
  agg.offer(REPLAY);
  assert.deepEqual(emitted.slice(3), [summary(1, 4, 4)]);
  // The occurrence at 15 s is counted in the new window and reported by flush at shutdown.
  agg.flush();
  assert.deepEqual(emitted.slice(4), [summary(1, 15, 15)]);
  assert.equal(agg.size, 0);
  agg.flush();
  assert.equal(emitted.length, 5, "nothing left to flush");
});

Deno.test("aggregator: keys are capped; the rest share one overflow bucket", () => {
  const { agg, emitted, at, summary } = aggregator({ maxKeys: 2 });
  at(0);
  for (let i = 1; i <= 50; i++) agg.offer({ ...REPLAY, actor: `cp:FORGED${i}` });
  assert.equal(agg.size, 3, "two groups and the overflow bucket");
  assert.deepEqual(emitted.map((e) => [e.actor, e.action]), [
    ["cp:FORGED1", "envelope.reject"],
    ["cp:FORGED2", "envelope.reject"],
    ["central", "audit.overflow"],
  ]);
  assert.deepEqual(emitted[2].params, { reason: "too_many_keys", max_keys: 2 });
  at(10);
  agg.tick();
  const overflow = { actor: "central", action: "audit.overflow", reason: "too_many_keys" };
  assert.deepEqual(emitted.slice(3), [summary(47, 0, 0, overflow)]);
  at(20);
  agg.tick();
  assert.equal(agg.size, 0, "quiet groups are forgotten, so memory goes back down");
});
