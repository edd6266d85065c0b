import assert from "node:assert/strict";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { parsePromText, PromParseError, sampleValue } from "./prom_text.ts";

Deno.test("prom_text: reads what prom-client writes, escapes, infinities and histograms", async () => {
  const registry = new Registry();
  new Counter({
    name: "x_total",
    help: "a \\ help\nline",
    labelNames: ["a"],
    registers: [registry],
  })
    .inc({ a: 'quote " back \\ nl \n' }, 3);
  new Gauge({ name: "g", help: "g", registers: [registry] }).set(-Infinity);
  const h = new Histogram({
    name: "h_seconds",
    help: "h",
    labelNames: ["r"],
    registers: [registry],
  });
  h.observe({ r: "/x" }, 0.02);
  h.observe({ r: "/x" }, 20);
  const families = parsePromText(await registry.metrics());
  assert.equal(families.get("x_total")?.type, "counter");
  assert.equal(families.get("x_total")?.help, "a \\ help\nline");
  assert.equal(sampleValue(families, "x_total", { a: 'quote " back \\ nl \n' }), 3);
  assert.equal(sampleValue(families, "g"), -Infinity);
  assert.equal(sampleValue(families, "h_seconds_count", { r: "/x" }), 2);
  assert.equal(sampleValue(families, "h_seconds_bucket", { r: "/x", le: "+Inf" }), 2);
  assert.equal(sampleValue(families, "h_seconds_bucket", { r: "/x", le: "0.025" }), 1);
});

Deno.test("prom_text: refuses what a scraper would refuse, naming the line", () => {
  const bad: Record<string, string> = {
    "bad name": "# TYPE 9x counter\n9x 1\n",
    "undeclared": "# TYPE a counter\nb 1\n",
    "twice": "# TYPE a gauge\na 1\na 2\n",
    "type after samples": "a 1\n# TYPE a gauge\n",
    "bad value": "# TYPE a gauge\na one\n",
    "bad label": "# TYPE a gauge\na{x=1} 1\n",
    "bad escape": '# TYPE a gauge\na{x="\\t"} 1\n',
    "label twice": '# TYPE a gauge\na{x="1",x="2"} 1\n',
    "unknown type": "# TYPE a meter\n",
    "not cumulative": '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\n' +
      "h_count 1\nh_sum 1\n",
    "inf is not count": '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_count 3\nh_sum 1\n',
  };
  for (const [what, text] of Object.entries(bad)) {
    assert.throws(() => parsePromText(text), PromParseError, what);
  }
});

Deno.test("prom_text: sampleValue refuses labels that match several samples", () => {
  const families = parsePromText('# TYPE a gauge\na{x="1"} 1\na{x="2"} 2\n');
  assert.throws(() => sampleValue(families, "a"), /2 samples/);
  assert.equal(sampleValue(families, "a", { x: "2" }), 2);
  assert.equal(sampleValue(families, "missing"), undefined);
});
