/**
 * The weather office's decisions, with no socket, timer or file: which cities to read this
 * round, what a round's readings change, which alerts and clears Central must get, how long to
 * back off after a provider error or an unreachable Central, and which CPs Central does not know.
 *
 * The office (`office.ts`) runs a round every interval through {@link step}, the project's one
 * core shape, `step(model, input, context) → {model, effects}`: a `round` input asks for the
 * due cities to be read and Central probed (the `read` effect); the `readings` input folds
 * those in ({@link applyReadings}, {@link applyCentralProbe}) and asks for the alerts and clears
 * {@link planNotifications} decides (`deliver`); the `delivered` input records Central's answers
 * ({@link applyDeliveries}) and asks for the CPs to start watching ({@link toAdopt}, `adopt`).
 * The context holds the settings and `now`. Every function here returns a new
 * {@link OfficeState}; the office keeps the latest one and performs the effects.
 *
 * Rules:
 * - A CP's weather status comes from the last good reading of its city: below the threshold is
 *   `alert`, at or above it is `clear` (so exactly the threshold is `clear`).
 * - Central is told only when that status differs from what Central last acknowledged. The first
 *   reading of a CP is always sent, since the office cannot know what Central holds (it may have
 *   been restarted while Central kept an alert).
 * - A provider error never changes a status: the last good reading stands, the error is kept
 *   for display, and the city is read again only after an exponential, capped back-off.
 * - When Central is unreachable (or refuses the service key) nothing is queued: every
 *   acknowledged status is marked stale and Central is retried with back-off; once it answers,
 *   the current status of every CP is sent again, whatever happened in between.
 * - A CP that Central says it does not know (absent from `GET /cps`, or a 404 on an alert) is
 *   flagged and not sent until Central knows it.
 * - A CP removed from the locations while Central holds an alert for it gets a `clear`, so no
 *   CP stays stopped by an office that no longer watches it.
 * - A CP Central lists in a city the office does not watch is added to the locations (so one
 *   added from the dashboard, or started anywhere with `--location`, is covered), unless the
 *   operator removed it from them while the office runs.
 *
 * @module
 */
import type { CoreStep } from "../shared/core_step.ts";

/** What the office tells Central about one CP. */
export type WeatherStatus = "alert" | "clear";

/**
 * The body of `POST /weather/alert`, exactly as sent: the CP, the city it is in, the temperature
 * that decided (°C) and the resulting status.
 */
export interface WeatherAlertBody {
  /** The CP's id. */
  readonly cp_id: string;
  /** The city it is in, as written in the locations file. */
  readonly city: string;
  /** °C, as the provider gave it. */
  readonly temperature: number;
  /** `alert`: stop the CP; `clear`: release it. */
  readonly status: WeatherStatus;
}

/** Why a reading failed: each maps to one way a weather provider can let the office down. */
export type ProviderErrorKind =
  | "timeout" // no answer within the request timeout
  | "network" // connection refused, DNS failure, TLS failure
  | "unauthorized" // 401: the API key is wrong or not active yet
  | "city_not_found" // 404: the provider does not know the city
  | "rate_limited" // 429: over the key's quota
  | "server_error" // 5xx
  | "unexpected_status" // any other non-200 answer
  | "malformed"; // 200 whose body is not JSON or has no numeric `main.temp`

/** A failed reading: its kind, one human line (never a secret), and the provider's wait hint. */
export interface ProviderError {
  /** What went wrong. */
  readonly kind: ProviderErrorKind;
  /** One line for the log and the API, e.g. `OpenWeather does not know this city (404…)`. */
  readonly detail: string;
  /** From a 429's `Retry-After`: the back-off is at least this long. */
  readonly retryAfterMs?: number;
}

/** One city's reading in a round. */
export type Reading =
  | { readonly ok: true; readonly temperature: number }
  | ({ readonly ok: false } & ProviderError);

/** What the office knows about one city. */
export interface CityState {
  /** The spelling used to ask the provider (the first CP's). */
  readonly city: string;
  /** Last good temperature, °C. */
  readonly temperature?: number;
  /** When it was read (ms since the epoch). */
  readonly readAt?: number;
  /** The latest error, cleared by the next good reading. */
  readonly error?: ProviderError & { readonly at: number };
  /** Errors in a row. */
  readonly failures: number;
  /** Not read again before this time (ms since the epoch); 0 = due now. */
  readonly retryAt: number;
}

