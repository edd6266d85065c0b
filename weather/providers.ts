/**
 * Where temperatures come from: the OpenWeather current-weather API, or, with no API key, a
 * simulated provider whose temperatures drift with the hour and that an operator can set by hand.
 *
 * Both answer {@link WeatherProvider.read} with a {@link Reading} and never throw: every way a
 * provider can fail becomes a typed {@link ProviderError}, which the core turns into a back-off
 * and never into an alert or a clear.
 *
 * The OpenWeather key travels in the URL (`appid=`), and Deno's fetch errors quote the URL, so
 * nothing here logs or returns a URL or a raw error message: only the city, the status and a
 * scrubbed detail.
 *
 * @module
 */
import { z } from "zod";
import { getLogger } from "../shared/log.ts";
import { cityKey, type ProviderError, type Reading } from "./core.ts";
import {
  BodyTooLarge,
  describeFetchError,
  oneLine,
  parseJsonOrUndefined,
  readLimited,
} from "./http_util.ts";

const log = getLogger(["evcharging", "weather", "openweather"]);

/** A source of current temperatures. */
export interface WeatherProvider {
  /** `openweather` or `simulated`, for the logs and the API. */
  readonly name: "openweather" | "simulated";
  /** The current temperature of `city` in °C, or why it is not known. Never throws. */
  read(city: string, signal?: AbortSignal): Promise<Reading>;
}

// ------------------------------------------------------------------------------ OpenWeather

/** OpenWeather's public endpoint (`--openweather-base-url` points elsewhere, e.g. a test server). */
export const OPENWEATHER_BASE_URL = "https://api.openweathermap.org";
/** Largest answer body read from OpenWeather; a real one is under 1 KiB. */
export const MAX_PROVIDER_BODY_BYTES = 64 * 1024;

/** Settings of {@link createOpenWeatherProvider}. */
export interface OpenWeatherOptions {
  /** Base URL without a trailing slash, e.g. {@link OPENWEATHER_BASE_URL}. */
  readonly baseUrl: string;
  /** The API key (`appid`). */
  readonly apiKey: string;
  /** Longest wait for the whole answer, in ms. */
  readonly timeoutMs: number;
}

/**
 * The part of OpenWeather's current-weather answer the office uses: `main.temp`, in °C with
 * `units=metric`. The rest (`coord`, `weather`, `wind`, `name`, `cod`…) is ignored.
 */
const currentWeatherSchema = z.object({
  main: z.object({ temp: z.number().min(-150).max(100) }),
});

/** OpenWeather's error bodies: `{"cod": 401 | "404", "message": "..."}`. */
const errorBodySchema = z.object({ message: z.string() });

/**
 * A provider that asks `GET {baseUrl}/data/2.5/weather?q={city}&units=metric&appid={key}` once
 * per call, within `timeoutMs`.
 */
