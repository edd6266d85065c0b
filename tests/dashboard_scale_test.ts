/**
 * The dashboard at 1,000 CPs in a real browser: `deno task bench:dashboard` as a process (Central's
 * real store, core, feed and HTTP app fed by 1,000 simulated CPs and drivers, the built page in
 * Debian's Chromium, fleet/dashboard_probe.ts). Correctness only: the page draws every CP and
 * shows each one's state as `GET /cps` gives it, while the event stream is flowing. The timings
 * the probe prints are figures for BENCHMARKS.md, not asserted here.
 *
 * Needs Chromium at `CHROMIUM_PATH` (default /usr/bin/chromium): without it the test fails and
 * says how to install it, never skips.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { browserTest } from "./browser_test_support.ts";

const CPS = 1000;

browserTest(
  "dashboard at 1,000 CPs: every CP is on the page, in the state /cps gives, with the stream flowing",
  "dashboard-scale",
  async (dir) => {
    const out = join(dir, "result.json");
    const program = join(import.meta.dirname!, "..", "fleet", "bench_dashboard.ts");
    const { code, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", program, "--cps", String(CPS), "--seconds", "5"]
        .concat(["--stream-seconds", "3", "--out", out]),
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    const log = new TextDecoder().decode(stderr);
    assert.equal(code, 0, `bench:dashboard failed:\n${log.slice(-4000)}`);

    const result = JSON.parse(await Deno.readTextFile(out)) as {
      stream: { events_per_s: Record<string, number> };
      probe: {
        states: {
          shown: number;
          central: number;
          stable: number;
          mismatches: unknown[];
          error?: string;
        };
      };
    };
    const { states } = result.probe;
    assert.equal(states.error, undefined, "the probe read the whole grid");
    assert.deepEqual([states.shown, states.central], [CPS, CPS], "every CP on the page");
    // CPs change state every few seconds here: only those that held theirs over the read compare.
    assert.ok(states.stable >= 10, `CPs that held their state over the read: ${states.stable}`);
    assert.deepEqual(states.mismatches, [], "the page shows the states /cps gives");
    assert.ok((result.stream.events_per_s.telemetry ?? 0) > 100, "telemetry was flowing");
  },
);
