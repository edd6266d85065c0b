/**
 * What Central can honestly say about the parts it depends on, for the dashboard: Kafka (is its
 * producer connected, did each consumer fetch lately, how many outbox rows wait), the Registry
 * (did the last status call answer), the Registry's change feed (does Central's follower read it,
 * so deregistrations reach Central) and the weather office (when it last reported; the office
 * reports only changes, so an old report is not a fault).
 *
 * {@link systemStatus} is pure (facts and a time in, a view out); {@link HealthMonitor} gathers
 * the facts from kafkajs instrumentation events and a periodic `GET /` of the Registry.
 *
 * @module
 */
import type { Consumer, Producer } from "kafkajs";
import { notice, type NoticeFields } from "../shared/notices.ts";
import type { Model } from "./core.ts";
import type { FeedHealth } from "./registry_feed.ts";

/** A consumer that has not fetched for this long counts as stalled (it fetches every ~1 s). */
export const FETCH_STALE_MS = 15_000;
/** How often the Registry's status is asked. */
export const REGISTRY_PROBE_MS = 10_000;

/** What {@link systemStatus} reads. */
export interface HealthFacts {
  /** Whether the Kafka producer is connected. */
  readonly producerConnected: boolean;
  /** Per consumer (name), when it last completed a fetch (ms), or null if never. */
  readonly lastFetchMs: Readonly<Record<string, number | null>>;
  /** Outbox rows not yet sent. */
  readonly outboxPending: number;
  /** When the Registry last answered its status call (ms), or null. */
  readonly registryOkMs: number | null;
  /** When the Registry status call last failed (ms), or null. */
  readonly registryErrorMs: number | null;
  /** Why it failed (never a secret: an address and a reason). */
  readonly registryError: string | null;
  /** The change feed follower's state, or null before it was started. */
  readonly registryFeed?: FeedHealth | null;
  /** Central's model, for the weather reports. */
  readonly model: Model;
}

/** `ok`, `down`, or `unknown` while nothing has been observed yet. */
export type Health = "ok" | "down" | "unknown";

/**
 * The dashboard's health panel (snapshot `status`, SSE `status`). Each part says why in English
 * (`detail`) and as a code with parameters the dashboard translates (shared/notices.ts).
 */
export interface SystemStatus {
  /** Kafka as Central's clients see it. */
  readonly kafka: NoticeFields & {
    readonly status: Health;
    readonly producer_connected: boolean;
    readonly consumers: Readonly<Record<string, string | null>>;
    readonly outbox_pending: number;
  };
  /** The Registry as its last status call saw it. */
  readonly registry: NoticeFields & {
    readonly status: Health;
    readonly last_ok_at: string | null;
    readonly last_error_at: string | null;
  };
  /** The Registry's change feed as Central's follower reads it. */
  readonly registry_feed: NoticeFields & {
    readonly status: Health;
    readonly applied_seq: number;
    readonly last_ok_at: string | null;
  };
  /** The weather office as its reports show it. */
  readonly weather: NoticeFields & {
    readonly status: Health;
    readonly last_report_at: string | null;
    readonly alerts: number;
  };
}

const iso = (ms: number | null) => ms === null ? null : new Date(ms).toISOString();

