/**
 * Central's `GET /metrics` (Prometheus text format, prom-client without its Node default
 * collectors). Most figures are read from what Central already holds at the moment of a scrape
 * (the model, the drop counters, the open streams, the consumers' lag); the ticketed totals are
 * read from the database once and then, like the counters of things that happen (telemetry
 * handled, logins, authorizations) and the event-loop lag, kept up from the committed steps of
 * the core ({@link CentralMetrics.observe}), so no edge
 * carries metrics code of its own.
 *
 * Every series is named `evcharging_…`; none has a CP, driver or session id as a label, so the
 * number of series stays the same whatever the size of the network.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { Counter, Gauge, Registry } from "prom-client";
import { httpMetrics, scrapedCounter, scrapedGauge } from "../shared/http_metrics.ts";
import { cpStateSchema } from "../shared/messages.ts";
import type { ConsumerLag } from "./consumer_lag.ts";
import type { CentralRuntime, Committed } from "./runtime.ts";

/** The prefix of every series Central exposes. */
export const CENTRAL_METRICS_PREFIX = "evcharging";

/** What the scrape-time figures are read from. */
export interface CentralMetricsSources {
  /** The model, the store and the drop counters. */
  readonly runtime: CentralRuntime;
  /** The Kafka consumers' lag (none: the series is empty). */
  readonly lag?: ConsumerLag;
  /** How many dashboard event streams are open. */
  readonly sseClients?: () => number;
}

const P = CENTRAL_METRICS_PREFIX;

/** How many ticketed session ids are remembered against counting one twice. */
const TICKETED_REMEMBERED = 10_000;

/** Central's metrics registry and the counters the committed steps feed. */
export class CentralMetrics {
  /** The registry `GET /metrics` serves. */
  readonly registry: Registry = new Registry();
  readonly #telemetry: Counter;
  readonly #logins: Counter;
  readonly #loginFailures: Counter;
  readonly #charges: Counter;
  readonly #loopLag: Gauge;
  readonly #http: MiddlewareHandler;
  readonly #totals = { sessions: 0, kwh: 0, eur: 0 };
  /** Sessions already counted as ticketed (the newest few thousand), so none counts twice. */
  readonly #ticketed = new Set<string>();

