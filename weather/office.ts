/**
 * The weather office without its command line: picks the provider, loads the keys and the
 * locations file, serves the API and runs a round every interval. `weather/main.ts` calls
 * {@link startWeatherOffice} with the parsed config; tests call it on port 0 with a temp folder.
 *
 * A round: read every due city at once (one request per distinct city, each with a timeout),
 * ask Central which CPs it knows, then send Central the alerts and clears the core decides, add
 * to the locations the CPs Central places in a city the office does not watch yet (unless
 * `--file-only`), and log what changed. Decisions are in `core.ts`'s `step`; this file only
 * performs its effects, and logs. A change of the locations (file, menu, API, Central's new
 * CPs) or of a manual temperature starts a round at once.
 *
 * @module
 */
import { generateCredential, readOrCreateSecretFile } from "../shared/secret_file.ts";
import { getLogger } from "../shared/log.ts";
import { OfficeMetrics } from "./metrics.ts";
import { createWeatherApp, type OfficeSnapshot, type WeatherOfficeView } from "./api.ts";
import { CentralClient } from "./central_client.ts";
import type { WeatherConfig } from "./config.ts";
import {
  cityKey,
  type CoreSettings,
  type DeliveryOutcome,
  describe,
  dismissedAfter,
  initialState,
  isLinkFailure,
  knownToCentral,
  MAX_CENTRAL_BACKOFF_MS,
  MAX_PROVIDER_BACKOFF_MS,
  type OfficeState,
  type Reading,
  step,
  type WeatherAlertBody,
} from "./core.ts";
import { type Locations, LocationsFileError, LocationStore } from "./locations.ts";
import { createOpenWeatherProvider, SimulatedProvider, type WeatherProvider } from "./providers.ts";

/** Most alerts and clears in flight to Central at once. */
export const MAX_CONCURRENT_DELIVERIES = 8;

/** A problem an operator must fix before the office can start (a missing key file…). */
export class OfficeStartError extends Error {
  /** Always `"OfficeStartError"`. */
  override name = "OfficeStartError";
}

/** Where the service key came from (never the key itself in logs: only this). */
export interface ServiceKeySource {
  /** `given` (flag or env) or `file` (generated once, then read back). */
  readonly source: "given" | "file";
  /** The file, when `source` is `file`. */
  readonly path?: string;
}

/** A running office. */
export interface WeatherOffice extends WeatherOfficeView {
  /** Port of the API. */
  readonly port: number;
  /** Base URL of the API for local clients, e.g. `http://127.0.0.1:8090`. */
  readonly url: string;
  /** Where the service key came from. */
  readonly serviceKey: ServiceKeySource;
  /** Calls `listener` after every round and every change of the locations; returns an unsubscribe. */
  subscribe(listener: () => void): () => void;
  /** Stops the rounds, the API and the file watch; waits for a round in progress. */
  stop(): Promise<void>;
}

/** Settings tests shorten. */
export interface StartOptions {
  /** Quiet time before a change of the locations file is reloaded. */
  readonly debounceMs?: number;
}

const log = getLogger(["evcharging", "weather"]);

/**
 * Starts the office.
 * @throws {OfficeStartError} if the OpenWeather key file is missing or empty.
 * @throws {LocationsFileError} if the locations file is malformed.
 * @throws {TlsFileError} if Central's URL is https and the project CA file is missing.
 */