/** The last status Central answered for a CP. */
export interface SentState {
  /** The status sent. */
  readonly status: WeatherStatus;
  /** The city it was sent with. */
  readonly city: string;
  /** The temperature it was sent with, °C. */
  readonly temperature: number;
  /** Central took it (2xx); `false` if it refused this body (another 4xx). */
  readonly accepted: boolean;
  /** Central was unreachable since: this may no longer be what Central holds. */
  readonly stale: boolean;
}

/** How the office stands with Central. */
export interface CentralLink {
  /** Whether Central answered the last attempt; `undefined` before the first one. */
  readonly reachable?: boolean;
  /** Failed attempts in a row. */
  readonly failures: number;
  /** Not contacted again before this time (ms since the epoch); 0 = due now. */
  readonly retryAt: number;
  /** Why the last attempt failed. */
  readonly lastError?: string;
}

/** Everything the office remembers between rounds. */
export interface OfficeState {
  /** By {@link cityKey}. */
  readonly cities: ReadonlyMap<string, CityState>;
  /** By CP id. */
  readonly sent: ReadonlyMap<string, SentState>;
  /** CP ids from Central's `GET /cps`; `undefined` until Central has listed them once. */
  readonly knownCps?: ReadonlySet<string>;
  /** CP ids Central answered 404 for since its last list. */
  readonly refusedCps: ReadonlySet<string>;
  /** How the office stands with Central. */
  readonly central: CentralLink;
}

/** The numbers the rules depend on. */
export interface CoreSettings {
  /** Below this (°C) is an alert; at or above is clear. */
  readonly thresholdC: number;
  /** First back-off after an error (the round interval), doubled after each further error. */
  readonly backoffBaseMs: number;
  /** Longest wait before a failing city is read again. */
  readonly maxProviderBackoffMs: number;
  /** Longest wait before an unreachable Central is tried again. */
  readonly maxCentralBackoffMs: number;
}

/** Longest wait before a failing city is read again (5 min: well inside any free quota). */
export const MAX_PROVIDER_BACKOFF_MS = 5 * 60_000;
/** Longest wait before an unreachable Central is tried again. */
export const MAX_CENTRAL_BACKOFF_MS = 30_000;

/** A state with nothing read and nothing sent. */
export function initialState(): OfficeState {
  return {
    cities: new Map(),
    sent: new Map(),
    refusedCps: new Set(),
    central: { failures: 0, retryAt: 0 },
  };
}

/**
 * The key two spellings of one city share (`Madrid`, ` madrid `): the provider is asked once
 * per key, and a manual temperature applies to every spelling.
 */
export function cityKey(city: string): string {
  return city.trim().toLocaleLowerCase("en");
}

/** `alert` below the threshold, `clear` at or above it. */
export function statusFor(temperature: number, thresholdC: number): WeatherStatus {
  return temperature < thresholdC ? "alert" : "clear";
}

/** `base · 2^(failures − 1)`, at most `cap`: the wait after `failures` errors in a row (≥ 1). */
export function backoffDelay(failures: number, baseMs: number, capMs: number): number {
  const exponent = Math.max(0, failures - 1);
  // 2^31 already exceeds any cap; stopping there keeps the product finite.
  return Math.min(capMs, baseMs * 2 ** Math.min(exponent, 31));
}

/**
 * The cities to read now: one per {@link cityKey} among `locations` (CP id → city), skipping
 * those still backing off. Each is given in the spelling the provider will be asked with.
 */
export function dueCities(
  state: OfficeState,
  locations: ReadonlyMap<string, string>,
  now: number,
): string[] {
  const due = new Map<string, string>();
  for (const city of locations.values()) {
    const key = cityKey(city);
    if (due.has(key)) continue;
    const known = state.cities.get(key);
    if (known === undefined || known.retryAt <= now) due.set(key, known?.city ?? city);
  }
  return [...due.values()];
}

/**
 * Folds a round's readings (by the city names {@link dueCities} gave) into the state. A good
 * reading replaces the temperature and ends any back-off; an error keeps the last temperature,
 * records the error and backs the city off. Cities no CP is in any more are forgotten.
 */
