import assert from "node:assert/strict";
import fc from "fast-check";
import { concatBytes } from "./encoding.ts";
import {
  ACK,
  type DecodeEvent,
  encodeFrame,
  ENQ,
  EOT,
  ETX,
  FrameDecoder,
  lrc,
  MAX_FRAME_BYTES,
  NACK,
  STX,
} from "./framing.ts";

const utf8 = new TextEncoder();

/** A frame around raw DATA bytes, with the right LRC unless one is given. */
function rawFrame(data: Uint8Array | string, checksum?: number): Uint8Array {
  const bytes = typeof data === "string" ? utf8.encode(data) : data;
  return concat(Uint8Array.of(STX), bytes, Uint8Array.of(ETX, checksum ?? lrc(bytes)));
}

const concat = (...parts: Uint8Array[]) => concatBytes(parts);

/** Feeds `bytes` cut at the given positions and returns every event. */
function decodeInChunks(bytes: Uint8Array, cuts: number[]): DecodeEvent[] {
  const decoder = new FrameDecoder();
  const events: DecodeEvent[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    events.push(...decoder.push(bytes.subarray(start, cut)));
    start = cut;
  }
  return events;
}

function decodeAll(bytes: Uint8Array): DecodeEvent[] {
  return new FrameDecoder().push(bytes);
}

/** JSON has no -0: what the peer will see is the value after a JSON round trip. */
function viaJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

function frameValues(events: DecodeEvent[]): unknown[] {
  return events.flatMap((e) => e.kind === "frame" ? [e.value] : []);
}

/** A stream mixing good frames, a bad one and control bytes between frames. */
const mixedStream = concat(
  Uint8Array.of(ENQ),
  encodeFrame({ type: "AUTH", cpId: "CP-001", token: "t.o.k", ecdhPublicKey: "abc" }),
  Uint8Array.of(ACK),
  encodeFrame({ type: "HEARTBEAT", seq: 1, note: "ünïcødé 🚗⚡" }),
  rawFrame('{"type":"HEALTH"}', 0x00), // wrong LRC
  encodeFrame([1, [2, [3, null]], { deep: { er: true } }]),
  Uint8Array.of(NACK, EOT),
);

Deno.test("any JSON value survives encode then decode", () => {
  fc.assert(
    fc.property(fc.jsonValue({ stringUnit: "binary" }), (value) => {
      const events = decodeAll(encodeFrame(value));
      assert.equal(events.length, 1);
      assert.equal(events[0].kind, "frame");
      assert.deepEqual(frameValues(events), [viaJson(value)]);
    }),
  );
});

Deno.test("encodeFrame puts STX, JSON, ETX and the XOR checksum on the wire", () => {
  const frame = encodeFrame({ a: 1 });
  const data = utf8.encode('{"a":1}');
  assert.deepEqual(frame, rawFrame(data));
  assert.equal(frame.at(-1), data.reduce((x, b) => x ^ b, ETX));
});

Deno.test("encodeFrame refuses values with no JSON form and frames over 64 KiB", () => {
  assert.throws(() => encodeFrame(undefined), TypeError);
  assert.throws(() => encodeFrame(() => 1), TypeError);
  assert.throws(() => encodeFrame("x".repeat(MAX_FRAME_BYTES)), RangeError); // + 2 quotes
  assert.equal(encodeFrame("x".repeat(MAX_FRAME_BYTES - 2)).length, MAX_FRAME_BYTES + 3);
});

Deno.test("a stream cut at every byte position decodes the same as in one piece", () => {
  const whole = decodeAll(mixedStream);
  assert.deepEqual(
    whole.map((e) => e.kind === "bad" ? e.reason : e.kind),
    ["control", "frame", "control", "frame", "lrc", "frame", "control", "control"],
  );
  for (let cut = 0; cut <= mixedStream.length; cut++) {
    assert.deepEqual(decodeInChunks(mixedStream, [cut]), whole, `cut at ${cut}`);
  }
  const everyByte = Array.from({ length: mixedStream.length }, (_, i) => i);
  assert.deepEqual(decodeInChunks(mixedStream, everyByte), whole);
});

