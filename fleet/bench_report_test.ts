import assert from "node:assert/strict";
import {
  type BenchResult,
  latency,
  rampFigures,
  renderTable,
  steadyFigures,
  type SteadySample,
} from "./bench_report.ts";
import { benchSummary, lossesBetween } from "./bench_summary.ts";
import { emptyCounts } from "./core.ts";

const sample = (at: number, cpuMs: number, produced: number, handled: number): SteadySample => ({
  at,
  centralCpuMs: cpuMs,
  centralRssKib: 1024,
  centralPeakKib: 2048 + at,
  otherCpuMs: { fleet: cpuMs * 2, kafka: cpuMs / 5 },
  machineCpuMs: { busy: cpuMs * 2, total: at * 4 },
  outboxPending: at / 100,
  telemetryProduced: produced,
  telemetryHandled: handled,
});

Deno.test("ramp figures: logins per second over the ramp and the busiest second", () => {
  const r = rampFigures(10_000, [10_100, 10_200, 10_900, 11_500, 12_000]);
  assert.equal(r.logins, 5);
  assert.equal(r.seconds, 2);
  assert.equal(r.perSecond, 2.5);
  assert.equal(r.peakPerSecond, 3);
  assert.deepEqual(rampFigures(0, []), { logins: 0, seconds: 0, perSecond: 0, peakPerSecond: 0 });
});

Deno.test("steady figures: handled rate, lag in messages and seconds, CPU of one core", () => {
  const f = steadyFigures([
    sample(0, 0, 1000, 990),
    sample(1000, 500, 2000, 1900),
    sample(2000, 1500, 3000, 2990),
  ]);
  assert.equal(f.seconds, 2);
  assert.equal(f.producedPerSecond, 1000);
  assert.equal(f.handledPerSecond, 1000);
  assert.equal(f.lagMaxMessages, 100);
  assert.equal(f.lagMaxSeconds, 0.1);
  assert.equal(f.lagEndMessages, 10);
  assert.equal(f.centralCpuPercent, 75);
  assert.equal(f.centralCpuPeakPercent, 100);
  assert.equal(f.centralPeakMib, 4048 / 1024);
  assert.deepEqual(f.otherCpuPercent, { fleet: 150, kafka: 15 });
  assert.equal(f.machineBusyPercent, 37.5);
  assert.equal(f.outboxPendingMax, 20);
  assert.equal(f.outboxPendingMean, 10);
  assert.throws(() => steadyFigures([sample(0, 0, 0, 0)]), RangeError);
});

Deno.test("steady figures: Central's CPU and memory are absent when it was not measured", () => {
  const elsewhere = (at: number, produced: number): SteadySample => {
    const { centralCpuMs: _, centralRssKib: __, centralPeakKib: ___, ...rest } = sample(
      at,
      at,
      produced,
      produced,
    );
    return rest;
  };
  const f = steadyFigures([elsewhere(0, 0), elsewhere(1000, 100)]);
  assert.equal(f.handledPerSecond, 100);
  assert.equal(f.centralCpuPercent, undefined);
  assert.equal(f.centralPeakMib, undefined);
});

Deno.test("table: every figure is shown, and a missing SSE figure says why", () => {
  const losses = lossesBetween(emptyCounts(10, 10), {
    ...emptyCounts(10, 10),
    lostLogins: 2,
    relogins: 2,
  }, [{ endReason: "fault" }]);
  const result: BenchResult = {
    machine: {
      nproc: 2,
      cpu: "Test CPU",
      memoryGib: 8,
      loadAverageBefore: "0.10 0.20 0.30",
      loadAverageAfter: "1.00 1.00 1.00",
      date: "2026-01-01T00:00:00.000Z",
    },
    params: {
      cps: 10,
      drivers: 10,
      speed: 60,
      threads: 2,
      holdSeconds: 60,
      loginConcurrency: 16,
      engineLinks: "memory",
      kafka: "fresh local broker",
      network: "fresh",
    },
    ramp: rampFigures(0, [500, 1500]),
    steady: steadyFigures([sample(0, 0, 0, 0), sample(1000, 100, 50, 50)]),
    authorize: latency([10, 20, 30]),
    authorizePhases: { out: latency([2]), central: latency([3]), back: latency([5]) },
    sse: { notAvailable: "GET /events answered 404" },
    raw: { messages: 1000, messageBytes: 300, perSecond: 5000 },
    ratioToRaw: 0.01,
    losses,
    summary: benchSummary({
      handledPerSecond: 50,
      rawPerSecond: 5000,
      lagMaxSeconds: 0,
      authP99Ms: 30,
      errors: 0,
      losses,
    }),
    fleet: { tickets: 3, denials: 1, denialReasons: { busy: 1 }, errors: 0 },
  };
  const table = renderTable(result);
  const elsewhere = renderTable({
    ...result,
    params: { ...result.params, network: "http://10.0.0.5:8080" },
    steady: { ...result.steady, centralCpuPercent: undefined, centralPeakMib: undefined },
  });
  assert.match(elsewhere, /network\s+given: Central http:\/\/10\.0\.0\.5:8080/);
  assert.match(elsewhere, /Central CPU\s+not measured \(Central runs elsewhere/);
  assert.match(elsewhere, /Central peak memory\s+not measured/);
  for (
    const text of [
      "2 × Test CPU",
      "fresh (Registry, Central; Kafka: fresh local broker)",
      "10 CPs, 10 drivers, speed 60, 2 threads, engine links memory",
      "2 logins in 1.5 s",
      "50 msg/s",
      "p50 20.0 ms",
      "p50 2.0 ms, p99 2.0 ms (fleet → broker",
      "p50 3.0 ms, p99 3.0 ms (broker → Central",
      "p50 5.0 ms, p99 5.0 ms (that record → the fleet",
      "not available (GET /events answered 404)",
      "10 % of a core",
      "5000 msg/s (1000 × 300 B)",
      "fleet 20 %, kafka 2 % of a core; machine 5 % busy",
      "max 10 rows waiting, mean 5",
      "1.0 %",
      "3 tickets, 1 denials (busy 1), 0 errors",
      "2 lost logins (2 logged in again), 0 engine links lost, 1 lost sessions (fault 1)",
    ]
  ) assert.ok(table.includes(text), `${text} in\n${table}`);
});

Deno.test("latency: the largest of more values than a call takes arguments", () => {
  const values = Array.from({ length: 500_000 }, (_, i) => i % 1000);
  values[123_456] = 5000;
  assert.equal(latency(values).max, 5000);
});
