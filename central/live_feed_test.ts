import assert from "node:assert/strict";
import { LiveFeed, parseEventId } from "./live_feed.ts";

const types = (events: readonly { type: string }[]) => events.map((e) => e.type);

Deno.test("live feed: ids are <boot>-<seq> and grow by one per event", () => {
  const feed = new LiveFeed({ boot: "b1" });
  assert.equal(feed.lastId, "b1-0");
  assert.equal(feed.publish("cp", {}).id, "b1-1");
  feed.coalesce("t:CP1", "telemetry", { kwh: 1 });
  assert.deepEqual(feed.flush().map((e) => e.id), ["b1-2"]);
  assert.equal(feed.lastId, "b1-2");
  assert.deepEqual(parseEventId("b1-42"), { boot: "b1", seq: 42 });
  assert.equal(parseEventId("nonsense"), undefined);
});

Deno.test("live feed: a client resuming from an id gets every later event, in order", () => {
  const feed = new LiveFeed({ boot: "b" });
  const first = feed.publish("session", { id: "s1" });
  feed.coalesce("t:CP1", "telemetry", { kwh: 1 });
  feed.flush();
  feed.publish("ticket", { id: "s1" });
  const resumed = feed.since(first.id);
  assert.equal(resumed.kind, "events");
  assert.deepEqual(types(resumed.kind === "events" ? resumed.events : []), [
    "telemetry",
    "ticket",
  ]);
  assert.deepEqual(feed.since(feed.lastId), { kind: "events", events: [] });
});

Deno.test("live feed: telemetry is coalesced per key to the newest value at each flush", () => {
  const feed = new LiveFeed({ boot: "b" });
  const seen: unknown[] = [];
  feed.subscribe((e) => seen.push(e.data));
  for (let kwh = 1; kwh <= 100; kwh++) feed.coalesce("t:CP1", "telemetry", { kwh });
  feed.coalesce("t:CP2", "telemetry", { kwh: 7 });
  assert.equal(seen.length, 0, "nothing before the flush");
  feed.flush();
  assert.deepEqual(seen, [{ kwh: 100 }, { kwh: 7 }]);
  assert.deepEqual(feed.flush(), [], "nothing held any more");
});

Deno.test("live feed: only the newest value per key is replayed, never older figures", () => {
  const feed = new LiveFeed({ boot: "b" });
  feed.coalesce("t:CP1", "telemetry", { kwh: 1 });
  feed.flush();
  feed.coalesce("t:CP1", "telemetry", { kwh: 2 });
  feed.flush();
  const resumed = feed.since("b-0");
  assert.ok(resumed.kind === "events");
  assert.deepEqual(resumed.events.map((e) => e.data), [{ kwh: 2 }]);
});

Deno.test("live feed: a discrete event drops the held and replayable value it supersedes", () => {
  const feed = new LiveFeed({ boot: "b" });
  feed.coalesce("t:CP1", "telemetry", { kwh: 1 });
  feed.flush();
  feed.coalesce("t:CP1", "telemetry", { kwh: 2 });
  feed.publish("cp", { state: "STOPPED" }, "t:CP1");
  assert.deepEqual(feed.flush(), [], "the held figures were stale");
  const resumed = feed.since("b-0");
  assert.ok(resumed.kind === "events");
  assert.deepEqual(types(resumed.events), ["cp"]);
});

Deno.test("live feed: ids of another boot, never issued, or already evicted reset the client", () => {
  const feed = new LiveFeed({ boot: "b", capacity: 3 });
  for (let i = 0; i < 5; i++) feed.publish("ticket", { i });
  assert.deepEqual(feed.since(undefined), { kind: "reset", reason: "no_id" });
  assert.deepEqual(feed.since("other-3"), { kind: "reset", reason: "unknown_boot" });
  assert.deepEqual(feed.since("garbage"), { kind: "reset", reason: "unknown_boot" });
  assert.deepEqual(feed.since("b-99"), { kind: "reset", reason: "unknown_id" });
  // Ring holds 3, 4, 5: after 1, event 2 is gone, so resuming from 1 would miss a ticket.
  assert.deepEqual(feed.since("b-1"), { kind: "reset", reason: "too_old" });
  const resumed = feed.since("b-2");
  assert.ok(resumed.kind === "events");
  assert.deepEqual(resumed.events.map((e) => e.seq), [3, 4, 5]);
});

Deno.test("live feed: current values past their capacity are dropped and resets cover them", () => {
  const feed = new LiveFeed({ boot: "b", latestCapacity: 2 });
  for (const key of ["a", "b", "c"]) feed.coalesce(key, "driver", { key });
  feed.flush();
  assert.deepEqual(feed.since("b-0"), { kind: "reset", reason: "too_old" });
  const resumed = feed.since("b-1");
  assert.ok(resumed.kind === "events");
  assert.deepEqual(resumed.events.map((e) => e.data), [{ key: "b" }, { key: "c" }]);
});

Deno.test("live feed: memory stays bounded however many events pass", () => {
  const feed = new LiveFeed({ boot: "b", capacity: 10 });
  for (let i = 0; i < 10_000; i++) {
    feed.publish("audit", { i });
    feed.coalesce(`t:${i % 5}`, "telemetry", { i });
    if (i % 10 === 0) feed.flush();
  }
  const resumed = feed.since(`b-${feed.lastId.split("-")[1] as string}`);
  assert.ok(resumed.kind === "events" && resumed.events.length === 0);
  const recent = feed.since(`b-${Number(feed.lastId.split("-")[1]) - 12}`);
  assert.ok(recent.kind === "events" && recent.events.length <= 10 + 5);
});
