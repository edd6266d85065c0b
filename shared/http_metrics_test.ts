import assert from "node:assert/strict";
import { OpenAPIHono } from "@hono/zod-openapi";
import { Registry } from "prom-client";
import { addMetricsRoute, httpMetrics, methodLabel, UNMATCHED_ROUTE } from "./http_metrics.ts";
import { parsePromText, sampleValue } from "./prom_text.ts";

Deno.test("http_metrics: labels by route pattern, refusals and unknown paths bounded", async () => {
  const registry = new Registry();
  const app = new OpenAPIHono();
  app.use("*", httpMetrics(registry, "t"));
  app.use("/items/*", async (c, next) => c.req.header("x-no") ? c.text("no", 403) : await next());
  app.get("/items/:id", (c) => c.text(c.req.param("id")));
  addMetricsRoute(app, registry);
  await app.request("/items/1");
  await app.request("/items/2");
  await app.request("/items/3", { headers: { "x-no": "1" } });
  await app.request("/elsewhere/4");
  await app.request("/items/5", { method: "BREW" });
  const res = await app.request("/metrics");
  assert.equal(res.headers.get("cache-control"), "no-store");
  const m = parsePromText(await res.text());
  const n = (method: string, route: string, status: string) =>
    sampleValue(m, "t_http_requests_total", { method, route, status });
  assert.equal(n("GET", "/items/:id", "200"), 2);
  assert.equal(n("GET", "/items/:id", "403"), 1);
  assert.equal(n("GET", UNMATCHED_ROUTE, "404"), 1);
  assert.equal(n("OTHER", UNMATCHED_ROUTE, "404"), 1);
  assert.equal(
    sampleValue(m, "t_http_request_duration_seconds_count", {
      method: "GET",
      route: "/items/:id",
      status: "200",
    }),
    2,
  );
  assert.ok(
    app.getOpenAPIDocument({ openapi: "3.0.3", info: { title: "t", version: "1" } })
      .paths?.["/metrics"],
  );
});

Deno.test("http_metrics: an unusual method is OTHER", () => {
  assert.deepEqual(["GET", "POST", "BREW", "get"].map(methodLabel), [
    "GET",
    "POST",
    "OTHER",
    "OTHER",
  ]);
});
