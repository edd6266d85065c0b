import assert from "node:assert/strict";
import { newLocalCpSchema } from "./local_cps.ts";

const CP = { id: "CP-006", location: "Murcia", price_eur_kwh: 0.4, power_kw: 22 };

Deno.test("newLocalCpSchema accepts what cp/main.ts's flags accept", () => {
  assert.deepEqual(newLocalCpSchema.parse(CP), CP);
  assert.ok(newLocalCpSchema.safeParse({ ...CP, price_eur_kwh: 0, power_kw: 0.1 }).success);
  assert.ok(newLocalCpSchema.safeParse({ ...CP, location: "San Sebastián" }).success);
});

Deno.test("newLocalCpSchema refuses what would not make a CP's command line", () => {
  for (
    const bad of [
      { ...CP, id: "ab" },
      { ...CP, id: "CP/6" },
      { ...CP, location: "-x" },
      { ...CP, location: "Murcia " },
      { ...CP, location: "a\u202eb" },
      { ...CP, price_eur_kwh: 5e-7 },
      { ...CP, price_eur_kwh: Number.NaN },
      { ...CP, power_kw: 0.05 },
      { ...CP, power_kw: Infinity },
      { ...CP, args: ["--x"] },
    ]
  ) {
    assert.equal(newLocalCpSchema.safeParse(bad).success, false, JSON.stringify(bad));
  }
});