Deno.test("frames split into random chunks decode the same as in one piece", () => {
  fc.assert(
    fc.property(
      fc.array(fc.jsonValue(), { minLength: 1, maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      (values, rawCuts) => {
        const stream = concat(...values.map(encodeFrame));
        const cuts = [...new Set(rawCuts.map((c) => c % (stream.length + 1)))].sort((a, b) =>
          a - b
        );
        const events = decodeInChunks(stream, cuts);
        assert.deepEqual(events, decodeAll(stream));
        assert.deepEqual(frameValues(events), values.map(viaJson));
      },
    ),
  );
});

Deno.test("garbage between frames is skipped and counted; valid frames still decode", () => {
  // Garbage without STX: a garbage STX would open a bogus frame (see the next test).
  const garbage = fc.uint8Array({ maxLength: 40 }).map((g) => g.filter((b) => b !== STX));
  fc.assert(
    fc.property(fc.array(fc.tuple(garbage, fc.jsonValue()), { maxLength: 5 }), garbage, (
      pairs,
      tail,
    ) => {
      const stream = concat(...pairs.flatMap(([g, v]) => [g, encodeFrame(v)]), tail);
      const decoder = new FrameDecoder();
      const events = decoder.push(stream);
      assert.deepEqual(frameValues(events), pairs.map(([, v]) => viaJson(v)));
      assert.ok(events.every((e) => e.kind !== "bad"));
      // Every garbage byte was either skipped or reported as a lone control byte.
      const garbageBytes = pairs.reduce((n, [g]) => n + g.length, tail.length);
      const controls = events.filter((e) => e.kind === "control").length;
      assert.equal(decoder.skippedBytes + controls, garbageBytes);
    }),
  );
});

Deno.test("a STX inside DATA reports the cut-short frame as truncated and decodes the next", () => {
  // A stray STX in the garbage opens a frame; the real frame's STX then cuts it short.
  const events = decodeAll(concat(utf8.encode("xx\x02junk"), encodeFrame({ ok: 1 })));
  assert.equal(events.length, 2);
  assert.equal(events[0].kind === "bad" && events[0].reason, "truncated");
  assert.deepEqual(frameValues(events), [{ ok: 1 }]);
});

Deno.test("arbitrary bytes never throw and never grow the buffer past the limit", () => {
  // Long runs of one byte reach the 64 KiB limit, which uniform random bytes rarely do.
  const run = fc.record({ byte: fc.constantFrom(STX, ETX, ACK, 0x20), length: fc.nat(70_000) })
    .map(({ byte, length }) => new Uint8Array(length).fill(byte));
  const chunk = fc.oneof(fc.uint8Array({ maxLength: 2_000 }), run);
  fc.assert(
    fc.property(fc.array(chunk, { maxLength: 8 }), (chunks) => {
      const decoder = new FrameDecoder();
      for (const c of chunks) {
        decoder.push(c);
        assert.ok(decoder.bufferedBytes <= MAX_FRAME_BYTES);
      }
    }),
    { numRuns: 50 },
  );
});

Deno.test("a wrong LRC is reported as bad/lrc and the next frame decodes", () => {
  const good = encodeFrame({ type: "HEARTBEAT", seq: 2 });
  const corrupt = good.slice();
  corrupt[corrupt.length - 1] ^= 0xff;
  const events = decodeAll(concat(corrupt, good));
  assert.equal(events[0].kind === "bad" && events[0].reason, "lrc");
  assert.deepEqual(frameValues(events), [{ type: "HEARTBEAT", seq: 2 }]);
});

Deno.test("a flipped DATA byte is caught by the LRC", () => {
  const frame = encodeFrame({ type: "HEARTBEAT", seq: 3 });
  frame[5] ^= 0x01;
  const [event] = decodeAll(frame);
  assert.equal(event.kind === "bad" && event.reason, "lrc");
});

Deno.test("DATA that is not JSON is reported as bad/json without quoting it", () => {
  for (const text of ['{"token":"secret"', "", "undefined", "{'a':1}"]) {
    const [event] = decodeAll(rawFrame(text));
    assert.equal(event.kind, "bad");
    assert.equal(event.kind === "bad" && event.reason, "json", text);
    assert.ok(event.kind === "bad" && !event.detail.includes("secret"));
  }
});

Deno.test("DATA that is not valid UTF-8 is reported as bad/utf8", () => {
  for (const data of [[0x22, 0xff, 0x22], [0x22, 0xc3, 0x22], [0x22, 0xed, 0xa0, 0x80, 0x22]]) {
    const [event] = decodeAll(rawFrame(Uint8Array.from(data)));
    assert.equal(event.kind === "bad" && event.reason, "utf8");
  }
});

Deno.test("an LRC byte equal to STX or ACK is read as the checksum, not as a control byte", () => {
  for (const wanted of [STX, ACK, ETX]) {
    // DATA `"AB"` has LRC A ^ B ^ ETX (the quotes cancel): pick B to hit the wanted byte.
    const text = "A" + String.fromCharCode("A".charCodeAt(0) ^ wanted ^ ETX);
    const frame = encodeFrame(text);
    assert.equal(frame.at(-1), wanted);
    assert.deepEqual(decodeAll(concat(frame, encodeFrame("next"))), [
      { kind: "frame", value: text, size: 4 },
      { kind: "frame", value: "next", size: 6 },
    ]);
  }
});

Deno.test("an oversize frame is rejected without buffering it and the decoder recovers", () => {
  const bigData = utf8.encode(JSON.stringify("x".repeat(4 * MAX_FRAME_BYTES)));
  const stream = concat(rawFrame(bigData), encodeFrame({ after: true }));
  const decoder = new FrameDecoder();
  const events: DecodeEvent[] = [];
  let maxBuffered = 0;
  for (let i = 0; i < stream.length; i += 1000) {
    events.push(...decoder.push(stream.subarray(i, i + 1000)));
    maxBuffered = Math.max(maxBuffered, decoder.bufferedBytes);
    // Once past the limit nothing of the frame is held any more.
    if (i > MAX_FRAME_BYTES + 1000 && i < bigData.length) assert.equal(decoder.bufferedBytes, 0);
  }
  assert.ok(maxBuffered <= MAX_FRAME_BYTES);
  assert.equal(events.length, 2);
  assert.deepEqual(events[0], {
    kind: "bad",
    reason: "oversize",
    detail: `DATA of ${bigData.length} bytes exceeds ${MAX_FRAME_BYTES}`,
    size: bigData.length,
  });
  assert.deepEqual(frameValues(events), [{ after: true }]);
});

Deno.test("DATA of exactly 64 KiB is accepted and one byte more is oversize", () => {
  const atLimit = utf8.encode(JSON.stringify("y".repeat(MAX_FRAME_BYTES - 2)));
  assert.equal(atLimit.length, MAX_FRAME_BYTES);
  assert.equal(decodeAll(rawFrame(atLimit))[0].kind, "frame");
  const overLimit = utf8.encode(JSON.stringify("y".repeat(MAX_FRAME_BYTES - 1)));
  const [event] = decodeAll(rawFrame(overLimit));
  assert.equal(event.kind === "bad" && event.reason, "oversize");
});

Deno.test("an oversize frame cut short by a new STX is still reported once and recovers", () => {
  const cutShort = concat(Uint8Array.of(STX), new Uint8Array(MAX_FRAME_BYTES + 10).fill(0x20));
  const events = decodeAll(concat(cutShort, encodeFrame(42)));
  assert.deepEqual(events.map((e) => e.kind === "bad" ? e.reason : e.kind), ["oversize", "frame"]);
});

Deno.test("lone control bytes outside frames are reported; other stray bytes are skipped", () => {
  const decoder = new FrameDecoder();
  const events = decoder.push(Uint8Array.of(0x41, ENQ, ETX, ACK, 0x00, NACK, EOT));
  assert.deepEqual(events, [ENQ, ACK, NACK, EOT].map((byte) => ({ kind: "control", byte })));
  assert.equal(decoder.skippedBytes, 3);
});
