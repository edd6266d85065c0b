/**
 * Power and energy over time as the charts draw them, from Central's `GET /series`
 * (`{cp, bucket_seconds, points: [{t, kw, kwh}]}`, oldest first): x in seconds (uPlot's time
 * unit), the mean power of each bucket, and the energy delivered since the window's start (the
 * running sum of the buckets' kWh), which reads better than 10-second slivers. Pure: no DOM.
 *
 * @module
 */

/** One bucket of `GET /series`. */
export interface SeriesPoint {
  /** The bucket's start, epoch ms. */
  readonly t: number;
  /** Mean power over the bucket. */
  readonly kw: number;
  /** Energy delivered in the bucket. */
  readonly kwh: number;
}

/** `GET /series`. */
export interface Series {
  /** The CP, or null for the whole network. */
  readonly cp: string | null;
  /** Bucket length. */
  readonly bucket_seconds: number;
  /** The buckets, oldest first. */
  readonly points: readonly SeriesPoint[];
}

/** The columns uPlot draws: x (s), kW, cumulative kWh. */
export type ChartColumns = [number[], number[], number[]];

/** The chart's columns for `series`. */
export function chartColumns(series: Series): ChartColumns {
  const x: number[] = [];
  const power: number[] = [];
  const energy: number[] = [];
  let sum = 0;
  for (const p of series.points) {
    sum += p.kwh;
    x.push(p.t / 1000);
    power.push(p.kw);
    energy.push(Math.round(sum * 1000) / 1000);
  }
  return [x, power, energy];
}

/** What the chart's caption says: the latest bucket's power and the window's energy. */
export function seriesTotals(series: Series): { kwNow: number | null; kwh: number } {
  const last = series.points.at(-1);
  const kwh = series.points.reduce((sum, p) => sum + p.kwh, 0);
  return { kwNow: last === undefined ? null : last.kw, kwh: Math.round(kwh * 1000) / 1000 };
}

/** `GET /series` for a CP (null: the network) over the last `minutes`. */
export function seriesUrl(cp: string | null, minutes = 60): string {
  const query = new URLSearchParams({ minutes: String(minutes) });
  if (cp !== null) query.set("cp", cp);
  return `/series?${query}`;
}