/** The health view of `facts` at `nowMs`. */
export function systemStatus(facts: HealthFacts, nowMs: number): SystemStatus {
  const stalled = Object.entries(facts.lastFetchMs)
    .filter(([, at]) => at === null || nowMs - at > FETCH_STALE_MS)
    .map(([name]) => name);
  const kafkaOk = facts.producerConnected && stalled.length === 0;
  const kafkaSaid = !facts.producerConnected
    ? notice("kafka_producer_down")
    : stalled.length > 0
    ? notice("kafka_stalled", { seconds: FETCH_STALE_MS / 1000, consumers: stalled.join(", ") })
    : facts.outboxPending > 0
    ? notice("kafka_outbox", { n: facts.outboxPending })
    : notice("kafka_ok");

  const { registryOkMs: ok, registryErrorMs: failed } = facts;
  const registry: Health = ok === null && failed === null
    ? "unknown"
    : failed !== null && (ok === null || failed > ok)
    ? "down"
    : "ok";

  let last: string | null = null;
  let alerts = 0;
  for (const report of facts.model.weather.values()) {
    if (last === null || report.updatedAt > last) last = report.updatedAt;
    if (report.status === "alert") alerts++;
  }
  return {
    kafka: {
      status: kafkaOk ? "ok" : "down",
      producer_connected: facts.producerConnected,
      consumers: Object.fromEntries(
        Object.entries(facts.lastFetchMs).map(([name, at]) => [name, iso(at)]),
      ),
      outbox_pending: facts.outboxPending,
      ...kafkaSaid,
    },
    registry: {
      status: registry,
      last_ok_at: iso(ok),
      last_error_at: iso(failed),
      ...(registry === "down"
        ? facts.registryError
          ? notice("registry_error", { error: facts.registryError })
          : notice("registry_failed")
        : registry === "ok"
        ? notice("registry_ok")
        : notice("not_asked_yet")),
    },
    registry_feed: facts.registryFeed
      ? {
        status: facts.registryFeed.status,
        applied_seq: facts.registryFeed.appliedSeq,
        last_ok_at: iso(facts.registryFeed.lastOkMs),
        detail: facts.registryFeed.detail,
        detail_code: facts.registryFeed.detail_code,
        detail_params: facts.registryFeed.detail_params,
      }
      : { status: "unknown", applied_seq: 0, last_ok_at: null, ...notice("feed_not_followed") },
    weather: {
      status: last === null ? "unknown" : "ok",
      last_report_at: last,
      alerts,
      ...notice(last === null ? "weather_no_report" : "weather_ok"),
    },
  };
}

/**
 * The parts of a status that make the dashboard's health panel change: fetch times move every
 * second and are left out, or every CP update would come with a status event.
 */
export function statusSignature(status: SystemStatus): string {
  const { consumers: _, ...kafka } = status.kafka;
  const feed = status.registry_feed;
  return JSON.stringify([
    kafka,
    status.registry.status,
    status.registry.detail,
    feed.status,
    feed.detail,
    status.weather,
  ]);
}

/** Gathers {@link HealthFacts} from Central's Kafka clients and the Registry. */
export class HealthMonitor {
  #producerConnected = false;
  readonly #lastFetch: Record<string, number | null> = {};
  #registryOk: number | null = null;
  #registryError: number | null = null;
  #registryErrorText: string | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;
  #feed: (() => FeedHealth) | undefined;
  readonly #now: () => number;

  /** Starts empty; `now` is the clock (tests). */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Follows a connected producer's connection. */
  watchProducer(producer: Producer): void {
    this.#producerConnected = true;
    producer.on(producer.events.CONNECT, () => this.#producerConnected = true);
    producer.on(producer.events.DISCONNECT, () => this.#producerConnected = false);
  }

  /** Follows a running consumer's fetches under `name`. */
  watchConsumer(name: string, consumer: Consumer): void {
    this.#lastFetch[name] = this.#now();
    consumer.on(consumer.events.FETCH, () => this.#lastFetch[name] = this.#now());
    consumer.on(consumer.events.CRASH, () => this.#lastFetch[name] = null);
  }

  /** Asks `probe` (the Registry's `GET /`) now and every `intervalMs`. */
  probeRegistry(probe: () => Promise<unknown>, intervalMs: number = REGISTRY_PROBE_MS): void {
    const ask = () =>
      probe().then(
        () => this.#registryOk = this.#now(),
        (error) => {
          this.#registryError = this.#now();
          this.#registryErrorText = error instanceof Error ? error.message : String(error);
        },
      );
    ask();
    this.#timer = setInterval(ask, intervalMs);
  }

  /** Follows the Registry change feed follower's state (central/registry_feed.ts). */
  watchRegistryFeed(health: () => FeedHealth): void {
    this.#feed = health;
  }

  /** The facts now, with the outbox count and model given by Central. */
  facts(outboxPending: number, model: Model): HealthFacts {
    return {
      producerConnected: this.#producerConnected,
      lastFetchMs: { ...this.#lastFetch },
      outboxPending,
      registryOkMs: this.#registryOk,
      registryErrorMs: this.#registryError,
      registryError: this.#registryErrorText,
      registryFeed: this.#feed?.() ?? null,
      model,
    };
  }

  /** Stops probing. */
  stop(): void {
    clearInterval(this.#timer);
  }
}
