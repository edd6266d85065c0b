import assert from "node:assert/strict";
import { SseFrames, streamFigures } from "./stream_figures.ts";

const batch = (id: number, types: string[]) =>
  `id: b-${id}\nevent: batch\ndata: ${
    JSON.stringify(
      types.map((type, i) => ({ id: `b-${id - types.length + i + 1}`, type, data: {} })),
    )
  }\n\n`;

Deno.test("stream figures: frames are cut however the text is split", () => {
  const text = `retry: 1500\n\n${batch(3, ["cp", "telemetry"])}event: ping\ndata: {}\n\n`;
  for (let cut = 0; cut <= text.length; cut++) {
    const cutter = new SseFrames();
    const frames = [...cutter.push(text.slice(0, cut)), ...cutter.push(text.slice(cut))];
    assert.deepEqual(frames.map((f) => f.event), ["batch", "ping"], `cut at ${cut}`);
    assert.equal(JSON.parse(frames[0].data).length, 2);
  }
});

Deno.test("stream figures: CRLF line ends and several data lines", () => {
  const frames = new SseFrames().push('event: status\r\ndata: {"a":\r\ndata: 1}\r\n\r\n');
  assert.deepEqual(frames.map(({ event, data }) => ({ event, data })), [
    { event: "status", data: '{"a":\n1}' },
  ]);
});

Deno.test("stream figures: rates a second, batch sizes, and the opening left out", () => {
  const opening = `id: b-9\nevent: reset\ndata: {"reason":"no_id"}\n\n`;
  const text = batch(1, ["audit"]) + opening + batch(12, ["cp", "telemetry", "telemetry"]) +
    batch(14, ["ticket", "cp"]) + `event: ping\ndata: {}\n\n` +
    `id: b-15\nevent: audit\ndata: {}\n\n`;
  const frames = new SseFrames().push(text);
  const figures = streamFigures(frames, 2);
  assert.equal(figures.batches_per_s, 1);
  assert.deepEqual(figures.events_per_s, { audit: 0.5, cp: 1, telemetry: 1, ticket: 0.5 });
  assert.deepEqual([figures.batch_events.p50, figures.batch_events.max], [2, 3]);
  const chars = frames.slice(2).reduce((n, f) => n + f.chars, 0);
  assert.equal(figures.kb_per_s, Math.round(chars / 1000 / 2 * 10) / 10);
  assert.equal(streamFigures([], 5).batches_per_s, 0);
});
