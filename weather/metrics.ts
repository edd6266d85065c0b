/**
 * The weather office's `GET /metrics` (Prometheus text format, prom-client without its Node
 * default collectors): temperature reports read and provider errors by kind, alerts and clears
 * sent to Central by outcome, the CPs watched and held, and the API's requests by route. The
 * office's round hands each round's readings and deliveries to {@link OfficeMetrics}.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { Counter, Registry } from "prom-client";
import { httpMetrics, scrapedGauge } from "../shared/http_metrics.ts";
import type { DeliveryOutcome, LocationRow, Reading, WeatherAlertBody } from "./core.ts";

/** The prefix of every series the office exposes. */
export const WEATHER_METRICS_PREFIX = "weather";

/** The weather office's metrics registry. */
export class OfficeMetrics {
  /** The registry `GET /metrics` serves. */
  readonly registry: Registry = new Registry();
  readonly #http: MiddlewareHandler;
  readonly #reports: Counter;
  readonly #providerErrors: Counter;
  readonly #alerts: Counter;

  /** Registers every series; `rows` gives the watched CPs now. */
  constructor(rows: () => readonly LocationRow[] = () => []) {
    const registers = [this.registry];
    const P = WEATHER_METRICS_PREFIX;
    this.#http = httpMetrics(this.registry, P);
    this.#reports = new Counter({
      name: `${P}_reports_total`,
      help: "Temperatures read from the provider",
      registers,
    });
    this.#providerErrors = new Counter({
      name: `${P}_provider_errors_total`,
      help: "Failed provider reads, by kind (timeout, unauthorized, city_not_found, …)",
      labelNames: ["kind"],
      registers,
    });
    this.#alerts = new Counter({
      name: `${P}_alerts_sent_total`,
      help: "Alerts and clears sent to Central, by status and outcome",
      labelNames: ["status", "outcome"],
      registers,
    });
    for (const status of ["alert", "clear"]) this.#alerts.inc({ status, outcome: "delivered" }, 0);
    scrapedGauge(
      registers,
      `${P}_cps_watched`,
      "CPs in the locations the office watches",
      () => rows().length,
    );
    scrapedGauge(
      registers,
      `${P}_cps_alerted`,
      "Watched CPs whose city is below the threshold now",
      () => rows().filter((row) => row.state === "alert").length,
    );
  }

  /** The middleware that times every API request by route (add it first). */
  http(): MiddlewareHandler {
    return this.#http;
  }

  /** Counts one round's readings. */
  readings(readings: ReadonlyMap<string, Reading>): void {
    for (const reading of readings.values()) {
      if (reading.ok) this.#reports.inc();
      else this.#providerErrors.inc({ kind: reading.kind });
    }
  }

  /** Counts one round's alerts and clears sent to Central. */
  deliveries(answers: readonly { body: WeatherAlertBody; outcome: DeliveryOutcome }[]): void {
    for (const { body, outcome } of answers) {
      this.#alerts.inc({ status: body.status, outcome: outcome.kind });
    }
  }
}
