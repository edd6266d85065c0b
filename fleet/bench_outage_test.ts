import assert from "node:assert/strict";
import { catchUpFigures } from "./bench_outage.ts";

Deno.test("catch-up: the first sample under a second of production, and all CPs back", () => {
  const figures = catchUpFigures(
    [
      { sinceStartMs: 0, lagMessages: 20_000, loggedIn: 0 },
      { sinceStartMs: 500, lagMessages: 25_000, loggedIn: 10 },
      { sinceStartMs: 1000, lagMessages: 4_000, loggedIn: 80 },
      { sinceStartMs: 1500, lagMessages: 900, loggedIn: 99 },
      { sinceStartMs: 2000, lagMessages: 1_200, loggedIn: 100 },
    ],
    1000,
    100,
  );
  assert.deepEqual(figures, { lagMaxMessages: 25_000, catchUpSeconds: 1.5, loginsBackSeconds: 2 });
  assert.deepEqual(catchUpFigures([{ sinceStartMs: 0, lagMessages: 5000, loggedIn: 3 }], 1000, 4), {
    lagMaxMessages: 5000,
    catchUpSeconds: null,
    loginsBackSeconds: null,
  });
});