export async function startWeatherOffice(
  config: WeatherConfig,
  options: StartOptions = {},
): Promise<WeatherOffice> {
  const provider = await chooseProvider(config);
  const serviceKey = await resolveServiceKey(config.serviceKey, config.serviceKeyFile);
  let rounds: OfficeRounds | undefined;
  const store = await LocationStore.open(config.locations, {
    debounceMs: options.debounceMs,
    onChange: (locations) => rounds?.locationsChanged(locations),
  });
  const central = await CentralClient.create({
    url: config.central,
    serviceKey: serviceKey.key,
    timeoutMs: config.requestTimeoutMs,
    caFile: config.ca,
  });
  const office = rounds = new OfficeRounds(config, provider, store, central);
  const view: WeatherOfficeView = {
    snapshot: () => office.snapshot(),
    setLocation: (cpId, city) => store.set(cpId, city),
    removeLocation: (cpId) => store.remove(cpId),
    simulated: provider instanceof SimulatedProvider ? provider : undefined,
    poke: () => office.poke(),
  };
  const app = createWeatherApp({
    office: view,
    serviceKey: serviceKey.key,
    metrics: office.metrics,
  });
  const server = Deno.serve(
    { port: config.port, hostname: config.host, onListen: () => {} },
    app.fetch,
  );
  const url = `http://${urlHost(server.addr.hostname)}:${server.addr.port}`;

  store.watch();
  log.info(
    "weather office up: API on {url}, {count} CPs from {path}, every {intervalMs} ms, " +
      "threshold {thresholdC} °C, Central at {central}",
    {
      url,
      count: store.locations.size,
      path: store.path,
      intervalMs: config.intervalMs,
      thresholdC: config.thresholdC,
      central: config.central,
    },
  );
  office.schedule(0);

  return {
    ...view,
    port: server.addr.port,
    url,
    serviceKey: { source: serviceKey.source, path: serviceKey.path },
    subscribe: (listener) => office.subscribe(listener),
    async stop() {
      if (!await office.stop()) return;
      await server.shutdown();
      await store.close();
      central.close();
      office.unsubscribeAll();
      log.info("weather office stopped");
    },
  };
}

