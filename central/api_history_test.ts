import assert from "node:assert/strict";
import { noticeText } from "../shared/notices.ts";
import { testApp } from "./api_test_support.ts";
import { SESSION_CSV_COLUMNS } from "./api_history.ts";
import { DEFAULT_CORE_CONFIG, EMPTY_MODEL } from "./core.ts";
import { CentralRuntime } from "./runtime.ts";
import { storeWith } from "./history_test_support.ts";

function setup(n: number) {
  const store = storeWith(n);
  const runtime = new CentralRuntime(store, EMPTY_MODEL, DEFAULT_CORE_CONFIG);
  const app = testApp(runtime);
  return Object.assign(app, { [Symbol.dispose]: () => store.close() });
}

/** A strict RFC 4180 reader: CRLF records, quoted fields with doubled quotes. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = "";
  let record: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new Error("unterminated quote");
        if (text[i] === '"' && text[i + 1] === '"') (field += '"', i += 2);
        else if (text[i] === '"') break;
        else field += text[i++];
      }
      i++;
    }
    if (text[i] === ",") (record.push(field), field = "", i++);
    else if (text.startsWith("\r\n", i)) {
      record.push(field);
      records.push(record);
      (record = [], field = "", i += 2);
    } else if (i < text.length) field += text[i++];
  }
  if (field !== "" || record.length > 0) throw new Error("last record without CRLF");
  return records;
}

Deno.test("api history: /sessions with only status and limit answers the array it always did", async () => {
  using app = setup(6);
  const active = await (await app.request("/sessions")).json();
  assert.ok(Array.isArray(active));
  assert.deepEqual(active.map((s: { id: string }) => s.id), ["S-005", "S-003", "S-001"]);
  const completed = await (await app.request("/sessions?status=completed&limit=2")).json();
  assert.deepEqual(completed.map((s: { id: string }) => s.id), ["S-004", "S-002"]);
  assert.deepEqual(Object.keys(completed[0]).sort(), [...SESSION_CSV_COLUMNS].sort());
});

Deno.test("api history: filters page with an opaque next_cursor until it is null", async () => {
  using app = setup(30);
  const ids: string[] = [];
  let cursor = "";
  for (let i = 0; i < 10; i++) {
    const res = await app.request(
      `/sessions?status=all&cp=CP-1&limit=3&cursor=${encodeURIComponent(cursor)}`,
    );
    assert.equal(res.status, 200);
    const page = await res.json();
    ids.push(...page.items.map((s: { id: string; cp_id: string }) => s.cp_id + "/" + s.id));
    if (page.next_cursor === null) break;
    cursor = page.next_cursor;
  }
  assert.equal(ids.length, 10);
  assert.ok(ids.every((id) => id.startsWith("CP-1/")));
  const range = await (await app.request(
    `/sessions?status=completed&driver=DRV-0&from=2026-12-01T04:00:00Z&to=${
      Date.parse("2026-12-01T09:00:00Z")
    }`,
  )).json();
  assert.deepEqual(range.items.map((s: { id: string }) => s.id), ["S-008", "S-006", "S-004"]);
  assert.equal(range.next_cursor, null);
});

Deno.test("api history: bad ranges, ids and cursors are 400 naming the field", async () => {
  using app = setup(3);
  const cases: [string, RegExp][] = [
    ["/sessions?from=yesterday", /from/],
    ["/sessions?from=2026-12-02&to=2026-12-01", /from: must not be after to/],
    ["/sessions?cp=a,b", /cp/],
    ["/sessions?cursor=garbage", /cursor/],
    ["/sessions.csv?to=soon", /to/],
    ["/sessions?status=all&limit=1001", /limit/],
  ];
  for (const [path, detail] of cases) {
    const res = await app.request(path);
    assert.equal(res.status, 400, path);
    const body = await res.json();
    assert.equal(body.error, "validation_failed", path);
    assert.match(body.detail, detail, path);
  }
  const page = await (await app.request("/sessions?status=all&limit=1&cursor=")).json();
  const other = await app.request(`/sessions?status=completed&cursor=${page.next_cursor}`);
  assert.equal(other.status, 400, "a cursor of another status");
  assert.equal((await other.json()).detail_code, "foreign_cursor");
  const reversed = await (await app.request("/sessions?from=2026-12-02&to=2026-12-01")).json();
  assert.equal(noticeText(reversed, "es"), "desde: no puede ser posterior a hasta");
});

Deno.test("api history: /sessions.csv streams the same query as RFC 4180 CSV", async () => {
  using app = setup(1201);
  const res = await app.request("/sessions.csv?status=all");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/csv; charset=utf-8; header=present");
  assert.match(
    res.headers.get("content-disposition") ?? "",
    /attachment; filename="sessions\.csv"/,
  );
  const records = parseCsv(new TextDecoder("utf-8", { fatal: true }).decode(await res.bytes()));
  assert.deepEqual(records[0], [...SESSION_CSV_COLUMNS]);
  assert.equal(records.length, 1 + 1201);
  assert.equal(records[1][0], "S-1200", "newest first");
  const byId = new Map(records.slice(1).map((r) => [r[0], r]));
  assert.deepEqual(byId.get("S-002"), [
    "S-002",
    "CP-2",
    "DRV-0",
    "2026-12-01T02:00:00.000Z",
    "2026-12-01T02:30:00.000Z",
    "2",
    "1",
    "unplugged",
  ]);
  assert.deepEqual(byId.get("S-001")?.slice(4), ["", "1", "0.5", ""], "open: no end");

  const filtered = parseCsv(
    await (await app.request("/sessions.csv?status=completed&cp=CP-1&limit=2")).text(),
  );
  assert.deepEqual(filtered.slice(1).map((r) => r[0]), ["S-1198", "S-1192"]);
});