export function createOpenWeatherProvider(options: OpenWeatherOptions): WeatherProvider {
  const scrub = scrubber(options.apiKey);

  const ask = async (city: string, signal: AbortSignal | undefined): Promise<Reading> => {
    const url = new URL(`${options.baseUrl}/data/2.5/weather`);
    url.searchParams.set("q", city);
    url.searchParams.set("units", "metric");
    url.searchParams.set("appid", options.apiKey);
    const timeout = AbortSignal.timeout(options.timeoutMs);
    let response: Response;
    let body: string;
    try {
      response = await fetch(url, {
        headers: { accept: "application/json" },
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
      body = await readLimited(response, MAX_PROVIDER_BODY_BYTES);
    } catch (error) {
      if (timeout.aborted) return failure("timeout", `no answer within ${options.timeoutMs} ms`);
      if (error instanceof BodyTooLarge) {
        return failure("malformed", `answer over ${MAX_PROVIDER_BODY_BYTES} bytes`);
      }
      return failure("network", oneLine(scrub(describeFetchError(error))));
    }
    return classify(response.status, response.headers, body, scrub);
  };

  return {
    name: "openweather",
    async read(city, signal) {
      const started = performance.now();
      const reading = await ask(city, signal);
      log.debug("OpenWeather {city}: {result} in {ms} ms", {
        city,
        result: reading.ok ? `${reading.temperature} °C` : `${reading.kind}: ${reading.detail}`,
        ms: Math.round(performance.now() - started),
      });
      return reading;
    },
  };
}

/** Turns OpenWeather's status and body into a reading. */
function classify(
  status: number,
  headers: Headers,
  body: string,
  scrub: (text: string) => string,
): Reading {
  if (status === 200) {
    const parsed = currentWeatherSchema.safeParse(parseJsonOrUndefined(body));
    return parsed.success
      ? { ok: true, temperature: parsed.data.main.temp }
      : failure("malformed", "answer 200 without a numeric main.temp");
  }
  const said = errorBodySchema.safeParse(parseJsonOrUndefined(body));
  const message = said.success ? `: ${oneLine(scrub(said.data.message))}` : "";
  if (status === 401) {
    return failure(
      "unauthorized",
      `OpenWeather refused the API key (401${message}); check OPENWEATHER_API_KEY or the key file`,
    );
  }
  if (status === 404) {
    return failure("city_not_found", `OpenWeather does not know this city (404${message})`);
  }
  if (status === 429) {
    return failure(
      "rate_limited",
      `over the API key's quota (429${message})`,
      retryAfterMs(headers.get("retry-after")),
    );
  }
  if (status >= 500) return failure("server_error", `OpenWeather answered ${status}${message}`);
  return failure("unexpected_status", `OpenWeather answered ${status}${message}`);
}

function failure(
  kind: ProviderError["kind"],
  detail: string,
  retryAfterMs?: number,
): Reading {
  return retryAfterMs === undefined
    ? { ok: false, kind, detail }
    : { ok: false, kind, detail, retryAfterMs };
}

/** `Retry-After` in seconds (the only form OpenWeather would send), as ms; absent or odd: none. */
function retryAfterMs(header: string | null): number | undefined {
  if (header === null || !/^\d{1,6}$/.test(header.trim())) return undefined;
  return Number(header) * 1000;
}

/**
 * Replaces the key, and any `appid=` value, with `***`: a URL in an error message must not
 * carry the key into a log.
 */
function scrubber(apiKey: string): (text: string) => string {
  return (text) => text.split(apiKey).join("***").replace(/appid=[^&\s)]*/gi, "appid=***");
}

// ------------------------------------------------------------------------------- simulated

/**
 * The simulated provider: each city has a deterministic temperature that drifts with the hour
 * ({@link simulatedTemperature}), unless an operator set one by hand.
 */
export class SimulatedProvider implements WeatherProvider {
  /** Always `simulated`. */
  readonly name = "simulated" as const;
  /** Manual temperatures by {@link cityKey}. */
  readonly #manual = new Map<string, number>();
  readonly #now: () => number;

  /** `now` is the clock the drift follows (default: the real one). */
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** The manual temperature of `city` if set, else the drift's value now. */
  read(city: string): Promise<Reading> {
    const temperature = this.#manual.get(cityKey(city)) ?? simulatedTemperature(city, this.#now());
    return Promise.resolve({ ok: true, temperature });
  }

  /** Holds `city` at `temperature` °C until {@link clearTemperature}. */
  setTemperature(city: string, temperature: number): void {
    this.#manual.set(cityKey(city), temperature);
  }

  /** Lets `city` drift again; `false` if it had no manual temperature. */
  clearTemperature(city: string): boolean {
    return this.#manual.delete(cityKey(city));
  }
}

/**
 * A plausible temperature for `city` at `atMs`, in °C to one decimal: a base of 2–18 °C that
 * depends only on the city's name, plus a daily swing of ±6 °C (coldest at 03:00 UTC, warmest at
 * 15:00 UTC). So the coldest cities dip below 0 °C at night, and a demo sees alerts come and go.
 */
export function simulatedTemperature(city: string, atMs: number): number {
  const base = 2 + (fnv1a(cityKey(city)) % 1601) / 100;
  const hour = (atMs / 3_600_000) % 24;
  const swing = 6 * Math.sin(((hour - 9) / 24) * 2 * Math.PI);
  return Math.round((base + swing) * 10) / 10;
}

/** 32-bit FNV-1a of a string's UTF-16 units: a small, stable hash. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
