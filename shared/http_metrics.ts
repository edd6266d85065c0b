/**
 * What every HTTP service of the network shares for `GET /metrics` (Prometheus text format,
 * from prom-client, without its Node default collectors): a Hono middleware that times each
 * request by its route PATTERN (`/cps/:id`, never the raw URL, so the series stay bounded
 * whatever a client asks for) and counts it by status, the route that serves a registry, and
 * the gauges and counters whose one value is read from the service at each scrape.
 *
 * @module
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, Env, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Where the metrics are served. */
export const METRICS_PATH = "/metrics";

/** The route label of a request no route matched (a 404, or a refusal before any route). */
export const UNMATCHED_ROUTE = "unmatched";

/** Request duration buckets, seconds: from a cached read to a slow scrypt. */
export const HTTP_DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/**
 * The route pattern that answered `c`: the last matched route that is not a wildcard
 * middleware, or {@link UNMATCHED_ROUTE}. Call it after `next()`.
 */
export function routeLabel(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const path = routes[i].path;
    if (!path.includes("*")) return path;
  }
  return UNMATCHED_ROUTE;
}

/** A request method as a label: anything unusual is `OTHER`, so no client can add series. */
export function methodLabel(method: string): string {
  return METHODS.has(method) ? method : "OTHER";
}

/**
 * A middleware that records every request into `registry` as
 * `<prefix>_http_requests_total{method,route,status}` and
 * `<prefix>_http_request_duration_seconds{method,route,status}` (a histogram). Add it first,
 * so refusals by later middleware are counted too.
 */
export function httpMetrics<E extends Env = Env>(
  registry: Registry,
  prefix: string,
): MiddlewareHandler<E> {
  const labelNames = ["method", "route", "status"] as const;
  const requests = new Counter({
    name: `${prefix}_http_requests_total`,
    help: "HTTP requests answered, by method, route pattern and status",
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: `${prefix}_http_request_duration_seconds`,
    help: "Time to answer an HTTP request (to its first byte for streams), seconds",
    labelNames,
    buckets: HTTP_DURATION_BUCKETS,
    registers: [registry],
  });
  return async (c, next) => {
    const started = performance.now();
    await next();
    const labels = {
      method: methodLabel(c.req.method),
      route: routeLabel(c),
      status: String(c.res.status),
    };
    requests.inc(labels);
    duration.observe(labels, (performance.now() - started) / 1000);
  };
}

/** Serves `registry` at {@link METRICS_PATH}, documented in the app's OpenAPI document. */
// deno-lint-ignore no-explicit-any
export function addMetricsRoute(app: OpenAPIHono<any>, registry: Registry): void {
  app.openAPIRegistry.registerPath({
    method: "get",
    path: METRICS_PATH,
    summary: "Metrics in the Prometheus text format (version 0.0.4)",
    responses: { 200: { description: "the metrics", content: { "text/plain": { schema: {} } } } },
  });
  app.get(METRICS_PATH, async (c) =>
    c.body(await registry.metrics(), 200, {
      "content-type": registry.contentType,
      "cache-control": "no-store",
    }));
}

/** A gauge whose one value `read` gives at each scrape. */
export function scrapedGauge(
  registers: Registry[],
  name: string,
  help: string,
  read: () => number,
): Gauge {
  return new Gauge({
    name,
    help,
    registers,
    collect() {
      this.set(read());
    },
  });
}

/** A counter whose total is kept elsewhere (a database, a drop count) and read at each scrape. */
export function scrapedCounter(
  registers: Registry[],
  name: string,
  help: string,
  read: () => number,
): Counter {
  return new Counter({
    name,
    help,
    registers,
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}