export function applyReadings(
  state: OfficeState,
  locations: ReadonlyMap<string, string>,
  readings: ReadonlyMap<string, Reading>,
  now: number,
  settings: CoreSettings,
): OfficeState {
  const inUse = new Set([...locations.values()].map(cityKey));
  const cities = new Map([...state.cities].filter(([key]) => inUse.has(key)));
  for (const [city, reading] of readings) {
    const key = cityKey(city);
    if (!inUse.has(key)) continue; // the CP moved away while the city was being read
    const before = cities.get(key);
    if (reading.ok) {
      cities.set(key, {
        city,
        temperature: reading.temperature,
        readAt: now,
        failures: 0,
        retryAt: 0,
      });
      continue;
    }
    const failures = (before?.failures ?? 0) + 1;
    const { ok: _ok, ...error } = reading;
    const wait = Math.max(
      backoffDelay(failures, settings.backoffBaseMs, settings.maxProviderBackoffMs),
      reading.retryAfterMs ?? 0,
    );
    cities.set(key, {
      city,
      temperature: before?.temperature,
      readAt: before?.readAt,
      error: { ...error, at: now },
      failures,
      retryAt: now + wait,
    });
  }
  return { ...state, cities };
}

/**
 * What `GET /cps` on Central gave: the ids (and the city of each CP whose location is a valid
 * city name), Central reachable without a usable list, or down.
 */
export type CentralProbe =
  | {
    readonly kind: "listed";
    readonly cpIds: ReadonlySet<string>;
    /** CP id → the location Central has for it (from the Registry), for those that are cities. */
    readonly locations: ReadonlyMap<string, string>;
  }
  | { readonly kind: "answered" } // reachable, but no usable list (404, 5xx, bad JSON…)
  | { readonly kind: "unreachable"; readonly detail: string }; // no answer at all

/** Whether Central may be contacted now (it is not backing off). */
export function centralDue(state: OfficeState, now: number): boolean {
  return state.central.retryAt <= now;
}

/**
 * Folds the answer of `GET /cps` in. A list replaces the known ids and the 404 refusals (it is
 * Central's own word) and drops what Central acknowledged for ids it no longer has, so a CP that
 * comes back gets its status afresh. An unreachable Central backs off. An answer does not end a
 * back-off by itself: only a round whose notifications all reach Central does, since `GET /cps`
 * is open and `POST /weather/alert` may still refuse the service key.
 */
export function applyCentralProbe(
  state: OfficeState,
  probe: CentralProbe,
  now: number,
  settings: CoreSettings,
): OfficeState {
  if (probe.kind === "unreachable") return centralFailed(state, probe.detail, now, settings);
  if (probe.kind === "answered") return state;
  const sent = new Map([...state.sent].filter(([cpId]) => probe.cpIds.has(cpId)));
  return { ...state, knownCps: probe.cpIds, refusedCps: new Set(), sent };
}

/**
 * The CPs to start watching: those Central places in a city (`central`, from its list) that the
 * office does not watch and that the operator has not stopped watching (`dismissed`), by id.
 * The locations file's city wins where it has one (it may be spelled for the provider,
 * `Alicante,ES`), so only missing CPs are returned.
 */
