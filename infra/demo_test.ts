import assert from "node:assert/strict";
import { describeLocalCp } from "./demo.ts";

const CP = { id: "CP-001", location: "Alicante", price_eur_kwh: 0.35, power_kw: 22, pid: 9 };

Deno.test("describeLocalCp: which of the CP's processes runs, and its fault switch", () => {
  assert.equal(
    describeLocalCp({ ...CP, running: true, engine_running: true, monitor_running: true }),
    "CP-001: engine running, monitor running",
  );
  assert.equal(
    describeLocalCp({
      ...CP,
      running: true,
      engine_running: false,
      monitor_running: true,
      faulty: false,
    }),
    "CP-001: engine DOWN, monitor running",
  );
  assert.equal(
    describeLocalCp({
      ...CP,
      running: true,
      engine_running: true,
      monitor_running: true,
      faulty: true,
    }),
    "CP-001: engine running, monitor running, fault ON",
  );
  assert.equal(describeLocalCp({ ...CP, running: false, pid: null }), "CP-001: not running");
});
