import assert from "node:assert/strict";
import { csvField, csvRecord, csvStream, parseCsv } from "./csv.ts";

Deno.test("csv: quotes only what must be quoted, doubling quotes (RFC 4180)", () => {
  assert.equal(csvField("CP-001"), "CP-001");
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField("a,b"), '"a,b"');
  assert.equal(csvField("two\nlines"), '"two\nlines"');
  assert.equal(csvField("cr\r"), '"cr\r"');
  assert.equal(csvField(null), "");
  assert.equal(csvField(undefined), "");
  assert.equal(csvField(1.5), "1.5");
  assert.equal(csvField("Málaga €"), "Málaga €");
  assert.equal(csvRecord(["a", null, 2]), "a,,2\r\n");
});

Deno.test("csv: the stream is the header then every record, pulled in chunks", async () => {
  function* rows() {
    for (let i = 0; i < 5; i++) yield [`r${i}`, i];
  }
  const text = await new Response(csvStream(["id", "n"], rows(), 2)).text();
  assert.equal(text, "id,n\r\nr0,0\r\nr1,1\r\nr2,2\r\nr3,3\r\nr4,4\r\n");
  const empty = await new Response(csvStream(["id"], [][Symbol.iterator]())).text();
  assert.equal(empty, "id\r\n");
});

Deno.test("csv: a cancelled stream stops pulling records", async () => {
  let made = 0;
  function* rows() {
    while (true) {
      made++;
      yield ["x"];
    }
  }
  const reader = csvStream(["h"], rows(), 10).getReader();
  await reader.read();
  await reader.cancel();
  const after = made;
  assert.ok(after <= 30, `made ${after}`);
});

Deno.test("csv: parsing gives back what was written, quotes, commas and line breaks included", () => {
  const rows = [["id", "note"], ["S-1", 'say "hi", then\r\nleave'], ["S-2", ""], ["", "Málaga €"]];
  const text = rows.map((r) => csvRecord(r)).join("");
  assert.deepEqual(parseCsv(text), rows);
  assert.deepEqual(parseCsv("a,b\nc,d"), [["a", "b"], ["c", "d"]], "bare LF, no final break");
  assert.deepEqual(parseCsv(""), []);
});

Deno.test("csv: parsing refuses an unterminated quote and text after a closing quote", () => {
  assert.throws(() => parseCsv('a,"open\r\n'), /never closed/);
  assert.throws(() => parseCsv('"x"y,z\r\n'), /after a closing quote/);
});
