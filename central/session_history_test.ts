import assert from "node:assert/strict";
import { HOUR, iso, session, storeWith, T0 } from "./history_test_support.ts";
import {
  decodeCursor,
  encodeCursor,
  parseTimeParam,
  type SessionCursor,
  SessionHistory,
} from "./session_history.ts";

Deno.test("session_history: pages follow each other with no gap and no repeat", () => {
  using store = storeWith(25);
  const history = new SessionHistory(store.db);
  const seen: string[] = [];
  let after: SessionCursor | undefined;
  for (let pages = 0; pages < 10; pages++) {
    const page = history.page({ status: "all", limit: 7, after });
    seen.push(...page.items.map((s) => s.id));
    if (page.next === null) break;
    after = decodeCursor(encodeCursor(page.next));
  }
  assert.equal(seen.length, 25);
  assert.deepEqual(seen, [...seen].sort().reverse(), "newest first");
});

Deno.test("session_history: status, range [from, to), CP and driver filters", () => {
  using store = storeWith(12);
  const history = new SessionHistory(store.db);
  const ids = (q: Parameters<SessionHistory["page"]>[0]) => history.page(q).items.map((s) => s.id);
  assert.equal(ids({ status: "active", limit: 100 }).length, 6);
  assert.equal(ids({ status: "completed", limit: 100 }).length, 6);
  assert.deepEqual(
    ids({ status: "all", from: iso(T0 + 2 * HOUR), to: iso(T0 + 5 * HOUR), limit: 100 }),
    ["S-004", "S-003", "S-002"],
  );
  // completed: the range is over the end (S-002 ended at 2h30).
  assert.deepEqual(
    ids({ status: "completed", from: iso(T0 + 2 * HOUR + 1), to: iso(T0 + 5 * HOUR), limit: 100 }),
    ["S-004", "S-002"],
  );
  assert.deepEqual(ids({ status: "all", cpId: "CP-1", limit: 100 }), [
    "S-010",
    "S-007",
    "S-004",
    "S-001",
  ]);
  assert.deepEqual(ids({ status: "completed", cpId: "CP-1", driverId: "DRV-0", limit: 100 }), [
    "S-010",
    "S-004",
  ]);
  assert.deepEqual(ids({ status: "all", cpId: "CP-9", limit: 100 }), []);
});

Deno.test("session_history: all() reads every match in batches, up to a limit", () => {
  using store = storeWith(1201);
  const history = new SessionHistory(store.db);
  assert.equal([...history.all({ status: "all" })].length, 1201);
  assert.equal([...history.all({ status: "completed" })].length, 601);
  assert.equal([...history.all({ status: "all" }, 10)].length, 10);
});

Deno.test("session_history: sessions with the same time are ordered by id across pages", () => {
  using store = storeWith(0);
  store.commit(Array.from({ length: 5 }, (_, i) => ({
    type: "save_session" as const,
    session: session(0, { id: `S-same-${i}` }),
  })));
  const history = new SessionHistory(store.db);
  const first = history.page({ status: "all", limit: 2 });
  const rest = history.page({ status: "all", limit: 10, after: first.next! });
  assert.deepEqual([...first.items, ...rest.items].map((s) => s.id), [
    "S-same-4",
    "S-same-3",
    "S-same-2",
    "S-same-1",
    "S-same-0",
  ]);
});

Deno.test("session_history: a cursor is opaque and refused when tampered with", () => {
  const cursor = { status: "completed" as const, at: iso(T0), id: "S-1" };
  assert.deepEqual(decodeCursor(encodeCursor(cursor)), cursor);
  for (const bad of ["", "x", "!!!", btoa('["all","soon","S-1"]'), btoa("[1,2,3]"), btoa("{}")]) {
    assert.equal(decodeCursor(bad), undefined, bad);
  }
});

Deno.test("session_history: time parameters are ISO 8601 or epoch milliseconds", () => {
  assert.equal(parseTimeParam(String(T0)), iso(T0));
  assert.equal(parseTimeParam("2026-12-01T00:00:00Z"), iso(T0));
  assert.equal(parseTimeParam("2026-12-01"), iso(T0));
  assert.equal(parseTimeParam("yesterday"), undefined);
  assert.equal(parseTimeParam("9".repeat(16)), undefined);
});
