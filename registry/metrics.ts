/**
 * The Registry's `GET /metrics` (Prometheus text format, prom-client without its Node default
 * collectors): requests by route pattern and status with their durations, authentications by
 * outcome (read off the answers of `POST /cp/authenticate`, so the route itself carries no
 * metrics code), the authentications served and waiting for a turn, and the scrypt hashing
 * queue.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { Counter, Registry } from "prom-client";
import { httpMetrics, routeLabel, scrapedGauge } from "../shared/http_metrics.ts";

/** The prefix of every series the Registry exposes. */
export const REGISTRY_METRICS_PREFIX = "registry";

/** The route whose answers are counted as authentications. */
export const AUTHENTICATE_ROUTE = "/cp/authenticate";

/** An authentication's outcome, from its answer's status. */
export function authOutcome(status: number): string {
  switch (status) {
    case 200:
      return "ok";
    case 401:
      return "failed";
    case 429:
      return "throttled";
    case 403:
      return "refused";
    case 503:
      return "unavailable";
    default:
      return status >= 500 ? "error" : "invalid";
  }
}

/** How many of a kind of work run now, and how many wait for a turn. */
export interface Load {
  readonly running: number;
  readonly waiting: number;
}

/** The Registry's metrics registry. */
export class RegistryMetrics {
  /** The registry `GET /metrics` serves. */
  readonly registry: Registry = new Registry();
  readonly #middleware: MiddlewareHandler;

  /**
   * Registers every series. `hashing`: the scrypt queue's load; `authenticating`: the
   * authentications served at once and waiting (both the app's, registry/app.ts).
   */
  constructor(hashing: () => Load, authenticating: () => Load) {
    const registers = [this.registry];
    const timed = httpMetrics(this.registry, REGISTRY_METRICS_PREFIX);
    const auths = new Counter({
      name: `${REGISTRY_METRICS_PREFIX}_authentications_total`,
      help: "POST /cp/authenticate answers by outcome: ok, failed (401), throttled (429), " +
        "refused (403 deregistered), unavailable (503), invalid (other 4xx), error",
      labelNames: ["outcome"],
      registers,
    });
    for (const outcome of ["ok", "failed", "throttled"]) auths.inc({ outcome }, 0);
    scrapedGauge(
      registers,
      `${REGISTRY_METRICS_PREFIX}_hashing_queue_depth`,
      "scrypt hashes waiting for their turn (one runs at a time)",
      () => hashing().waiting,
    );
    scrapedGauge(
      registers,
      `${REGISTRY_METRICS_PREFIX}_hashing_running`,
      "scrypt hashes running now",
      () => hashing().running,
    );
    scrapedGauge(
      registers,
      `${REGISTRY_METRICS_PREFIX}_authentications_running`,
      "POST /cp/authenticate requests being served now (16 at most by default)",
      () => authenticating().running,
    );
    scrapedGauge(
      registers,
      `${REGISTRY_METRICS_PREFIX}_authentications_waiting`,
      "POST /cp/authenticate requests waiting for a turn (64 at most by default; past that, 503 busy)",
      () => authenticating().waiting,
    );
    this.#middleware = (c, next) =>
      timed(c, async () => {
        await next();
        if (c.req.method === "POST" && routeLabel(c) === AUTHENTICATE_ROUTE) {
          auths.inc({ outcome: authOutcome(c.res.status) });
        }
      });
  }

  /** The middleware that counts and times every request (add it first). */
  http(): MiddlewareHandler {
    return this.#middleware;
  }
}