export function toAdopt(
  watched: ReadonlyMap<string, string>,
  central: ReadonlyMap<string, string>,
  dismissed: ReadonlySet<string>,
): Map<string, string> {
  const adopt = [...central].filter(([cpId]) => !watched.has(cpId) && !dismissed.has(cpId));
  return new Map(adopt.sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * The CPs the operator stopped watching, after the watched set went from `before` to `after`:
 * a CP that left it (menu, API, editor) joins, one that is watched again leaves. {@link toAdopt}
 * skips them, so the office never undoes a removal by adding the CP back from Central.
 */
export function dismissedAfter(
  dismissed: ReadonlySet<string>,
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): Set<string> {
  const next = new Set([...dismissed].filter((cpId) => !after.has(cpId)));
  for (const cpId of before.keys()) if (!after.has(cpId)) next.add(cpId);
  return next;
}

/**
 * Whether Central knows `cpId`: `false` if it said not (list or 404), `true` if it listed it,
 * `undefined` while Central has not listed its CPs.
 */
export function knownToCentral(state: OfficeState, cpId: string): boolean | undefined {
  if (state.refusedCps.has(cpId)) return false;
  return state.knownCps?.has(cpId);
}

/**
 * The alerts and clears Central must get now: for each watched CP Central has not disowned and
 * whose city has a reading, its status if it differs from what Central acknowledged (or that is
 * stale); plus a `clear` for each CP no longer watched whose last acknowledged status is `alert`.
 */
export function planNotifications(
  state: OfficeState,
  locations: ReadonlyMap<string, string>,
  thresholdC: number,
): WeatherAlertBody[] {
  const plan: WeatherAlertBody[] = [];
  for (const [cpId, city] of locations) {
    if (knownToCentral(state, cpId) === false) continue;
    const temperature = state.cities.get(cityKey(city))?.temperature;
    if (temperature === undefined) continue;
    const status = statusFor(temperature, thresholdC);
    const sent = state.sent.get(cpId);
    if (sent === undefined || sent.stale || sent.status !== status) {
      plan.push({ cp_id: cpId, city, temperature, status });
    }
  }
  for (const [cpId, sent] of state.sent) {
    if (locations.has(cpId) || sent.status !== "alert") continue;
    const latest = state.cities.get(cityKey(sent.city))?.temperature;
    plan.push({
      cp_id: cpId,
      city: sent.city,
      temperature: latest ?? sent.temperature,
      status: "clear",
    });
  }
  return plan;
}

/**
 * How Central answered one notification:
 * - `delivered`: 2xx;
 * - `unknown_cp`: 404, Central has no such CP;
 * - `rejected`: another 4xx: Central will refuse this same body again, so it is not retried;
 * - `unauthorized`: 401/403, Central refuses the service key;
 * - `unavailable`: no answer, a timeout, 429 or 5xx.
 *
 * The last two are about the link, not the CP: Central backs off as a whole.
 */
export type DeliveryOutcome =
  | { readonly kind: "delivered" }
  | { readonly kind: "unknown_cp"; readonly detail: string }
  | { readonly kind: "rejected"; readonly detail: string }
  | { readonly kind: "unauthorized"; readonly detail: string }
  | { readonly kind: "unavailable"; readonly detail: string };

/** Whether an outcome is about Central as a whole (back off, re-send everything later). */
export function isLinkFailure(outcome: DeliveryOutcome): boolean {
  return outcome.kind === "unauthorized" || outcome.kind === "unavailable";
}

/**
 * Records Central's answers to the notifications sent this round (those not sent, because the
 * link failed first, are simply absent). A link failure marks every acknowledged status stale
 * and backs Central off; a round without one resets the back-off. A CP no longer watched is
 * forgotten once Central has its clear.
 */
export function applyDeliveries(
  state: OfficeState,
  locations: ReadonlyMap<string, string>,
  answers: readonly { body: WeatherAlertBody; outcome: DeliveryOutcome }[],
  now: number,
  settings: CoreSettings,
): OfficeState {
  const sent = new Map(state.sent);
  const refusedCps = new Set(state.refusedCps);
  let linkFailure: string | undefined;
  for (const { body, outcome } of answers) {
    switch (outcome.kind) {
      case "delivered":
      case "rejected": {
        const { cp_id: cpId, status, city, temperature } = body;
        const accepted = outcome.kind === "delivered";
        sent.set(cpId, { status, city, temperature, accepted, stale: false });
        break;
      }
      case "unknown_cp":
        refusedCps.add(body.cp_id);
        sent.delete(body.cp_id);
        break;
      case "unauthorized":
      case "unavailable":
        linkFailure ??= outcome.detail;
        break;
    }
  }
  // CPs no longer watched matter only while Central may hold an alert for them.
  for (const [cpId, entry] of sent) {
    if (!locations.has(cpId) && entry.status === "clear") sent.delete(cpId);
  }
  const next = { ...state, sent, refusedCps };
  if (linkFailure !== undefined) return centralFailed(next, linkFailure, now, settings);
  return { ...next, central: { reachable: true, failures: 0, retryAt: 0 } };
}

/** Central did not answer (or refused the key): stale acknowledgements, back off. */
function centralFailed(
  state: OfficeState,
  detail: string,
  now: number,
  settings: CoreSettings,
): OfficeState {
  const failures = state.central.failures + 1;
  const sent = new Map([...state.sent].map(([cpId, s]) => [cpId, { ...s, stale: true }]));
  return {
    ...state,
    sent,
    central: {
      reachable: false,
      failures,
      retryAt: now + backoffDelay(failures, settings.backoffBaseMs, settings.maxCentralBackoffMs),
      lastError: detail,
    },
  };
}

/** What happens to the office in a round. */
export type OfficeInput =
  /** A round starts over the watched CPs (CP id → city). */
  | { readonly type: "round"; readonly locations: ReadonlyMap<string, string> }
  /**
   * The `read` effect is done: each city's reading, and what `GET /cps` gave if Central was
   * probed.
   */
  | {
    readonly type: "readings";
    readonly locations: ReadonlyMap<string, string>;
    readonly readings: ReadonlyMap<string, Reading>;
    readonly probe?: CentralProbe;
  }
  /**
   * The `deliver` effect is done: Central's answer to each notification the round's `locations`
   * planned; the CPs Central placed in cities (the probe's list), the CPs watched now and those
   * the operator stopped watching, to choose the ones to adopt.
   */
  | {
    readonly type: "delivered";
    readonly locations: ReadonlyMap<string, string>;
    readonly answers: readonly { body: WeatherAlertBody; outcome: DeliveryOutcome }[];
    readonly centralLocations?: ReadonlyMap<string, string>;
    readonly watched: ReadonlyMap<string, string>;
    readonly dismissed: ReadonlySet<string>;
  };

/** What a step asks its edge to do, in order. */
export type OfficeEffect =
  /** Read these cities at once, and ask Central for its CPs if `probeCentral`. */
  | { readonly type: "read"; readonly cities: readonly string[]; readonly probeCentral: boolean }
  /** Send Central these alerts and clears (stop at a link failure), then report `delivered`. */
  | { readonly type: "deliver"; readonly plan: readonly WeatherAlertBody[] }
  /** Start watching these CPs (CP id → city), unless watched meanwhile. */
  | { readonly type: "adopt"; readonly locations: ReadonlyMap<string, string> };

/** What a step may read besides its model and input. */
export interface OfficeContext {
  /** The numbers the rules depend on. */
  readonly settings: CoreSettings;
  /** Whether CPs Central places in a city the office does not watch are added (not `--file-only`). */
  readonly adoptCentralCps: boolean;
  /** Now, ms since the epoch. */
  readonly now: number;
}

/** What {@link step} returns. */
export type OfficeStep = CoreStep<OfficeState, OfficeEffect>;

/**
 * One step of a round. A round whose probe found Central unreachable ends after its readings;
 * one where Central answered delivers (maybe nothing: a delivery round that reaches Central ends
 * its back-off), then adopts when Central listed its CPs.
 */
export function step(model: OfficeState, input: OfficeInput, context: OfficeContext): OfficeStep {
  const { settings, now } = context;
  switch (input.type) {
    case "round": {
      const cities = dueCities(model, input.locations, now);
      return { model, effects: [{ type: "read", cities, probeCentral: centralDue(model, now) }] };
    }
    case "readings": {
      let next = applyReadings(model, input.locations, input.readings, now, settings);
      const probe = input.probe;
      if (probe === undefined) return { model: next, effects: [] };
      next = applyCentralProbe(next, probe, now, settings);
      if (probe.kind === "unreachable") return { model: next, effects: [] };
      const plan = planNotifications(next, input.locations, settings.thresholdC);
      return { model: next, effects: [{ type: "deliver", plan }] };
    }
    case "delivered": {
      const next = applyDeliveries(model, input.locations, input.answers, now, settings);
      const central = input.centralLocations;
      if (central === undefined || !context.adoptCentralCps) return { model: next, effects: [] };
      const wanted = toAdopt(input.watched, central, input.dismissed);
      return {
        model: next,
        effects: wanted.size === 0 ? [] : [{ type: "adopt", locations: wanted }],
      };
    }
  }
}

/** One watched CP as the API and the menu show it. */
export interface LocationRow {
  /** The CP's id. */
  readonly cpId: string;
  /** Its city. */
  readonly city: string;
  /** Last good temperature of the city, °C. */
  readonly temperature?: number;
  /** When that temperature was read (ms since the epoch). */
  readonly readAt?: number;
  /** From that temperature; `unknown` before the city's first good reading. */
  readonly state: WeatherStatus | "unknown";
  /** What Central acknowledged and still holds as far as the office knows. */
  readonly centralState?: WeatherStatus;
  /** The city's latest provider error, if its last reading failed. */
  readonly lastError?: ProviderError & { readonly at: number };
  /** See {@link knownToCentral}. */
  readonly knownToCentral?: boolean;
}

/** The rows of every watched CP, by CP id. */
export function describe(
  state: OfficeState,
  locations: ReadonlyMap<string, string>,
  thresholdC: number,
): LocationRow[] {
  return [...locations].sort(([a], [b]) => a.localeCompare(b)).map(([cpId, city]) => {
    const known = state.cities.get(cityKey(city));
    const sent = state.sent.get(cpId);
    return {
      cpId,
      city,
      temperature: known?.temperature,
      readAt: known?.readAt,
      state: known?.temperature === undefined
        ? "unknown"
        : statusFor(known.temperature, thresholdC),
      centralState: sent?.accepted && !sent.stale ? sent.status : undefined,
      lastError: known?.error,
      knownToCentral: knownToCentral(state, cpId),
    };
  });
}