/** A listening address as a URL host: a wildcard becomes loopback, IPv6 gets brackets. */
function urlHost(hostname: string): string {
  if (["0.0.0.0", "::"].includes(hostname)) return "127.0.0.1";
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

/**
 * The office's rounds: the core's model, the round timer, and the I/O the core's effects ask
 * for. A round runs every interval; a change of the locations (file, menu, API, Central's new
 * CPs) or of a manual temperature starts one at once ({@link OfficeRounds.poke}).
 */
class OfficeRounds {
  /** Metrics of the readings and deliveries, and of the rows. */
  readonly metrics: OfficeMetrics;
  readonly #settings: CoreSettings;
  #state: OfficeState = initialState();
  #lastRoundAt: number | undefined;
  #flagged = "";
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #abort = new AbortController();
  readonly #listeners = new Set<() => void>();
  /** The CPs the operator removed while the office runs: Central's list must not bring them back. */
  #dismissed = new Set<string>();
  #watched: Locations;

  constructor(
    readonly config: WeatherConfig,
    readonly provider: WeatherProvider,
    readonly store: LocationStore,
    readonly central: CentralClient,
  ) {
    this.#settings = {
      thresholdC: config.thresholdC,
      backoffBaseMs: config.intervalMs,
      maxProviderBackoffMs: MAX_PROVIDER_BACKOFF_MS,
      maxCentralBackoffMs: MAX_CENTRAL_BACKOFF_MS,
    };
    this.#watched = store.locations;
    this.metrics = new OfficeMetrics(() => this.snapshot().rows);
  }

  /** What the API and the menu show. */
  snapshot(): OfficeSnapshot {
    const { config, store } = this;
    return {
      provider: this.provider.name,
      thresholdC: config.thresholdC,
      central: {
        url: config.central,
        reachable: this.#state.central.reachable,
        lastError: this.#state.central.lastError,
      },
      locationsProblem: store.problem,
      lastRoundAt: this.#lastRoundAt,
      rows: describe(this.#state, store.locations, config.thresholdC),
    };
  }

  /** Calls `listener` after every round and every change of the locations. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The watched CPs changed: note who was removed, tell the listeners, run a round. */
  locationsChanged(locations: Locations): void {
    this.#dismissed = dismissedAfter(this.#dismissed, this.#watched, locations);
    this.#watched = locations;
    this.#notify();
    this.poke();
  }

  /** Runs a round now, or right after the one in progress. */
  poke(): void {
    if (this.#stopped) return;
    if (this.#running) this.#again = true;
    else this.schedule(0);
  }

  /** Runs the next round in `delay` ms. */
  schedule(delay: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#tick(), delay);
  }

  /** Stops the rounds and waits for one in progress; false if already stopped. */
  async stop(): Promise<boolean> {
    if (this.#stopped) return false;
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#abort.abort();
    await this.#running;
    return true;
  }

  /** Forgets every listener: the office is gone. */
  unsubscribeAll(): void {
    this.#listeners.clear();
  }

  #notify(): void {
    this.#listeners.forEach((listener) => listener());
  }

  #context() {
    return { settings: this.#settings, adoptCentralCps: !this.config.fileOnly, now: Date.now() };
  }

  async #tick(): Promise<void> {
    this.#timer = undefined;
    if (this.#stopped) return;
    const started = Date.now();
    this.#running = this.#round().catch((error) => {
      log.error("round failed: {message}", {
        message: error instanceof Error ? error.message : String(error),
      });
    });
    await this.#running;
    this.#running = undefined;
    if (this.#stopped) return;
    this.#notify();
    const wait = this.#again ? 0 : Math.max(0, this.config.intervalMs - (Date.now() - started));
    this.#again = false;
    this.schedule(wait);
  }

  /** One round: the core's `read`, `deliver` and `adopt` effects done in turn, with their logs. */
  async #round(): Promise<void> {
    const { store, central } = this;
    const signal = this.#abort.signal;
    const locations = store.locations;
    const [read] = step(this.#state, { type: "round", locations }, this.#context()).effects;
    if (read?.type !== "read") return;
    const [readings, probe] = await Promise.all([
      readAll(this.provider, read.cities, signal),
      read.probeCentral ? central.listCps(signal) : undefined,
    ]);
    if (this.#stopped) return;
    this.metrics.readings(readings);
    const before = this.#state;
    const input = { type: "readings", locations, readings, probe } as const;
    const afterReadings = step(this.#state, input, this.#context());
    this.#state = afterReadings.model;
    logReadings(before, this.#state, readings);
    for (const effect of afterReadings.effects) {
      if (effect.type !== "deliver") continue;
      const answers = await deliver(central, effect.plan, signal);
      this.metrics.deliveries(answers);
      if (this.#stopped) return;
      const delivered = step(this.#state, {
        type: "delivered",
        locations,
        answers,
        centralLocations: probe?.kind === "listed" ? probe.locations : undefined,
        watched: store.locations,
        dismissed: this.#dismissed,
      }, this.#context());
      this.#state = delivered.model;
      logCentral(before, this.#state);
      for (const adoption of delivered.effects) {
        if (adoption.type === "adopt") await this.#adopt(adoption.locations);
      }
    }
    if (probe?.kind === "unreachable") logCentral(before, this.#state);
    this.#flagged = logUnknownCps(this.#state, locations, this.#flagged);
    this.#lastRoundAt = Date.now();
  }

  /** Watches the CPs Central places in a city the office lacks; the write starts a round. */
  async #adopt(wanted: Locations): Promise<void> {
    try {
      const added = await this.store.addMissing(wanted);
      if (added.length === 0) return;
      log.info("now watching {cpIds}, in the cities Central has for them", {
        cpIds: added.map((cpId) => `${cpId} (${wanted.get(cpId)})`).join(", "),
      });
    } catch (error) {
      // The store has logged what is wrong with the file; the CPs are added once it is fixed.
      if (!(error instanceof LocationsFileError)) throw error;
    }
  }
}

/** OpenWeather if a key is given (directly or in a file), else the simulated provider. */
async function chooseProvider(config: WeatherConfig): Promise<WeatherProvider> {
  let apiKey = config.openweatherKey;
  if (apiKey === undefined && config.openweatherKeyFile !== undefined) {
    const path = config.openweatherKeyFile;
    try {
      apiKey = (await Deno.readTextFile(path)).trim();
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      throw new OfficeStartError(`OpenWeather key file ${path} not found`);
    }
    if (apiKey === "") throw new OfficeStartError(`OpenWeather key file ${path} is empty`);
  }
  if (apiKey === undefined) {
    log.warning(
      "no OpenWeather API key (OPENWEATHER_API_KEY or --openweather-key-file): temperatures " +
        "are SIMULATED, not real; set them by hand from the menu or with PUT /simulated/<city>",
    );
    return new SimulatedProvider();
  }
  log.info("temperatures from OpenWeather at {baseUrl}", { baseUrl: config.openweatherBaseUrl });
  return createOpenWeatherProvider({
    baseUrl: config.openweatherBaseUrl,
    apiKey,
    timeoutMs: config.requestTimeoutMs,
  });
}

/** The given key, else the one in `path`, generated there (mode 0600) on first start. */
async function resolveServiceKey(
  given: string | undefined,
  path: string,
): Promise<ServiceKeySource & { key: string }> {
  if (given !== undefined) return { key: given, source: "given" };
  const file = await readOrCreateSecretFile(path, generateCredential);
  log.info(
    file.created
      ? "generated a service key into {path} (mode 0600); Central must use the same key"
      : "using the service key in {path}",
    { path },
  );
  return { key: file.value.trim(), source: "file", path };
}

/** Reads every city at once; each read has its own timeout inside the provider. */
async function readAll(
  provider: WeatherProvider,
  cities: readonly string[],
  signal: AbortSignal,
): Promise<Map<string, Reading>> {
  const readings = await Promise.all(
    cities.map(async (city) => [city, await provider.read(city, signal)] as const),
  );
  return new Map(readings);
}

/**
 * Sends the plan, {@link MAX_CONCURRENT_DELIVERIES} at a time, and stops starting new ones once
 * Central is found unreachable (the rest are re-planned when it answers).
 */
async function deliver(
  central: CentralClient,
  plan: readonly WeatherAlertBody[],
  signal: AbortSignal,
): Promise<{ body: WeatherAlertBody; outcome: DeliveryOutcome }[]> {
  const answers: { body: WeatherAlertBody; outcome: DeliveryOutcome }[] = [];
  const queue = [...plan];
  let linkDown = false;
  const worker = async () => {
    for (let body = queue.shift(); body !== undefined && !linkDown; body = queue.shift()) {
      const outcome = await central.sendAlert(body, signal);
      answers.push({ body, outcome });
      if (isLinkFailure(outcome)) linkDown = true;
      logDelivery(body, outcome);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(MAX_CONCURRENT_DELIVERIES, plan.length) }, worker),
  );
  return answers;
}

// ------------------------------------------------------------------------------- logging

function logReadings(before: OfficeState, after: OfficeState, readings: Map<string, Reading>) {
  for (const [city, reading] of readings) {
    const key = cityKey(city);
    if (reading.ok) {
      const fields = { city, temperature: reading.temperature };
      if (before.cities.get(key)?.error !== undefined) {
        log.info("weather for {city} is back: {temperature} °C", fields);
      } else log.debug("{city}: {temperature} °C", fields);
      continue;
    }
    const retryAt = after.cities.get(key)?.retryAt ?? Date.now();
    log.warning("no temperature for {city}: {kind}, {detail}; next try in {seconds} s", {
      city,
      kind: reading.kind,
      detail: reading.detail,
      seconds: Math.round((retryAt - Date.now()) / 1000),
    });
  }
}

function logDelivery(body: WeatherAlertBody, outcome: DeliveryOutcome): void {
  const fields = {
    cpId: body.cp_id,
    city: body.city,
    temperature: body.temperature,
    status: body.status,
  };
  switch (outcome.kind) {
    case "delivered":
      log.info("{status} for {cpId} ({city}, {temperature} °C) sent to Central", fields);
      return;
    case "unknown_cp": // reported with the other unknown CPs at the end of the round
      log.debug("Central answered 404 for {cpId}", fields);
      return;
    case "rejected":
      log.error("Central refused the {status} for {cpId}: {detail}", {
        ...fields,
        detail: outcome.detail,
      });
      return;
    case "unauthorized":
      log.error(
        "Central refused the service key ({detail}): give Central and the office the same " +
          "WEATHER_SERVICE_KEY or key file",
        { detail: outcome.detail },
      );
      return;
    case "unavailable":
      log.debug("{status} for {cpId} not delivered: {detail}", {
        ...fields,
        detail: outcome.detail,
      });
  }
}

function logCentral(before: OfficeState, after: OfficeState): void {
  const was = before.central;
  const now = after.central;
  if (now.reachable === false) {
    const fields = {
      detail: now.lastError,
      seconds: Math.round((now.retryAt - Date.now()) / 1000),
    };
    if (was.reachable === false) {
      log.debug("Central still not answering: {detail}; next try in {seconds} s", fields);
    } else {
      log.warning(
        "Central did not take the weather state: {detail}; retrying in {seconds} s, then " +
          "re-sending the current state of every CP",
        fields,
      );
    }
  } else if (now.reachable && was.reachable === false) {
    log.info("Central answers again; the current state of every CP was re-sent");
  }
}

/** Logs the CPs Central does not know whenever that list changes; returns it. */
function logUnknownCps(state: OfficeState, locations: Locations, previous: string): string {
  const unknown = [...locations.keys()].filter((cpId) => knownToCentral(state, cpId) === false)
    .sort().join(", ");
  if (unknown !== previous && unknown !== "") {
    log.warning("Central does not know {cpIds}: they get no weather alerts until it does", {
      cpIds: unknown,
    });
  }
  return unknown;
}