  /** Registers every series; follow the runtime with `runtime.subscribe(m => metrics.observe(m))`. */
  constructor(sources: CentralMetricsSources) {
    const { runtime } = sources;
    const registers = [this.registry];
    this.#http = httpMetrics(this.registry, P);
    this.#telemetry = new Counter({
      name: `${P}_telemetry_handled_total`,
      help: "Telemetry reports authenticated, valid and applied",
      registers,
    });
    this.#logins = new Counter({
      name: `${P}_logins_total`,
      help: "CP monitor logins, by outcome (ok, failed)",
      labelNames: ["outcome"],
      registers,
    });
    this.#logins.inc({ outcome: "ok" }, 0);
    this.#logins.inc({ outcome: "failed" }, 0);
    this.#loginFailures = new Counter({
      name: `${P}_login_failures_total`,
      help: "Refused CP monitor logins, by reason",
      labelNames: ["reason"],
      registers,
    });
    this.#charges = new Counter({
      name: `${P}_charge_requests_total`,
      help: "Driver charge requests answered, by outcome (authorized, denied)",
      labelNames: ["outcome"],
      registers,
    });
    this.#charges.inc({ outcome: "authorized" }, 0);
    this.#charges.inc({ outcome: "denied" }, 0);
    this.#loopLag = new Gauge({
      name: `${P}_event_loop_lag_seconds`,
      help: "Largest lateness over the heartbeat timeout window of Central's main loop or of its " +
        "monitor socket thread, with the time that thread's news wait to be read",
      registers,
    });

    registerModelGauges(registers, runtime);
    // Read from the database once, then kept up by the tickets of committed steps: a scrape
    // must not sum a history of millions of sessions.
    Object.assign(this.#totals, runtime.store.completedTotals());
    registerTotals(registers, this.#totals);
    registerDropCounters(registers, runtime);
    registerPipeGauges(registers, sources);
  }

  /** The middleware that times every HTTP request by route (add it first). */
  http(): MiddlewareHandler {
    return this.#http;
  }

  /** Counts what one committed step did. */
  observe({ input, effects }: Committed): void {
    for (const effect of effects) {
      if (effect.type !== "save_session" || effect.session.endedAt === null) continue;
      const { id, kwh, eur } = effect.session;
      if (this.#ticketed.has(id)) continue;
      this.#ticketed.add(id);
      if (this.#ticketed.size > TICKETED_REMEMBERED) {
        this.#ticketed.delete(this.#ticketed.values().next().value!);
      }
      this.#totals.sessions++;
      this.#totals.kwh += kwh;
      this.#totals.eur += eur;
    }
    switch (input.type) {
      case "telemetry":
        this.#telemetry.inc();
        break;
      case "login":
        this.#logins.inc({ outcome: "ok" });
        break;
      case "login_failed":
        this.#logins.inc({ outcome: "failed" });
        this.#loginFailures.inc({ reason: input.reason });
        break;
      case "tick":
        if (input.lagMs !== undefined) this.#loopLag.set(input.lagMs / 1000);
        break;
      case "charge_request":
        for (const effect of effects) {
          if (effect.type !== "audit") continue;
          if (effect.entry.action === "charge.authorized") {
            this.#charges.inc({ outcome: "authorized" });
          } else if (effect.entry.action === "charge.denied") {
            this.#charges.inc({ outcome: "denied" });
          }
        }
        break;
    }
  }
}

/** The CPs by state, those connected, and the open sessions, read from the model at each scrape. */
function registerModelGauges(registers: Registry[], runtime: CentralRuntime): void {
  new Gauge({
    name: `${P}_cps`,
    help: "CPs Central knows, by state",
    labelNames: ["state"],
    registers,
    collect() {
      const counts = Object.fromEntries(cpStateSchema.options.map((s) => [s, 0]));
      for (const cp of runtime.model.cps.values()) counts[cp.status.state]++;
      for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
    },
  });
  scrapedGauge(registers, `${P}_cps_connected`, "CPs whose monitor is logged in now", () => {
    let n = 0;
    for (const cp of runtime.model.cps.values()) if (cp.connection !== null) n++;
    return n;
  });
  scrapedGauge(
    registers,
    `${P}_sessions_active`,
    "Charging sessions open now",
    () => runtime.model.sessions.size,
  );
}

/** Sessions, kWh and € ever ticketed, from `totals`. */
function registerTotals(
  registers: Registry[],
  totals: { sessions: number; kwh: number; eur: number },
): void {
  scrapedCounter(
    registers,
    `${P}_sessions_completed_total`,
    "Sessions ticketed, ever",
    () => totals.sessions,
  );
  scrapedCounter(
    registers,
    `${P}_energy_kwh_total`,
    "kWh of ticketed sessions, ever",
    () => totals.kwh,
  );
  scrapedCounter(
    registers,
    `${P}_revenue_eur_total`,
    "€ of ticketed sessions, ever",
    () => totals.eur,
  );
}

/** What the runtime dropped: rejected and duplicate telemetry, duplicate requests. */
function registerDropCounters(registers: Registry[], runtime: CentralRuntime): void {
  new Counter({
    name: `${P}_telemetry_rejected_total`,
    help: "Telemetry refused (forged, tampered, unknown key, malformed, invalid), by reason",
    labelNames: ["reason"],
    registers,
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(runtime.drops.rejectedTelemetryByReason)) {
        this.inc({ reason }, n);
      }
    },
  });
  scrapedCounter(
    registers,
    `${P}_telemetry_duplicates_total`,
    "Telemetry dropped as a replay of a report already applied",
    () => runtime.drops.duplicateTelemetry,
  );
  scrapedCounter(
    registers,
    `${P}_duplicate_requests_total`,
    "Driver requests dropped because their id was answered before",
    () => runtime.drops.duplicateRequests,
  );
}

/** What waits: the Kafka consumers' lag, the outbox, and the open dashboard streams. */
function registerPipeGauges(registers: Registry[], sources: CentralMetricsSources): void {
  new Gauge({
    name: `${P}_kafka_consumer_lag_messages`,
    help: "Messages waiting behind the last batch Central handled, by topic",
    labelNames: ["topic"],
    registers,
    collect() {
      for (const [topic, lag] of Object.entries(sources.lag?.byTopic() ?? {})) {
        this.set({ topic }, lag);
      }
    },
  });
  scrapedGauge(
    registers,
    `${P}_outbox_pending`,
    "Outbox messages (answers, tickets, commands) not yet sent to Kafka",
    () => sources.runtime.store.pendingCount(),
  );
  scrapedGauge(
    registers,
    `${P}_sse_clients`,
    "Dashboard event streams (GET /events) open now",
    () => sources.sseClients?.() ?? 0,
  );
}
