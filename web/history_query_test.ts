import assert from "node:assert/strict";
import {
  ANY_SESSION,
  csvUrl,
  filterParams,
  fromHistoryQuery,
  HISTORY_PAGE,
  historyQuery,
  pageUrl,
} from "./history_query.ts";

const params = (f: Partial<typeof ANY_SESSION>) => {
  const p = filterParams({ ...ANY_SESSION, ...f });
  if (typeof p === "string") throw new Error(p);
  return p;
};

Deno.test("history query: no filter pages through every session from an empty cursor", () => {
  assert.equal(pageUrl(params({})), `/sessions?status=all&limit=${HISTORY_PAGE}&cursor=`);
  assert.equal(pageUrl(params({}), "abc", 10), "/sessions?status=all&limit=10&cursor=abc");
  assert.equal(csvUrl(params({})), "/sessions.csv?status=all");
});

Deno.test("history query: the table and the CSV share the filters, times in ISO", () => {
  const from = new Date(2026, 11, 5, 8, 0);
  const to = new Date(2026, 11, 5, 9, 30);
  const p = params({
    status: "completed",
    from: "2026-12-05T08:00",
    to: "2026-12-05T09:30",
    cp: " CP-001 ",
    driver: "DRV-002",
  });
  const expected = `status=completed&from=${encodeURIComponent(from.toISOString())}` +
    `&to=${encodeURIComponent(to.toISOString())}&cp=CP-001&driver=DRV-002`;
  assert.equal(csvUrl(p), `/sessions.csv?${expected}`);
  assert.equal(pageUrl(p), `/sessions?${expected}&limit=${HISTORY_PAGE}&cursor=`);
});

Deno.test("history query: a backwards range or an unreadable time is a message, not a query", () => {
  assert.equal(
    filterParams({ ...ANY_SESSION, from: "2026-12-05T10:00", to: "2026-12-05T09:00" }),
    "the range ends before it begins",
  );
  assert.match(filterParams({ ...ANY_SESSION, from: "soon" }) as string, /not a date/);
});

Deno.test("history query: the page's hash holds the filters and page size, and gives them back", () => {
  const filter = {
    status: "completed" as const,
    from: "2026-12-05T08:00",
    to: "2026-12-05T09:30",
    cp: "CP-001",
    driver: "DRV 2",
  };
  const query = historyQuery(params(filter), 2);
  assert.match(query, /^status=completed&from=.*&cp=CP-001&driver=DRV\+2&limit=2$/);
  assert.deepEqual(fromHistoryQuery(query), { filter, limit: 2 });
  assert.equal(historyQuery(params({}), HISTORY_PAGE), "status=all", "the default size unsaid");
});

Deno.test("history query: a hash with nothing, or nonsense, is every session a page at a time", () => {
  for (const query of ["", "status=bogus&from=later&limit=0", "limit=5000&to=x", "limit=1.5"]) {
    assert.deepEqual(fromHistoryQuery(query), { filter: ANY_SESSION, limit: HISTORY_PAGE }, query);
  }
});
