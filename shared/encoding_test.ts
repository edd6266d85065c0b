/**
 * Strict base64: decodeBase64 takes exactly the strings of RFC 4648 §4's padded standard
 * alphabet whose unused bits are zero, and decodes them as the platform does.
 *
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeBase64, encodeBase64 } from "./encoding.ts";

/** The RFC's spelling, the rule decodeBase64 keeps without a regular expression. */
const RFC_4648 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** What a strict decoder must give for `text`: its bytes, or null. */
function reference(text: string): Uint8Array | null {
  if (!RFC_4648.test(text)) return null;
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  return encodeBase64(bytes) === text ? bytes : null; // stray bits encode back differently
}

function assertLikeReference(text: string): void {
  assert.deepEqual(decodeBase64(text), reference(text), JSON.stringify(text));
}

Deno.test("base64: every encoding decodes to its bytes", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
    assert.deepEqual(decodeBase64(encodeBase64(bytes)), bytes);
  }));
  assert.deepEqual(decodeBase64(""), new Uint8Array());
});

Deno.test("base64: whitespace, other alphabets, missing or misplaced padding, stray bits are refused", () => {
  const good = encodeBase64(new Uint8Array([1, 2, 3, 4, 5, 6, 7])); // "AQIDBAUGBw=="
  for (
    const bad of [
      `${good}\n`,
      ` ${good}`,
      good.replace("B", " B"),
      good.slice(0, 4) + "\t" + good.slice(4, -1),
      good.replace("AQID", "AQ\fD"),
      "AAAA\r\n",
      good.replace(/=+$/, ""),
      good.slice(0, -1),
      `${good}=`,
      `${good}AAAA`,
      "AA==AAAA",
      "A===",
      "====",
      "=AAA",
      "AAB=",
      "AB==",
      "AA-_",
      "AAAA\u00a0",
      "ＡＡＡＡ",
      "AAA\u0000",
    ]
  ) {
    assert.equal(decodeBase64(bad), null, JSON.stringify(bad));
    assertLikeReference(bad);
  }
});

Deno.test("base64: random strings of base64-like characters are judged as the RFC's pattern judges them", () => {
  const char = fc.constantFrom(..."AQgw+/=-_ \n\t\f\r.é".split(""), "A", "B", "g", "9");
  fc.assert(
    fc.property(fc.array(char, { maxLength: 16 }).map((cs) => cs.join("")), assertLikeReference),
    { numRuns: 20_000 },
  );
  fc.assert(fc.property(fc.string({ maxLength: 24 }), assertLikeReference), { numRuns: 5_000 });
});
