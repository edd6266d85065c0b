/**
 * Power (kW) and energy (kWh) over the last hour, of the network or of one CP, drawn by uPlot
 * (bundled from npm, its stylesheet served by Central: nothing from a CDN) from Central's
 * `GET /series`, read again at every new 10 s bucket. The canvas is described in words by the
 * caption (power now, energy in the hour) for those who cannot see it.
 *
 * @module
 */
import { memo } from "preact/compat";
import { useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import { lang } from "./lang.ts";
import { clock, ct, dateTime, kw, kwh } from "./show.ts";
import { chartColumns, type Series, seriesTotals, seriesUrl } from "./series.ts";

const HEIGHT = 220;
const POWER = "#2456d6";
const ENERGY = "#1a7f45";

const number = (unit: string, digits: number) => (_: uPlot, v: number | null) =>
  v === null || v === undefined ? "–" : `${v.toFixed(digits)} ${unit}`;

function options(width: number): uPlot.Options {
  return {
    width,
    height: HEIGHT,
    scales: { x: { time: true }, kw: { auto: true }, kwh: { auto: true } },
    series: [
      {
        label: ct("chartTime"),
        value: (_, v) => v === null || v === undefined ? "–" : dateTime(v * 1000),
      },
      { label: ct("chartPower"), scale: "kw", stroke: POWER, width: 2, value: number("kW", 1) },
      {
        label: ct("chartEnergy"),
        scale: "kwh",
        stroke: ENERGY,
        width: 2,
        dash: [6, 3],
        value: number("kWh", 3),
      },
    ],
    axes: [
      { values: (_, ticks) => ticks.map((t) => clock(t * 1000)) },
      { scale: "kw", label: "kW", size: 55 },
      { scale: "kwh", label: "kWh", side: 1, size: 60, grid: { show: false } },
    ],
  };
}

/** Reads `GET /series` for `cp` (null: the network) now and at each new bucket. */
function useSeries(cp: string | null) {
  const series = useSignal<Series | null>(null);
  const failed = useSignal(false);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      let bucketMs = 10_000;
      try {
        const res = await fetch(seriesUrl(cp), { cache: "no-store" });
        if (!res.ok) throw new Error(`series: ${res.status}`);
        const body = await res.json() as Series;
        bucketMs = body.bucket_seconds * 1000;
        if (live) {
          series.value = body;
          failed.value = false;
        }
      } catch {
        if (live) failed.value = true;
      }
      // The next read just after the next bucket starts.
      if (live) timer = setTimeout(load, bucketMs - (Date.now() % bucketMs) + 250);
    };
    load();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [cp]);
  return { series: series.value, failed: failed.value };
}

/** The chart of power and energy over the last hour for `cp` (null: the whole network). */
export const PowerChart = memo(function PowerChart(props: { cp: string | null; title: string }) {
  const { series, failed } = useSeries(props.cp);
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const language = lang.value;
  const builtIn = useRef(language);

  useEffect(() => {
    const el = box.current;
    if (el === null || series === null) return;
    const data = chartColumns(series);
    // The legend's words are fixed at creation: a new language makes a new chart.
    if (plot.current !== null && builtIn.current !== language) {
      plot.current.destroy();
      plot.current = null;
    }
    if (plot.current === null) {
      plot.current = new uPlot(options(el.clientWidth), data, el);
      builtIn.current = language;
    } else plot.current.setData(data);
  }, [series, language]);

  useEffect(() => {
    const el = box.current;
    if (el === null) return;
    const resized = new ResizeObserver(() => {
      plot.current?.setSize({ width: el.clientWidth, height: HEIGHT });
    });
    resized.observe(el);
    return () => {
      resized.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);

  const totals = series === null ? null : seriesTotals(series);
  const id = `chart-${props.cp ?? "network"}`;
  return (
    <figure class="chart" data-chart={props.cp ?? "network"} aria-labelledby={id}>
      <figcaption id={id}>
        <strong>{props.title}</strong> {totals === null
          ? ct(failed ? "chartFailed" : "chartLoading")
          : (
            <span data-testid="chart-caption">
              {ct("chartCaption", { kw: kw(totals.kwNow), kwh: kwh(totals.kwh) })}
            </span>
          )}
      </figcaption>
      <div
        class="chart-box"
        ref={box}
        aria-hidden="true"
        data-points={series?.points.length ?? 0}
      />
    </figure>
  );
});
