import assert from "node:assert/strict";
import { chartColumns, type Series, seriesTotals, seriesUrl } from "./series.ts";

const series: Series = {
  cp: null,
  bucket_seconds: 10,
  points: [
    { t: 1_000_000, kw: 0, kwh: 0 },
    { t: 1_010_000, kw: 22, kwh: 0.061 },
    { t: 1_020_000, kw: 11, kwh: 0.031 },
  ],
};

Deno.test("series: x in seconds, power per bucket, energy summed since the window's start", () => {
  assert.deepEqual(chartColumns(series), [[1000, 1010, 1020], [0, 22, 11], [0, 0.061, 0.092]]);
  assert.deepEqual(chartColumns({ ...series, points: [] }), [[], [], []]);
});

Deno.test("series: the caption's figures are the latest power and the window's energy", () => {
  assert.deepEqual(seriesTotals(series), { kwNow: 11, kwh: 0.092 });
  assert.deepEqual(seriesTotals({ ...series, points: [] }), { kwNow: null, kwh: 0 });
});

Deno.test("series: the network or one CP, over the last hour by default", () => {
  assert.equal(seriesUrl(null), "/series?minutes=60");
  assert.equal(seriesUrl("CP 1", 5), "/series?minutes=5&cp=CP+1");
});
